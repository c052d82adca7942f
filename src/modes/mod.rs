//! One module per mode. A mode is a short sequence of steps over the
//! shared operations and the clients; no mode imports another.

pub mod deploy;
pub mod monitor;
pub mod recover;
