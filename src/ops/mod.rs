//! Shared operations the modes are made of: rolling out a deploy,
//! classifying a service, the status page, one issue per problem, and
//! reading a failed run's logs.

pub mod buildlog;
pub mod diagnose;
pub mod issues;
pub mod rollout;
pub mod service_state;
pub mod status_page;
