//! The command line, and the input contract it shares with the action:
//! every flag here is also `INPUT_<NAME>` in the action (see
//! [`crate::inputs::lookup`]). Flags are plain strings so that parsing, and
//! its error messages, are the same for both.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use reqwest::Url;

use crate::hook;
use crate::inputs::{lookup, InputError};
use crate::render::DEFAULT_API_URL;
use crate::runner::Runner;

pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("RENDER_PILOT_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "render-pilot",
    version = VERSION,
    about = "Deploy, monitor and repair Render services from GitHub Actions or a terminal",
    after_help = "Every flag can also be given as INPUT_<NAME> (the action's inputs). Prefer environment variables for secrets: flags show up in process lists.\nExit codes: 0 done, 1 the operation failed, 2 bad input or configuration."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Write the step summary (Markdown) to this file when GITHUB_STEP_SUMMARY is not set.
    #[arg(long, global = true, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Trigger a deploy through the deploy hook or the API, and wait for it.
    Deploy(DeployArgs),
    /// Check services, rewrite the status page, push it, open and close issues.
    Monitor(MonitorArgs),
    /// Diagnose a failed workflow run from its logs and repair what can be repaired.
    Recover(RecoverArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The failed run's id [default: workflow_run.id from GITHUB_EVENT_PATH]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Fixes to apply: lockfile, rerun, webhook, rollback, redeploy [default: lockfile,rerun,webhook]
    #[arg(long, value_name = "LIST")]
    pub fixes: Option<String>,
    /// Fix attempts per head before filing an issue instead [default: 2]
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<String>,
    /// The deploy hook to check and trigger (webhook fix) [env: RENDER_DEPLOY_HOOK]
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
}

/// Inputs every mode reads.
#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Render API key [env: RENDER_API_KEY]
    #[arg(long, value_name = "KEY")]
    pub render_api_key: Option<String>,
    /// Render API base URL [env: RENDER_API_URL] [default: https://api.render.com/v1]
    #[arg(long, value_name = "URL")]
    pub render_api_url: Option<String>,
    /// Service id (srv-…); default: the id in the deploy hook URL
    #[arg(long, value_name = "ID")]
    pub service_id: Option<String>,
    /// Token for the GitHub API and pushes [env: GITHUB_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Check inputs and show what would happen; change nothing
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: Option<String>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The service's secret deploy hook URL [env: RENDER_DEPLOY_HOOK]
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
    /// Wait for the deploy to finish [default: true when an API key is given]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub wait: Option<String>,
    /// How long to wait, e.g. 90s, 15m, 1h30m [default: 20m]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Commit SHA to deploy
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Image URL to deploy (image-backed services)
    #[arg(long, value_name = "URL")]
    pub image: Option<String>,
    /// Clear the build cache (API trigger only)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub clear_cache: Option<String>,
    /// Treat a canceled deploy as a failure [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub canceled_is_failure: Option<String>,
    /// Cancel the deploy when the timeout passes [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub cancel_on_timeout: Option<String>,
    #[command(flatten)]
    pub health: HealthArgs,
}

/// The HTTP health check of a service's own URL.
#[derive(Args, Debug, Default, Clone)]
pub struct HealthArgs {
    /// Path to GET on the service URL, e.g. /healthz
    #[arg(long, value_name = "PATH")]
    pub health_path: Option<String>,
    /// Deploy: how long a live deploy may take to answer 2xx; monitor: the budget of one service's health check, retries included [default: 2m]
    #[arg(long, value_name = "DURATION")]
    pub health_timeout: Option<String>,
}

/// Inputs shared by the modes that commit, push and file issues.
#[derive(Args, Debug, Default, Clone)]
pub struct RepoArgs {
    /// Branch to push to [default: GITHUB_REF_NAME, else the checked-out branch]
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Label that marks render-pilot's issues [default: render-pilot]
    #[arg(long, value_name = "LABEL")]
    pub issue_label: Option<String>,
    /// Commit author as `Name <email>` [default: render-pilot[bot]]
    #[arg(long, value_name = "AUTHOR")]
    pub commit_author: Option<String>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub health: HealthArgs,
    /// Service ids (srv-…), comma or newline separated, or `all` [default: service-id or the hook's service]
    #[arg(long, value_name = "IDS")]
    pub services: Option<String>,
    /// The service's deploy hook, used only to know which service to watch [env: RENDER_DEPLOY_HOOK]
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
    /// Where the status page goes; '' = do not write [default: docs/PIPELINE.md]
    #[arg(long, value_name = "PATH")]
    pub status_file: Option<String>,
    /// Past state changes kept in the status file [default: 48]
    #[arg(long, value_name = "N")]
    pub history: Option<String>,
    /// on-change, always or never [default: on-change]
    #[arg(long, value_name = "MODE")]
    pub commit_mode: Option<String>,
    /// Push the commit [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub push: Option<String>,
    /// Open and close issues [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub issues: Option<String>,
    /// Monitor: retries of a failing health check, with backoff, within health-timeout [default: 3]
    #[arg(long, value_name = "N")]
    pub health_retries: Option<String>,
    /// Services checked at once [default: 8]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<String>,
    /// Exit 1 when a service is not healthy [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub fail_on_unhealthy: Option<String>,
}

/// The Render API settings, when a key is given.
#[derive(Debug, Clone)]
pub struct RenderApi {
    pub url: Url,
    pub key: String,
}

impl CommonArgs {
    /// The Render API key and base URL. The key is masked before anything
    /// else can print it.
    pub fn render_api(&self, runner: &Runner) -> Result<Option<RenderApi>, InputError> {
        let Some(key) = lookup(
            self.render_api_key.as_deref(),
            "render-api-key",
            Some("RENDER_API_KEY"),
        ) else {
            return Ok(None);
        };
        runner.mask(&key);
        check_secret("render-api-key", &key)?;
        let raw_url = lookup(
            self.render_api_url.as_deref(),
            "render-api-url",
            Some("RENDER_API_URL"),
        )
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let url = Url::parse(raw_url.trim()).map_err(|e| {
            InputError::new(
                "render-api-url",
                format!(
                    "'{}' is not a URL ({e}); leave it unset for {DEFAULT_API_URL}",
                    crate::inputs::shorten(&raw_url)
                ),
            )
        })?;
        hook::check_host("render-api-url", &url)?;
        Ok(Some(RenderApi {
            url,
            key: key.trim().to_string(),
        }))
    }

    pub fn service_id(&self) -> Result<Option<String>, InputError> {
        match lookup(self.service_id.as_deref(), "service-id", None) {
            None => Ok(None),
            Some(id) if hook::is_service_id(id.trim()) => Ok(Some(id.trim().to_string())),
            Some(id) => Err(InputError::new(
                "service-id",
                format!(
                    "'{}' is not a Render service id; it looks like srv-d0abc123 (Dashboard → service → Settings)",
                    crate::inputs::shorten(&id)
                ),
            )),
        }
    }

    pub fn github_token(&self, runner: &Runner) -> Result<Option<String>, InputError> {
        let token = lookup(
            self.github_token.as_deref(),
            "github-token",
            Some("GITHUB_TOKEN"),
        );
        if let Some(t) = &token {
            runner.mask(t);
            check_secret("github-token", t)?;
        }
        Ok(token.map(|t| t.trim().to_string()))
    }

    pub fn dry_run(&self) -> Result<bool, InputError> {
        bool_input(self.dry_run.as_deref(), "dry-run", false)
    }
}

/// A secret may carry stray whitespace around it (we trim it) but never
/// inside it, and only ASCII.
pub fn check_secret(input: &str, value: &str) -> Result<(), InputError> {
    let value = value.trim();
    if value.chars().any(char::is_whitespace) {
        return Err(InputError::new(
            input,
            "contains whitespace inside the value; save the secret again as one line",
        ));
    }
    if !value.is_ascii() {
        return Err(InputError::new(
            input,
            "contains non-ASCII characters; copy the secret again",
        ));
    }
    Ok(())
}

impl RepoArgs {
    /// The label our issues carry. GitHub's issue list splits its `labels`
    /// filter on commas, so a label with one could never be found again.
    pub fn issue_label(&self) -> Result<String, InputError> {
        let label = lookup(self.issue_label.as_deref(), "issue-label", None)
            .map_or("render-pilot".into(), |l| l.trim().to_string());
        if label.contains(',') || label.chars().any(char::is_control) || label.chars().count() > 50
        {
            return Err(InputError::new(
                "issue-label",
                "must be one label of at most 50 characters, without commas or line breaks (GitHub's issue search splits labels on commas); for example render-pilot",
            ));
        }
        Ok(label)
    }

    pub fn author(&self) -> Result<crate::git::Author, InputError> {
        let text = lookup(self.commit_author.as_deref(), "commit-author", None);
        crate::git::Author::parse(text.as_deref().unwrap_or(crate::git::DEFAULT_AUTHOR))
    }

    pub fn branch(&self) -> Option<String> {
        lookup(self.branch.as_deref(), "branch", None)
    }
}

impl HealthArgs {
    /// The health path, checked: it must start with `/`.
    pub fn path(&self) -> Result<Option<String>, InputError> {
        match lookup(self.health_path.as_deref(), "health-path", None) {
            None => Ok(None),
            Some(p) if p.trim().starts_with('/') && !p.trim().contains(char::is_whitespace) => {
                Ok(Some(p.trim().to_string()))
            }
            Some(p) => Err(InputError::new(
                "health-path",
                format!(
                    "'{}' is not a URL path; use one that starts with /, e.g. /healthz",
                    crate::inputs::shorten(&p)
                ),
            )),
        }
    }

    pub fn timeout(&self) -> Result<std::time::Duration, InputError> {
        lookup(self.health_timeout.as_deref(), "health-timeout", None)
            .map_or(Ok(std::time::Duration::from_secs(120)), |t| {
                crate::inputs::parse_duration("health-timeout", &t)
            })
    }
}

/// Where the checkout is: `GITHUB_WORKSPACE` on the runner, else here.
pub fn workspace() -> PathBuf {
    std::env::var_os("GITHUB_WORKSPACE")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn bool_input(flag: Option<&str>, name: &str, default: bool) -> Result<bool, InputError> {
    lookup(flag, name, None).map_or(Ok(default), |v| crate::inputs::parse_bool(name, &v))
}

/// The mode when no subcommand was given: the action's `mode` input.
pub fn mode_from_env() -> Result<Command, InputError> {
    let mode = lookup(None, "mode", None).ok_or_else(|| {
        InputError::new(
            "mode",
            "is not set; run `render-pilot deploy` (or monitor, recover), or set the action's mode input",
        )
    })?;
    match mode.trim().to_ascii_lowercase().as_str() {
        "deploy" => Ok(Command::Deploy(DeployArgs::default())),
        "monitor" => Ok(Command::Monitor(MonitorArgs::default())),
        "recover" => Ok(Command::Recover(RecoverArgs::default())),
        _ => Err(InputError::new(
            "mode",
            format!(
                "'{}' is not a mode; use deploy, monitor or recover",
                crate::inputs::shorten(&mode)
            ),
        )),
    }
}
