//! The settings layer: the environment (`INPUT_*`, fallbacks such as
//! `RENDER_API_KEY`, the runner's `GITHUB_*`, the test seams) is read here,
//! once, into typed settings per mode. Nothing else reads the environment.
//! Validation happens here too: a bad value is an [`InputError`] (exit 2)
//! before anything is done.

mod deploy;
mod flags;
mod monitor;
mod recover;
pub(crate) mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

pub(crate) use deploy::{BuildLog, DeploySettings, Follow, GitHubReport, Trigger};
pub(crate) use flags::as_flags;
pub(crate) use monitor::{CommitMode, HealthPolicy, MonitorSettings, Services};
pub(crate) use recover::{Fix, RecoverSettings};
use table::{Mode, INPUTS};

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};
use crate::clients::git::Author;
use crate::clients::github::GitHubApi;
use crate::clients::hook;
use crate::clients::http::Tuning;
use crate::clients::render::{RenderApi, DEFAULT_API_URL};
use crate::inputs::{parse_bool, parse_duration, parse_number, shorten, InputError};
use crate::output::runner::{Runner, RunnerFiles};

/// The process environment, read once at start. No `Debug`: it holds
/// every secret the runner passes.
#[derive(Default, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    pub fn capture() -> Env {
        Env::from_pairs(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Env {
        Env {
            vars: pairs.into_iter().collect(),
        }
    }

    /// A variable that is set and not blank: the runner passes "" for every
    /// declared input that was not given, so blank means unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Inside GitHub Actions: workflow commands instead of plain text.
    pub fn in_actions(&self) -> bool {
        self.get("GITHUB_ACTIONS") == Some("true")
    }

    /// The variables `keep` accepts, to hand a child process a chosen few.
    pub fn passed_on(&self, keep: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Parses the command line. Each flag's help ends with its fallback
/// variable and default from the settings table, so `--help` cannot drift
/// from what the settings do.
pub fn parse_command_line() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    for mode in Mode::ALL {
        command = command.mut_subcommand(mode.name(), |sub| with_table_help(sub, mode));
    }
    let matches = command.try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

fn with_table_help(mut sub: clap::Command, mode: Mode) -> clap::Command {
    let ids: Vec<(String, String)> = sub
        .get_arguments()
        .filter_map(|a| Some((a.get_id().to_string(), a.get_long()?.to_string())))
        .collect();
    for (id, long) in ids {
        let Some(row) = table::row(mode, &long) else {
            continue;
        };
        let suffix = table::help_suffix(row);
        if !suffix.is_empty() {
            sub = sub.mut_arg(id, |arg| {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} {suffix}"))
            });
        }
    }
    sub
}

/// The mode and its settings.
pub(crate) enum Settings {
    Deploy(DeploySettings),
    Monitor(MonitorSettings),
    Recover(RecoverSettings),
}

/// The command to run: the subcommand, else the action's `mode` input.
/// `None` on a terminal with neither: the caller prints help.
pub(crate) fn command(cli: Cli, env: &Env) -> Result<Option<Command>, InputError> {
    if let Some(command) = cli.command {
        return Ok(Some(command));
    }
    let Some(mode) = env.get("INPUT_MODE") else {
        if !env.in_actions() {
            return Ok(None);
        }
        return Err(InputError::new(
            "mode",
            "is not set; run `render-pilot deploy` (or monitor, recover), or set the action's mode input",
        ));
    };
    match mode.trim().to_ascii_lowercase().as_str() {
        "deploy" => Ok(Some(Command::Deploy(Default::default()))),
        "monitor" => Ok(Some(Command::Monitor(Default::default()))),
        "recover" => Ok(Some(Command::Recover(Default::default()))),
        _ => Err(InputError::new(
            "mode",
            format!(
                "'{}' is not a mode; use deploy, monitor or recover",
                shorten(mode)
            ),
        )),
    }
}

/// Where the runner wants outputs and the summary. `summary_file` (the
/// `--summary-file` flag) is used when `GITHUB_STEP_SUMMARY` is not set.
pub(crate) fn runner_files(env: &Env, summary_file: Option<PathBuf>) -> RunnerFiles {
    RunnerFiles {
        actions: env.in_actions(),
        output_file: env.get("GITHUB_OUTPUT").map(PathBuf::from),
        summary_file: env
            .get("GITHUB_STEP_SUMMARY")
            .map(PathBuf::from)
            .or(summary_file),
    }
}

/// Masks every secret the environment carries, whatever the mode reads:
/// the runner passes all declared inputs to every step.
pub(crate) fn mask_secrets(env: &Env, runner: &Runner) {
    for input in INPUTS.iter().filter(|i| i.secret) {
        let own = format!("INPUT_{}", input.name.to_uppercase());
        for name in std::iter::once(own.as_str()).chain(input.fallback) {
            if let Some(value) = env.get(name) {
                mask(runner, input.name, value);
            }
        }
    }
}

fn mask(runner: &Runner, name: &str, value: &str) {
    runner.mask(value);
    if name == "deploy-hook-url" {
        if let Ok((hook, _)) = hook::parse(value) {
            runner.mask(&hook.key);
        }
    }
}

/// Reads and checks every input of the command's mode.
pub(crate) fn resolve(
    command: &Command,
    env: &Env,
    runner: &Runner,
) -> Result<Settings, InputError> {
    let reader = |mode| Reader { env, runner, mode };
    Ok(match command {
        Command::Deploy(args) => {
            Settings::Deploy(DeploySettings::resolve(args, &reader(Mode::Deploy))?)
        }
        Command::Monitor(args) => {
            Settings::Monitor(MonitorSettings::resolve(args, &reader(Mode::Monitor))?)
        }
        Command::Recover(args) => {
            Settings::Recover(RecoverSettings::resolve(args, &reader(Mode::Recover))?)
        }
    })
}

/// Reads one mode's inputs: the `--flag` value, else `INPUT_<NAME>`
/// (upper-cased, hyphens kept, as the runner sets it), else the table's
/// fallback variable, else the table's default.
struct Reader<'a> {
    env: &'a Env,
    runner: &'a Runner,
    mode: Mode,
}

impl Reader<'_> {
    /// The value as given (not trimmed, so secrets can be checked for stray
    /// whitespace), or `None`. A secret from a flag is masked here; from the
    /// environment, [`mask_secrets`] masked it already.
    fn given(&self, flag: Option<&str>, name: &str) -> Option<String> {
        let row = table::row(self.mode, name);
        if let Some(value) = flag.filter(|v| !v.trim().is_empty()) {
            if row.is_some_and(|r| r.secret) {
                mask(self.runner, name, value);
            }
            return Some(value.to_string());
        }
        let own = format!("INPUT_{}", name.to_uppercase());
        self.env
            .get(&own)
            .or_else(|| self.env.get(row?.fallback?))
            .map(String::from)
    }

    /// The value given, or `Some("")` when it was given empty: for inputs
    /// where an explicit empty value means "none".
    fn given_or_blank(&self, flag: Option<&str>, name: &str) -> Option<String> {
        let own = format!("INPUT_{}", name.to_uppercase());
        flag.or_else(|| self.env.vars.get(&own).map(String::as_str))
            .map(String::from)
    }

    /// The branch input, checked, without a `refs/heads/` prefix.
    fn branch(&self, flag: Option<&str>) -> Result<Option<String>, InputError> {
        let Some(branch) = self.given(flag, "branch") else {
            return Ok(None);
        };
        let branch = branch.trim().trim_start_matches("refs/heads/").to_string();
        if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
            return Err(InputError::new(
                "branch",
                format!("'{}' is not a valid branch name", shorten(&branch)),
            ));
        }
        Ok(Some(branch))
    }

    /// The value given, else the table's default value.
    fn value(&self, flag: Option<&str>, name: &str) -> Option<String> {
        self.given(flag, name)
            .or_else(|| match table::row(self.mode, name)?.default {
                table::WhenUnset::Value(v) => Some(v.to_string()),
                _ => None,
            })
    }

    /// The value given, else the table's default; an input without a
    /// default value is missing.
    fn required(&self, flag: Option<&str>, name: &str) -> Result<String, InputError> {
        self.value(flag, name)
            .ok_or_else(|| InputError::new(name, "is not set; give a value"))
    }

    fn bool(&self, flag: Option<&str>, name: &str) -> Result<bool, InputError> {
        parse_bool(name, &self.required(flag, name)?)
    }

    /// Every duration bounds a wait within one job, so none may be longer
    /// than a job can run (and adding it to the clock cannot overflow).
    fn duration(&self, flag: Option<&str>, name: &str) -> Result<Duration, InputError> {
        let duration = parse_duration(name, &self.required(flag, name)?)?;
        if duration > Duration::from_secs(6 * 3600) {
            return Err(InputError::new(
                name,
                "must be at most 6h (the longest a GitHub job runs)",
            ));
        }
        Ok(duration)
    }

    fn number(
        &self,
        flag: Option<&str>,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, InputError> {
        parse_number(
            name,
            &self.required(flag, name)?,
            *range.start(),
            *range.end(),
        )
    }

    /// The test seams: shorter timeouts and backoffs for the test suite.
    fn tuning(&self) -> Tuning {
        let millis = |name: &str| {
            self.env
                .get(name)
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_millis)
        };
        let defaults = Tuning::default();
        Tuning {
            timeout: millis("RENDER_PILOT_HTTP_TIMEOUT_MS").unwrap_or(defaults.timeout),
            fast: self.env.get("RENDER_PILOT_TEST_FAST").is_some(),
            poll: millis("RENDER_PILOT_POLL_MS").unwrap_or(defaults.poll),
            rate_wait: millis("RENDER_PILOT_RATE_WAIT_MS").unwrap_or(defaults.rate_wait),
        }
    }

    /// Where the checkout is: `GITHUB_WORKSPACE` on the runner, else here.
    fn workspace(&self) -> PathBuf {
        self.env
            .get("GITHUB_WORKSPACE")
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    }

    /// The branch the workflow runs on, when its ref is a branch.
    fn ref_branch(&self) -> Option<String> {
        let is_branch = self
            .env
            .get("GITHUB_REF")
            .is_some_and(|r| r.starts_with("refs/heads/"));
        let name = self.env.get("GITHUB_REF_NAME")?.trim();
        is_branch.then(|| name.to_string())
    }

    /// The Render API key and base URL, when a key is given.
    fn render_api(
        &self,
        flag_key: Option<&str>,
        flag_url: Option<&str>,
    ) -> Result<Option<RenderApi>, InputError> {
        let Some(key) = self.given(flag_key, "render-api-key") else {
            return Ok(None);
        };
        check_secret("render-api-key", &key)?;
        let raw_url = self
            .given(flag_url, "render-api-url")
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let url = Url::parse(raw_url.trim()).map_err(|e| {
            // A value with `@` may carry credentials: it is not echoed.
            let shown = if raw_url.contains('@') {
                "the value".to_string()
            } else {
                format!("'{}'", shorten(&raw_url))
            };
            InputError::new(
                "render-api-url",
                format!("{shown} is not a URL ({e}); leave it unset for {DEFAULT_API_URL}"),
            )
        })?;
        crate::clients::http::check_host("render-api-url", &url)?;
        Ok(Some(RenderApi {
            url,
            key: key.trim().to_string(),
        }))
    }

    fn service_id(&self, flag: Option<&str>) -> Result<Option<String>, InputError> {
        match self.given(flag, "service-id") {
            None => Ok(None),
            Some(id) if hook::is_service_id(id.trim()) => Ok(Some(id.trim().to_string())),
            Some(id) => Err(InputError::new(
                "service-id",
                format!(
                    "'{}' is not a Render service id; it looks like srv-d0abc123 (Dashboard → service → Settings)",
                    shorten(&id)
                ),
            )),
        }
    }

    fn github_token(&self, flag: Option<&str>) -> Result<Option<String>, InputError> {
        let token = self.given(flag, "github-token");
        if let Some(t) = &token {
            check_secret("github-token", t)?;
        }
        Ok(token.map(|t| t.trim().to_string()))
    }

    /// The GitHub API base from `GITHUB_API_URL` (set by the runner, also on
    /// GitHub Enterprise), the repository from `GITHUB_REPOSITORY`.
    fn github_api(&self) -> Result<GitHubApi, InputError> {
        let base = self
            .env
            .get("GITHUB_API_URL")
            .unwrap_or(crate::clients::github::DEFAULT_API_URL);
        let base = Url::parse(base.trim()).map_err(|e| {
            InputError::new(
                "GITHUB_API_URL",
                format!(
                    "is not a URL ({e}); unset it for {}",
                    crate::clients::github::DEFAULT_API_URL
                ),
            )
        })?;
        crate::clients::http::check_host("GITHUB_API_URL", &base)?;
        let repository = self.env.get("GITHUB_REPOSITORY").unwrap_or_default().trim();
        if repository.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(InputError::new(
                "GITHUB_REPOSITORY",
                "is not set to owner/name; the runner sets it, on a laptop export GITHUB_REPOSITORY=owner/name",
            ));
        }
        Ok(GitHubApi {
            base,
            repository: repository.to_string(),
        })
    }

    /// The label our issues carry. GitHub's issue list splits its `labels`
    /// filter on commas, so a label with one could never be found again.
    fn issue_label(&self, flag: Option<&str>) -> Result<String, InputError> {
        let label = self.required(flag, "issue-label")?.trim().to_string();
        if label.contains(',') || label.chars().any(char::is_control) || label.chars().count() > 50
        {
            return Err(InputError::new(
                "issue-label",
                "must be one label of at most 50 characters, without commas or line breaks (GitHub's issue search splits labels on commas); for example render-pilot",
            ));
        }
        Ok(label)
    }

    fn author(&self, flag: Option<&str>) -> Result<Author, InputError> {
        Author::parse(&self.required(flag, "commit-author")?)
    }

    /// The health path, checked: it must start with `/`.
    fn health_path(&self, flag: Option<&str>) -> Result<Option<String>, InputError> {
        match self.given(flag, "health-path") {
            None => Ok(None),
            Some(p) if p.trim().starts_with('/') && !p.trim().contains(char::is_whitespace) => {
                Ok(Some(p.trim().to_string()))
            }
            Some(p) => Err(InputError::new(
                "health-path",
                format!(
                    "'{}' is not a URL path; use one that starts with /, e.g. /healthz",
                    shorten(&p)
                ),
            )),
        }
    }

    fn health_timeout(&self, flag: Option<&str>) -> Result<Duration, InputError> {
        self.duration(flag, "health-timeout")
    }
}

/// A secret may carry stray whitespace around it (we trim it) but never
/// inside it, and only ASCII.
/// `service-id` when the hook deploys that same service. A hook deploys
/// its own service whatever `service-id` says: going on would deploy one
/// service and report, watch or roll back another.
fn same_service(service_id: String, hook: &hook::Hook) -> Result<String, InputError> {
    if hook.blueprint || hook.id == service_id {
        return Ok(service_id);
    }
    Err(InputError::new(
        "service-id",
        format!(
            "is {service_id}, but deploy-hook-url deploys {}. Give the hook and the id of the same service (Dashboard → service → Settings), or leave service-id out",
            hook.id
        ),
    ))
}

fn check_secret(input: &str, value: &str) -> Result<(), InputError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{DeployArgs, MonitorArgs, RecoverArgs};

    const HOOK: &str = "https://api.render.com/deploy/srv-d0abc123?key=Ab1Cd2Ef3Gh";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn resolve_with(command: Command, pairs: &[(&str, &str)]) -> Result<Settings, InputError> {
        let runner = Runner::open(runner_files(&Env::default(), None)).unwrap();
        resolve(&command, &env(pairs), &runner)
    }

    #[test]
    fn deploy_defaults_come_from_the_table() {
        let Ok(Settings::Deploy(s)) = resolve_with(
            Command::Deploy(DeployArgs::default()),
            &[("RENDER_DEPLOY_HOOK", HOOK)],
        ) else {
            panic!("deploy settings")
        };
        assert!(!s.wait, "no API key, no wait");
        assert_eq!(s.timeout, Duration::from_secs(20 * 60));
        assert!(s.canceled_is_failure && !s.cancel_on_timeout && !s.dry_run);
        assert_eq!(s.service_id.as_deref(), Some("srv-d0abc123"));
        assert_eq!(s.tuning, Tuning::default());
    }

    #[test]
    fn monitor_defaults_come_from_the_table() {
        let Ok(Settings::Monitor(s)) = resolve_with(
            Command::Monitor(MonitorArgs::default()),
            &[
                ("RENDER_API_KEY", "rnd_abc"),
                ("INPUT_SERVICE-ID", "srv-d0abc123"),
                ("INPUT_ISSUES", "false"),
            ],
        ) else {
            panic!("monitor settings")
        };
        assert_eq!(s.status_file.as_deref(), Some("docs/PIPELINE.md"));
        assert_eq!((s.keep, s.concurrency), (48, 8));
        assert_eq!(s.commit_mode, CommitMode::OnChange);
        assert_eq!(s.health.retries, 3);
        assert_eq!(s.health.budget, Duration::from_secs(120));
        assert_eq!(s.issue_label, "render-pilot");
        assert_eq!(s.author.name, "render-pilot[bot]");
        assert!(s.push && !s.fail_on_unhealthy && s.github.is_none());
        assert_eq!(s.api.url.as_str(), "https://api.render.com/v1");
    }

    #[test]
    fn recover_defaults_come_from_the_table() {
        let Ok(Settings::Recover(s)) = resolve_with(
            Command::Recover(RecoverArgs::default()),
            &[
                ("GITHUB_TOKEN", "ghs_abc"),
                ("GITHUB_REPOSITORY", "acme/shop"),
                ("HTTPS_PROXY", "http://proxy:3128"),
            ],
        ) else {
            panic!("recover settings")
        };
        assert_eq!(
            s.fixes,
            [Fix::Lockfile, Fix::Rerun, Fix::Webhook]
                .into_iter()
                .collect()
        );
        assert_eq!(s.max_attempts, 2);
        assert_eq!(s.github.base.as_str(), "https://api.github.com/");
        assert!(s.branch.is_none(), "the failed run's branch, known later");
        assert_eq!(
            s.pnpm_env,
            vec![("HTTPS_PROXY".to_string(), "http://proxy:3128".to_string())],
            "no token reaches pnpm"
        );
    }

    #[test]
    fn the_flag_wins_over_the_input_which_wins_over_the_fallback() {
        let runner = Runner::open(runner_files(&Env::default(), None)).unwrap();
        let both = env(&[
            ("INPUT_TIMEOUT", "5m"),
            ("RENDER_API_URL", "http://127.0.0.1:1"),
        ]);
        let read = Reader {
            env: &both,
            runner: &runner,
            mode: Mode::Deploy,
        };
        assert_eq!(read.value(Some("7m"), "timeout").as_deref(), Some("7m"));
        assert_eq!(read.value(None, "timeout").as_deref(), Some("5m"));
        assert_eq!(read.value(Some("  "), "timeout").as_deref(), Some("5m"));
        assert_eq!(
            read.given(None, "render-api-url").as_deref(),
            Some("http://127.0.0.1:1")
        );
        let none = Env::default();
        let read = Reader { env: &none, ..read };
        assert_eq!(read.value(None, "timeout").as_deref(), Some("20m"));
        assert_eq!(read.given(None, "commit"), None);
    }

    #[test]
    fn no_wait_is_longer_than_a_job() {
        for input in ["INPUT_HEALTH-TIMEOUT", "INPUT_TIMEOUT"] {
            let huge = resolve_with(
                Command::Deploy(DeployArgs::default()),
                &[
                    ("RENDER_DEPLOY_HOOK", HOOK),
                    ("RENDER_API_KEY", "rnd_abc"),
                    ("INPUT_HEALTH-PATH", "/healthz"),
                    (input, "9223372036854775807"),
                ],
            );
            assert!(
                huge.err().unwrap().to_string().contains("at most 6h"),
                "{input}"
            );
        }
    }

    #[test]
    fn the_branch_is_the_input_else_the_workflows_branch() {
        let Ok(Settings::Monitor(s)) = resolve_with(
            Command::Monitor(MonitorArgs::default()),
            &[
                ("RENDER_API_KEY", "rnd_abc"),
                ("INPUT_SERVICES", "all"),
                ("INPUT_ISSUES", "false"),
                ("GITHUB_REF", "refs/heads/release"),
                ("GITHUB_REF_NAME", "release"),
            ],
        ) else {
            panic!("monitor settings")
        };
        assert_eq!(s.branch.as_deref(), Some("release"));
        let tag = resolve_with(
            Command::Monitor(MonitorArgs::default()),
            &[
                ("RENDER_API_KEY", "rnd_abc"),
                ("INPUT_SERVICES", "all"),
                ("INPUT_ISSUES", "false"),
                ("GITHUB_REF", "refs/tags/v1"),
                ("GITHUB_REF_NAME", "v1"),
            ],
        );
        assert!(matches!(tag, Ok(Settings::Monitor(s)) if s.branch.is_none()));
        let bad = resolve_with(
            Command::Monitor(MonitorArgs::default()),
            &[
                ("RENDER_API_KEY", "rnd_abc"),
                ("INPUT_SERVICES", "all"),
                ("INPUT_ISSUES", "false"),
                ("INPUT_BRANCH", "a..b"),
            ],
        );
        assert_eq!(
            bad.err().unwrap().to_string(),
            "branch: 'a..b' is not a valid branch name"
        );
    }

    #[test]
    fn the_mode_comes_from_the_subcommand_or_the_mode_input() {
        let cli = |command| Cli {
            command,
            summary_file: None,
        };
        assert!(command(cli(None), &Env::default()).unwrap().is_none());
        let actions = env(&[("GITHUB_ACTIONS", "true")]);
        assert_eq!(command(cli(None), &actions).unwrap_err().input, "mode");
        let monitor = env(&[("INPUT_MODE", " Monitor ")]);
        assert!(matches!(
            command(cli(None), &monitor),
            Ok(Some(Command::Monitor(_)))
        ));
        let bad = env(&[("INPUT_MODE", "deploy-all")]);
        assert!(command(cli(None), &bad)
            .unwrap_err()
            .to_string()
            .contains("'deploy-all' is not a mode"));
    }
}
