//! Rolling out a deploy: trigger it, wait for it, and say what went wrong.
//! Deploy mode runs the whole sequence; recover uses the trigger and the
//! wait for its webhook and rollback fixes.

mod failure;
mod phases;
mod schedule;
mod trigger;
mod wait;

pub(crate) use failure::{
    api_failure, status_failure, still_running_failure, suspended_failure, timed_out_failure,
    DeployFailure,
};
pub(crate) use phases::{recorded_phases, seen_phases, Phase, Phases, Source};
pub(crate) use schedule::{median, recent_durations, Expected, Schedule};
pub(crate) use trigger::{call_hook, shown_hook_url};
pub(crate) use wait::{wait_for, watch, Listener, Sleep};
