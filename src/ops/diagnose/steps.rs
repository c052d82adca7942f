//! The failed step of a job: its name, its last lines and its error lines,
//! for people to read.

use std::collections::VecDeque;

use super::{clean_line, clip_log_line, push_bounded};
use crate::output::secrets::redact;

/// The step of a job that failed, and what it printed last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub job: String,
    /// `Run <first line of the command>`, as the log names the step.
    pub step: Option<String>,
    /// Error-looking lines from further up, then the step's last lines
    /// and its `##[error]` lines; cleaned, shortened and redacted.
    pub lines: Vec<String>,
}

pub(super) const STEP_TAIL: usize = 20;
const STEP_ERRORS: usize = 8;

/// Follows one job's log step by step and keeps, for the first step that
/// reported an `##[error]`, its name, last lines and error lines. Bounded
/// memory whatever the log's size.
#[derive(Default)]
pub struct StepReader {
    step: Option<String>,
    in_header: bool,
    tail: VecDeque<String>,
    errors: VecDeque<String>,
    markers: Vec<String>,
    failed: Option<(Option<String>, Vec<String>)>,
}

impl StepReader {
    pub fn feed(&mut self, raw: &str) {
        let line = clean_line(raw);
        let line = line.trim_end();
        if let Some(title) = line.strip_prefix("##[group]") {
            if title.starts_with("Run ") && !self.in_header {
                self.end_step();
                self.step = Some(clip_log_line(&redact(title)));
                self.in_header = true;
            }
            return;
        }
        if line.starts_with("##[endgroup]") {
            self.in_header = false;
            return;
        }
        if self.in_header || line.trim().is_empty() {
            return;
        }
        if line.starts_with("##[error]") {
            if self.markers.len() < STEP_ERRORS {
                self.markers.push(clip_log_line(&redact(line)));
            }
            // The runner's own end of a failed step: what follows is
            // post-job cleanup, not this step's output.
            if line.contains("Process completed with exit code") {
                self.end_step();
            }
            return;
        }
        if let Some(dropped) = push_bounded(&mut self.tail, line, STEP_TAIL) {
            if looks_like_error(&dropped) {
                push_bounded(&mut self.errors, &dropped, STEP_ERRORS);
            }
        }
    }

    fn end_step(&mut self) {
        let markers = std::mem::take(&mut self.markers);
        let tail = std::mem::take(&mut self.tail);
        let errors = std::mem::take(&mut self.errors);
        if self.failed.is_some() || markers.is_empty() {
            return;
        }
        let mut lines: Vec<String> = errors.into_iter().collect();
        if !lines.is_empty() {
            lines.push("…".into());
        }
        lines.extend(tail);
        lines.extend(markers);
        let lines = lines.iter().map(|l| clip_log_line(&redact(l))).collect();
        self.failed = Some((self.step.take(), lines));
    }

    /// The failed step of job `job`, if any step reported an error.
    pub fn finish(mut self, job: &str) -> Option<FailedStep> {
        self.end_step();
        self.failed.map(|(step, lines)| FailedStep {
            job: job.to_string(),
            step,
            lines,
        })
    }
}

/// Lines compilers, test runners and scripts print when something broke.
pub(crate) fn looks_like_error(line: &str) -> bool {
    const MARKS: [&str; 12] = [
        "error",
        "Error",
        "ERROR",
        "FAIL",
        "ERR!",
        "panicked",
        "Traceback",
        "✗",
        "✖",
        "×",
        "Exception",
        "assert",
    ];
    MARKS.iter().any(|m| line.contains(m)) || line.starts_with("E   ")
}
