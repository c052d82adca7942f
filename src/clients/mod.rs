//! The clients: HTTP, and on it Render's API and deploy hooks, GitHub's
//! API and the workflow_run event; git for commits and pushes. They know
//! nothing of modes or settings.

pub(crate) mod event;
pub(crate) mod git;
pub(crate) mod github;
pub(crate) mod hook;
pub(crate) mod http;
pub(crate) mod render;
