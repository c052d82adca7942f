//! The command line, and the input contract it shares with the action:
//! every flag here is also `INPUT_<NAME>` in the action (read in
//! [`crate::settings`]). Flags are plain strings so that parsing, and its
//! error messages, are the same for both. Defaults and fallback variables
//! are added to each flag's help from the settings table
//! ([`crate::settings::parse_command_line`]).

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub(crate) const VERSION: &str = concat!(
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
    /// The failed run's id
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Fixes to apply: lockfile, rerun, webhook, rollback, redeploy
    #[arg(long, value_name = "LIST")]
    pub fixes: Option<String>,
    /// Fix attempts per head before filing an issue instead
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<String>,
    /// The deploy hook to check and trigger (webhook fix)
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
}

/// Inputs every mode reads.
#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Render API key
    #[arg(long, value_name = "KEY")]
    pub render_api_key: Option<String>,
    /// Render API base URL
    #[arg(long, value_name = "URL")]
    pub render_api_url: Option<String>,
    /// Service id (srv-…)
    #[arg(long, value_name = "ID")]
    pub service_id: Option<String>,
    /// Check inputs and show what would happen; change nothing
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: Option<String>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct DeployArgs {
    /// The service's secret deploy hook URL
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// What starts the deploy: auto (the hook, else the API), hook, api, or none (follow the deploy Render starts itself)
    #[arg(long, value_name = "TRIGGER")]
    pub trigger: Option<String>,
    /// Wait for the deploy to finish
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub wait: Option<String>,
    /// How long to wait, e.g. 90s, 15m, 1h30m
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
    /// Treat a canceled deploy as a failure
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub canceled_is_failure: Option<String>,
    /// Cancel the deploy when the timeout passes
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub cancel_on_timeout: Option<String>,
    /// Render's build log while waiting: auto (streamed in CI, a tail on a terminal), always or never
    #[arg(long, value_name = "WHEN")]
    pub build_log: Option<String>,
    /// Path to GET on the service URL once the deploy is live, e.g. /healthz
    #[arg(long, value_name = "PATH")]
    pub health_path: Option<String>,
    /// How long the live deploy may take to answer 2xx on health-path
    #[arg(long, value_name = "DURATION")]
    pub health_timeout: Option<String>,
    /// Keep one comment on the pull request with its preview's link and status
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub pr_comment: Option<String>,
    /// Create a GitHub deployment and set its status
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub github_deployment: Option<String>,
    /// The GitHub deployment's environment
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Token for the pull-request comment and the GitHub deployment
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
}

/// Inputs shared by the modes that commit, push and file issues.
#[derive(Args, Debug, Default, Clone)]
pub struct RepoArgs {
    /// Token for the GitHub API and pushes
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Branch to push to
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Label that marks render-pilot's issues
    #[arg(long, value_name = "LABEL")]
    pub issue_label: Option<String>,
    /// Commit author as `Name <email>`
    #[arg(long, value_name = "AUTHOR")]
    pub commit_author: Option<String>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct MonitorArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Path to GET on each service's URL, e.g. /healthz
    #[arg(long, value_name = "PATH")]
    pub health_path: Option<String>,
    /// Everything one service's health check may take, retries included (a free instance's first answer after spinning down can take about a minute)
    #[arg(long, value_name = "DURATION")]
    pub health_timeout: Option<String>,
    /// Service ids (srv-…), comma or newline separated, or `all`
    #[arg(long, value_name = "IDS")]
    pub services: Option<String>,
    /// The service's deploy hook, used only to know which service to watch
    #[arg(long, value_name = "URL")]
    pub deploy_hook_url: Option<String>,
    /// Where the status page goes; '' = do not write
    #[arg(long, value_name = "PATH")]
    pub status_file: Option<String>,
    /// How many past state changes the status file keeps
    #[arg(long, value_name = "N")]
    pub keep: Option<String>,
    /// on-change, always or never
    #[arg(long, value_name = "MODE")]
    pub commit_mode: Option<String>,
    /// Push the commit
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub push: Option<String>,
    /// Open and close issues
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub issues: Option<String>,
    /// Retries of a failing health check, with backoff, within health-timeout
    #[arg(long, value_name = "N")]
    pub health_retries: Option<String>,
    /// Services checked at once
    #[arg(long, value_name = "N")]
    pub concurrency: Option<String>,
    /// Exit 1 when a service is not healthy
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub fail_on_unhealthy: Option<String>,
    /// With services: all, check pull-request previews too, in their own section
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub previews: Option<String>,
}

pub(crate) fn print_help() -> std::io::Result<()> {
    Cli::command().print_help()
}
