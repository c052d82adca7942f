//! Triggering a deploy through its hook: sent again only when it cannot
//! have reached Render (a retry could start a second deploy), and
//! believing only Render's own answer.

use super::failure::{hook_failure, no_response_failure, DeployFailure};
use crate::clients::hook::Hook;
use crate::clients::http::{display_url, Bucket, Http, Retry};
use crate::clients::render::{Deploy, TriggerRequest};

/// What Render answered to a hook call it accepted.
pub(crate) struct HookAnswer {
    pub status: u16,
    pub deploy: Option<Deploy>,
}

/// Calls the deploy hook; it is sent again only when it cannot have
/// reached Render ([`Retry::Unsent`]), since a retry could deploy twice.
/// Returns the HTTP status as the `http-status` output shows it ("000" for
/// no response) and the outcome.
pub(crate) fn call_hook(
    http: &Http,
    hook: &Hook,
    request: &TriggerRequest,
) -> (String, Result<HookAnswer, DeployFailure>) {
    let url = hook_url(hook, request);
    let result = http.send(
        Bucket::RenderDeploy,
        || http.request(reqwest::Method::POST, url.clone()),
        Retry::Unsent,
        64 * 1024,
    );
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                "000".into(),
                Err(no_response_failure("Deploy hook unreachable", &e)),
            )
        }
    };
    let status = response.status.to_string();
    if ![200, 201, 202].contains(&response.status) {
        return (status, Err(hook_failure(response.status, &response)));
    }
    match read_hook_answer(hook.blueprint, &response.body) {
        Ok(deploy) => (
            status,
            Ok(HookAnswer {
                status: response.status,
                deploy,
            }),
        ),
        Err(what) => (status, Err(unexpected_hook_answer(response.status, &what))),
    }
}

/// Render's answer to a hook call: `{"deploy":{"id":"dep-…"}}`, or an empty
/// body (a queued deploy), or for a Blueprint hook `sync started, …`.
/// Anything else (a proxy's or a login page's 200) is not evidence that
/// Render accepted anything: the error says what came back.
fn read_hook_answer(blueprint: bool, body: &[u8]) -> Result<Option<Deploy>, String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || (blueprint && text.starts_with("sync started")) {
        return Ok(None);
    }
    if text.starts_with('<') {
        return Err(format!("an HTML page of {} bytes", body.len()));
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        let first = text.lines().next().unwrap_or_default();
        return Err(format!("text: {}", crate::inputs::shorten(first)));
    };
    let Some(deploy) = value.get("deploy").filter(|d| d.is_object()) else {
        return Err(format!("JSON without a deploy ({} bytes)", body.len()));
    };
    // The id picks the deploy we then watch: only Render's shape counts.
    match deploy.get("id") {
        None => Ok(None),
        Some(serde_json::Value::String(id)) if crate::clients::render::is_deploy_id(id) => {
            Ok(serde_json::from_value(deploy.clone()).ok())
        }
        Some(_) => Err("JSON whose deploy id is not a Render deploy id (dep-…)".into()),
    }
}

fn unexpected_hook_answer(status: u16, what: &str) -> DeployFailure {
    DeployFailure {
        title: "Deploy hook answer not understood",
        message: format!(
            "the deploy hook answered HTTP {status} with {what}, not Render's answer (a deploy, or an empty body); a proxy, captive portal or login page may stand between the runner and api.render.com"
        ),
        steps: vec![
            "The deploy may or may not have been triggered: check the service's Events in the dashboard before running this job again.".into(),
            "Check that RENDER_DEPLOY_HOOK holds the hook from the service's Settings and that the runner reaches api.render.com directly.".into(),
        ],
    }
}

pub(crate) fn hook_url(hook: &Hook, request: &TriggerRequest) -> reqwest::Url {
    let mut url = hook.url.clone();
    if let Some(commit) = &request.commit {
        url.query_pairs_mut().append_pair("ref", commit);
    }
    if let Some(image) = &request.image {
        url.query_pairs_mut().append_pair("imgURL", image);
    }
    url
}

/// The hook URL as it may be shown: the key replaced, everything else kept.
pub(crate) fn shown_hook_url(hook: &Hook, request: &TriggerRequest) -> String {
    let url = hook_url(hook, request);
    let query: Vec<String> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "key" {
                crate::output::secrets::MASK.into()
            } else {
                v
            };
            format!("{k}={value}")
        })
        .collect();
    format!("{}?{}", display_url(&url), query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_renders_answer_to_a_hook_counts() {
        let id = |body: &str| read_hook_answer(false, body.as_bytes()).map(|d| d.map(|d| d.id));
        assert_eq!(
            id(r#"{"deploy":{"id":"dep-abc123"}}"#),
            Ok(Some("dep-abc123".into()))
        );
        assert_eq!(id(""), Ok(None), "queued: an empty body");
        assert_eq!(id("  \n"), Ok(None));
        assert_eq!(id(r#"{"deploy":{}}"#), Ok(None), "the id is optional");
        let refused = [
            (
                "<!DOCTYPE html><html><title>Sign in</title></html>",
                "an HTML page",
            ),
            ("<html>proxy</html>", "an HTML page"),
            ("OK", "text: OK"),
            ("{}", "JSON without a deploy"),
            (r#"{"deploy":"dep-abc"}"#, "JSON without a deploy"),
            (r#"[{"deploy":{"id":"dep-abc"}}]"#, "JSON without a deploy"),
            (
                r#"{"deploy":{"id":"../../services"}}"#,
                "not a Render deploy id",
            ),
            (r#"{"deploy":{"id":7}}"#, "not a Render deploy id"),
        ];
        for (body, want) in refused {
            let error = id(body).unwrap_err();
            assert!(error.contains(want), "{body}: {error}");
        }
        let sync = "sync started, https://dashboard.render.com/blueprint/exs-a/sync/";
        assert_eq!(
            read_hook_answer(true, sync.as_bytes()).map(|d| d.is_none()),
            Ok(true)
        );
        assert!(read_hook_answer(false, sync.as_bytes()).is_err());
    }
}
