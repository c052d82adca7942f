//! Rolling out a deploy: trigger it, wait for it, and say what went wrong.
//! Deploy mode runs the whole sequence; recover uses the trigger and the
//! wait for its webhook and rollback fixes.

mod failure;
mod phases;
mod schedule;
mod trigger;
mod wait;

pub use failure::{
    api_failure, hook_failure, no_response_failure, status_failure, still_running_failure,
    suspended_failure, timed_out_failure, DeployFailure,
};
pub use phases::{recorded_phases, seen_phases, Phase, Phases, Source};
pub use schedule::{median, recent_durations, Expected, Schedule};
pub use trigger::{call_hook, hook_url, shown_hook_url, HookAnswer};
pub use wait::{wait_for, watch, Listener, Sleep};
