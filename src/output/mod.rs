//! Everything written out: runner output (log, outputs, summary), the
//! redaction of secrets, the escaping of outside text, and Mermaid charts.

pub(crate) mod charts;
pub(crate) mod escape;
pub(crate) mod runner;
pub(crate) mod secrets;

use std::time::Duration;

/// Outside text as it may be written anywhere (the log, outputs, the
/// summary, issues, commit messages): secrets redacted and bidirectional
/// controls dropped.
pub(crate) fn shown(text: &str) -> String {
    escape::strip_bidi(&secrets::redact(text))
}

/// Formats a duration the way people read it: `1m 05s`, `42s`.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}
