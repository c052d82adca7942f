//! GitHub deployments and their statuses: what a deploy tool reports so
//! the pull request and the repository's Environments page show it.

use serde_json::{json, Value};

use super::{error, not_found, paging, user};
use crate::wire::{Request, Response};
use crate::{now_rfc3339, Sim, State};

/// A deployment as created through the API.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: u64,
    /// The branch, tag or SHA deployed (`ref`).
    pub git_ref: String,
    pub environment: String,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub description: String,
    /// Oldest first.
    pub statuses: Vec<DeploymentStatus>,
    created_at: String,
    task: String,
    payload: Value,
}

#[derive(Debug, Clone)]
pub struct DeploymentStatus {
    pub state: String,
    pub environment_url: String,
    pub log_url: String,
    pub description: String,
    pub environment: String,
    id: u64,
    created_at: String,
}

const STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

impl Deployment {
    fn url(&self, base: &str) -> String {
        format!("{base}/repos/acme/shop/deployments/{}", self.id)
    }

    fn json(&self, base: &str) -> Value {
        let url = self.url(base);
        json!({
            "url": url,
            "id": self.id,
            "node_id": format!("DE_kwDOsim{}", self.id),
            "sha": sha_of(&self.git_ref),
            "ref": self.git_ref,
            "task": self.task,
            "payload": self.payload,
            "original_environment": self.environment,
            "environment": self.environment,
            "description": self.description,
            "creator": user("github-actions[bot]", 41898282, "Bot", base),
            "created_at": self.created_at,
            "updated_at": self.statuses.last().map_or(&self.created_at, |s| &s.created_at),
            "statuses_url": format!("{url}/statuses"),
            "repository_url": format!("{base}/repos/acme/shop"),
            "transient_environment": self.transient_environment,
            "production_environment": self.production_environment,
            "performed_via_github_app": null,
        })
    }

    fn status_json(&self, status: &DeploymentStatus, base: &str) -> Value {
        let url = self.url(base);
        json!({
            "url": format!("{url}/statuses/{}", status.id),
            "id": status.id,
            "node_id": format!("DES_kwDOsim{}", status.id),
            "state": status.state,
            "creator": user("github-actions[bot]", 41898282, "Bot", base),
            "description": status.description,
            "environment": status.environment,
            // `log_url` replaced `target_url`; GitHub sends both, the same.
            "target_url": status.log_url,
            "log_url": status.log_url,
            "environment_url": status.environment_url,
            "created_at": status.created_at,
            "updated_at": status.created_at,
            "deployment_url": url,
            "repository_url": format!("{base}/repos/acme/shop"),
            "performed_via_github_app": null,
        })
    }
}

/// The commit a ref names. The simulated GitHub keeps no refs: a full SHA
/// names itself, any other ref a made-up SHA of its own.
fn sha_of(reference: &str) -> String {
    let is_sha = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
    if is_sha {
        return reference.to_string();
    }
    let hash = reference.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}{:024x}", hash.rotate_left(17))
}

/// GitHub's 422 for a field missing, of the wrong type or out of range.
fn invalid(field: &str) -> Response {
    error(
        422,
        &format!("Invalid request.\n\nInvalid value for \"{field}\"."),
    )
}

/// An optional field of the body: `Err` when present with another type.
fn optional<'a, T>(
    body: &'a Value,
    field: &str,
    read: impl Fn(&'a Value) -> Option<T>,
) -> Result<Option<T>, Response> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => read(value).map(Some).ok_or_else(|| invalid(field)),
    }
}

fn create(id: u64, body: &Value) -> Result<Deployment, Response> {
    let git_ref = optional(body, "ref", Value::as_str)?.ok_or_else(|| invalid("ref"))?;
    let environment = optional(body, "environment", Value::as_str)?.unwrap_or("production");
    // GitHub's default: production when the environment is `production`.
    let production = optional(body, "production_environment", Value::as_bool)?;
    let payload = optional(body, "payload", |v| {
        (v.is_object() || v.is_string()).then(|| v.clone())
    })?;
    Ok(Deployment {
        id,
        git_ref: git_ref.to_string(),
        environment: environment.to_string(),
        transient_environment: optional(body, "transient_environment", Value::as_bool)?
            .unwrap_or(false),
        production_environment: production.unwrap_or(environment == "production"),
        description: optional(body, "description", Value::as_str)?
            .unwrap_or_default()
            .to_string(),
        statuses: Vec::new(),
        created_at: now_rfc3339(),
        task: optional(body, "task", Value::as_str)?
            .unwrap_or("deploy")
            .to_string(),
        payload: payload.unwrap_or_else(|| json!({})),
    })
}

fn status(deployment: &Deployment, body: &Value, id: u64) -> Result<DeploymentStatus, Response> {
    let text = |field: &str| optional(body, field, Value::as_str);
    let state = text("state")?
        .filter(|s| STATES.contains(s))
        .ok_or_else(|| invalid("state"))?;
    let description = text("description")?.unwrap_or_default();
    if description.chars().count() > 140 {
        return Err(invalid("description"));
    }
    // Without one, the environment of the previous status, else the
    // deployment's.
    let environment = match text("environment")? {
        Some(environment) => environment.to_string(),
        None => deployment
            .statuses
            .last()
            .map_or(&deployment.environment, |s| &s.environment)
            .clone(),
    };
    Ok(DeploymentStatus {
        state: state.to_string(),
        environment_url: text("environment_url")?.unwrap_or_default().to_string(),
        log_url: text("log_url")?
            .or(text("target_url")?)
            .unwrap_or_default()
            .to_string(),
        description: description.to_string(),
        environment,
        id,
        created_at: now_rfc3339(),
    })
}

/// `/repos/{owner}/{repo}/deployments/…`
pub(super) fn api(state: &mut State, request: &Request, parts: &[&str]) -> Response {
    let base = state.base_url.clone();
    let deployments = &mut state.github.deployments;
    let body = request.json();
    match (request.method.as_str(), parts) {
        ("POST", []) => match create(4_000_000 + deployments.len() as u64 + 1, &body) {
            Ok(deployment) => {
                let answer = deployment.json(&base);
                deployments.push(deployment);
                Response::json(201, &answer)
            }
            Err(response) => response,
        },
        (method, [id, "statuses"]) => {
            let posted: usize = deployments.iter().map(|d| d.statuses.len()).sum();
            let Some(deployment) = deployments.iter_mut().find(|d| d.id.to_string() == *id) else {
                return not_found();
            };
            match method {
                "POST" => match status(deployment, &body, 5_000_000 + posted as u64 + 1) {
                    Ok(status) => {
                        let answer = deployment.status_json(&status, &base);
                        deployment.statuses.push(status);
                        Response::json(201, &answer)
                    }
                    Err(response) => response,
                },
                // Newest first, as GitHub lists them.
                "GET" => {
                    let (per_page, page) = paging(request);
                    let statuses: Vec<Value> = deployment
                        .statuses
                        .iter()
                        .rev()
                        .skip((page - 1) * per_page)
                        .take(per_page)
                        .map(|s| deployment.status_json(s, &base))
                        .collect();
                    Response::json(200, &Value::Array(statuses))
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

impl Sim {
    /// The deployments created through the API, oldest first.
    pub fn deployments(&self) -> Vec<Deployment> {
        self.lock().github.deployments.clone()
    }
}
