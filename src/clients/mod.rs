//! The clients: HTTP, and on it Render's API and deploy hooks, GitHub's
//! API and the workflow_run event; git for commits and pushes. They know
//! nothing of modes or settings.

pub mod event;
pub mod git;
pub mod github;
pub mod hook;
pub mod http;
pub mod render;
