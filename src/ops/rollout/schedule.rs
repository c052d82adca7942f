//! When to ask Render about a deploy next.
//!
//! A fixed period costs half the period in lag on average. The schedule
//! keeps a fixed poller's guarantees (never more than one `period` between
//! two reads, never more reads than one per `period` over the wait plus
//! two) and spends its small slack where the end is likely: right at the
//! end the service's recent deploys predict, then densely for a moment, or,
//! without a prediction, a little faster once the deploy is in its last
//! phases (pre-deploy, update), which end soon.
//!
//! While a push channel is open (Render's build log, whose own lines mark
//! the end of each phase), the schedule is only its safety net: a read
//! every few periods, and reads as soon as a line asks for one, as long as
//! no more have been made (the stream's subscriptions included) than a
//! poller reading once a period would have made by then.

use std::time::{Duration, Instant};

use crate::clients::render::{Deploy, DeployStatus};

/// Reads allowed on top of one per period.
const SLACK: f64 = 2.0;
/// The dense step is this fraction of the period (0.5 s for 2 s).
const DENSE: f64 = 0.25;
/// How many recent deploys predict the next one.
const RECENT: usize = 5;
/// Looks for something Render has yet to start (a followed deploy, a
/// preview) come this many periods apart: before it starts there is nothing
/// to be late for, and a deploy that lasts longer is still found before it
/// ends, so its end is read within a period as when triggered.
const FINDING: u32 = 2;
/// While a push channel is open, the safety net reads every this many
/// periods (6 s for 2 s).
const SAFETY_NET: f64 = 3.0;

/// How long a deploy of this service usually takes, from trigger to live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Expected {
    pub duration: Duration,
    /// How far recent durations stray from `duration` (the largest gap).
    pub spread: Duration,
}

impl Expected {
    /// From the durations of a service's recent deploys that went live
    /// (newest first, as [`recent_durations`] gives them): the median of
    /// the last few.
    pub(crate) fn from_durations(recent: &[(&Deploy, Duration)]) -> Option<Expected> {
        let durations: Vec<f64> = recent
            .iter()
            .map(|(_, took)| took.as_secs_f64())
            .take(RECENT)
            .collect();
        let median = median(&durations)?;
        let spread = durations
            .iter()
            .map(|d| (d - median).abs())
            .fold(0.0, f64::max);
        Some(Expected {
            duration: Duration::from_secs_f64(median),
            spread: Duration::from_secs_f64(spread),
        })
    }
}

/// The middle value, or the mean of the two middle values of an even
/// count; `None` for no values.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 0 => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
        _ => Some(sorted[middle]),
    }
}

/// The deploys of `deploys` that went live, rollbacks aside (they skip
/// the build), each with how long it took from creation to its end as
/// Render recorded it; in the order given.
pub(crate) fn recent_durations(deploys: &[Deploy]) -> Vec<(&Deploy, Duration)> {
    deploys
        .iter()
        .filter(|d| {
            matches!(
                d.status,
                Some(DeployStatus::Live | DeployStatus::Deactivated)
            ) && d.trigger.as_deref() != Some("rollback")
        })
        .filter_map(|d| {
            let created: jiff::Timestamp = d.created_at.as_deref()?.parse().ok()?;
            let finished: jiff::Timestamp = d.finished_at.as_deref()?.parse().ok()?;
            let took = Duration::try_from(finished.duration_since(created)).ok()?;
            (!took.is_zero()).then_some((d, took))
        })
        .collect()
}

/// The reads made so far and when the next one is due. Times are kept
/// since `origin`, when the trigger was answered.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    origin: Instant,
    period: Duration,
    expected: Option<Expected>,
    polls: u32,
    last: Duration,
    /// A push channel is open: the schedule is the safety net.
    pushing: bool,
}

impl Schedule {
    pub(crate) fn new(origin: Instant, period: Duration, expected: Option<Expected>) -> Schedule {
        Schedule {
            origin,
            period,
            expected,
            polls: 0,
            last: Duration::ZERO,
            pushing: false,
        }
    }

    /// The looks for something Render has yet to start, from `origin`.
    pub(crate) fn finding(origin: Instant, period: Duration) -> Schedule {
        Schedule::new(origin, period * FINDING, None)
    }

    /// When the next read is due.
    pub(crate) fn due(&self, status: Option<&DeployStatus>) -> Instant {
        self.origin + self.next(status)
    }

    /// Records a read sent now.
    pub(crate) fn polled_now(&mut self) {
        self.polled(self.origin.elapsed());
    }

    /// When the trigger was answered.
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// Counts GETs that were not status reads (a log subscription): they
    /// spend the same budget.
    pub(crate) fn count(&mut self, gets: u32) {
        self.polls += gets;
    }

    /// Whether a push channel is open.
    pub(crate) fn set_pushing(&mut self, pushing: bool) {
        self.pushing = pushing;
    }

    /// The soonest one more read keeps the GETs within a poller's reading
    /// once a period: asked for by a push, it waits until then.
    pub(crate) fn affordable_at(&self) -> Instant {
        self.origin + self.period * self.polls
    }

    /// Records a read made at `at`.
    fn polled(&mut self, at: Duration) {
        self.polls += 1;
        self.last = at;
    }

    /// When to read next, given the status read last.
    fn next(&self, status: Option<&DeployStatus>) -> Duration {
        let period = self.period.as_secs_f64();
        let last = self.last.as_secs_f64();
        if self.pushing {
            let affordable = f64::from(self.polls) * period;
            return Duration::from_secs_f64((last + SAFETY_NET * period).max(affordable));
        }
        let dense = period * DENSE;
        let regular = last + period;
        let wanted = match self.expected {
            Some(e) => {
                let end = e.duration.as_secs_f64();
                let spread = e.spread.as_secs_f64();
                // Read densely from just before the likely end for up to a
                // period past it, as far as the slack allows.
                let start = end - spread - dense / 2.0;
                if last < start {
                    start.min(regular)
                } else if last < end + spread + period {
                    last + dense
                } else {
                    regular
                }
            }
            None if ends_soon(status) => last + period / 2.0,
            None => regular,
        };
        // Never more reads than one per period plus the slack, and never a
        // gap longer than the period (the budget always allows that one).
        let affordable = (f64::from(self.polls) + 1.0 - SLACK) * period;
        Duration::from_secs_f64(wanted.max(affordable).min(regular).max(0.0))
    }
}

fn ends_soon(status: Option<&DeployStatus>) -> bool {
    matches!(
        status,
        Some(DeployStatus::PreDeployInProgress | DeployStatus::UpdateInProgress)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a schedule against a deploy that changes to `phases[i].1` at
    /// `phases[i].0` seconds and ends at `end`; returns (lag, reads).
    fn simulate(
        expected: Option<Expected>,
        phases: &[(f64, DeployStatus)],
        end: f64,
    ) -> (f64, u32) {
        let mut schedule = Schedule::new(Instant::now(), Duration::from_secs(2), expected);
        let mut status = None;
        loop {
            let at = schedule.next(status.as_ref()).as_secs_f64();
            schedule.polled(Duration::from_secs_f64(at));
            if at >= end {
                return (at - end, schedule.polls);
            }
            status = phases
                .iter()
                .rev()
                .find(|(t, _)| *t <= at)
                .map(|(_, s)| s.clone());
        }
    }

    fn budget(end: f64, lag: f64) -> f64 {
        (end + lag) / 2.0 + 2.0
    }

    #[test]
    fn a_known_service_is_read_at_its_usual_end() {
        use DeployStatus::*;
        let expected = Expected {
            duration: Duration::from_secs(50),
            spread: Duration::ZERO,
        };
        // This deploy ends a little earlier or later than usual: the slack
        // covers 0.75 s either side with reads 0.5 s apart.
        for shift in [-0.7, -0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.45, 0.6, 0.7] {
            // 40 s of build, 10 s of update.
            let end = 50.0 + shift;
            let phases = [
                (0.1, BuildInProgress),
                (40.0, PreDeployInProgress),
                (43.0, UpdateInProgress),
            ];
            let (lag, reads) = simulate(Some(expected), &phases, end);
            assert!(lag <= 0.5, "shift {shift}: lag {lag}");
            assert!(
                f64::from(reads) <= budget(end, lag),
                "shift {shift}: {reads} reads"
            );
        }
    }

    /// No prediction, a short one with some spread, a long exact one.
    const GUESSES: [Option<Expected>; 3] = [
        None,
        Some(Expected {
            duration: Duration::from_secs(6),
            spread: Duration::from_secs(1),
        }),
        Some(Expected {
            duration: Duration::from_secs(30),
            spread: Duration::ZERO,
        }),
    ];

    #[test]
    fn never_worse_than_a_fixed_poller_and_never_over_budget() {
        use DeployStatus::*;
        for expected in GUESSES {
            for tenth in 5..300 {
                let end = f64::from(tenth) / 10.0;
                let phases = [(0.1, BuildInProgress), (end * 0.8, UpdateInProgress)];
                let (lag, reads) = simulate(expected, &phases, end);
                assert!(lag <= 2.0 + 1e-9, "{expected:?} end {end}: lag {lag}");
                assert!(
                    f64::from(reads) <= budget(end, lag) + 1e-9,
                    "{expected:?} end {end}: {reads} reads"
                );
            }
        }
    }

    /// Follows a deploy Render creates at `created` and ends at `end`
    /// (seconds since the first look), as deploy mode does: a look at once,
    /// then on the finding schedule until one at or after `created` finds
    /// it, then the wait from its creation, its update taking the last 2 s.
    /// Returns (lag, reads).
    fn follow(expected: Option<Expected>, created: f64, end: f64) -> (f64, u32) {
        let period = Duration::from_secs(2);
        let mut finding = Schedule::finding(Instant::now(), period);
        let mut at = 0.0;
        finding.polled(Duration::ZERO);
        while at < created {
            at = finding.next(None).as_secs_f64();
            finding.polled(Duration::from_secs_f64(at));
        }
        let mut reads = finding.polls;
        let mut wait = Schedule::new(Instant::now(), period, expected);
        wait.polled(Duration::from_secs_f64(at - created));
        while at < end {
            let status = if at >= end - 2.0 {
                DeployStatus::UpdateInProgress
            } else {
                DeployStatus::BuildInProgress
            };
            at = created + wait.next(Some(&status)).as_secs_f64();
            wait.polled(Duration::from_secs_f64(at - created));
            reads += 1;
        }
        (at - end, reads)
    }

    /// The reads of a poller that lists, then reads the deploy, every 2 s
    /// from the first look until it sees the end.
    fn fixed_poller(end: f64) -> u32 {
        (end / 2.0).ceil() as u32 + 1
    }

    #[test]
    fn a_followed_deploy_is_read_at_its_usual_end_for_no_more_reads_than_a_fixed_poller() {
        let expected = Expected {
            duration: Duration::from_secs(6),
            spread: Duration::ZERO,
        };
        // Render starts the deploy 2 s after the push, when the first look
        // found nothing; it takes a little less or more than the usual 6 s.
        for shift in [-0.4, -0.25, -0.05, 0.1, 0.3, 0.45] {
            let end = 2.0 + 6.0 + shift;
            let (lag, reads) = follow(Some(expected), 2.0, end);
            assert!(lag <= 0.5, "shift {shift}: lag {lag}");
            assert!(reads <= fixed_poller(end), "shift {shift}: {reads} reads");
        }
    }

    #[test]
    fn a_followed_deploy_is_seen_within_a_period_of_its_end_unless_it_is_shorter_than_the_looks() {
        for expected in GUESSES {
            for created in [0.0, 0.1, 1.9, 2.0, 3.5, 7.9, 20.0] {
                for tenth in 1..300 {
                    let took = f64::from(tenth) / 10.0;
                    let (lag, reads) = follow(expected, created, created + took);
                    let within = if took > 4.0 { 2.0 } else { 4.0 };
                    assert!(
                        lag <= within + 1e-9,
                        "{expected:?} created {created}, took {took}: lag {lag}"
                    );
                    // The looks save what the wait's slack may spend.
                    let most = fixed_poller(created + took + lag) + 2;
                    assert!(
                        reads <= most,
                        "{expected:?} created {created}, took {took}: {reads} reads"
                    );
                }
            }
        }
    }

    #[test]
    fn with_a_push_channel_reads_wait_for_the_budget_and_the_net_is_wider() {
        let start = Instant::now();
        let mut schedule = Schedule::new(start, Duration::from_secs(2), None);
        schedule.set_pushing(true);
        schedule.count(1);
        assert_eq!(
            schedule.affordable_at(),
            start + Duration::from_secs(2),
            "the subscription was the first GET"
        );
        assert_eq!(
            schedule.next(None),
            Duration::from_secs(6),
            "the safety net"
        );
        schedule.polled(Duration::from_secs(3));
        assert_eq!(schedule.affordable_at(), start + Duration::from_secs(4));
        assert_eq!(schedule.next(None), Duration::from_secs(9));
        schedule.set_pushing(false);
        assert_eq!(
            schedule.next(None),
            Duration::from_secs(5),
            "a poller again once the push stops"
        );
    }

    #[test]
    fn history_gives_the_median_duration_of_recent_live_deploys() {
        let deploy = |status: &str, trigger: &str, took: i64| -> Deploy {
            serde_json::from_value(serde_json::json!({
                "id": "dep-a", "status": status, "trigger": trigger,
                "createdAt": "2026-01-01T10:00:00Z",
                "finishedAt": format!("2026-01-01T10:{:02}:{:02}.500Z", took / 60, took % 60),
            }))
            .unwrap()
        };
        let history = [
            deploy("live", "new_commit", 50),
            deploy("build_failed", "new_commit", 12),
            deploy("deactivated", "deploy_hook", 48),
            deploy("deactivated", "rollback", 3),
            deploy("deactivated", "api", 56),
        ];
        let expected = Expected::from_durations(&recent_durations(&history)).unwrap();
        assert_eq!(expected.duration, Duration::from_secs_f64(50.5));
        assert_eq!(expected.spread, Duration::from_secs(6));
        assert_eq!(
            Expected::from_durations(&recent_durations(&history[1..2])),
            None
        );
        assert_eq!(median(&[1.0, 4.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
