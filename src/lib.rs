//! render-pilot: deploy, monitor and repair Render services from GitHub
//! Actions or a terminal.
//!
//! The layers, edge to core (ARCHITECTURE.md has the map):
//! - [`app`]: runs a mode and turns its end into an exit code;
//! - [`cli`] and [`settings`]: the input contract, read once into typed
//!   settings per mode;
//! - [`modes`]: deploy, monitor, recover, each a short sequence of steps;
//! - [`report`]: Markdown for summaries and issues;
//! - [`ops`]: shared operations (rollout, service state, status page,
//!   issues, log diagnosis);
//! - [`clients`]: HTTP, Render, GitHub, git;
//! - [`output`]: the runner's log, outputs and summary, redacted and
//!   escaped;
//! - [`inputs`]: the pure parsers and [`inputs::InputError`];
//! - [`verdict`]: how a mode ended.

pub mod app;
pub mod cli;
pub mod clients;
pub mod inputs;
pub mod modes;
pub mod ops;
pub mod output;
pub mod report;
pub mod settings;
pub mod verdict;
