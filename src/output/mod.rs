//! Everything written out: runner output (log, outputs, summary), the
//! redaction of secrets, and the escaping of outside text.

pub mod escape;
pub mod runner;
pub mod secrets;
