use std::process::ExitCode;

use render_pilot::Env;

fn main() -> ExitCode {
    let env = Env::capture();
    let cli = match render_pilot::parse_command_line() {
        Ok(cli) => cli,
        Err(error) => return render_pilot::print_usage(error),
    };
    match render_pilot::run(cli, &env) {
        Ok(verdict) => verdict.into(),
        Err(error) => render_pilot::print_error(&error, &env),
    }
}
