//! render-pilot: deploy, monitor and repair Render services from GitHub
//! Actions or a terminal.
//!
//! The layers, edge to core (ARCHITECTURE.md has the map):
//! - [`app`]: runs a mode and turns its end into an exit code;
//! - [`cli`] and [`settings`]: the input contract, read once into typed
//!   settings per mode;
//! - [`modes`]: deploy, monitor, recover, each a short sequence of steps;
//! - [`markdown`]: Markdown for summaries, issues and comments;
//! - [`ops`]: shared operations (rollout, service state, status page,
//!   issues, log diagnosis);
//! - [`clients`]: HTTP, Render, GitHub, git;
//! - [`output`]: the runner's log, outputs and summary, redacted and
//!   escaped;
//! - [`inputs`]: the pure parsers and [`inputs::InputError`];
//! - [`verdict`]: how a mode ended.

#![warn(unreachable_pub)]

pub(crate) mod app;
pub(crate) mod cli;
pub(crate) mod clients;
pub(crate) mod inputs;
pub(crate) mod markdown;
pub(crate) mod modes;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod settings;
pub(crate) mod verdict;

// The public API, on purpose: what `main`, the integration tests, the
// benches and the fuzz targets use. Everything else is the crate's own.
pub use app::{print_error, print_usage, run};
pub use cli::Cli;
pub use clients::event::{read_event, WorkflowRun};
pub use clients::hook::{parse as parse_hook, Hook};
pub use inputs::{parse_bool, parse_duration, parse_number, InputError};
pub use modes::recover::DEFAULT_PNPM;
pub use ops::diagnose::{diagnose, explain, Explanation, StepReader};
pub use ops::status_page::{layout, read_history, update, Entry, Layout};
pub use settings::table::{help_suffix, Input, Mode, WhenUnset, INPUTS};
pub use settings::{parse_command_line, Env};
pub use verdict::Verdict;
