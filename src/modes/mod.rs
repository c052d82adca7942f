//! One module per mode. A mode is a short sequence of steps over the
//! shared operations and the clients; no mode imports another.

pub(crate) mod deploy;
pub(crate) mod monitor;
pub(crate) mod recover;
