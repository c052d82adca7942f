//! Deploy mode's inputs: read, checked and masked before anything happens.

use std::time::Duration;

use crate::cli::{bool_input, DeployArgs, RenderApi};
use crate::hook::{self, Hook};
use crate::inputs::{lookup, parse_duration, shorten, InputError};
use crate::render::TriggerRequest;
use crate::runner::Runner;

#[derive(Debug)]
pub struct Config {
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
}

impl Config {
    /// Reads and checks every deploy input. Secrets are masked first.
    pub fn resolve(
        args: &DeployArgs,
        runner: &Runner,
    ) -> Result<(Config, Vec<String>), InputError> {
        let raw_hook = lookup(
            args.deploy_hook_url.as_deref(),
            "deploy-hook-url",
            Some("RENDER_DEPLOY_HOOK"),
        );
        if let Some(raw) = &raw_hook {
            runner.mask(raw);
        }
        let api = args.common.render_api(runner)?;
        let (hook, warnings) = match &raw_hook {
            Some(raw) => {
                let (hook, warnings) = hook::parse(raw)?;
                runner.mask(&hook.key);
                (Some(hook), warnings)
            }
            None => (None, Vec::new()),
        };
        let service_id = match (args.common.service_id()?, &hook) {
            (Some(id), _) => Some(id),
            (None, Some(h)) if !h.blueprint => Some(h.id.clone()),
            _ => None,
        };
        if hook.is_none() && (api.is_none() || service_id.is_none()) {
            return Err(InputError::new(
                "deploy-hook-url",
                "is not set, and the API trigger needs render-api-key and service-id. Give the deploy hook (secret RENDER_DEPLOY_HOOK), or an API key and a service id",
            ));
        }
        let wait = bool_input(args.wait.as_deref(), "wait", api.is_some())?;
        if wait && api.is_none() {
            return Err(InputError::new(
                "wait",
                "needs render-api-key: the deploy hook key cannot read deploy status. Add the API key (secret RENDER_API_KEY) or set wait: false",
            ));
        }
        if wait && service_id.is_none() {
            return Err(InputError::new(
                "wait",
                "a Blueprint hook deploys no single service; set service-id to wait for one, or set wait: false",
            ));
        }
        let timeout = match lookup(args.timeout.as_deref(), "timeout", None) {
            Some(t) => parse_duration("timeout", &t)?,
            None => Duration::from_secs(20 * 60),
        };
        if timeout > Duration::from_secs(6 * 3600) {
            return Err(InputError::new(
                "timeout",
                "must be at most 6h (the longest a GitHub job runs)",
            ));
        }
        let commit = lookup(args.commit.as_deref(), "commit", None).map(|c| c.trim().to_string());
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
        let image = lookup(args.image.as_deref(), "image", None).map(|i| i.trim().to_string());
        if let Some(i) = &image {
            if i.chars().any(|c| c.is_whitespace() || c.is_control()) || i.len() > 512 {
                return Err(InputError::new(
                    "image",
                    format!(
                        "'{}' is not an image reference like docker.io/org/app:tag",
                        shorten(i)
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
        let clear_cache = bool_input(args.clear_cache.as_deref(), "clear-cache", false)?;
        if clear_cache && hook.is_some() {
            return Err(InputError::new(
                "clear-cache",
                "works only with the API trigger, and a deploy hook was given. Drop deploy-hook-url to trigger through the API, or drop clear-cache",
            ));
        }
        let health = match args.health.path()? {
            Some(path) if wait => Some((path, args.health.timeout()?)),
            Some(_) => {
                return Err(InputError::new(
                    "health-path",
                    "needs wait: true and render-api-key, to know when the deploy is live and where the service answers",
                ))
            }
            None => None,
        };
        let config = Config {
            health,
            hook,
            api,
            service_id,
            wait,
            timeout,
            request: TriggerRequest {
                commit,
                image,
                clear_cache,
            },
            canceled_is_failure: bool_input(
                args.canceled_is_failure.as_deref(),
                "canceled-is-failure",
                true,
            )?,
            cancel_on_timeout: bool_input(
                args.cancel_on_timeout.as_deref(),
                "cancel-on-timeout",
                false,
            )?,
            dry_run: args.common.dry_run()?,
        };
        Ok((config, warnings))
    }
}
