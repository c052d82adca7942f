//! Render REST API v1 client, typed after Render's published OpenAPI
//! description. Every field but `id` is optional, as in the spec, so a
//! sparse or newer answer never breaks us.

use jiff::Timestamp;
use reqwest::{Method, Url};
use serde_json::{json, Value};

use crate::clients::http::{Bucket, Http, HttpError, Response, Retry, MAX_BODY};

mod events;
mod logs;
mod model;

use events::EventItem;
pub(crate) use events::{EventKind, ServiceEvent};
pub(crate) use logs::{around, LogEntry, LogFilter, LogStream};
pub(crate) use model::{
    dashboard_url, is_deploy_id, is_host_name, is_render_id, AutoDeploy, Deploy, DeployStatus,
    Outcome, Service, TriggerRequest, Triggered,
};
use model::{CustomDomainItem, DeployItem, ServiceItem};

pub(crate) const DEFAULT_API_URL: &str = "https://api.render.com/v1";
const PAGE: usize = 100;
/// The most pages followed: 50,000 services, and a server that keeps
/// answering full pages cannot hold the run.
const MAX_PAGES: usize = 500;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RenderError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("Render's stream: {0}")]
    Socket(String),
    #[error("Render API {what}: HTTP {status}{}: {hint}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Api {
        what: String,
        status: u16,
        message: Option<String>,
        hint: String,
    },
}

impl RenderError {
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            RenderError::Api { status, .. } => Some(*status),
            RenderError::Http(_) | RenderError::Socket(_) => None,
        }
    }
}

/// What to tell the user for an API status: each names the fix.
pub(crate) fn api_hint(status: u16) -> &'static str {
    match status {
        400 => "Render rejected the request as malformed; check commit and image inputs",
        401 => "the API key was refused; create a key under Account Settings → API Keys and update the render-api-key secret",
        403 => "the API key may not access this service; use a key of a member of the service's workspace",
        404 => "not found; check service-id (srv-…) and that the API key's workspace owns the service",
        406 | 410 => "Render cannot serve this request for this service",
        409 => "Render reports a conflict (often a deploy already in progress); check the dashboard before retrying",
        429 => "Render's rate limit was hit; wait a minute and retry, or run fewer jobs against the same account",
        500..=599 => "Render's side failed; retry later and check https://status.render.com",
        _ => "unexpected answer from Render",
    }
}

/// The Render API settings, when a key is given.
#[derive(Clone)]
pub(crate) struct RenderApi {
    pub url: Url,
    pub key: String,
}

/// The key stays out of any debug print.
impl std::fmt::Debug for RenderApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderApi")
            .field("url", &self.url.as_str())
            .field("key", &crate::output::secrets::MASK)
            .finish()
    }
}

pub(crate) struct RenderClient<'a> {
    http: &'a Http,
    base: Url,
    key: String,
}

impl<'a> RenderClient<'a> {
    pub(crate) fn new(http: &'a Http, base: Url, key: &str) -> RenderClient<'a> {
        RenderClient {
            http,
            base,
            key: key.trim().to_string(),
        }
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        retry: Retry,
        what: &str,
    ) -> Result<Response, RenderError> {
        let response = self.http.send(
            bucket(&method, url.path()),
            || {
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(&self.key)
                    .header("accept", "application/json");
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            },
            retry,
            MAX_BODY,
        )?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(api_error(&response, what))
        }
    }

    pub(crate) fn get_service(&self, id: &str) -> Result<Service, RenderError> {
        let url = self.url(&format!("/services/{id}"), &[]);
        let what = format!("GET service {id}");
        Ok(self
            .call(Method::GET, url, None, Retry::Idempotent, &what)?
            .json()?)
    }

    /// Every service the key can see, pull-request previews only when
    /// asked, following cursors page by page (at most [`MAX_PAGES`], and
    /// never the same cursor twice).
    pub(crate) fn list_services(
        &self,
        include_previews: bool,
    ) -> Result<Vec<Service>, RenderError> {
        let mut services = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("limit", PAGE.to_string()),
                ("includePreviews", include_previews.to_string()),
            ];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let url = self.url("/services", &query);
            let page: Vec<ServiceItem> = self
                .call(Method::GET, url, None, Retry::Idempotent, "list services")?
                .json()?;
            let full = page.len() == PAGE;
            let next = page.last().and_then(|i| i.cursor.clone());
            services.extend(page.into_iter().map(|i| i.service));
            // Render has no `next` field: a short page is the last one.
            if !full || next.is_none() || next == cursor {
                return Ok(services);
            }
            cursor = next;
        }
        Ok(services)
    }

    /// The services called `name`, previews included: one page, which is
    /// how a pull request's preview is found without listing them all.
    pub(crate) fn services_named(&self, name: &str) -> Result<Vec<Service>, RenderError> {
        let query = [
            ("name", name.to_string()),
            ("includePreviews", "true".to_string()),
            ("limit", PAGE.to_string()),
        ];
        let url = self.url("/services", &query);
        let page: Vec<ServiceItem> = self
            .call(
                Method::GET,
                url,
                None,
                Retry::Idempotent,
                "list services by name",
            )?
            .json()?;
        Ok(page.into_iter().map(|i| i.service).collect())
    }

    /// The service's first verified custom domain: where its users reach
    /// it. A name that is not a plain host name is passed over.
    pub(crate) fn verified_domain(&self, service: &str) -> Result<Option<String>, RenderError> {
        let query = [
            ("verificationStatus", "verified".to_string()),
            ("limit", "20".to_string()),
        ];
        let url = self.url(&format!("/services/{service}/custom-domains"), &query);
        let what = format!("list custom domains of {service}");
        let items: Vec<CustomDomainItem> = self
            .call(Method::GET, url, None, Retry::Idempotent, &what)?
            .json()?;
        Ok(items
            .into_iter()
            .map(|i| i.custom_domain)
            .filter(|d| d.verification_status.as_deref() == Some("verified"))
            .map(|d| d.name.to_ascii_lowercase())
            .find(|name| is_host_name(name)))
    }

    /// The newest deploys first (Render's order).
    pub(crate) fn list_deploys(
        &self,
        service: &str,
        limit: usize,
        status: Option<&str>,
        created_after: Option<&str>,
    ) -> Result<Vec<Deploy>, RenderError> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(s) = status {
            query.push(("status", s.to_string()));
        }
        if let Some(t) = created_after {
            query.push(("createdAfter", t.to_string()));
        }
        let url = self.url(&format!("/services/{service}/deploys"), &query);
        let what = format!("list deploys of {service}");
        let items: Vec<DeployItem> = self
            .call(Method::GET, url, None, Retry::Idempotent, &what)?
            .json()?;
        Ok(items.into_iter().map(|i| i.deploy).collect())
    }

    pub(crate) fn get_deploy(&self, service: &str, deploy: &str) -> Result<Deploy, RenderError> {
        let url = self.url(&format!("/services/{service}/deploys/{deploy}"), &[]);
        let what = format!("GET deploy {deploy}");
        Ok(self
            .call(Method::GET, url, None, Retry::Idempotent, &what)?
            .json()?)
    }

    /// The service's events between two instants, newest first: one page
    /// of at most [`PAGE`], where a deploy makes about six.
    pub(crate) fn list_events(
        &self,
        service: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ServiceEvent>, RenderError> {
        let query = [
            ("startTime", from.to_string()),
            ("endTime", to.to_string()),
            ("limit", PAGE.to_string()),
        ];
        let url = self.url(&format!("/services/{service}/events"), &query);
        let what = format!("list events of {service}");
        let items: Vec<EventItem> = self
            .call(Method::GET, url, None, Retry::Idempotent, &what)?
            .json()?;
        Ok(items.into_iter().map(|i| i.event).collect())
    }

    pub(crate) fn trigger(
        &self,
        service: &str,
        request: &TriggerRequest,
    ) -> Result<Triggered, RenderError> {
        let url = self.url(&format!("/services/{service}/deploys"), &[]);
        let what = format!("trigger a deploy of {service}");
        let response = self.call(
            Method::POST,
            url,
            Some(&request.body()),
            Retry::Unsent,
            &what,
        )?;
        if response.status == 202 {
            return Ok(Triggered::Queued);
        }
        Ok(Triggered::Created(Box::new(response.json()?)))
    }

    pub(crate) fn cancel(&self, service: &str, deploy: &str) -> Result<Deploy, RenderError> {
        let url = self.url(&format!("/services/{service}/deploys/{deploy}/cancel"), &[]);
        let what = format!("cancel deploy {deploy}");
        Ok(self
            .call(Method::POST, url, None, Retry::Unsent, &what)?
            .json()?)
    }

    pub(crate) fn rollback(&self, service: &str, deploy: &str) -> Result<Deploy, RenderError> {
        let url = self.url(&format!("/services/{service}/rollback"), &[]);
        let what = format!("roll {service} back to {deploy}");
        let body = json!({ "deployId": deploy });
        Ok(self
            .call(Method::POST, url, Some(&body), Retry::Unsent, &what)?
            .json()?)
    }
}

/// Render's bucket for a request: triggers (`POST …/deploys`) spend the
/// per-service deploy budget, other writes the write budget.
fn bucket(method: &Method, path: &str) -> Bucket {
    if *method == Method::GET {
        Bucket::RenderRead
    } else if *method == Method::POST && path.ends_with("/deploys") {
        Bucket::RenderDeploy
    } else {
        Bucket::RenderWrite
    }
}

fn api_error(response: &Response, what: &str) -> RenderError {
    let message = response.error_message();
    let request_id = response
        .header("render-request-id")
        .map(|id| format!("; Render-Request-Id {id}"))
        .unwrap_or_default();
    RenderError::Api {
        what: what.to_string(),
        status: response.status,
        message,
        hint: format!("{}{request_id}", api_hint(response.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::model::has_render_id_shape;
    use super::*;
    use crate::clients::http::web_url;

    #[test]
    fn ids_and_urls_from_answers_are_checked() {
        assert!(has_render_id_shape("srv-d5x0gyoyy4xrhmjr4998") && has_render_id_shape("dep-abc1"));
        for bad in [
            "../../owners",
            "srv-a/../x",
            "srv-",
            "srv-a?x=1",
            "dep-A B",
            "-a",
            "srv-a\n",
        ] {
            assert!(!has_render_id_shape(bad), "{bad:?}");
        }
        let bad: Result<Deploy, _> = serde_json::from_value(json!({"id": "dep-1/../../x"}));
        assert!(bad.unwrap_err().to_string().contains("not a Render id"));
        assert_eq!(
            web_url("https://x.onrender.com/a (b)|c").as_deref(),
            Some("https://x.onrender.com/a%20%28b%29%7Cc")
        );
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("not a url"), None);
        assert_eq!(web_url("https://u:p@x.onrender.com"), None);
    }

    #[test]
    fn all_eleven_statuses_round_trip_and_unknown_ones_survive() {
        let all = [
            "created",
            "queued",
            "build_in_progress",
            "update_in_progress",
            "live",
            "deactivated",
            "build_failed",
            "update_failed",
            "canceled",
            "pre_deploy_in_progress",
            "pre_deploy_failed",
        ];
        for s in all {
            let status = DeployStatus::parse(s);
            assert!(!matches!(status, DeployStatus::Unknown(_)), "{s}");
            assert_eq!(status.as_str(), s);
        }
        let new = DeployStatus::parse("warming_up");
        assert_eq!(new, DeployStatus::Unknown("warming_up".into()));
        assert_eq!(new.outcome(true), Outcome::Pending);
    }

    #[test]
    fn outcomes() {
        use DeployStatus::*;
        let table = [
            (Live, true, Outcome::Succeeded),
            (Deactivated, true, Outcome::Succeeded),
            (BuildFailed, true, Outcome::Failed),
            (UpdateFailed, false, Outcome::Failed),
            (PreDeployFailed, true, Outcome::Failed),
            (Canceled, true, Outcome::Failed),
            (Canceled, false, Outcome::Succeeded),
            (PreDeployInProgress, true, Outcome::Pending),
            (Queued, true, Outcome::Pending),
            (Created, true, Outcome::Pending),
        ];
        for (status, canceled_is_failure, want) in table {
            assert_eq!(status.outcome(canceled_is_failure), want, "{status}");
        }
    }

    #[test]
    fn image_backed_deploys_have_a_source() {
        let deploy: Deploy = serde_json::from_value(json!({
            "id": "dep-1", "commit": null, "status": "live",
            "image": {"ref": "docker.io/library/nginx:1.27", "sha": "sha256:abcdef0123456789abcdef"}
        }))
        .unwrap();
        assert_eq!(
            deploy.source().unwrap(),
            "docker.io/library/nginx:1.27@sha256:abcdef012345"
        );
        let logged_in: Deploy = serde_json::from_value(json!({
            "id": "dep-3", "commit": null,
            "image": {"ref": "bot:pa55word@registry.example:5000/app:2"}
        }))
        .unwrap();
        assert_eq!(logged_in.source().unwrap(), "registry.example:5000/app:2");
        let bare: Deploy = serde_json::from_value(json!({"id": "dep-2"})).unwrap();
        assert_eq!(bare.source(), None);
        assert_eq!(bare.status_or_unknown().as_str(), "unknown");
    }

    #[test]
    fn requests_spend_their_own_bucket() {
        let cases = [
            (
                Method::GET,
                "/v1/services/srv-a/deploys",
                Bucket::RenderRead,
            ),
            (Method::GET, "/v1/services/srv-a/events", Bucket::RenderRead),
            (
                Method::POST,
                "/v1/services/srv-a/deploys",
                Bucket::RenderDeploy,
            ),
            (
                Method::POST,
                "/v1/services/srv-a/deploys/dep-b/cancel",
                Bucket::RenderWrite,
            ),
            (
                Method::POST,
                "/v1/services/srv-a/rollback",
                Bucket::RenderWrite,
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(bucket(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn trigger_body_uses_the_spec_names() {
        let body = TriggerRequest {
            commit: Some("abc1234".into()),
            image: None,
            clear_cache: true,
        }
        .body();
        assert_eq!(body, json!({"commitId": "abc1234", "clearCache": "clear"}));
    }
}
