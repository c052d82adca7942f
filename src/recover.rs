//! Recover mode: read a failed run's logs, diagnose them, apply the fixes
//! the user enabled, and file one issue per workflow and branch for what
//! cannot be fixed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use git2::Oid;

use crate::cli::{workspace, RecoverArgs, RenderApi};
use crate::deploy::{call_hook, poll_interval};
use crate::diagnose::{Cause, Diagnoser, Finding};
use crate::event::{read_event, WorkflowRun};
use crate::git::{Author, GitError, Published, Target, Workspace};
use crate::github::GitHub;
use crate::hook;
use crate::http::Http;
use crate::inputs::{lookup, parse_number, shorten, InputError};
use crate::issues::Tracker;
use crate::render::{DeployStatus, RenderClient, TriggerRequest, Triggered};
use crate::report::{Action, RecoverReport};
use crate::runner::Runner;
use crate::Status;

/// Marks our own fix commits, so a failure after one is not "fixed" again.
pub const TRAILER: &str = "Render-Pilot-Fix: lockfile";
const LOCKFILE: &str = "pnpm-lock.yaml";
const MANIFESTS: [&str; 3] = ["pnpm-lock.yaml", "package.json", "pnpm-workspace.yaml"];
const ROLLBACK_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fix {
    Lockfile,
    Rerun,
    Webhook,
    Rollback,
    Redeploy,
}

impl Fix {
    const ALL: [(Fix, &'static str); 5] = [
        (Fix::Lockfile, "lockfile"),
        (Fix::Rerun, "rerun"),
        (Fix::Webhook, "webhook"),
        (Fix::Rollback, "rollback"),
        (Fix::Redeploy, "redeploy"),
    ];
}

pub fn parse_fixes(text: &str) -> Result<BTreeSet<Fix>, InputError> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Fix::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(f, _)| *f).ok_or_else(|| {
                InputError::new("fixes", format!("'{}' is not a fix; choose from lockfile, rerun, webhook, rollback, redeploy", shorten(name)))
            })
        })
        .collect()
}

struct Config {
    token: String,
    run_id: Option<u64>,
    fixes: BTreeSet<Fix>,
    max_attempts: u64,
    hook_raw: Option<String>,
    api: Option<RenderApi>,
    service_id: Option<String>,
    branch: Option<String>,
    issue_label: String,
    author: Author,
    dry_run: bool,
}

impl Config {
    fn resolve(args: &RecoverArgs, runner: &Runner) -> Result<Config, InputError> {
        let hook_raw = lookup(
            args.deploy_hook_url.as_deref(),
            "deploy-hook-url",
            Some("RENDER_DEPLOY_HOOK"),
        );
        if let Some(h) = &hook_raw {
            runner.mask(h);
        }
        let token = args.common.github_token(runner)?.ok_or_else(|| {
            InputError::new("github-token", "is not set; recover reads logs and files issues. Pass github-token: ${{ github.token }} with actions: write, contents: write and issues: write")
        })?;
        let api = args.common.render_api(runner)?;
        let run_id = lookup(args.run_id.as_deref(), "run-id", None)
            .map(|v| parse_number("run-id", &v, 1, u64::MAX))
            .transpose()?;
        let fixes = lookup(args.fixes.as_deref(), "fixes", None).map_or_else(
            || parse_fixes("lockfile,rerun,webhook"),
            |f| parse_fixes(&f),
        )?;
        let max_attempts = lookup(args.max_attempts.as_deref(), "max-attempts", None)
            .map_or(Ok(2), |v| parse_number("max-attempts", &v, 1, 10))?;
        Ok(Config {
            token,
            run_id,
            fixes,
            max_attempts,
            hook_raw,
            api,
            service_id: args.common.service_id()?,
            branch: args.repo.branch(),
            issue_label: args.repo.issue_label(),
            author: args.repo.author()?,
            dry_run: args.common.dry_run()?,
        })
    }
}

/// The run to work on: from `run-id`, else from the event payload.
fn load_run(config: &Config, github: &GitHub) -> anyhow::Result<WorkflowRun> {
    if let Some(id) = config.run_id {
        return Ok(github.get_run(id)?);
    }
    let path = std::env::var("GITHUB_EVENT_PATH").ok().filter(|p| !p.is_empty()).ok_or_else(|| {
        InputError::new("run-id", "is not set and there is no GITHUB_EVENT_PATH; run recover on a workflow_run event or pass run-id")
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::new("GITHUB_EVENT_PATH", format!("cannot read {path}: {e}")))?;
    Ok(read_event(&text)?.ok_or_else(|| {
        InputError::new("run-id", "is not set and the event is not workflow_run; trigger recover with on: workflow_run, or pass run-id")
    })?)
}

pub fn run(args: &RecoverArgs, runner: &mut Runner) -> anyhow::Result<Status> {
    let config = Config::resolve(args, runner)?;
    let http = Http::new()?;
    let github = GitHub::from_env(&http, &config.token)?;
    let run = load_run(&config, &github)?;
    let branch = config
        .branch
        .clone()
        .or(run.head_branch.clone())
        .unwrap_or_default();
    let key = format!("recover:{}:{branch}", run.workflow_key());
    let title = format!("render-pilot: {} failed on {branch}", run.workflow_name());
    let conclusion = run.conclusion.clone().unwrap_or_else(|| "unknown".into());
    for name in ["diagnosis", "fixed", "actions", "commit-sha", "issue-url"] {
        runner.set_output(name, "");
    }

    if conclusion != "failure" {
        let mut note = format!(
            "Run {} of {} ended `{conclusion}`: nothing to recover.",
            run.id,
            run.workflow_name()
        );
        if conclusion == "success" && !config.dry_run {
            let mut tracker = Tracker::load(&github, &config.issue_label)?;
            let closed = tracker.resolve(&key, &|_| {
                format!(
                    "✅ {} passed on {branch} (run {}); closing.",
                    run.workflow_name(),
                    run.id
                )
            })?;
            if closed {
                note.push_str(&format!(" Closed the recovery issue for {branch}."));
            }
        }
        runner.info(&note);
        runner.append_summary(&format!("### render-pilot recover\n\n{note}\n"));
        return Ok(Status::Done);
    }

    let findings = read_logs(&github, &run, runner)?;
    runner.set_output(
        "diagnosis",
        findings
            .iter()
            .map(|f| f.cause.name())
            .collect::<Vec<_>>()
            .join(","),
    );
    let untrusted = run.from_fork() || run.from_pull_request();
    let mut fixer = Fixer {
        config: &config,
        http: &http,
        github: &github,
        run: &run,
        branch: &branch,
        untrusted,
        runner,
        commit: None,
        reran: false,
    };
    let mut actions: Vec<Action> = Vec::new();
    for finding in &findings {
        let action = if config.dry_run {
            Action {
                text: format!("dry run: would try to fix {}", finding.cause.name()),
                fixed: false,
            }
        } else {
            fixer.fix(&finding.cause)
        };
        runner_log(fixer.runner, finding, &action);
        actions.push(action);
    }
    let fixed = !config.dry_run && actions.iter().all(|a| a.fixed);
    let commit = fixer.commit.clone();
    runner.set_output("fixed", fixed.to_string());
    runner.set_output(
        "actions",
        actions
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    );
    runner.set_output("commit-sha", commit.clone().unwrap_or_default());

    let report = RecoverReport {
        run: &run,
        branch: &branch,
        findings: &findings,
        actions: &actions,
        untrusted,
    };
    let mut issue_url = None;
    if !fixed && !config.dry_run {
        let state = findings
            .iter()
            .map(|f| f.cause.name())
            .collect::<Vec<_>>()
            .join("+");
        let causes = findings
            .iter()
            .map(|f| f.cause.describe())
            .collect::<Vec<_>>()
            .join("; ");
        let note = format!("The run {} failed again: {causes}.", run.id);
        let mut tracker = Tracker::load(&github, &config.issue_label)?;
        issue_url = tracker.report(&key, &state, &title, &report.issue_body(), &note)?;
        runner.set_output("issue-url", issue_url.clone().unwrap_or_default());
    }
    runner.append_summary(&report.summary(issue_url.as_deref()));
    if config.dry_run {
        return Ok(Status::Done);
    }
    Ok(if fixed { Status::Done } else { Status::Failed })
}

fn runner_log(runner: &Runner, finding: &Finding, action: &Action) {
    let line = format!("{}: {}", finding.cause.describe(), action.text);
    if action.fixed {
        runner.notice(&line);
    } else {
        runner.warning(&line);
    }
}

/// Downloads the failed jobs' logs and diagnoses them line by line; only
/// evidence is kept, never the whole log.
fn read_logs(github: &GitHub, run: &WorkflowRun, runner: &Runner) -> anyhow::Result<Vec<Finding>> {
    let jobs = github.jobs(run.id, run.attempt())?;
    let failed: Vec<_> = jobs
        .iter()
        .filter(|j| j.conclusion.as_deref() == Some("failure"))
        .collect();
    let mut diagnoser = Diagnoser::default();
    runner.group("Logs of the failed jobs");
    for job in &failed {
        let log = github.job_log(job.id)?;
        runner.info(&format!(
            "Read the log of job '{}' ({} KiB).",
            job.name,
            log.len() / 1024
        ));
        String::from_utf8_lossy(&log)
            .lines()
            .for_each(|l| diagnoser.feed(l));
    }
    runner.end_group();
    if failed.is_empty() {
        runner.warning("the run lists no failed job; diagnosing without logs");
    }
    Ok(diagnoser.finish())
}

struct Fixer<'a> {
    config: &'a Config,
    http: &'a Http,
    github: &'a GitHub<'a>,
    run: &'a WorkflowRun,
    branch: &'a str,
    untrusted: bool,
    runner: &'a Runner,
    commit: Option<String>,
    reran: bool,
}

impl Fixer<'_> {
    fn enabled(&self, fix: Fix) -> bool {
        self.config.fixes.contains(&fix)
    }

    fn fix(&mut self, cause: &Cause) -> Action {
        let result = match cause {
            Cause::Lockfile { .. } if self.enabled(Fix::Lockfile) => self.lockfile(),
            Cause::PushRace | Cause::Transient { .. } if self.enabled(Fix::Rerun) => self.rerun(),
            Cause::DeployHook { .. } if self.enabled(Fix::Webhook) => self.webhook(),
            Cause::DeployUnhealthy { deploy } if self.enabled(Fix::Rollback) => {
                self.rollback(deploy.as_deref(), true)
            }
            Cause::DeployFailed { deploy, .. }
                if self.enabled(Fix::Rollback) || self.enabled(Fix::Redeploy) =>
            {
                self.failed_deploy(deploy.as_deref())
            }
            Cause::PushRejected { reason } => Err(format!(
                "the server refused the push ({reason}); rebasing or re-running cannot change that"
            )),
            Cause::Unknown => Err("no known cause; a person has to read the log".into()),
            other => Err(format!(
                "no enabled fix for {} (fixes: {})",
                other.name(),
                self.fix_names()
            )),
        };
        match result {
            Ok(text) => Action { text, fixed: true },
            Err(text) => Action {
                text: format!("not fixed: {text}"),
                fixed: false,
            },
        }
    }

    fn fix_names(&self) -> String {
        Fix::ALL
            .iter()
            .filter(|(f, _)| self.enabled(*f))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn rerun(&mut self) -> Result<String, String> {
        if self.reran {
            return Ok("re-run already requested".into());
        }
        let attempt = self.run.attempt();
        if attempt >= self.config.max_attempts {
            return Err(format!(
                "attempt {attempt} of run {} failed and max-attempts is {}; not re-running again",
                self.run.id, self.config.max_attempts
            ));
        }
        self.github
            .rerun_failed_jobs(self.run.id)
            .map_err(|e| e.to_string())?;
        self.reran = true;
        Ok(format!(
            "re-ran the failed jobs of run {} (attempt {} of {})",
            self.run.id,
            attempt + 1,
            self.config.max_attempts
        ))
    }

    fn lockfile(&mut self) -> Result<String, String> {
        if self.untrusted {
            return Err("the run's head comes from a fork or a pull request; render-pilot never pushes for such runs (this job holds a write token the failing run did not have)".into());
        }
        if self.run.head_message().contains(TRAILER) {
            return Err("the failing head is render-pilot's own lockfile fix, so regenerating again would not help".into());
        }
        let ws = Workspace::open(&workspace()).map_err(|e| e.to_string())?;
        let head = Oid::from_str(&self.run.head_sha).map_err(|_| {
            format!(
                "head_sha '{}' is not a commit id",
                shorten(&self.run.head_sha)
            )
        })?;
        ws.fetch(self.branch, Some(&self.config.token))
            .map_err(|e| e.to_string())?;
        if ws.repo().find_commit(head).is_err() {
            return Err(format!(
                "commit {} is not on {}; was the branch force-pushed?",
                &self.run.head_sha, self.branch
            ));
        }
        let lockfile = regenerate(&ws, head, self.runner)?;
        let message = format!("fix(ci): regenerate pnpm-lock.yaml\n\nThe run {} failed because pnpm-lock.yaml did not match package.json.\n\n{TRAILER} {}", self.run.id, self.run.head_sha);
        let target = Target {
            branch: self.branch,
            token: Some(&self.config.token),
            push: true,
            author: &self.config.author,
            max_attempts: 3,
        };
        let head_sha = self.run.head_sha.clone();
        let published = ws
            .publish(&target, &message, &mut |ws: &Workspace, tip| {
                if tip != head {
                    if ws.message(tip).is_some_and(|m| m.contains(&format!("{TRAILER} {head_sha}"))) {
                        return Ok(None);
                    }
                    let moved = ws.changed_paths(head, tip)?;
                    if let Some(p) = moved.iter().find(|p| MANIFESTS.iter().any(|m| p.ends_with(m))) {
                        return Err(GitError::Refused(format!("the branch moved since the failed run and changed {p}; not overwriting it")));
                    }
                }
                Ok(Some(vec![(LOCKFILE.to_string(), lockfile.clone())]))
            })
            .map_err(|e| e.to_string())?;
        let commit = match published {
            Published::Pushed { commit, .. } | Published::Committed(commit) => commit,
            Published::Unchanged => {
                return Ok(format!(
                    "{} already carries render-pilot's lockfile fix for this head",
                    self.branch
                ))
            }
        };
        self.commit = Some(commit.to_string());
        let mut text = format!(
            "regenerated pnpm-lock.yaml and pushed {} to {}",
            &commit.to_string()[..7],
            self.branch
        );
        let workflow = self.run.workflow_id.map(|w| w.to_string()).or_else(|| {
            self.run
                .path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .map(String::from)
        });
        match workflow.map(|w| self.github.dispatch(&w, self.branch)) {
            Some(Ok(true)) => text.push_str(&format!("; started {} on {} (pushes with GITHUB_TOKEN start no workflow)", self.run.workflow_name(), self.branch)),
            Some(Ok(false)) => text.push_str("; the workflow has no workflow_dispatch trigger, and pushes made with GITHUB_TOKEN start no run: add `on: workflow_dispatch` to it, or give recover a PAT or GitHub App token as github-token"),
            Some(Err(e)) => text.push_str(&format!("; could not start the workflow ({e})")),
            None => {}
        }
        Ok(text)
    }

    fn webhook(&mut self) -> Result<String, String> {
        let raw = self.config.hook_raw.as_deref().ok_or("recover was given no deploy-hook-url, so the hook cannot be checked; pass the same secret the deploy step uses")?;
        let (hook, warnings) =
            hook::parse(raw).map_err(|e| format!("the deploy hook is wrong: {e}"))?;
        if hook.blueprint {
            return Err("the deploy hook is a Blueprint hook (exs-…): it syncs render.yaml and deploys no code; use the service's hook".into());
        }
        if self.untrusted {
            // Deploying a fork's or pull request's head would put code
            // nobody reviewed into production.
            return Err(format!(
                "the deploy hook is valid{}, but the run's head comes from a fork or a pull request, so render-pilot does not deploy it",
                warnings.iter().map(|w| format!(" (note: {w})")).collect::<String>()
            ));
        }
        let request = TriggerRequest {
            commit: Some(self.run.head_sha.clone()),
            ..TriggerRequest::default()
        };
        let (status, answer) = call_hook(self.http, &hook, &request);
        let answer = answer.map_err(|f| format!("{} (HTTP {status})", f.message))?;
        let mut text = format!(
            "the deploy hook is valid; triggered a deploy of {} (HTTP {}{})",
            &self.run.head_sha.chars().take(7).collect::<String>(),
            answer.status,
            answer
                .deploy
                .map(|d| format!(", {}", d.id))
                .unwrap_or_default()
        );
        for warning in warnings {
            text.push_str(&format!(". Note: {warning}"));
        }
        Ok(text)
    }

    fn render(&self) -> Result<(RenderClient<'_>, String), String> {
        let api = self
            .config
            .api
            .as_ref()
            .ok_or("rollback and redeploy need render-api-key")?;
        let service = self
            .config
            .service_id
            .clone()
            .or_else(|| {
                self.config
                    .hook_raw
                    .as_deref()
                    .and_then(|h| hook::parse(h).ok())
                    .map(|(h, _)| h.id)
                    .filter(|id| hook::is_service_id(id))
            })
            .ok_or("rollback and redeploy need service-id (or the deploy hook)")?;
        Ok((
            RenderClient::new(self.http, api.url.clone(), &api.key),
            service,
        ))
    }

    /// A build or pre-deploy failure leaves the previous deploy serving, so
    /// there is nothing to roll back, except on services with a disk.
    fn failed_deploy(&mut self, deploy: Option<&str>) -> Result<String, String> {
        let (render, service_id) = self.render()?;
        let service = render.get_service(&service_id).map_err(|e| e.to_string())?;
        let deploys = render
            .list_deploys(&service_id, 20, None, None)
            .map_err(|e| e.to_string())?;
        let failed = deploys
            .iter()
            .find(|d| Some(d.id.as_str()) == deploy)
            .or(deploys.first())
            .ok_or("the service has no deploys")?;
        let status = failed.status_or_unknown();
        if status == DeployStatus::UpdateFailed && service.has_disk() && self.enabled(Fix::Rollback)
        {
            return self.rollback(Some(&failed.id), false);
        }
        if self.enabled(Fix::Redeploy) {
            let request = TriggerRequest {
                clear_cache: true,
                ..TriggerRequest::default()
            };
            return match render
                .trigger(&service_id, &request)
                .map_err(|e| e.to_string())?
            {
                Triggered::Created(d) => Ok(format!(
                    "deploy {} {status}; started {} with a cleared build cache",
                    failed.id, d.id
                )),
                Triggered::Queued => Ok(format!(
                    "deploy {} {status}; queued a deploy with a cleared build cache",
                    failed.id
                )),
            };
        }
        Err(format!(
            "deploy {} ended {status}: not rolled back, because Render keeps the previous deploy serving after a failed {}; fix the cause and deploy again",
            failed.id,
            if status == DeployStatus::BuildFailed { "build" } else { "deploy" }
        ))
    }

    /// Rolls back to the newest deploy before `deploy` that was live, and
    /// waits for it to be live.
    fn rollback(&mut self, deploy: Option<&str>, went_live: bool) -> Result<String, String> {
        let (render, service_id) = self.render()?;
        let deploys = render
            .list_deploys(&service_id, 20, None, None)
            .map_err(|e| e.to_string())?;
        let index = match deploy.and_then(|d| deploys.iter().position(|x| x.id == d)) {
            Some(i) => i,
            None if went_live => deploys
                .iter()
                .position(|d| d.status == Some(DeployStatus::Live))
                .unwrap_or(0),
            None => 0,
        };
        let failed = deploys.get(index).ok_or("the service has no deploys")?;
        let target = deploys[index + 1..]
            .iter()
            .find(|d| {
                matches!(
                    d.status,
                    Some(DeployStatus::Live | DeployStatus::Deactivated)
                )
            })
            .ok_or_else(|| {
                format!(
                    "no earlier live deploy before {} to roll back to",
                    failed.id
                )
            })?;
        let rollback = render
            .rollback(&service_id, &target.id)
            .map_err(|e| e.to_string())?;
        let until = Instant::now() + ROLLBACK_WAIT;
        loop {
            let now = render
                .get_deploy(&service_id, &rollback.id)
                .map_err(|e| e.to_string())?;
            match now.status_or_unknown() {
                DeployStatus::Live => {
                    return Ok(format!(
                        "rolled back from {} to {} ({} is live). Autodeploy stays on: the next push deploys again",
                        failed.id, target.id, rollback.id
                    ))
                }
                s if s.is_failure() || s == DeployStatus::Canceled => return Err(format!("the rollback {} ended {s}", rollback.id)),
                _ if Instant::now() >= until => return Err(format!("the rollback {} is not live after 5 minutes", rollback.id)),
                _ => std::thread::sleep(poll_interval()),
            }
        }
    }
}

/// Regenerates only the lockfile of `head` in a scratch copy, with the pnpm
/// that `packageManager` pins when corepack can provide it, and checks it
/// with a frozen install.
fn regenerate(ws: &Workspace, head: Oid, runner: &Runner) -> Result<Vec<u8>, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("making a scratch directory: {e}"))?;
    ws.export(head, scratch.path()).map_err(|e| e.to_string())?;
    let dir = scratch.path();
    if !dir.join("package.json").exists() {
        return Err("the repository has no package.json at its root".into());
    }
    let pnpm = pnpm_command(dir, runner);
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(&pnpm[0])
            .args(&pnpm[1..])
            .args(args)
            .current_dir(dir)
            .env("CI", "true")
            .output()
            .map_err(|e| {
                format!(
                    "running {}: {e}; install pnpm (or corepack) on the runner",
                    pnpm.join(" ")
                )
            })?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "`pnpm {}` failed: {}",
            args.join(" "),
            crate::secrets::redact(&tail.join(" / "))
        ))
    };
    let before = std::fs::read(dir.join(LOCKFILE)).ok();
    run(&[
        "install",
        "--lockfile-only",
        "--no-frozen-lockfile",
        "--ignore-scripts",
    ])?;
    let after =
        std::fs::read(dir.join(LOCKFILE)).map_err(|e| format!("pnpm wrote no lockfile: {e}"))?;
    if before.as_deref() == Some(&after[..]) {
        return Err("pnpm produced the same lockfile; the failure has another cause".into());
    }
    run(&[
        "install",
        "--frozen-lockfile",
        "--ignore-scripts",
        "--prefer-offline",
    ])?;
    Ok(after)
}

/// `corepack pnpm` when package.json pins another pnpm than the one on
/// PATH (so lockfileVersion stays), plain `pnpm` otherwise.
fn pnpm_command(dir: &Path, runner: &Runner) -> Vec<String> {
    let pinned = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("packageManager")?.as_str().map(String::from))
        .and_then(|pm| {
            pm.strip_prefix("pnpm@")
                .map(|v| v.split('+').next().unwrap_or(v).to_string())
        });
    let Some(version) = pinned else {
        return vec!["pnpm".into()];
    };
    let installed = Command::new("pnpm")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if installed.as_deref() == Some(version.as_str()) {
        return vec!["pnpm".into()];
    }
    if Command::new("corepack")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return vec!["corepack".into(), "pnpm".into()];
    }
    runner.warning(&format!("package.json pins pnpm {version}, corepack is missing and pnpm on PATH is {}; the lockfile may change format", installed.unwrap_or_else(|| "absent".into())));
    vec!["pnpm".into()]
}
