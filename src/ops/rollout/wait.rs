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

#[cfg(test)]
mod tests {
    use super::*;

    /// A push channel that pushes once, at `at`.
    struct PushAt {
        at: Instant,
        pushed: bool,
    }

    impl Listener for PushAt {
        fn listen(&mut self, until: Instant) -> bool {
            let push = !self.pushed && self.at < until;
            std::thread::sleep(
                until
                    .min(self.at.max(Instant::now()))
                    .saturating_duration_since(Instant::now()),
            );
            if push {
                self.pushed = true;
                return true;
            }
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            false
        }

        fn pushing(&self) -> bool {
            true
        }

        fn spent(&mut self) -> u32 {
            0
        }
    }

    const PERIOD: Duration = Duration::from_millis(100);

    #[test]
    fn a_push_brings_the_read_forward_as_soon_as_the_budget_allows() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start, PERIOD, None);
        schedule.count(1);
        let far = start + Duration::from_secs(10);
        // The subscription spent the first period's GET: a push at 30 ms
        // is read at 100 ms.
        let mut push = PushAt {
            at: start + Duration::from_millis(30),
            pushed: false,
        };
        assert!(pause(&mut schedule, &mut push, None, far, None));
        let read = start.elapsed();
        assert!(
            read >= PERIOD && read < Duration::from_millis(180),
            "{read:?}"
        );
        schedule.polled_now();
        // Later, with the budget to spare, at once.
        let mut push = PushAt {
            at: start + Duration::from_millis(350),
            pushed: false,
        };
        assert!(pause(&mut schedule, &mut push, None, far, None));
        let read = start.elapsed();
        assert!(
            read >= Duration::from_millis(350) && read < Duration::from_millis(420),
            "{read:?}"
        );
        schedule.polled_now();
        // No push: the safety net, three periods after the last read.
        let mut quiet = PushAt {
            at: far,
            pushed: false,
        };
        assert!(!pause(&mut schedule, &mut quiet, None, far, None));
        let read = start.elapsed();
        assert!(
            read >= Duration::from_millis(650) && read < Duration::from_millis(730),
            "{read:?}"
        );
    }
}
