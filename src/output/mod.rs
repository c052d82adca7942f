//! Everything written out: runner output (log, outputs, summary), the
//! redaction of secrets, the escaping of outside text, and Mermaid charts.

pub mod charts;
pub mod escape;
pub mod runner;
pub mod secrets;

/// Outside text as it may be written anywhere (the log, outputs, the
/// summary, issues, commit messages): secrets redacted and bidirectional
/// controls dropped.
pub fn shown(text: &str) -> String {
    escape::strip_bidi(&secrets::redact(text))
}
