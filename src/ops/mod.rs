//! Shared operations the modes are made of: rolling out a deploy,
//! classifying a service, the status page, one issue per problem, and
//! reading a failed run's logs.

pub(crate) mod buildlog;
pub(crate) mod diagnose;
pub(crate) mod issues;
pub(crate) mod rollout;
pub(crate) mod service_state;
pub(crate) mod status_page;
