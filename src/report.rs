//! Markdown for step summaries: pure functions from results to text.

use crate::inputs::human_duration;
use std::time::Duration;

/// How a deploy run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployEnd {
    /// Accepted by Render; we did not wait.
    Triggered,
    Succeeded,
    Failed,
    TimedOut,
    DryRun,
}

/// Everything the deploy summary shows.
#[derive(Debug, Clone)]
pub struct DeployReport {
    pub service_id: String,
    pub service_name: Option<String>,
    pub dashboard: String,
    pub deploy_id: Option<String>,
    pub source: Option<String>,
    pub trigger: &'static str,
    pub status: String,
    pub end: DeployEnd,
    pub duration: Duration,
    pub healthy: Option<bool>,
    pub next_steps: Vec<String>,
}

pub fn deploy_summary(r: &DeployReport) -> String {
    let (icon, headline) = match r.end {
        _ if r.healthy == Some(false) => ("❌", "deploy live but unhealthy"),
        DeployEnd::Succeeded => ("✅", "deploy succeeded"),
        DeployEnd::Triggered => ("🚀", "deploy triggered"),
        DeployEnd::Failed => ("❌", "deploy failed"),
        DeployEnd::TimedOut => ("⏳", "still deploying when render-pilot stopped waiting"),
        DeployEnd::DryRun => ("🧪", "dry run: nothing was sent"),
    };
    let name = r.service_name.as_deref().unwrap_or(&r.service_id);
    let deploy = match &r.deploy_id {
        Some(id) => format!(
            "[`{id}`]({}/deploys/{id})",
            r.dashboard.trim_end_matches('/')
        ),
        None => "—".to_string(),
    };
    let health = match r.healthy {
        Some(true) => " (healthy)",
        Some(false) => " (unhealthy)",
        None => "",
    };
    let mut out = format!(
        "### {icon} Render: {headline}\n\n\
         | Service | Deploy | Commit or image | Trigger | Status | Duration |\n\
         |---|---|---|---|---|---|\n\
         | [{}]({}) `{}` | {deploy} | {} | {} | {}{health} | {} |\n",
        escape_cell(name),
        r.dashboard,
        r.service_id,
        r.source
            .as_deref()
            .map_or("latest".to_string(), |s| format!("`{}`", escape_cell(s))),
        r.trigger,
        if r.status.is_empty() {
            "not triggered".to_string()
        } else {
            format!("`{}`", escape_cell(&r.status))
        },
        human_duration(r.duration),
    );
    if !r.next_steps.is_empty() {
        out.push_str("\n**Next steps**\n\n");
        for step in &r.next_steps {
            out.push_str(&format!("- {step}\n"));
        }
    }
    out
}

/// The body of a monitor issue for a failing service (the marker is added
/// by the tracker).
pub fn monitor_issue_body(row: &crate::pipeline::Row, detected_at: &str) -> String {
    use crate::status::State;
    let deploy = match (&row.deploy_id, &row.deploy_status) {
        (Some(id), Some(status)) => format!(
            "[`{id}`]({}/deploys/{id}) (`{status}`)",
            row.dashboard.trim_end_matches('/')
        ),
        _ => "—".into(),
    };
    let steps = match (row.state, row.deploy_status.as_deref()) {
        (State::Failed, Some("build_failed")) => vec![
            "Read the build log of the deploy above; fix the build and push.".to_string(),
            "Render keeps the previous deploy serving, so users still see the last good version.".into(),
            "If the build cache may be stale, deploy with `clear-cache: true`.".into(),
        ],
        (State::Failed, Some("pre_deploy_failed")) => vec![
            "The pre-deploy command (often migrations) failed; read its log.".to_string(),
            "Render keeps the previous deploy serving.".into(),
        ],
        (State::Failed, _) => vec![
            "The new instance failed to start or failed its health check; read the deploy log.".to_string(),
            "Services with a persistent disk have no zero-downtime deploys and may be down now.".into(),
        ],
        _ => vec![
            format!(
                "The service is live on Render but its health check fails ({}). Read the service's logs.",
                row.health.as_ref().map_or("no answer".into(), |h| h.describe())
            ),
            "To go back to the previous deploy, use recover mode with `fixes: rollback`, or Rollback in the dashboard.".into(),
        ],
    };
    let mut body = format!(
        "{} **{}** (`{}`) is **{}**: {}.\n\n\
         | | |\n|---|---|\n\
         | Detected | {} |\n\
         | Latest deploy | {deploy} |\n\
         | Service | [dashboard]({}){} |\n\n\
         ### What to do\n\n",
        row.state.emoji(),
        escape_cell(&row.name),
        row.id,
        row.state.as_str(),
        escape_cell(&row.reason),
        crate::pipeline::format_time(detected_at),
        row.dashboard,
        row.url
            .as_deref()
            .map(|u| format!(" · <{u}>"))
            .unwrap_or_default(),
    );
    for step in steps {
        body.push_str(&format!("- {step}\n"));
    }
    body.push_str(
        "\nThis issue closes itself when render-pilot monitor sees the service healthy again.",
    );
    body
}

/// Keeps a value inside its table cell.
pub fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(end: DeployEnd, status: &str) -> DeployReport {
        DeployReport {
            service_id: "srv-abc123".into(),
            service_name: Some("web".into()),
            dashboard: "https://dashboard.render.com/web/srv-abc123".into(),
            deploy_id: Some("dep-xyz".into()),
            source: Some("1a2b3c4".into()),
            trigger: "deploy hook",
            status: status.into(),
            end,
            duration: Duration::from_secs(65),
            healthy: None,
            next_steps: vec![],
        }
    }

    #[test]
    fn success() {
        insta::assert_snapshot!(deploy_summary(&report(DeployEnd::Succeeded, "live")), @r"
        ### ✅ Render: deploy succeeded

        | Service | Deploy | Commit or image | Trigger | Status | Duration |
        |---|---|---|---|---|---|
        | [web](https://dashboard.render.com/web/srv-abc123) `srv-abc123` | [`dep-xyz`](https://dashboard.render.com/web/srv-abc123/deploys/dep-xyz) | `1a2b3c4` | deploy hook | `live` | 1m 05s |
        ");
    }

    #[test]
    fn failure_lists_next_steps() {
        let mut r = report(DeployEnd::Failed, "build_failed");
        r.source = None;
        r.next_steps = vec!["Read the build log.".into()];
        insta::assert_snapshot!(deploy_summary(&r), @r"
        ### ❌ Render: deploy failed

        | Service | Deploy | Commit or image | Trigger | Status | Duration |
        |---|---|---|---|---|---|
        | [web](https://dashboard.render.com/web/srv-abc123) `srv-abc123` | [`dep-xyz`](https://dashboard.render.com/web/srv-abc123/deploys/dep-xyz) | latest | deploy hook | `build_failed` | 1m 05s |

        **Next steps**

        - Read the build log.
        ");
    }
}
