//! Everything written out: runner output (log, outputs, summary), the
//! redaction of secrets, the escaping of outside text, and Mermaid charts.

pub mod charts;
pub mod escape;
pub mod runner;
pub mod secrets;
