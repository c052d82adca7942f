//! A deploy's phases (queued, build, pre-deploy, update) and its end, each
//! with its start and end: as Render recorded them in the service's
//! events, else as render-pilot saw them between two reads, where a phase
//! shorter than a read's period can be missing.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::clients::render::{Deploy, DeployStatus, EventKind, Outcome, ServiceEvent};
use crate::output::human_duration;

/// One phase, or the deploy's end (an instant: `start == end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Phase {
    /// The status the phase stands for: an in-progress one, or the final
    /// one for the end.
    pub status: DeployStatus,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Phase {
    /// How a reader calls it: `build`, `pre-deploy`, `live`,
    /// `update failed`, …
    pub(crate) fn name(&self) -> &'static str {
        use DeployStatus::*;
        match &self.status {
            Created | Queued => "queued",
            BuildInProgress => "build",
            PreDeployInProgress => "pre-deploy",
            UpdateInProgress => "update",
            Live => "live",
            Deactivated => "deactivated",
            BuildFailed => "build failed",
            UpdateFailed => "update failed",
            PreDeployFailed => "pre-deploy failed",
            Canceled => "canceled",
            Unknown(_) => "unknown",
        }
    }

    /// `build 1m 04s`, `queued 0.4s`; the end is just its name.
    pub(crate) fn label(&self) -> String {
        let length = self.length();
        // Under ten seconds, tenths tell a short phase from none at all.
        let tenths = length.as_millis().div_ceil(100);
        match (self.is_end(), length.as_secs()) {
            (true, _) => self.name().to_string(),
            (false, 0..=9) if tenths % 10 != 0 => {
                format!("{} {}.{}s", self.name(), tenths / 10, tenths % 10)
            }
            (false, _) => format!("{} {}", self.name(), human_duration(length)),
        }
    }

    pub(crate) fn length(&self) -> Duration {
        Duration::try_from(self.end.duration_since(self.start)).unwrap_or_default()
    }

    /// The deploy's end rather than a phase of it.
    pub(crate) fn is_end(&self) -> bool {
        self.status.outcome(true) != Outcome::Pending
    }
}

/// Where a deploy's phases came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Render's service events: every phase, to the millisecond.
    Render,
    /// The statuses render-pilot saw, and why Render's events were not
    /// used.
    Seen(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Phases {
    pub list: Vec<Phase>,
    pub source: Source,
}

impl Phases {
    /// `queued 2s · build 1m 04s · update 12s · live`: the phases in one
    /// line of plain text, for the job log and the summary.
    pub(crate) fn line(&self) -> String {
        let parts: Vec<String> = self.list.iter().map(Phase::label).collect();
        parts.join(" · ")
    }

    /// "as Render recorded them", or as render-pilot saw them and why.
    pub(crate) fn told_by(&self) -> String {
        match &self.source {
            Source::Render => "as Render recorded them".into(),
            Source::Seen(why) => format!("as render-pilot saw them ({why})"),
        }
    }
}

/// The phases from the statuses render-pilot saw, each with the time since
/// `origin` it first saw it; `watched` is when it stopped watching. A
/// phase runs until the next one was seen; a final status is an instant.
pub(crate) fn seen_phases(
    seen: &[(Duration, DeployStatus)],
    origin: Timestamp,
    watched: Duration,
) -> Vec<Phase> {
    let at = |d: Duration| {
        let since = SignedDuration::try_from(d).unwrap_or_default();
        origin.checked_add(since).unwrap_or(origin)
    };
    let mut list: Vec<Phase> = Vec::new();
    for (since, status) in seen {
        let phase = Phase {
            status: status.clone(),
            start: at(*since),
            end: at(*since),
        };
        if list.last().is_some_and(|p| p.name() == phase.name()) {
            continue;
        }
        if let Some(last) = list.last_mut() {
            last.end = phase.start;
        }
        list.push(phase);
    }
    if let Some(last) = list.last_mut().filter(|p| !p.is_end()) {
        last.end = at(watched).max(last.start);
    }
    list
}

/// The phases of `deploy` from Render's events, with `status` (its final
/// status, as read) naming the end; `None` unless the events cover the
/// deploy to its end, in order.
///
/// Deploy events name their deploy; build events only their build. The
/// deploy's build is the one its end names as failed, else the last build
/// that started between the deploy's creation and its pre-deploy or end.
/// The update runs from the end of the build or pre-deploy to the
/// deploy's end; a failure is marked where it happened.
pub(crate) fn recorded_phases(
    events: &[ServiceEvent],
    deploy: &Deploy,
    status: &DeployStatus,
) -> Option<Vec<Phase>> {
    let ours = |kind: EventKind| {
        events
            .iter()
            .filter(|e| {
                e.kind == kind && e.details.deploy_id.as_deref() == Some(deploy.id.as_str())
            })
            .min_by_key(|e| e.timestamp)
    };
    let ended = ours(EventKind::DeployEnded)?;
    let created: Timestamp = deploy.created_at.as_deref()?.parse().ok()?;
    let pre_deploy = match (
        ours(EventKind::PreDeployStarted),
        ours(EventKind::PreDeployEnded),
    ) {
        (Some(start), Some(end)) => Some(Span::of(start, end, &end.details.pre_deploy_status)),
        _ => None,
    };
    let build = build_of(
        events,
        ended,
        created,
        pre_deploy.map_or(ended.timestamp, |p| p.start),
    )?;
    let mut starts = vec![(DeployStatus::Queued, created)];
    starts.extend(build.map(|b| (DeployStatus::BuildInProgress, b.start)));
    starts.extend(pre_deploy.map(|p| (DeployStatus::PreDeployInProgress, p.start)));
    let end = match status {
        DeployStatus::BuildFailed => build?.end,
        DeployStatus::PreDeployFailed => pre_deploy?.end,
        _ => {
            let before = [pre_deploy, build].into_iter().flatten().next();
            if before.is_none_or(|span| span.succeeded) {
                let update = before.map(|span| span.end);
                let update = update.or(ours(EventKind::DeployStarted).map(|e| e.timestamp));
                starts.push((DeployStatus::UpdateInProgress, update.unwrap_or(created)));
            }
            ended.timestamp
        }
    };
    starts.push((status.clone(), end));
    // Render's times must come in the order the phases run.
    let times = [
        Some(created),
        build.map(|b| b.start),
        build.map(|b| b.end),
        pre_deploy.map(|p| p.start),
        pre_deploy.map(|p| p.end),
        Some(ended.timestamp),
    ];
    let times: Vec<Timestamp> = times.into_iter().flatten().collect();
    if !times.windows(2).all(|w| w[0] <= w[1]) || !starts.windows(2).all(|w| w[0].1 <= w[1].1) {
        return None;
    }
    let ends: Vec<Timestamp> = starts[1..].iter().map(|(_, at)| *at).chain([end]).collect();
    Some(
        starts
            .into_iter()
            .zip(ends)
            .map(|((status, start), end)| Phase { status, start, end })
            .collect(),
    )
}

/// When a build or pre-deploy ran, and whether it succeeded.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: Timestamp,
    end: Timestamp,
    succeeded: bool,
}

impl Span {
    fn of(start: &ServiceEvent, end: &ServiceEvent, status: &Option<String>) -> Span {
        Span {
            start: start.timestamp,
            end: end.timestamp,
            succeeded: status.as_deref() == Some("succeeded"),
        }
    }
}

/// The deploy's build: `Some(None)` when it had none (a rollback),
/// `None` when one started but its end is missing.
fn build_of(
    events: &[ServiceEvent],
    ended: &ServiceEvent,
    created: Timestamp,
    until: Timestamp,
) -> Option<Option<Span>> {
    let failed = ended
        .details
        .reason
        .as_ref()
        .and_then(|r| r.build_failed.as_ref()?.id.as_ref());
    let started = events
        .iter()
        .filter(|e| e.kind == EventKind::BuildStarted)
        .filter(|e| match failed {
            Some(id) => e.details.build_id.as_ref() == Some(id),
            None => e.timestamp >= created && e.timestamp <= until,
        })
        .max_by_key(|e| e.timestamp);
    let Some(started) = started else {
        return Some(None);
    };
    let end = events.iter().find(|e| {
        e.kind == EventKind::BuildEnded && e.details.build_id == started.details.build_id
    })?;
    Some(Some(Span::of(started, end, &end.details.build_status)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use DeployStatus::*;

    const DEPLOY: &str = "dep-d0ours";

    fn deploy() -> Deploy {
        serde_json::from_value(json!({"id": DEPLOY, "createdAt": "2026-11-28T14:02:10Z"})).unwrap()
    }

    /// An event at `second` past 14:02:10, with its details.
    fn event(kind: &str, second: f64, details: serde_json::Value) -> ServiceEvent {
        let at = Timestamp::from_millisecond(1_795_874_530_000 + (second * 1000.0) as i64).unwrap();
        serde_json::from_value(json!({
            "id": "evt-d0000000000000000000", "serviceId": "srv-d0web",
            "timestamp": at.to_string(), "type": kind, "details": details,
        }))
        .unwrap()
    }

    fn deploy_event(kind: &str, second: f64, extra: serde_json::Value) -> ServiceEvent {
        let mut details = json!({ "deployId": DEPLOY });
        details
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event(kind, second, details)
    }

    fn build_event(kind: &str, second: f64, build: &str, status: Option<&str>) -> ServiceEvent {
        let mut details = json!({ "buildId": build });
        if let Some(status) = status {
            details["buildStatus"] = json!(status);
        }
        event(kind, second, details)
    }

    fn lines(phases: &[Phase]) -> String {
        Phases {
            list: phases.to_vec(),
            source: Source::Render,
        }
        .line()
    }

    #[test]
    fn a_build_shorter_than_a_poll_is_in_renders_record() {
        // Newest first, as Render lists them, with another deploy's events.
        let events = [
            deploy_event("deploy_ended", 14.5, json!({"deployStatus": "succeeded"})),
            deploy_event(
                "pre_deploy_ended",
                4.0,
                json!({"preDeployStatus": "succeeded"}),
            ),
            deploy_event("pre_deploy_started", 2.5, json!({})),
            build_event("build_ended", 2.25, "bld-d0ours", Some("succeeded")),
            build_event("build_started", 1.5, "bld-d0ours", None),
            deploy_event("deploy_started", 1.0, json!({})),
            build_event("build_ended", -30.0, "bld-d0older", Some("succeeded")),
            build_event("build_started", -90.0, "bld-d0older", None),
        ];
        let phases = recorded_phases(&events, &deploy(), &Live).unwrap();
        assert_eq!(
            lines(&phases),
            "queued 1.5s · build 1s · pre-deploy 1.5s · update 10s · live"
        );
        assert_eq!(phases[1].length(), Duration::from_millis(1000));
        assert_eq!(phases[2].start, phases[1].end, "phases follow one another");
        assert!(phases[4].is_end() && phases[4].length().is_zero());
    }

    #[test]
    fn a_failure_is_marked_where_it_happened() {
        let build_failed = [
            deploy_event(
                "deploy_ended",
                41.0,
                json!({"deployStatus": "failed", "reason": {"buildFailed": {"id": "bld-d0x"}}}),
            ),
            build_event("build_ended", 40.0, "bld-d0x", Some("failed")),
            build_event("build_started", 3.0, "bld-d0x", None),
        ];
        let phases = recorded_phases(&build_failed, &deploy(), &BuildFailed).unwrap();
        assert_eq!(lines(&phases), "queued 3s · build 37s · build failed");
        assert_eq!(phases[2].start, phases[1].end);

        let update_failed = [
            deploy_event("deploy_ended", 70.0, json!({"deployStatus": "failed"})),
            build_event("build_ended", 40.0, "bld-d0y", Some("succeeded")),
            build_event("build_started", 3.0, "bld-d0y", None),
        ];
        let phases = recorded_phases(&update_failed, &deploy(), &UpdateFailed).unwrap();
        assert_eq!(
            lines(&phases),
            "queued 3s · build 37s · update 30s · update failed"
        );

        let canceled_in_build = [
            deploy_event("deploy_ended", 20.0, json!({"deployStatus": "canceled"})),
            build_event("build_ended", 20.0, "bld-d0z", Some("canceled")),
            build_event("build_started", 3.0, "bld-d0z", None),
        ];
        let phases = recorded_phases(&canceled_in_build, &deploy(), &Canceled).unwrap();
        assert_eq!(lines(&phases), "queued 3s · build 17s · canceled");
    }

    #[test]
    fn a_rollback_has_no_build() {
        let events = [
            deploy_event("deploy_ended", 5.0, json!({"deployStatus": "succeeded"})),
            deploy_event("deploy_started", 0.5, json!({})),
        ];
        let phases = recorded_phases(&events, &deploy(), &Live).unwrap();
        assert_eq!(lines(&phases), "queued 0.5s · update 4.5s · live");
    }

    #[test]
    fn events_that_do_not_cover_the_deploy_are_not_used() {
        let no_end = [build_event("build_started", 3.0, "bld-d0a", None)];
        assert_eq!(recorded_phases(&no_end, &deploy(), &Live), None);
        let build_without_end = [
            deploy_event("deploy_ended", 9.0, json!({"deployStatus": "succeeded"})),
            build_event("build_started", 3.0, "bld-d0a", None),
        ];
        assert_eq!(recorded_phases(&build_without_end, &deploy(), &Live), None);
        let out_of_order = [
            deploy_event("deploy_ended", 9.0, json!({"deployStatus": "succeeded"})),
            deploy_event(
                "pre_deploy_ended",
                2.0,
                json!({"preDeployStatus": "succeeded"}),
            ),
            deploy_event("pre_deploy_started", 1.0, json!({})),
            build_event("build_ended", 8.0, "bld-d0a", Some("succeeded")),
            build_event("build_started", 0.5, "bld-d0a", None),
        ];
        assert_eq!(recorded_phases(&out_of_order, &deploy(), &Live), None);
        let other_deploy = [event(
            "deploy_ended",
            9.0,
            json!({"deployId": "dep-d0other", "deployStatus": "succeeded"}),
        )];
        assert_eq!(recorded_phases(&other_deploy, &deploy(), &Live), None);
    }

    #[test]
    fn seen_phases_run_until_the_next_status_and_end_in_an_instant() {
        let origin: Timestamp = "2026-11-28T14:02:10Z".parse().unwrap();
        let s = Duration::from_secs;
        let seen = [
            (s(0), Created),
            (s(2), BuildInProgress),
            (s(40), BuildInProgress),
            (s(97), UpdateInProgress),
            (s(139), Live),
        ];
        let phases = seen_phases(&seen, origin, s(140));
        assert_eq!(
            lines(&phases),
            "queued 2s · build 1m 35s · update 42s · live"
        );
        let running = seen_phases(&seen[..2], origin, s(600));
        assert_eq!(lines(&running), "queued 2s · build 9m 58s");
        assert_eq!(seen_phases(&[], origin, s(3)), vec![]);
    }
}
