//! Deploy mode's inputs: read, checked and masked before anything happens.

use std::time::Duration;

use super::{same_service, Reader};
use crate::cli::DeployArgs;
use crate::clients::hook::{self, Hook};
use crate::clients::http::Tuning;
use crate::clients::render::{RenderApi, TriggerRequest};
use crate::inputs::{parse_bool, shorten, InputError};
use crate::output::secrets::{userinfo, without_userinfo};

#[derive(Debug)]
pub struct DeploySettings {
    pub hook: Option<Hook>,
    pub api: Option<RenderApi>,
    /// `None` only for a Blueprint hook without `service-id`.
    pub service_id: Option<String>,
    pub wait: bool,
    pub timeout: Duration,
    pub request: TriggerRequest,
    pub canceled_is_failure: bool,
    pub cancel_on_timeout: bool,
    pub dry_run: bool,
    /// Verify the live deploy answers 2xx on this path, within the timeout.
    pub health: Option<(String, Duration)>,
    /// Found while reading the hook; shown once the run starts.
    pub warnings: Vec<String>,
    pub tuning: Tuning,
}

impl DeploySettings {
    /// Reads and checks every deploy input. Secrets are masked first.
    pub(super) fn resolve(args: &DeployArgs, read: &Reader) -> Result<DeploySettings, InputError> {
        let (hook, api, service_id, warnings) = trigger(args, read)?;
        let wait = wait(args, read, api.is_some(), service_id.is_some())?;
        let request = request(args, read)?;
        if request.clear_cache && hook.is_some() {
            return Err(InputError::new(
                "clear-cache",
                "works only with the API trigger, and a deploy hook was given. Drop deploy-hook-url to trigger through the API, or drop clear-cache",
            ));
        }
        Ok(DeploySettings {
            health: health(args, read, wait)?,
            hook,
            api,
            service_id,
            wait,
            timeout: read.duration(args.timeout.as_deref(), "timeout")?,
            request,
            canceled_is_failure: read
                .bool(args.canceled_is_failure.as_deref(), "canceled-is-failure")?,
            cancel_on_timeout: read.bool(args.cancel_on_timeout.as_deref(), "cancel-on-timeout")?,
            dry_run: read.bool(args.common.dry_run.as_deref(), "dry-run")?,
            warnings,
            tuning: read.tuning(),
        })
    }
}

type Trigger = (Option<Hook>, Option<RenderApi>, Option<String>, Vec<String>);

/// What triggers the deploy: the hook, else the API with a service id.
fn trigger(args: &DeployArgs, read: &Reader) -> Result<Trigger, InputError> {
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
    if hook.is_none() && (api.is_none() || service_id.is_none()) {
        return Err(InputError::new(
            "deploy-hook-url",
            "is not set, and the API trigger needs render-api-key and service-id. Give the deploy hook (secret RENDER_DEPLOY_HOOK), or an API key and a service id",
        ));
    }
    Ok((hook, api, service_id, warnings))
}

/// Whether to wait: by default when an API key can read the status.
fn wait(args: &DeployArgs, read: &Reader, api: bool, service: bool) -> Result<bool, InputError> {
    let wait = read
        .given(args.wait.as_deref(), "wait")
        .map_or(Ok(api), |v| parse_bool("wait", &v))?;
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
