use std::process::ExitCode;

use render_pilot::settings::Env;

fn main() -> ExitCode {
    let env = Env::capture();
    let cli = match render_pilot::settings::parse_command_line() {
        Ok(cli) => cli,
        Err(error) => return render_pilot::app::report_usage(error),
    };
    match render_pilot::app::run(cli, &env) {
        Ok(verdict) => verdict.into(),
        Err(error) => render_pilot::app::report_error(&error, &env),
    }
}
