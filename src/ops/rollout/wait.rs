//! Waiting for a deploy to reach a terminal status, on a schedule that
//! spends few reads.

use std::time::{Duration, Instant};

use super::schedule::Schedule;
use crate::clients::render::{Deploy, DeployStatus, Outcome, RenderClient, RenderError};

/// A read that a push asked for and that found nothing new yet is made
/// once more this much later: Render's line may come before its status.
const RECHECK: Duration = Duration::from_millis(500);

/// What the wait does between two reads.
pub(crate) trait Listener {
    /// Waits until `until`, or returns sooner, true, when something says
    /// the deploy may have moved on (Render's own line for the end of a
    /// phase).
    fn listen(&mut self, until: Instant) -> bool;
    /// Whether a push channel is open.
    fn pushing(&self) -> bool;
    /// GETs spent since last asked (a subscription).
    fn spent(&mut self) -> u32;
}

/// No push channel: the wait sleeps.
pub(crate) struct Sleep;

impl Listener for Sleep {
    fn listen(&mut self, until: Instant) -> bool {
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        false
    }

    fn pushing(&self) -> bool {
        false
    }

    fn spent(&mut self) -> u32 {
        0
    }
}

/// Polls a deploy until its status is terminal (as `canceled_is_failure`
/// reads `canceled`) or `deadline` passes, and returns the last read.
/// `changed` hears each new status once.
pub(crate) fn wait_for(
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
        (&mut schedule, &mut Sleep),
        |status, new| {
            if new {
                changed(status);
            }
        },
    )
}

/// [`wait_for`] on a schedule, listening between reads; `polled` hears
/// every read, with whether its status is new.
pub(crate) fn watch(
    (render, service, deploy_id): (&RenderClient, &str, &str),
    deadline: Instant,
    canceled_is_failure: bool,
    (schedule, listener): (&mut Schedule, &mut dyn Listener),
    mut polled: impl FnMut(&DeployStatus, bool),
) -> Result<Deploy, RenderError> {
    let mut last_status: Option<DeployStatus> = None;
    let mut recheck = None;
    loop {
        let early = pause(
            schedule,
            listener,
            last_status.as_ref(),
            deadline,
            recheck.take(),
        );
        schedule.polled_now();
        let deploy = render.get_deploy(service, deploy_id)?;
        let status = deploy.status_or_unknown();
        let new = last_status.as_ref() != Some(&status);
        if early && !new {
            recheck = Some(Instant::now() + RECHECK);
        }
        polled(&status, new);
        last_status = Some(status.clone());
        if status.outcome(canceled_is_failure) != Outcome::Pending || Instant::now() >= deadline {
            return Ok(deploy);
        }
    }
}

/// Waits for the next read: the schedule's, or sooner when the listener
/// hears a push (or `recheck` comes), as soon as the budget allows. True
/// when the read comes before the schedule's.
fn pause(
    schedule: &mut Schedule,
    listener: &mut dyn Listener,
    status: Option<&DeployStatus>,
    deadline: Instant,
    recheck: Option<Instant>,
) -> bool {
    let mut asked = recheck;
    loop {
        schedule.count(listener.spent());
        schedule.set_pushing(listener.pushing());
        let due = schedule.due(status).min(deadline);
        let early = asked.map(|at| at.max(schedule.affordable_at()).min(due));
        let until = early.unwrap_or(due);
        if Instant::now() >= until {
            return early.is_some_and(|at| at < due);
        }
        if listener.listen(until) && asked.is_none() {
            asked = Some(Instant::now());
        }
    }
}
