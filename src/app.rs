//! The edge: run the chosen mode, print what stopped a run and pick the
//! exit code. `main` calls these and nothing else.

use std::process::ExitCode;

use crate::cli::{self, Cli};
use crate::inputs::InputError;
use crate::modes;
use crate::output::{self, runner::Runner};
use crate::settings::{self, Env, Settings};
use crate::verdict::Verdict;

/// Runs the chosen mode and writes its outputs and summary.
pub fn run(cli: Cli, env: &Env) -> anyhow::Result<Verdict> {
    let summary_file = cli.summary_file.clone();
    let Some(command) = settings::command(cli, env)? else {
        // On a terminal, a bare `render-pilot` asks for help.
        cli::print_help()?;
        return Ok(Verdict::Done);
    };
    let mut runner = Runner::open(settings::runner_files(env, summary_file))?;
    settings::mask_secrets(env, &runner);
    let result = settings::resolve(&command, env, &runner)
        .map_err(anyhow::Error::from)
        .and_then(|settings| match settings {
            Settings::Deploy(s) => modes::deploy::run(&s, &mut runner),
            Settings::Monitor(s) => modes::monitor::run(&s, &mut runner),
            Settings::Recover(s) => modes::recover::run(&s, &mut runner),
        });
    if let Err(error) = &result {
        runner.append_summary(&format!(
            "### ❌ render-pilot stopped\n\n{}\n",
            // Redacted before escaping: escaping could split a secret.
            output::escape::escape_inline(&output::shown(&format!("{error:#}")))
        ));
    }
    runner.finish()?;
    result
}

/// Prints an error that stopped the run and picks its exit code: 2 for bad
/// input or configuration, 1 for everything else.
pub fn print_error(error: &anyhow::Error, env: &Env) -> ExitCode {
    let input = error.chain().any(|e| e.is::<InputError>());
    let title = if input {
        "Invalid input"
    } else {
        "render-pilot failed"
    };
    let message = format!("{error:#}");
    if env.in_actions() {
        println!(
            "{}",
            output::runner::workflow_command("error", Some(title), &message)
        );
    } else {
        // A terminal gives inputs as flags: the message names them so.
        eprintln!(
            "error: {}",
            output::runner::terminal_line(&settings::as_flags(&message))
        );
    }
    ExitCode::from(if input { 2 } else { 1 })
}

/// Handles a command-line parse error: help and version exit 0, anything
/// else 2. The text is redacted (it may echo a hook URL given as a flag)
/// and neutralised (it echoes the arguments, which a workflow may build
/// from data).
pub fn print_usage(error: clap::Error) -> ExitCode {
    let text = output::runner::neutralise(&output::shown(&error.render().to_string()));
    if error.use_stderr() {
        eprint!("{text}");
        ExitCode::from(2)
    } else {
        print!("{text}");
        ExitCode::SUCCESS
    }
}
