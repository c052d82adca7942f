//! How a service is doing, decided from what Render and its health check
//! say. Pure: the table test below is the specification.

use crate::clients::http::HealthCheck;
use crate::clients::render::{Deploy, DeployStatus, Service};
use crate::output::charts::Tone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Healthy,
    Deploying,
    /// Render says live, the health check says otherwise.
    Degraded,
    /// The newest deploy failed and nothing went live after it.
    Failed,
    Suspended,
    /// Render's API could not be read.
    Unknown,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Healthy,
        State::Deploying,
        State::Degraded,
        State::Failed,
        State::Suspended,
        State::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Healthy => "healthy",
            State::Deploying => "deploying",
            State::Degraded => "degraded",
            State::Failed => "failed",
            State::Suspended => "suspended",
            State::Unknown => "unknown",
        }
    }

    /// The state after a service's name: "shop-api failed", "shop-api is
    /// degraded".
    pub fn phrase(self) -> &'static str {
        match self {
            State::Failed => "failed",
            State::Unknown => "cannot be read",
            State::Healthy => "is healthy",
            State::Deploying => "is deploying",
            State::Degraded => "is degraded",
            State::Suspended => "is suspended",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn emoji(self) -> &'static str {
        match self {
            State::Healthy => "🟢",
            State::Deploying => "🔵",
            State::Degraded => "🟠",
            State::Failed => "🔴",
            State::Suspended => "⏸️",
            State::Unknown => "⚪",
        }
    }

    /// Its colour in every chart, matching [`State::emoji`].
    pub fn tone(self) -> Tone {
        match self {
            State::Healthy => Tone::HEALTHY,
            State::Deploying => Tone::DEPLOYING,
            State::Degraded => Tone::DEGRADED,
            State::Failed => Tone::FAILED,
            State::Suspended => Tone::SUSPENDED,
            State::Unknown => Tone::UNKNOWN,
        }
    }

    /// Failing services get an issue.
    pub fn is_failing(self) -> bool {
        matches!(self, State::Failed | State::Degraded)
    }

    /// Counts towards uptime: serving as it should.
    pub fn is_up(self) -> bool {
        matches!(self, State::Healthy | State::Deploying)
    }
}

/// Classifies a service from its record, its newest deploys (newest first,
/// as Render lists them) and an optional health check. Returns the state and
/// a short reason.
pub(crate) fn classify(
    service: &Service,
    deploys: &[Deploy],
    health: Option<&HealthCheck>,
) -> (State, String) {
    if service.is_suspended() {
        let by = service.suspended_by();
        return (State::Suspended, format!("suspended by {by}"));
    }
    // A canceled deploy was superseded or stopped by hand: judge the newest
    // deploy that was not canceled.
    let latest = deploys
        .iter()
        .find(|d| d.status != Some(DeployStatus::Canceled));
    let Some(latest) = latest else {
        return (State::Unknown, "no deploys yet".into());
    };
    let status = latest.status_or_unknown();
    if status.is_failure() {
        return (State::Failed, format!("deploy {} {status}", latest.id));
    }
    if let Some(check) = health.filter(|h| !h.ok()) {
        return (
            State::Degraded,
            format!("health check: {}", check.describe()),
        );
    }
    match status {
        DeployStatus::Live | DeployStatus::Deactivated => {
            (State::Healthy, format!("deploy {} live", latest.id))
        }
        DeployStatus::Unknown(s) if s != "unknown" => (
            State::Unknown,
            format!("deploy {} reports '{s}'", latest.id),
        ),
        DeployStatus::Unknown(_) => (
            State::Unknown,
            format!("deploy {} has no status", latest.id),
        ),
        other => (State::Deploying, format!("deploy {} {other}", latest.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(suspended: bool) -> Service {
        serde_json::from_value(json!({
            "id": "srv-a", "suspended": if suspended { "suspended" } else { "not_suspended" },
            "suspenders": if suspended { json!(["billing"]) } else { json!([]) },
        }))
        .unwrap()
    }

    fn deploys(statuses: &[&str]) -> Vec<Deploy> {
        statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                serde_json::from_value(json!({"id": format!("dep-{i}"), "status": s})).unwrap()
            })
            .collect()
    }

    fn health(code: Option<u16>) -> HealthCheck {
        HealthCheck {
            code,
            latency_ms: 10,
            error: code.is_none().then(|| "refused".into()),
            attempts: 1,
        }
    }

    #[test]
    fn classification_table() {
        let ok = health(Some(200));
        let down = health(Some(503));
        let silent = health(None);
        type Case<'a> = (bool, Vec<&'a str>, Option<&'a HealthCheck>, State, &'a str);
        let table: Vec<Case> = vec![
            (
                false,
                vec!["live"],
                None,
                State::Healthy,
                "deploy dep-0 live",
            ),
            (
                false,
                vec!["live"],
                Some(&ok),
                State::Healthy,
                "deploy dep-0 live",
            ),
            (
                false,
                vec!["live"],
                Some(&down),
                State::Degraded,
                "health check: HTTP 503",
            ),
            (
                false,
                vec!["live"],
                Some(&silent),
                State::Degraded,
                "health check: no answer (refused)",
            ),
            (
                false,
                vec!["build_in_progress", "live"],
                Some(&ok),
                State::Deploying,
                "deploy dep-0 build_in_progress",
            ),
            (
                false,
                vec!["pre_deploy_in_progress"],
                None,
                State::Deploying,
                "deploy dep-0 pre_deploy_in_progress",
            ),
            (
                false,
                vec!["queued", "live"],
                None,
                State::Deploying,
                "deploy dep-0 queued",
            ),
            (
                false,
                vec!["build_failed", "live"],
                Some(&ok),
                State::Failed,
                "deploy dep-0 build_failed",
            ),
            (
                false,
                vec!["update_failed"],
                None,
                State::Failed,
                "deploy dep-0 update_failed",
            ),
            (
                false,
                vec!["pre_deploy_failed", "live"],
                None,
                State::Failed,
                "deploy dep-0 pre_deploy_failed",
            ),
            (
                false,
                vec!["canceled", "build_failed"],
                None,
                State::Failed,
                "deploy dep-1 build_failed",
            ),
            (
                false,
                vec!["canceled", "live"],
                None,
                State::Healthy,
                "deploy dep-1 live",
            ),
            (
                false,
                vec!["live", "build_failed"],
                None,
                State::Healthy,
                "deploy dep-0 live",
            ),
            (
                false,
                vec!["deactivated"],
                None,
                State::Healthy,
                "deploy dep-0 live",
            ),
            (
                false,
                vec!["warming_up"],
                None,
                State::Unknown,
                "deploy dep-0 reports 'warming_up'",
            ),
            (false, vec![], None, State::Unknown, "no deploys yet"),
            (
                false,
                vec!["canceled"],
                None,
                State::Unknown,
                "no deploys yet",
            ),
            (
                true,
                vec!["live"],
                Some(&down),
                State::Suspended,
                "suspended by billing",
            ),
        ];
        for (suspended, statuses, check, want, reason) in table {
            let got = classify(&service(suspended), &deploys(&statuses), check);
            assert_eq!(got, (want, reason.to_string()), "{statuses:?} {check:?}");
        }
    }

    #[test]
    fn states_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert!(State::Failed.is_failing() && State::Degraded.is_failing());
        assert!(!State::Suspended.is_failing() && !State::Unknown.is_failing());
    }
}
