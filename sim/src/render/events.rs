//! Service events (`GET /services/{serviceId}/events`), derived from each
//! deploy's timeline as it runs, so a read sees only what has happened by
//! then: a deploy's start, its build's start and end, its pre-deploy's
//! start and end, and its end, each stamped with Render's clock. Deploy
//! events name the deploy; build events name only their build (`bld-…`),
//! which a failed deploy's end names in `reason.buildFailed`, as Render's
//! description declares.
//!
//! The schema requires a deprecated integer `status` in the ended events
//! and documents no values; the simulator sends 2 for succeeded, 3 for
//! failed and 4 for canceled.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use super::{bad_request, page, Dep, Svc, TERMINAL};
use crate::make_id;
use crate::wire::{Request, Response};

/// One event: when (since the deploy's creation), its type and details.
struct Event {
    after: Duration,
    kind: &'static str,
    details: Value,
}

/// `GET /services/{serviceId}/events`: newest first, within `startTime`
/// and `endTime` (RFC 3339, as the schema's `date-time` format says;
/// default the last hour, as Render's), of the given `type`s, paged.
pub(super) fn list(svc: &Svc, request: &Request, now: Instant) -> Response {
    let time = |name: &str| request.param(name).map(|t| t.parse::<Timestamp>().ok());
    let (from, to) = match (time("startTime"), time("endTime")) {
        (Some(None), _) | (_, Some(None)) => {
            return bad_request("startTime and endTime must be date-times");
        }
        (from, to) => (from.flatten(), to.flatten()),
    };
    let to = to.unwrap_or_else(Timestamp::now);
    let from = from.unwrap_or(to - SignedDuration::from_hours(1));
    let types = request.params("type");
    // Newest first; events at the same instant in reverse of how they
    // happened, as a list read backwards in time.
    let mut items: Vec<(Timestamp, usize, String, Value)> = Vec::new();
    for dep in &svc.deploys {
        for (i, event) in events(dep, now).into_iter().enumerate() {
            let at = stamp(dep, event.after);
            if at < from || at > to || !(types.is_empty() || types.contains(&event.kind)) {
                continue;
            }
            let id = make_id("evt", id_number(&dep.id, i));
            let value = json!({
                "id": id,
                "timestamp": at.to_string(),
                "serviceId": svc.id,
                "type": event.kind,
                "details": event.details,
            });
            items.push((at, items.len(), id, value));
        }
    }
    items.sort_by_key(|(at, n, _, _)| std::cmp::Reverse((*at, *n)));
    let items = items.into_iter().map(|(_, _, id, v)| (id, v)).collect();
    page(items, request, "event")
}

/// Render's clock at `after` past the deploy's creation, to the millisecond.
fn stamp(dep: &Dep, after: Duration) -> Timestamp {
    let at = dep.created_at + SignedDuration::try_from(after).unwrap_or_default();
    at.round(jiff::Unit::Millisecond).unwrap_or(at)
}

/// A stable number per deploy and event, for ids that do not change from
/// one read to the next.
fn id_number(deploy: &str, index: usize) -> u64 {
    deploy
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
        .wrapping_add(index as u64)
}

/// The statuses the deploy has gone through by `now`, with when: its
/// timeline, cut where it was canceled.
fn statuses(dep: &Dep, now: Instant) -> Vec<(Duration, String)> {
    let elapsed = now.saturating_duration_since(dep.created);
    let canceled = dep
        .ended
        .as_ref()
        .filter(|(at, _)| *at <= now)
        .map(|(at, status)| (at.saturating_duration_since(dep.created), status.clone()));
    let cut = canceled.as_ref().map_or(elapsed, |(at, _)| *at);
    let mut seen: Vec<(Duration, String)> = dep
        .timeline
        .iter()
        .filter(|(t, _)| *t <= cut)
        .cloned()
        .collect();
    seen.extend(canceled);
    seen
}

/// The events of one deploy by `now`, oldest first.
fn events(dep: &Dep, now: Instant) -> Vec<Event> {
    let build = make_id("bld", id_number(&dep.id, 0));
    let execution = make_id("dce", id_number(&dep.id, 1));
    let trigger = json!({
        "firstBuild": false, "envUpdated": false, "manual": dep.trigger == "manual",
        "deployedByRender": false, "clearCache": false, "rollback": dep.trigger == "rollback",
    });
    let deploy_id = dep.id.as_str();
    let mut out = Vec::new();
    let mut before = "queued".to_string();
    for (after, status) in statuses(dep, now) {
        let mut push = |kind, details| {
            out.push(Event {
                after,
                kind,
                details,
            })
        };
        // How a step that ended in `status` went: failed only in its own
        // failure status.
        let ended = |failure: &str| match status.as_str() {
            "canceled" => ("canceled", 4),
            s if s == failure => ("failed", 3),
            _ => ("succeeded", 2),
        };
        if before == "queued" && status != "queued" {
            push(
                "deploy_started",
                json!({"deployId": deploy_id, "trigger": trigger}),
            );
        }
        if before == "build_in_progress" && status != before {
            let (outcome, code) = ended("build_failed");
            push(
                "build_ended",
                json!({"buildId": build, "buildStatus": outcome, "status": code, "reason": {}}),
            );
        }
        if before == "pre_deploy_in_progress" && status != before {
            let (outcome, code) = ended("pre_deploy_failed");
            push(
                "pre_deploy_ended",
                json!({
                    "deployCommandExecutionId": execution, "deployId": deploy_id,
                    "preDeployStatus": outcome, "status": code, "reason": {},
                }),
            );
        }
        if status == "build_in_progress" && before != status {
            push(
                "build_started",
                json!({"buildId": build, "trigger": trigger}),
            );
        }
        if status == "pre_deploy_in_progress" && before != status {
            push(
                "pre_deploy_started",
                json!({"deployCommandExecutionId": execution, "deployId": deploy_id}),
            );
        }
        if TERMINAL.contains(&status.as_str()) && !TERMINAL.contains(&before.as_str()) {
            let (outcome, code) = match status.as_str() {
                "live" | "deactivated" => ("succeeded", 2),
                _ => ended(&status),
            };
            let reason = if status == "build_failed" {
                json!({"buildFailed": {"id": build}})
            } else {
                json!({})
            };
            push(
                "deploy_ended",
                json!({
                    "deployId": deploy_id, "deployStatus": outcome, "status": code, "reason": reason,
                }),
            );
        }
        before = status;
    }
    out
}
