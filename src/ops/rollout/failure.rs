//! What went wrong with a deploy, and what to do about it: one message and
//! the next steps for the summary.

use crate::clients::http::{HttpError, NoResponseCause};
use std::time::Duration;

use crate::clients::render::{DeployStatus, RenderError, Service};
use crate::output::human_duration;

/// Why a deploy did not go as hoped, with what to do about it.
pub(crate) struct DeployFailure {
    pub title: &'static str,
    pub message: String,
    pub steps: Vec<String>,
}

pub(crate) fn hook_failure(
    status: u16,
    response: &crate::clients::http::Response,
) -> DeployFailure {
    let regenerate = "Copy the current Deploy Hook from the service's Settings page into the RENDER_DEPLOY_HOOK secret (the hook changes when someone clicks \"Regenerate Hook\").".to_string();
    let (message, steps) = match status {
        401 | 403 => (
            format!("Render refused the deploy hook (HTTP {status}): the key is wrong, or the account or service is blocked"),
            vec![regenerate, "Check that the service is not suspended.".into()],
        ),
        404 => (
            "Render does not know this deploy hook (HTTP 404): the service was deleted or the hook was regenerated".to_string(),
            vec![regenerate],
        ),
        409 => (
            "Render reported a conflict (HTTP 409) for the deploy hook".to_string(),
            vec!["Check the dashboard for a deploy in progress before retrying.".into()],
        ),
        429 => (
            format!(
                "Render's limit of 10 deploys a minute for this service was hit (HTTP 429); retry after {}",
                response.header("retry-after").map_or("a minute".to_string(), |s| format!("{s} s"))
            ),
            vec!["Run this job again in a minute; avoid triggering several deploys of one service at once.".into()],
        ),
        500..=599 => (
            format!("Render's side failed (HTTP {status}); nothing was deployed"),
            vec!["Retry later; see https://status.render.com.".into()],
        ),
        _ => (
            format!("the deploy hook answered HTTP {status} ({})", response.snippet()),
            vec![regenerate],
        ),
    };
    DeployFailure {
        title: "Deploy hook failed",
        message,
        steps,
    }
}

pub(crate) fn no_response_failure(title: &'static str, error: &HttpError) -> DeployFailure {
    // A timeout or a broken answer may come after Render started the
    // deploy: running the job again blindly could deploy twice.
    let maybe_sent = matches!(
        error,
        HttpError::NoResponse {
            cause: NoResponseCause::Timeout | NoResponseCause::Broken | NoResponseCause::Other,
            ..
        } | HttpError::TooLarge { .. }
            | HttpError::BadBody { .. }
    );
    let explain = "HTTP 000 means no answer arrived. The cause above says which step failed: DNS, TLS, a refused connection, a timeout or a malformed URL.";
    let steps = if maybe_sent {
        vec![
            "Render may have received the request and started a deploy: check the service's Events in the dashboard before running this job again.".into(),
            explain.into(),
        ]
    } else {
        vec![
            explain.into(),
            "Check the secret for stray characters and the runner's network; then run the job again.".into(),
        ]
    };
    DeployFailure {
        title,
        message: error.to_string(),
        steps,
    }
}

pub(crate) fn api_failure(title: &'static str, error: RenderError) -> DeployFailure {
    match error {
        RenderError::Http(e @ HttpError::NoResponse { .. }) => no_response_failure(title, &e),
        other => DeployFailure {
            title,
            message: other.to_string(),
            steps: Vec::new(),
        },
    }
}

/// A deploy that ended in `status`; `why` is the cause its build log
/// names, in a line.
pub(crate) fn status_failure(
    status: &DeployStatus,
    deploy_id: &str,
    dashboard: &str,
    why: Option<String>,
) -> DeployFailure {
    let logs = format!("[deploy logs]({dashboard}/deploys/{deploy_id})");
    let steps = match status {
        DeployStatus::BuildFailed => vec![
            format!("Read the build output in the {logs}."),
            "Render keeps the previous deploy serving; nothing is down.".into(),
            "If the build cache may be stale, deploy again with `clear-cache: true` (API trigger).".into(),
        ],
        DeployStatus::PreDeployFailed => vec![
            format!("The pre-deploy command (often migrations) failed; read the {logs}."),
            "Render keeps the previous deploy serving.".into(),
        ],
        DeployStatus::UpdateFailed => vec![
            format!("The new instance failed to start or failed its health check; read the {logs}."),
            "Services with a persistent disk have no zero-downtime deploys and may be down: check the service now.".into(),
        ],
        DeployStatus::Canceled => vec![
            "A newer deploy or a person canceled this one (Render's default policy cancels a running deploy when a new one starts).".into(),
            "Set `canceled-is-failure: false` if superseded deploys should pass.".into(),
        ],
        _ => vec![format!("Read the {logs}.")],
    };
    DeployFailure {
        title: "Deploy failed",
        message: format!(
            "deploy {deploy_id} ended {status}{}",
            why.map(|w| format!(": {w}")).unwrap_or_default()
        ),
        steps,
    }
}

pub(crate) fn suspended_failure(service: &Service, id: &str, dashboard: &str) -> DeployFailure {
    let by = service.suspended_by();
    DeployFailure {
        title: "Service suspended",
        message: format!(
            "{} ({id}) is suspended (by: {by}); Render does not deploy suspended services",
            service.display_name()
        ),
        steps: vec![format!(
            "Resume the service in the [dashboard]({dashboard}) (or fix billing), then run this job again."
        )],
    }
}

/// The timeout passed and render-pilot canceled the deploy (`what` says
/// how that went).
pub(crate) fn timed_out_failure(
    deploy_id: &str,
    what: &str,
    timeout: Duration,
    dashboard: &str,
) -> DeployFailure {
    DeployFailure {
        title: "Deploy timed out",
        message: format!(
            "deploy {deploy_id} did not finish within {}; {what}",
            human_duration(timeout)
        ),
        steps: vec![
            format!("Check the deploy in the [dashboard]({dashboard}/deploys/{deploy_id})."),
            "Raise the `timeout` input if builds routinely take this long.".into(),
        ],
    }
}

/// The timeout passed and the deploy goes on without render-pilot.
pub(crate) fn still_running_failure(
    deploy_id: &str,
    status: &str,
    timeout: Duration,
    dashboard: &str,
) -> DeployFailure {
    DeployFailure {
        title: "Deploy still running",
        message: format!(
            "deploy {deploy_id} is still {status} after {}; render-pilot stopped waiting but did not cancel it",
            human_duration(timeout)
        ),
        steps: vec![
            format!("Watch the deploy in the [dashboard]({dashboard}/deploys/{deploy_id})."),
            "Raise the `timeout` input if builds routinely take this long, or set `cancel-on-timeout: true`.".into(),
        ],
    }
}
