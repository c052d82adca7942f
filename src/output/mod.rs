//! Everything written out: runner output (log, outputs, summary), the
//! redaction of secrets, the escaping of outside text, and Mermaid charts.

pub(crate) mod charts;
pub(crate) mod escape;
pub(crate) mod runner;
pub(crate) mod secrets;

/// Outside text as it may be written anywhere (the log, outputs, the
/// summary, issues, commit messages): secrets redacted and bidirectional
/// controls dropped.
pub(crate) fn shown(text: &str) -> String {
    escape::strip_bidi(&secrets::redact(text))
}
