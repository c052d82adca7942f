//! Waiting for a deploy to reach a terminal status, on a schedule that
//! spends few reads.

use std::time::{Duration, Instant};

use super::schedule::Schedule;
use crate::clients::render::{Deploy, DeployStatus, Outcome, RenderClient, RenderError};

/// Polls a deploy until its status is terminal (as `canceled_is_failure`
/// reads `canceled`) or `deadline` passes, and returns the last read.
/// `changed` hears each new status once.
pub fn wait_for(
    render: &RenderClient,
    service: &str,
    deploy_id: &str,
    (deadline, poll): (Instant, Duration),
    canceled_is_failure: bool,
    mut changed: impl FnMut(&DeployStatus),
) -> Result<Deploy, RenderError> {
    let mut schedule = Schedule::new(Instant::now(), poll, None);
    let target = (render, service, deploy_id);
    watch(
        target,
        deadline,
        canceled_is_failure,
        &mut schedule,
        |status, new| {
            if new {
                changed(status);
            }
        },
    )
}

/// [`wait_for`] on a schedule; `polled` hears every read, with whether
/// its status is new.
pub fn watch(
    (render, service, deploy_id): (&RenderClient, &str, &str),
    deadline: Instant,
    canceled_is_failure: bool,
    schedule: &mut Schedule,
    mut polled: impl FnMut(&DeployStatus, bool),
) -> Result<Deploy, RenderError> {
    let mut last_status: Option<DeployStatus> = None;
    loop {
        let due = schedule.due(last_status.as_ref()).min(deadline);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        schedule.polled_now();
        let deploy = render.get_deploy(service, deploy_id)?;
        let status = deploy.status_or_unknown();
        let new = last_status.as_ref() != Some(&status);
        polled(&status, new);
        last_status = Some(status.clone());
        if status.outcome(canceled_is_failure) != Outcome::Pending || Instant::now() >= deadline {
            return Ok(deploy);
        }
    }
}
