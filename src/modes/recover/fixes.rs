//! The fixes recover applies, one per cause.

use std::time::{Duration, Instant};

use git2::Oid;
use reqwest::Url;

use super::pnpm::regenerate;
use super::{LOCKFILE, MANIFESTS, ROLLBACK_WAIT, TRAILER};
use crate::clients::event::WorkflowRun;
use crate::clients::git::{GitError, Published, Target, Workspace};
use crate::clients::github::GitHub;
use crate::clients::hook;
use crate::clients::http::Http;
use crate::clients::render::{
    Deploy, DeployStatus, Outcome, RenderClient, Service, TriggerRequest, Triggered,
};
use crate::inputs::shorten;
use crate::ops::diagnose::Cause;
use crate::ops::rollout::{call_hook, wait_for};
use crate::output::runner::Runner;
use crate::report::Action;
use crate::settings::{Fix, RecoverSettings};

/// Health checks before a rollback: one bad answer may be a blip.
const HEALTH_CHECKS: u32 = 3;

pub(super) struct Fixer<'a> {
    pub(super) config: &'a RecoverSettings,
    pub(super) http: &'a Http,
    pub(super) github: &'a GitHub<'a>,
    pub(super) run: &'a WorkflowRun,
    pub(super) branch: &'a str,
    /// Why the run is not this repository's own code, if it is not: then
    /// recover only reads and reports.
    pub(super) distrust: Option<String>,
    pub(super) runner: &'a Runner,
    pub(super) commit: Option<String>,
    /// The re-run or fresh run already requested, so one recover run never
    /// starts two.
    pub(super) started: Option<String>,
}

impl Fixer<'_> {
    fn enabled(&self, fix: Fix) -> bool {
        self.config.fixes.contains(&fix)
    }

    pub(super) fn fix(&mut self, cause: &Cause) -> Action {
        // Deploy ids in the cause come from the log: evidence only. The
        // Render fixes read their target from Render's own deploy list.
        let result = match cause {
            Cause::Lockfile { .. } if self.enabled(Fix::Lockfile) => self.lockfile(),
            Cause::PushRace if self.enabled(Fix::Rerun) => self.fresh_run(),
            Cause::Transient { .. } if self.enabled(Fix::Rerun) => self.rerun(),
            Cause::DeployHook { .. } if self.enabled(Fix::Webhook) => self.webhook(),
            Cause::DeployUnhealthy { .. } if self.enabled(Fix::Rollback) => self.unhealthy_deploy(),
            Cause::DeployFailed { .. }
                if self.enabled(Fix::Rollback) || self.enabled(Fix::Redeploy) =>
            {
                self.failed_deploy()
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
            Ok(text) => Action {
                fixed: !self.config.dry_run,
                text,
            },
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

    /// Every fix that writes (push, re-run, dispatch, deploy, rollback)
    /// asks first: a fork's or pull request's run gets a report only. Even
    /// a re-run would run its code again with the permissions it had.
    fn trusted(&self) -> Result<(), String> {
        match &self.distrust {
            None => Ok(()),
            Some(why) => Err(format!(
                "the run is not this repository's own code ({why}); render-pilot only reports on such runs, because this job holds write tokens and Render keys the failing run did not have"
            )),
        }
    }

    /// In a dry run, what the real run would do instead of doing it.
    fn would(&self, what: String) -> Option<String> {
        self.config
            .dry_run
            .then(|| format!("dry run: would {what}"))
    }

    /// Transient failures: the same commit should pass, so re-run it.
    fn rerun(&mut self) -> Result<String, String> {
        self.trusted()?;
        if let Some(started) = &self.started {
            return Ok(format!("nothing more to start: {started}"));
        }
        let attempt = self.run.attempt();
        if attempt >= self.config.max_attempts {
            return Err(format!(
                "attempt {attempt} of run {} failed and max-attempts is {}; not re-running again",
                self.run.id, self.config.max_attempts
            ));
        }
        let what = format!(
            "re-run the failed jobs of run {} (attempt {} of {})",
            self.run.id,
            attempt + 1,
            self.config.max_attempts
        );
        if let Some(plan) = self.would(what) {
            self.started = Some(plan.clone());
            return Ok(plan);
        }
        self.github
            .rerun_failed_jobs(self.run.id)
            .map_err(|e| e.to_string())?;
        let text = format!(
            "re-ran the failed jobs of run {} (attempt {} of {})",
            self.run.id,
            attempt + 1,
            self.config.max_attempts
        );
        self.started = Some(text.clone());
        Ok(text)
    }

    /// A lost push race: a re-run would check out the same old commit and
    /// lose again, so start a new run of the workflow on the branch head,
    /// while fewer than `max-attempts` runs in a row have failed.
    fn fresh_run(&mut self) -> Result<String, String> {
        self.trusted()?;
        if let Some(started) = &self.started {
            return Ok(format!("nothing more to start: {started}"));
        }
        let workflow = self
            .run
            .workflow_ref()
            .ok_or("the run names no workflow to start again")?;
        let max = self.config.max_attempts;
        let runs = self
            .github
            .workflow_runs(&workflow, self.branch, max + 1)
            .map_err(|e| e.to_string())?;
        let failed_in_a_row = runs
            .iter()
            .take_while(|r| r.conclusion.as_deref() == Some("failure"))
            .count()
            .max(1) as u64;
        if failed_in_a_row >= max {
            return Err(format!(
                "{failed_in_a_row} runs of {} on {} failed in a row and max-attempts is {max}; not starting another",
                self.run.workflow_name(),
                self.branch
            ));
        }
        let what = format!(
            "start a fresh run of {} on the head of {} (run {} of {max})",
            self.run.workflow_name(),
            self.branch,
            failed_in_a_row + 1
        );
        if let Some(plan) = self.would(what) {
            self.started = Some(plan.clone());
            return Ok(plan);
        }
        self.dispatch(&workflow)
    }

    /// Starts the workflow on the branch head with `workflow_dispatch`.
    fn dispatch(&mut self, workflow: &str) -> Result<String, String> {
        let name = self.run.workflow_name();
        match self.github.dispatch(workflow, self.branch) {
            Ok(true) => {
                let text = format!(
                    "started a fresh run of {name} on the head of {} (workflow_dispatch)",
                    self.branch
                );
                self.started = Some(text.clone());
                Ok(text)
            }
            Ok(false) => Err(format!(
                "{name} has no workflow_dispatch trigger, so render-pilot cannot start it (pushes and re-runs made with GITHUB_TOKEN start no new run on the branch head): add `workflow_dispatch:` under `on:` in {}",
                self.run.path.as_deref().unwrap_or("the workflow file")
            )),
            Err(e) => Err(format!("could not start {name} on {}: {e}", self.branch)),
        }
    }

    fn lockfile(&mut self) -> Result<String, String> {
        self.trusted()?;
        if self.run.head_message().contains(TRAILER) {
            return Err("the failing head is render-pilot's own lockfile fix, so regenerating again would not help".into());
        }
        let what = format!(
            "regenerate pnpm-lock.yaml with pnpm (scripts and .pnpmfile.cjs off), push it to {} and start {} on it",
            self.branch,
            self.run.workflow_name()
        );
        if let Some(plan) = self.would(what) {
            return Ok(plan);
        }
        let ws = Workspace::open(&self.config.workspace).map_err(|e| e.to_string())?;
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
        let (lockfile, pnpm) = regenerate(&ws, head, self.runner, &self.config.pnpm_env)?;
        let message = format!("fix(ci): regenerate pnpm-lock.yaml\n\nThe run {} failed because pnpm-lock.yaml did not match package.json. Regenerated with {pnpm}.\n\n{TRAILER} {}", self.run.id, self.run.head_sha);
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
            "regenerated pnpm-lock.yaml and pushed {} to {} (with {pnpm})",
            &commit.to_string()[..7],
            self.branch
        );
        // Pushes made with GITHUB_TOKEN start no workflow: start it here,
        // and say so loudly when that is impossible.
        let dispatched = match self.run.workflow_ref() {
            Some(workflow) => self.dispatch(&workflow),
            None => Err("the run names no workflow to start".into()),
        };
        match dispatched {
            Ok(started) => text.push_str(&format!("; {started}")),
            Err(why) => {
                let note = format!("CI was not re-run on the fix: {why}");
                self.runner.warning(&note);
                text.push_str(&format!("; {note}"));
            }
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
        if let Some(why) = &self.distrust {
            // Deploying a fork's or pull request's head would put code
            // nobody reviewed into production.
            return Err(format!(
                "the deploy hook is valid{}, but the run is not this repository's own code ({why}), so render-pilot does not deploy it",
                warnings.iter().map(|w| format!(" (note: {w})")).collect::<String>()
            ));
        }
        let short = self.run.head_sha.chars().take(7).collect::<String>();
        if let Some(plan) = self.would(format!(
            "trigger a deploy of {short} through the valid deploy hook"
        )) {
            return Ok(plan);
        }
        let request = TriggerRequest {
            commit: Some(self.run.head_sha.clone()),
            ..TriggerRequest::default()
        };
        let (status, answer) = call_hook(self.http, &hook, &request);
        let answer = answer.map_err(|f| format!("{} (HTTP {status})", f.message))?;
        let mut text = format!(
            "the deploy hook is valid; triggered a deploy of {short} (HTTP {}{})",
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

    /// The service's deploys, newest first, as Render lists them: the only
    /// source of a rollback's or redeploy's target.
    fn deploys(&self) -> Result<(RenderClient<'_>, String, Service, Vec<Deploy>), String> {
        let (render, service_id) = self.render()?;
        let service = render.get_service(&service_id).map_err(|e| e.to_string())?;
        let deploys = render
            .list_deploys(&service_id, 20, None, None)
            .map_err(|e| e.to_string())?;
        if deploys.is_empty() {
            return Err(format!("Render lists no deploy for {service_id}"));
        }
        Ok((render, service_id, service, deploys))
    }

    /// A build or pre-deploy failure leaves the previous deploy serving, so
    /// there is nothing to roll back, except on services with a disk.
    fn failed_deploy(&mut self) -> Result<String, String> {
        self.trusted()?;
        let (render, service_id, service, deploys) = self.deploys()?;
        let failed = &deploys[0];
        let status = failed.status_or_unknown();
        if !status.is_failure() {
            return Err(format!(
                "Render's newest deploy {} is {status}, not failed; render-pilot acts on what Render reports, never on a deploy named in a log",
                failed.id
            ));
        }
        if status == DeployStatus::UpdateFailed && service.has_disk() && self.enabled(Fix::Rollback)
        {
            if let Some(plan) = self.would(format!(
                "roll back from {} to the previous live deploy",
                failed.id
            )) {
                return Ok(plan);
            }
            return rollback(&render, &service_id, &deploys, self.config.tuning.poll);
        }
        if self.enabled(Fix::Redeploy) {
            if let Some(plan) = self.would(format!(
                "start a deploy with a cleared build cache after {} ({status})",
                failed.id
            )) {
                return Ok(plan);
            }
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

    /// Rolls back only when Render's newest deploy is live and its health
    /// check fails now, checked here: a log's word is not enough.
    fn unhealthy_deploy(&mut self) -> Result<String, String> {
        self.trusted()?;
        let (render, service_id, service, deploys) = self.deploys()?;
        let newest = &deploys[0];
        let status = newest.status_or_unknown();
        if status != DeployStatus::Live {
            return Err(format!(
                "Render's newest deploy {} is {status}, not live, so no live deploy is to blame; render-pilot never rolls back to or from a deploy named in a log",
                newest.id
            ));
        }
        let failing = failing_health(self.http, &service, self.config.tuning.poll)?;
        if let Some(plan) = self.would(format!(
            "roll back from {} ({failing}) to the previous live deploy",
            newest.id
        )) {
            return Ok(plan);
        }
        rollback(&render, &service_id, &deploys, self.config.tuning.poll)
    }
}

/// Checks the live service's health check path three times; `Ok` with
/// the last answer when none was 2xx, `Err` when it is healthy or cannot
/// be checked.
fn failing_health(http: &Http, service: &Service, pause: Duration) -> Result<String, String> {
    let (Some(base), Some(path)) = (service.url(), service.health_check_path()) else {
        return Err(format!(
            "Render lists no URL and health check path for {}, so render-pilot cannot confirm it is unhealthy; roll back in the dashboard if it is",
            service.id
        ));
    };
    let url = Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
        .map_err(|e| format!("the service URL {base} with {path} is not a URL ({e})"))?;
    let mut last = String::new();
    for check in 0..HEALTH_CHECKS {
        if check > 0 {
            std::thread::sleep(pause);
        }
        let answer = http.health_check(&url);
        if answer.code.is_some_and(|c| (200..300).contains(&c)) {
            return Err(format!(
                "the live deploy answers {} on {path} now; not rolling back a healthy service",
                answer.describe()
            ));
        }
        last = answer.describe();
    }
    Ok(format!("{path}: {last}"))
}

/// Rolls back from the newest deploy to the newest earlier deploy that was
/// live, and waits for it to be live. `deploys` is newest first.
fn rollback(
    render: &RenderClient,
    service_id: &str,
    deploys: &[Deploy],
    poll: Duration,
) -> Result<String, String> {
    let failed = &deploys[0];
    let target = deploys[1..]
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
        .rollback(service_id, &target.id)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + ROLLBACK_WAIT;
    let last = wait_for(
        render,
        service_id,
        &rollback.id,
        (deadline, poll),
        true,
        |_| {},
    )
    .map_err(|e| format!("the rollback {} may still be running: {e}", rollback.id))?;
    match last.status_or_unknown() {
        DeployStatus::Live => Ok(format!(
            "rolled back from {} to {} ({} is live). Autodeploy stays on: the next push deploys again",
            failed.id, target.id, rollback.id
        )),
        s if s.outcome(true) == Outcome::Failed => {
            Err(format!("the rollback {} ended {s}", rollback.id))
        }
        _ => Err(format!("the rollback {} is not live after 5 minutes", rollback.id)),
    }
}
