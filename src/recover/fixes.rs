//! The fixes recover applies, one per cause.

use std::time::Instant;

use git2::Oid;

use super::pnpm::regenerate;
use super::{Config, Fix, LOCKFILE, MANIFESTS, ROLLBACK_WAIT, TRAILER};
use crate::cli::workspace;
use crate::deploy::{call_hook, wait_for};
use crate::diagnose::Cause;
use crate::event::WorkflowRun;
use crate::git::{GitError, Published, Target, Workspace};
use crate::github::GitHub;
use crate::hook;
use crate::http::Http;
use crate::inputs::shorten;
use crate::render::{Deploy, DeployStatus, Outcome, RenderClient, TriggerRequest, Triggered};
use crate::report::Action;
use crate::runner::Runner;

pub(super) struct Fixer<'a> {
    pub(super) config: &'a Config,
    pub(super) http: &'a Http,
    pub(super) github: &'a GitHub<'a>,
    pub(super) run: &'a WorkflowRun,
    pub(super) branch: &'a str,
    pub(super) untrusted: bool,
    pub(super) runner: &'a Runner,
    pub(super) commit: Option<String>,
    pub(super) reran: bool,
}

impl Fixer<'_> {
    fn enabled(&self, fix: Fix) -> bool {
        self.config.fixes.contains(&fix)
    }

    pub(super) fn fix(&mut self, cause: &Cause) -> Action {
        let result = match cause {
            Cause::Lockfile { .. } if self.enabled(Fix::Lockfile) => self.lockfile(),
            Cause::PushRace | Cause::Transient { .. } if self.enabled(Fix::Rerun) => self.rerun(),
            Cause::DeployHook { .. } if self.enabled(Fix::Webhook) => self.webhook(),
            Cause::DeployUnhealthy { deploy } if self.enabled(Fix::Rollback) => {
                self.unhealthy_deploy(deploy.as_deref())
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
        let index = deploys
            .iter()
            .position(|d| Some(d.id.as_str()) == deploy)
            .unwrap_or(0);
        let failed = deploys.get(index).ok_or("the service has no deploys")?;
        let status = failed.status_or_unknown();
        if status == DeployStatus::UpdateFailed && service.has_disk() && self.enabled(Fix::Rollback)
        {
            return rollback(&render, &service_id, &deploys, index);
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

    /// A deploy that went live and then failed its health check: the one
    /// named in the log, else the newest live one.
    fn unhealthy_deploy(&mut self, deploy: Option<&str>) -> Result<String, String> {
        let (render, service_id) = self.render()?;
        let deploys = render
            .list_deploys(&service_id, 20, None, None)
            .map_err(|e| e.to_string())?;
        let index = deploy
            .and_then(|d| deploys.iter().position(|x| x.id == d))
            .or_else(|| {
                deploys
                    .iter()
                    .position(|d| d.status == Some(DeployStatus::Live))
            })
            .unwrap_or(0);
        rollback(&render, &service_id, &deploys, index)
    }
}

/// Rolls back from `deploys[index]` to the newest earlier deploy that was
/// live, and waits for it to be live. `deploys` is newest first.
fn rollback(
    render: &RenderClient,
    service_id: &str,
    deploys: &[Deploy],
    index: usize,
) -> Result<String, String> {
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
        .rollback(service_id, &target.id)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + ROLLBACK_WAIT;
    let last = wait_for(render, service_id, &rollback.id, deadline, true, |_| {})
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
