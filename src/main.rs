use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match render_pilot::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return render_pilot::report_usage(error),
    };
    match render_pilot::run(cli) {
        Ok(status) => status.into(),
        Err(error) => render_pilot::report_error(&error),
    }
}
