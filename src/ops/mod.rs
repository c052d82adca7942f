//! Shared operations the modes are made of: classifying a service, the
//! status page, one issue per problem, and reading a failed run's logs.

pub mod diagnose;
pub mod issues;
pub mod service_state;
pub mod status_page;
