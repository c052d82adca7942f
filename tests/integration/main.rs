//! One integration-test binary: the real `render-pilot` against the
//! simulator, real git repositories and real files.

mod architecture;
mod buildlog;
mod container;
mod deploy;
mod docs;
mod faults;
mod follow;
mod hostile;
mod monitor;
mod recover;
mod repo;
mod support;
mod trust;
