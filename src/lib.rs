//! render-pilot: deploy, monitor and repair Render services from GitHub
//! Actions or a terminal.
//!
//! The architecture, edge to core:
//! - [`cli`] and [`inputs`]: the input contract (flags, `INPUT_*`, fallbacks);
//! - [`runner`] and [`secrets`]: everything written out, redacted;
//! - [`http`], [`render`]: the HTTP layer and the Render API client;
//! - [`hook`]: deploy hook validation;
//! - [`github`], [`git`], [`issues`]: GitHub issues, commits and pushes;
//! - [`status`], [`pipeline`]: service classification and the status page;
//! - [`event`], [`diagnose`]: the failed run and what its logs say;
//! - one module per mode: [`deploy`], [`monitor`], [`recover`];
//! - [`report`]: Markdown rendering.

pub mod cli;
pub mod deploy;
pub mod diagnose;
pub mod escape;
pub mod event;
pub mod git;
pub mod github;
pub mod hook;
pub mod http;
pub mod inputs;
pub mod issues;
pub mod monitor;
pub mod pipeline;
pub mod recover;
pub mod render;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod status;

use std::process::ExitCode;

use cli::{Cli, Command};
use inputs::InputError;
use runner::Runner;

/// How a mode ended when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Done,
    /// The operation failed (deploy failed, recovery could not fix): exit 1.
    Failed,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        match status {
            Status::Done => ExitCode::SUCCESS,
            Status::Failed => ExitCode::from(1),
        }
    }
}

const SECRET_VARIABLES: [&str; 6] = [
    "INPUT_DEPLOY-HOOK-URL",
    "INPUT_RENDER-API-KEY",
    "INPUT_GITHUB-TOKEN",
    "RENDER_DEPLOY_HOOK",
    "RENDER_API_KEY",
    "GITHUB_TOKEN",
];

/// Runs the chosen mode and writes its outputs and summary.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    let command = match cli.command {
        Some(command) => command,
        None => cli::mode_from_env()?,
    };
    let mut runner = Runner::from_env(cli.summary_file)?;
    // Mask every secret the environment carries, whatever the mode reads:
    // the runner passes all declared inputs to every step.
    for name in SECRET_VARIABLES {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            runner.mask(&value);
            if let Ok((hook, _)) = hook::parse(&value) {
                runner.mask(&hook.key);
            }
        }
    }
    let result = match &command {
        Command::Deploy(args) => deploy::run(args, &mut runner),
        Command::Monitor(args) => monitor::run(args, &mut runner),
        Command::Recover(args) => recover::run(args, &mut runner),
    };
    if let Err(error) = &result {
        runner.append_summary(&format!(
            "### ❌ render-pilot stopped\n\n{}\n",
            report::escape_cell(&format!("{error:#}"))
        ));
    }
    runner.finish()?;
    result
}

/// Prints an error that stopped the run and picks its exit code: 2 for bad
/// input or configuration, 1 for everything else.
pub fn report_error(error: &anyhow::Error) -> ExitCode {
    let input = error.chain().any(|e| e.is::<InputError>());
    let title = if input {
        "Invalid input"
    } else {
        "render-pilot failed"
    };
    let message = secrets::redact(&format!("{error:#}"));
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        println!(
            "::error title={}::{}",
            runner::escape_property(title),
            runner::escape_data(&message)
        );
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(if input { 2 } else { 1 })
}

/// Handles a command-line parse error: help and version exit 0, anything
/// else 2. The text is redacted: it may echo a hook URL given as a flag.
pub fn report_usage(error: clap::Error) -> ExitCode {
    let text = secrets::redact(&error.render().to_string());
    if error.use_stderr() {
        eprint!("{text}");
        ExitCode::from(2)
    } else {
        print!("{text}");
        ExitCode::SUCCESS
    }
}
