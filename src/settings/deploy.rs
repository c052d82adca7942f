//! Deploy mode's inputs: read, checked and masked before anything happens.

use std::path::Path;
use std::time::Duration;

use super::{same_service, Reader};
use crate::cli::DeployArgs;
use crate::clients::event::{read_pushed, Pushed};
use crate::clients::github::GitHubApi;
use crate::clients::hook::{self, Hook};
use crate::clients::http::Tuning;
use crate::clients::render::{RenderApi, TriggerRequest};
use crate::inputs::{parse_bool, shorten, InputError};
use crate::output::secrets::{userinfo, without_userinfo};

#[derive(Debug)]
pub(crate) struct DeploySettings {
    pub trigger: Trigger,
    pub api: Option<RenderApi>,
    /// `None` only for a Blueprint hook without `service-id`.
    pub service_id: Option<String>,
    pub wait: bool,
    pub timeout: Duration,
    pub request: TriggerRequest,
    pub canceled_is_failure: bool,
    pub cancel_on_timeout: bool,
    /// Whether Render's build log is read while waiting, and shown.
    pub build_log: BuildLog,
    pub dry_run: bool,
    /// Verify the live deploy answers 2xx on this path, within the timeout.
    pub health: Option<(String, Duration)>,
    /// Where render-pilot reports on GitHub: a comment on the pull request,
    /// a GitHub deployment. `None` when neither was asked for.
    pub github: Option<GitHubReport>,
    /// Found while reading the hook; shown once the run starts.
    pub warnings: Vec<String>,
    pub tuning: Tuning,
}

/// Render's build log while a deploy is waited for (`build-log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuildLog {
    /// Streamed into the job log in CI; a tail under the spinner on a
    /// terminal.
    Auto,
    /// Every line, on a terminal too.
    Always,
    /// Not read at all.
    Never,
}

/// What starts the deploy: one choice, read once.
#[derive(Debug)]
pub(crate) enum Trigger {
    /// The service's deploy hook, parsed once.
    Hook(Hook),
    /// Render's API (`POST /services/{id}/deploys`).
    Api,
    /// Nothing: Render starts the deploy itself (Auto-Deploy, or a pull
    /// request's preview) and render-pilot follows it.
    Follow(Follow),
}

/// The deploy Render starts itself, to find and follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Follow {
    /// The commit whose deploy to follow (40 or at least 7 hex digits).
    pub commit: String,
    /// On a pull_request event: follow the pull request's preview.
    pub pull_request: Option<u64>,
    /// The pushed commit's message, when the event has it: a skip phrase
    /// in it explains a deploy that never came.
    pub message: Option<String>,
}

impl Follow {
    /// The commit as people read it: its first seven hex digits.
    pub(crate) fn short(&self) -> &str {
        &self.commit[..7.min(self.commit.len())]
    }
}

/// GitHub, for the pull-request comment and the GitHub deployment.
#[derive(Debug)]
pub(crate) struct GitHubReport {
    pub api: GitHubApi,
    pub token: String,
    /// Keep one comment on the pull request with the preview's link.
    pub pr_comment: bool,
    /// Create a GitHub deployment and set its statuses.
    pub deployment: Option<GitHubDeployment>,
    /// The pull request whose preview is followed.
    pub pull_request: Option<u64>,
}

/// The GitHub deployment to create: of which commit, in which environment.
#[derive(Debug)]
pub(crate) struct GitHubDeployment {
    pub environment: String,
    pub reference: String,
}

impl DeploySettings {
    /// Reads and checks every deploy input. Secrets are masked first.
    pub(super) fn resolve(args: &DeployArgs, read: &Reader) -> Result<DeploySettings, InputError> {
        let request = request(args, read)?;
        let (trigger, api, service_id, warnings) = trigger(args, read, &request)?;
        let wait = wait(args, read, &trigger, api.is_some(), service_id.is_some())?;
        if request.clear_cache && !matches!(trigger, Trigger::Api) {
            return Err(InputError::new(
                "clear-cache",
                "works only with the API trigger (trigger: api, or no deploy-hook-url). Trigger through the API, or drop clear-cache",
            ));
        }
        Ok(DeploySettings {
            health: health(args, read, wait)?,
            github: github(args, read, &trigger, &request)?,
            trigger,
            api,
            service_id,
            wait,
            timeout: read.duration(args.timeout.as_deref(), "timeout")?,
            request,
            canceled_is_failure: read
                .bool(args.canceled_is_failure.as_deref(), "canceled-is-failure")?,
            cancel_on_timeout: read.bool(args.cancel_on_timeout.as_deref(), "cancel-on-timeout")?,
            build_log: build_log(read.required(args.build_log.as_deref(), "build-log")?)?,
            dry_run: read.bool(args.common.dry_run.as_deref(), "dry-run")?,
            warnings,
            tuning: read.tuning(),
        })
    }

    /// The hook, when the deploy is triggered through it.
    pub(crate) fn hook(&self) -> Option<&Hook> {
        match &self.trigger {
            Trigger::Hook(hook) => Some(hook),
            _ => None,
        }
    }
}

fn build_log(value: String) -> Result<BuildLog, InputError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(BuildLog::Auto),
        "always" => Ok(BuildLog::Always),
        "never" => Ok(BuildLog::Never),
        other => Err(InputError::new(
            "build-log",
            format!(
                "'{}' is not a choice; choose auto, always or never",
                shorten(other)
            ),
        )),
    }
}

type Chosen = (Trigger, Option<RenderApi>, Option<String>, Vec<String>);

/// What starts the deploy (`trigger`), and the API key and service id it
/// needs: the hook, else the API with a service id; or nothing, following
/// the deploy Render starts.
fn trigger(
    args: &DeployArgs,
    read: &Reader,
    request: &TriggerRequest,
) -> Result<Chosen, InputError> {
    let raw_hook = read.given(args.deploy_hook_url.as_deref(), "deploy-hook-url");
    let api = read.render_api(
        args.common.render_api_key.as_deref(),
        args.common.render_api_url.as_deref(),
    )?;
    let (hook, warnings) = match &raw_hook {
        Some(raw) => {
            let (hook, warnings) = hook::parse(raw)?;
            (Some(hook), warnings)
        }
        None => (None, Vec::new()),
    };
    let service_id = match (read.service_id(args.common.service_id.as_deref())?, &hook) {
        (Some(id), Some(h)) => Some(same_service(id, h)?),
        (Some(id), None) => Some(id),
        (None, Some(h)) if !h.blueprint => Some(h.id.clone()),
        _ => None,
    };
    let choice = read.required(args.trigger.as_deref(), "trigger")?;
    let api_ready = api.is_some() && service_id.is_some();
    let trigger = match (choice.trim().to_ascii_lowercase().as_str(), hook) {
        ("auto" | "hook", Some(hook)) => Trigger::Hook(hook),
        ("auto" | "api", _) if api_ready => Trigger::Api,
        ("auto", None) => return Err(InputError::new(
            "deploy-hook-url",
            "is not set, and the API trigger needs render-api-key and service-id. Give the deploy hook (secret RENDER_DEPLOY_HOOK), or an API key and a service id; or set trigger: none to follow the deploy Render starts itself",
        )),
        ("hook", None) => return Err(InputError::new(
            "deploy-hook-url",
            "is not set, and trigger is hook. Give the deploy hook (secret RENDER_DEPLOY_HOOK), or choose trigger: api",
        )),
        ("api", _) => return Err(InputError::new(
            "trigger",
            "is api, which needs render-api-key and service-id (or the deploy hook, for the id). Give both, or choose trigger: hook",
        )),
        ("none", _) if api_ready => Trigger::Follow(follow(read, request)?),
        ("none", _) => return Err(InputError::new(
            "trigger",
            "is none: render-pilot follows the deploy Render starts, which needs render-api-key and service-id (or the deploy hook, for the id). Give both",
        )),
        (other, _) => return Err(InputError::new(
            "trigger",
            format!("'{}' is not a trigger; choose auto, hook, api or none", shorten(other)),
        )),
    };
    Ok((trigger, api, service_id, warnings))
}

/// The deploy to follow: of `commit`, else of the pull request's head on a
/// pull_request event, else of `GITHUB_SHA`.
fn follow(read: &Reader, request: &TriggerRequest) -> Result<Follow, InputError> {
    if request.image.is_some() {
        return Err(InputError::new(
            "image",
            "is set, but trigger: none deploys nothing: it follows the deploy Render starts for a commit. Drop image, or trigger the deploy (trigger: auto)",
        ));
    }
    let pushed = match read.env.get("GITHUB_EVENT_PATH") {
        Some(path) => read_pushed(&std::fs::read_to_string(Path::new(path)).map_err(|e| {
            InputError::new(
                "GITHUB_EVENT_PATH",
                format!("cannot be read ({e}); the runner writes it, so check the path"),
            )
        })?)?,
        None => Pushed::default(),
    };
    let on_pull_request = read
        .env
        .get("GITHUB_EVENT_NAME")
        .is_some_and(|e| e.starts_with("pull_request"));
    let pull_request = pushed.pull_request.filter(|_| on_pull_request);
    let commit = request
        .commit
        .clone()
        .or_else(|| pull_request.as_ref().map(|(_, head)| head.clone()))
        .or_else(|| read.env.get("GITHUB_SHA").map(|s| s.trim().to_ascii_lowercase()))
        .filter(|c| (7..=40).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_hexdigit()))
        .ok_or_else(|| {
            InputError::new(
                "commit",
                "is not set, and neither is GITHUB_SHA: trigger: none must know which commit's deploy to follow. Pass commit: ${{ github.sha }}",
            )
        })?;
    Ok(Follow {
        commit: commit.to_ascii_lowercase(),
        pull_request: pull_request.map(|(number, _)| number),
        message: pushed.message,
    })
}

/// Whether to wait: by default when an API key can read the status; a
/// followed deploy is always waited for.
fn wait(
    args: &DeployArgs,
    read: &Reader,
    trigger: &Trigger,
    api: bool,
    service: bool,
) -> Result<bool, InputError> {
    let wait = read
        .given(args.wait.as_deref(), "wait")
        .map_or(Ok(api), |v| parse_bool("wait", &v))?;
    if !wait && matches!(trigger, Trigger::Follow(_)) {
        return Err(InputError::new(
            "wait",
            "is false, but trigger: none only follows Render's deploy: there is nothing to do without waiting. Drop wait: false, or trigger the deploy",
        ));
    }
    if wait && !api {
        return Err(InputError::new(
            "wait",
            "needs render-api-key: the deploy hook key cannot read deploy status. Add the API key (secret RENDER_API_KEY) or set wait: false",
        ));
    }
    if wait && !service {
        return Err(InputError::new(
            "wait",
            "a Blueprint hook deploys no single service; set service-id to wait for one, or set wait: false",
        ));
    }
    Ok(wait)
}

/// What to deploy: a commit, an image, or the branch's head.
fn request(args: &DeployArgs, read: &Reader) -> Result<TriggerRequest, InputError> {
    let commit = read
        .given(args.commit.as_deref(), "commit")
        .map(|c| c.trim().to_string());
    if let Some(c) = &commit {
        if !(7..=40).contains(&c.len()) || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(InputError::new(
                "commit",
                format!(
                    "'{}' is not a commit SHA (7 to 40 hex digits); pass ${{{{ github.sha }}}}",
                    shorten(c)
                ),
            ));
        }
    }
    let image = read
        .given(args.image.as_deref(), "image")
        .map(|i| i.trim().to_string());
    if let Some(i) = &image {
        // A registry login in the reference is a secret: masked before
        // anything could print it (the image is shown without it).
        if let Some(login) = userinfo(i) {
            read.runner.mask(login);
            if let Some((_, password)) = login.split_once(':') {
                read.runner.mask(password);
            }
        }
        if i.chars().any(|c| c.is_whitespace() || c.is_control()) || i.len() > 512 {
            return Err(InputError::new(
                "image",
                format!(
                    "'{}' is not an image reference like docker.io/org/app:tag",
                    shorten(&without_userinfo(i))
                ),
            ));
        }
    }
    if commit.is_some() && image.is_some() {
        return Err(InputError::new(
            "commit",
            "and image were both given; a service is built from a commit or runs an image. Keep one",
        ));
    }
    Ok(TriggerRequest {
        commit,
        image,
        clear_cache: read.bool(args.clear_cache.as_deref(), "clear-cache")?,
    })
}

/// The health check after going live: a path, and how long it may take.
fn health(
    args: &DeployArgs,
    read: &Reader,
    wait: bool,
) -> Result<Option<(String, Duration)>, InputError> {
    Ok(match read.health_path(args.health_path.as_deref())? {
        Some(path) if wait => Some((
            path,
            read.health_timeout(args.health_timeout.as_deref())?,
        )),
        Some(_) => {
            return Err(InputError::new(
                "health-path",
                "needs wait: true and render-api-key, to know when the deploy is live and where the service answers",
            ))
        }
        None => None,
    })
}

/// The pull-request comment and the GitHub deployment, when asked for:
/// both need the token and the repository.
fn github(
    args: &DeployArgs,
    read: &Reader,
    trigger: &Trigger,
    request: &TriggerRequest,
) -> Result<Option<GitHubReport>, InputError> {
    let pr_comment = read.bool(args.pr_comment.as_deref(), "pr-comment")?;
    let deployment = read.bool(args.github_deployment.as_deref(), "github-deployment")?;
    if !pr_comment && !deployment {
        return Ok(None);
    }
    let (pull_request, followed) = match trigger {
        Trigger::Follow(follow) => (follow.pull_request, Some(follow.commit.clone())),
        _ => (None, None),
    };
    if pr_comment && pull_request.is_none() {
        return Err(InputError::new(
            "pr-comment",
            "comments on a pull request's preview: it needs trigger: none on a pull_request event. Drop pr-comment, or run the step on pull_request",
        ));
    }
    let token = read.github_token(args.github_token.as_deref())?.ok_or_else(|| {
        InputError::new(
            "github-token",
            "is not set, and pr-comment or github-deployment is true; pass github-token: ${{ github.token }} (with pull-requests: write or deployments: write)",
        )
    })?;
    let deployment = match deployment {
        true => Some(GitHubDeployment {
            environment: environment(args, read, pull_request)?,
            reference: followed
                .or_else(|| request.commit.clone())
                .or_else(|| read.env.get("GITHUB_SHA").map(|s| s.trim().to_string()))
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    InputError::new(
                        "commit",
                        "is not set, and neither is GITHUB_SHA: a GitHub deployment is of a commit. Pass commit: ${{ github.sha }}",
                    )
                })?,
        }),
        false => None,
    };
    Ok(Some(GitHubReport {
        api: read.github_api()?,
        token,
        pr_comment,
        deployment,
        pull_request,
    }))
}

/// The GitHub deployment's environment: the input, else `production`, or
/// `pr-<number>` for a pull request's preview.
fn environment(
    args: &DeployArgs,
    read: &Reader,
    pull_request: Option<u64>,
) -> Result<String, InputError> {
    let environment = read
        .given(args.environment.as_deref(), "environment")
        .map(|e| e.trim().to_string())
        .or_else(|| pull_request.map(|n| format!("pr-{n}")))
        .unwrap_or_else(|| "production".to_string());
    if environment.is_empty()
        || environment.len() > 255
        || environment.chars().any(|c| c.is_control())
    {
        return Err(InputError::new(
            "environment",
            "must be a GitHub environment name (one line, at most 255 characters), like production",
        ));
    }
    Ok(environment)
}
