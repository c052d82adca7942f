//! How a mode ends, and the exit code that says it.

use std::process::ExitCode;

/// How a mode ended when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// The operation failed (deploy failed, recovery could not fix): exit 1.
    Failed,
}

impl From<Verdict> for ExitCode {
    fn from(verdict: Verdict) -> ExitCode {
        match verdict {
            Verdict::Done => ExitCode::SUCCESS,
            Verdict::Failed => ExitCode::from(1),
        }
    }
}
