//! Render's resources as its OpenAPI description declares them: services,
//! deploys and their statuses, ids, and what a trigger asks for.

use std::fmt;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::clients::http::web_url;
use crate::output::secrets::without_userinfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeployStatus {
    Created,
    Queued,
    BuildInProgress,
    UpdateInProgress,
    Live,
    Deactivated,
    BuildFailed,
    UpdateFailed,
    Canceled,
    PreDeployInProgress,
    PreDeployFailed,
    /// A value newer than this program: keep polling and warn.
    Unknown(String),
}

/// How a deploy status reads for someone waiting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pending,
    Succeeded,
    Failed,
}

impl DeployStatus {
    pub(crate) fn parse(text: &str) -> DeployStatus {
        use DeployStatus::*;
        match text {
            "created" => Created,
            "queued" => Queued,
            "build_in_progress" => BuildInProgress,
            "update_in_progress" => UpdateInProgress,
            "live" => Live,
            "deactivated" => Deactivated,
            "build_failed" => BuildFailed,
            "update_failed" => UpdateFailed,
            "canceled" => Canceled,
            "pre_deploy_in_progress" => PreDeployInProgress,
            "pre_deploy_failed" => PreDeployFailed,
            other => Unknown(other.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        use DeployStatus::*;
        match self {
            Created => "created",
            Queued => "queued",
            BuildInProgress => "build_in_progress",
            UpdateInProgress => "update_in_progress",
            Live => "live",
            Deactivated => "deactivated",
            BuildFailed => "build_failed",
            UpdateFailed => "update_failed",
            Canceled => "canceled",
            PreDeployInProgress => "pre_deploy_in_progress",
            PreDeployFailed => "pre_deploy_failed",
            Unknown(s) => s,
        }
    }

    pub(crate) fn is_failure(&self) -> bool {
        use DeployStatus::*;
        matches!(self, BuildFailed | UpdateFailed | PreDeployFailed)
    }

    /// `live` and `deactivated` (superseded by a later deploy) succeeded;
    /// `canceled` is a failure unless the user says otherwise, because under
    /// Render's default policy a newer deploy cancels the one we started.
    pub(crate) fn outcome(&self, canceled_is_failure: bool) -> Outcome {
        use DeployStatus::*;
        match self {
            Live | Deactivated => Outcome::Succeeded,
            BuildFailed | UpdateFailed | PreDeployFailed => Outcome::Failed,
            Canceled if canceled_is_failure => Outcome::Failed,
            Canceled => Outcome::Succeeded,
            _ => Outcome::Pending,
        }
    }
}

impl fmt::Display for DeployStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DeployStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(DeployStatus::parse(&String::deserialize(d)?))
    }
}

/// Ids go into request paths and into Markdown, so an id not shaped like
/// Render's (a lower-case prefix, `-`, lower-case letters and digits) is
/// refused as a bad answer rather than followed: `../` or `?` from a
/// server must not choose another endpoint.
pub(crate) fn has_render_id_shape(id: &str) -> bool {
    id.split_once('-').is_some_and(|(prefix, _)| {
        (2..=5).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && is_render_id(&format!("{prefix}-"), id)
    })
}

fn render_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if has_render_id_shape(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(format!(
            "{:?} is not a Render id",
            crate::inputs::shorten(&id)
        )))
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Service {
    #[serde(deserialize_with = "render_id")]
    pub id: String,
    pub name: Option<String>,
    /// The workspace that owns the service: its logs are asked of it.
    pub owner_id: Option<String>,
    pub suspended: Option<String>,
    #[serde(default)]
    pub suspenders: Vec<String>,
    pub dashboard_url: Option<String>,
    pub service_details: Option<ServiceDetails>,
    pub branch: Option<String>,
    /// `yes` or `no`: whether Render deploys pushes by itself.
    pub auto_deploy: Option<String>,
    /// `commit`, `checksPass` or `off` (newer than `autoDeploy`).
    pub auto_deploy_trigger: Option<String>,
    /// Only changes under this folder start an Auto-Deploy.
    pub root_dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceDetails {
    pub url: Option<String>,
    pub disk: Option<Value>,
    pub health_check_path: Option<String>,
    /// Set on a pull-request preview: the service it previews.
    pub parent_server: Option<ParentServer>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct ParentServer {
    pub id: Option<String>,
}

/// How Render's Auto-Deploy is set for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AutoDeploy {
    /// Every push to the branch.
    OnCommit,
    /// Once every check on the commit has passed.
    AfterChecks,
    Off,
    /// Render did not say.
    Unknown,
}

impl Service {
    /// Who suspended the service, as Render lists it; "unknown" without.
    pub(crate) fn suspended_by(&self) -> String {
        if self.suspenders.is_empty() {
            "unknown".into()
        } else {
            self.suspenders.join(", ")
        }
    }

    pub(crate) fn is_suspended(&self) -> bool {
        self.suspended.as_deref() == Some("suspended")
    }

    /// The public URL is `serviceDetails.url`; there is no top-level `url`.
    pub(crate) fn url(&self) -> Option<String> {
        web_url(self.service_details.as_ref()?.url.as_deref()?)
    }

    /// The path Render's own health check calls, when one is set.
    pub(crate) fn health_check_path(&self) -> Option<&str> {
        self.service_details
            .as_ref()?
            .health_check_path
            .as_deref()
            .filter(|p| p.starts_with('/'))
    }

    pub(crate) fn has_disk(&self) -> bool {
        self.service_details
            .as_ref()
            .is_some_and(|d| d.disk.as_ref().is_some_and(|v| !v.is_null()))
    }

    /// `autoDeployTrigger` when Render sends it, else `autoDeploy`.
    pub(crate) fn auto_deploy(&self) -> AutoDeploy {
        match (
            self.auto_deploy_trigger.as_deref(),
            self.auto_deploy.as_deref(),
        ) {
            (Some("commit"), _) => AutoDeploy::OnCommit,
            (Some("checksPass"), _) => AutoDeploy::AfterChecks,
            (Some("off"), _) | (None, Some("no")) => AutoDeploy::Off,
            (None, Some("yes")) => AutoDeploy::OnCommit,
            _ => AutoDeploy::Unknown,
        }
    }

    /// The service this one previews, when it is a pull-request preview.
    pub(crate) fn parent_id(&self) -> Option<&str> {
        self.service_details
            .as_ref()?
            .parent_server
            .as_ref()?
            .id
            .as_deref()
    }

    pub(crate) fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    pub(crate) fn dashboard(&self) -> String {
        self.dashboard_url
            .as_deref()
            .and_then(web_url)
            .unwrap_or_else(|| dashboard_url(&self.id))
    }
}

/// The dashboard page of a service when the API did not give one.
pub(crate) fn dashboard_url(service_id: &str) -> String {
    format!("https://dashboard.render.com/web/{service_id}")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Deploy {
    #[serde(deserialize_with = "render_id")]
    pub id: String,
    pub status: Option<DeployStatus>,
    pub commit: Option<Commit>,
    pub image: Option<Image>,
    pub trigger: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Commit {
    pub id: Option<String>,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Image {
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub sha: Option<String>,
}

impl Deploy {
    pub(crate) fn status_or_unknown(&self) -> DeployStatus {
        self.status
            .clone()
            .unwrap_or_else(|| DeployStatus::Unknown("unknown".into()))
    }

    /// What was deployed: a short commit, or `image@sha` for image-backed
    /// services, whose `commit` is null; an image is shown without a
    /// registry login.
    pub(crate) fn source(&self) -> Option<String> {
        if let Some(id) = self.commit.as_ref().and_then(|c| c.id.as_deref()) {
            return Some(id.chars().take(7).collect());
        }
        let image = self.image.as_ref()?;
        let reference = image.reference.as_deref().map(without_userinfo);
        match (reference, &image.sha) {
            (Some(r), Some(s)) => Some(format!("{r}@{}", s.chars().take(19).collect::<String>())),
            (Some(r), None) => Some(r),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        }
    }
}

/// Render deploy ids are `dep-` followed by lower-case letters and digits.
pub(crate) fn is_deploy_id(id: &str) -> bool {
    is_render_id("dep-", id)
}

/// Render ids: a prefix (`srv-`, `dep-`) and lower-case letters and digits.
pub(crate) fn is_render_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

#[derive(Deserialize)]
pub(super) struct ServiceItem {
    pub(super) service: Service,
    pub(super) cursor: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct DeployItem {
    pub(super) deploy: Deploy,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CustomDomainItem {
    pub(super) custom_domain: CustomDomain,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CustomDomain {
    pub(super) name: String,
    pub(super) verification_status: Option<String>,
}

/// A host name as a URL may carry it: letters, digits, `-` and `.`, so a
/// name from the API cannot add a path, a port or a login to the URL.
pub(crate) fn is_host_name(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.contains('.')
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// What a trigger asked Render to build.
#[derive(Debug, Clone, Default)]
pub(crate) struct TriggerRequest {
    pub commit: Option<String>,
    pub image: Option<String>,
    pub clear_cache: bool,
}

impl TriggerRequest {
    /// The request as it may be shown: an image's `user:password@` goes
    /// (the request sends the image as given).
    pub(crate) fn shown(&self) -> TriggerRequest {
        TriggerRequest {
            image: self.image.as_deref().map(without_userinfo),
            ..self.clone()
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = json!({});
        if let Some(c) = &self.commit {
            body["commitId"] = json!(c);
        }
        if let Some(i) = &self.image {
            body["imageUrl"] = json!(i);
        }
        if self.clear_cache {
            body["clearCache"] = json!("clear");
        }
        body
    }
}

pub(crate) enum Triggered {
    /// 201 with the new deploy.
    Created(Box<Deploy>),
    /// 202 "Queued", with no body: another deploy is running.
    Queued,
}
