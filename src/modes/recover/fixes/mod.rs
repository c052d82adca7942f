//! The fixes recover applies, one per cause: the lockfile ([`lockfile`]),
//! new runs of the workflow ([`runs`]) and Render deploys ([`deploys`]).

mod deploys;
mod head;
mod lockfile;
mod runs;

use super::pnpm::PnpmError;
use crate::clients::event::WorkflowRun;
use crate::clients::git::GitError;
use crate::clients::github::{GitHub, GitHubError};
use crate::clients::http::Http;
use crate::clients::render::{DeployStatus, RenderError};
use crate::inputs::InputError;
use crate::markdown::{Action, FixOutcome};
use crate::ops::diagnose::Cause;
use crate::output::runner::Runner;
use crate::settings::{Fix, RecoverSettings};

/// Why a fix was not applied; shown after "not fixed: " in the action.
#[derive(Debug, thiserror::Error)]
pub(super) enum FixError {
    #[error("the server refused the push ({0}); rebasing or re-running cannot change that")]
    PushRejected(String),
    #[error("no known cause; a person has to read the log")]
    Unknown,
    #[error("no fix for {0}: the code or the build settings must change")]
    CodeChange(&'static str),
    #[error("no enabled fix for {cause} (fixes: {enabled})")]
    NotEnabled {
        cause: &'static str,
        enabled: String,
    },
    #[error("render-pilot only reports on this run ({0}), because this job holds write tokens and Render keys the failing run did not have")]
    Untrusted(String),
    #[error(
        "attempt {attempt} of run {run} failed and max-attempts is {max}; not re-running again"
    )]
    MaxAttempts { attempt: u64, run: u64, max: u64 },
    #[error("the run names no workflow to start again")]
    NoWorkflow,
    #[error("{failed} runs of {workflow} on {branch} failed in a row and max-attempts is {max}; not starting another")]
    FailedInARow {
        failed: u64,
        workflow: String,
        branch: String,
        max: u64,
    },
    #[error("{workflow} has no workflow_dispatch trigger, so render-pilot cannot start it (pushes and re-runs made with GITHUB_TOKEN start no new run on the branch head): add `workflow_dispatch:` under `on:` in {file}")]
    NoDispatch { workflow: String, file: String },
    #[error("could not start {workflow} on {branch}: {source}")]
    DispatchFailed {
        workflow: String,
        branch: String,
        source: Box<GitHubError>,
    },
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(
        "the failing head is render-pilot's own lockfile fix, so regenerating again would not help"
    )]
    OwnFix,
    #[error(transparent)]
    Workspace(InputError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("head_sha '{0}' is not a commit id")]
    NotACommit(String),
    #[error("commit {sha} is not on {branch}; was the branch force-pushed?")]
    NotOnBranch { sha: String, branch: String },
    #[error(transparent)]
    Pnpm(#[from] PnpmError),
    #[error("recover was given no deploy-hook-url, so the hook cannot be checked; pass the same secret the deploy step uses")]
    NoHook,
    #[error("the deploy hook is wrong: {0}")]
    BadHook(InputError),
    #[error("the deploy hook is a Blueprint hook (exs-…): it syncs render.yaml and deploys no code; use the service's hook")]
    BlueprintHook,
    #[error("the deploy hook is valid{}, but render-pilot does not deploy this run's head ({why})", notes(.warnings))]
    UntrustedHook { warnings: Vec<String>, why: String },
    #[error("{message} (HTTP {status})")]
    HookFailed { message: String, status: String },
    #[error("{branch} moved on to {tip} after the failed run's head {head}; render-pilot deploys only the branch tip, and the newer commit's own run deploys it")]
    BranchMoved {
        branch: String,
        tip: String,
        head: String,
    },
    #[error("the live deploy {id} runs {commit}, {why} {head}; not deploying an older or unrelated commit over it")]
    NewerLive {
        id: String,
        commit: String,
        head: String,
        why: &'static str,
    },
    #[error("rollback and redeploy need render-api-key")]
    NoApiKey,
    #[error("rollback and redeploy need service-id (or the deploy hook)")]
    NoService,
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("Render lists no deploy for {0}")]
    NoDeploy(String),
    #[error("Render's newest deploy {id} is {status}, not failed; render-pilot acts on what Render reports, never on a deploy named in a log")]
    NotFailed { id: String, status: DeployStatus },
    #[error("deploy {id} ended {status}: not rolled back, because Render keeps the previous deploy serving after a failed {}; fix the cause and deploy again", stage(.status))]
    KeptServing { id: String, status: DeployStatus },
    #[error("Render's newest deploy {id} is {status}, not live, so no live deploy is to blame; render-pilot never rolls back to or from a deploy named in a log")]
    NotLive { id: String, status: DeployStatus },
    #[error("Render lists no URL and health check path for {0}, so render-pilot cannot confirm it is unhealthy; roll back in the dashboard if it is")]
    NoHealthCheck(String),
    #[error("the service URL {base} with {path} is not a URL ({source})")]
    BadHealthUrl {
        base: String,
        path: String,
        source: url::ParseError,
    },
    #[error("the live deploy answers {answer} on {path} now; not rolling back a healthy service")]
    Healthy { answer: String, path: String },
    #[error("no earlier live deploy before {0} to roll back to")]
    NoEarlierLive(String),
    #[error("the rollback {id} may still be running: {source}")]
    RollbackUnfinished { id: String, source: RenderError },
    #[error("the rollback {id} ended {status}")]
    RollbackFailed { id: String, status: DeployStatus },
    #[error("the rollback {0} is not live after 5 minutes")]
    RollbackNotLive(String),
}

/// The hook's warnings, as notes after "the deploy hook is valid".
fn notes(warnings: &[String]) -> String {
    warnings.iter().map(|w| format!(" (note: {w})")).collect()
}

/// What failed: the build, or the deploy after it.
fn stage(status: &DeployStatus) -> &'static str {
    if *status == DeployStatus::BuildFailed {
        "build"
    } else {
        "deploy"
    }
}

/// A fix's description of what it did (or, in a dry run, would do).
type Fixed = Result<String, FixError>;

/// What a Render fix found: something it fixed, or nothing left to fix.
pub(super) enum Done {
    /// Fixed (in a dry run: would fix); the text says how.
    Fixed(String),
    /// Render serves a good deploy again: nothing to fix.
    Settled(String),
}

pub(super) struct Fixer<'a> {
    pub(super) settings: &'a RecoverSettings,
    pub(super) http: &'a Http,
    pub(super) github: &'a GitHub<'a>,
    pub(super) run: &'a WorkflowRun,
    pub(super) branch: &'a str,
    /// Why render-pilot only reports on the run, if it does: then
    /// recover only reads and reports.
    pub(super) distrust: Option<String>,
    pub(super) runner: &'a Runner,
    pub(super) commit: Option<String>,
    /// The re-run or fresh run already requested, so one recover run never
    /// starts two.
    pub(super) started: Option<String>,
    /// The rollback or deploy already started: a log can name both a failed
    /// and an unhealthy deploy, and the second fix would see the first's.
    pub(super) deployed: Option<String>,
}

impl Fixer<'_> {
    fn enabled(&self, fix: Fix) -> bool {
        self.settings.fixes.contains(&fix)
    }

    pub(super) fn fix(&mut self, cause: &Cause) -> Action {
        match self.apply(cause) {
            Ok(Done::Fixed(text)) if self.settings.dry_run => Action {
                text,
                outcome: FixOutcome::Planned,
            },
            Ok(Done::Fixed(text)) => Action {
                text,
                outcome: FixOutcome::Fixed,
            },
            Ok(Done::Settled(text)) => Action {
                text,
                outcome: FixOutcome::Settled,
            },
            Err(error) => Action {
                text: format!("not fixed: {error}"),
                outcome: FixOutcome::NotFixed,
            },
        }
    }

    fn apply(&mut self, cause: &Cause) -> Result<Done, FixError> {
        // Deploy ids in the cause come from the log: evidence only. The
        // Render fixes read their target from Render's own deploy list.
        match cause {
            Cause::Lockfile { .. } if self.enabled(Fix::Lockfile) => {
                self.lockfile().map(Done::Fixed)
            }
            Cause::PushRace if self.enabled(Fix::Rerun) => self.fresh_run().map(Done::Fixed),
            Cause::Transient { .. } if self.enabled(Fix::Rerun) => self.rerun().map(Done::Fixed),
            Cause::DeployHook { .. } if self.enabled(Fix::Webhook) => self.webhook(),
            Cause::DeployUnhealthy { .. } if self.enabled(Fix::Rollback) => self.unhealthy_deploy(),
            Cause::DeployFailed { .. }
                if self.enabled(Fix::Rollback) || self.enabled(Fix::Redeploy) =>
            {
                self.failed_deploy()
            }
            Cause::PushRejected { reason } => Err(FixError::PushRejected(reason.clone())),
            Cause::Unknown => Err(FixError::Unknown),
            Cause::MissingModule { .. } | Cause::OutOfMemory | Cause::ExitCode { .. } => {
                Err(FixError::CodeChange(cause.name()))
            }
            other => Err(FixError::NotEnabled {
                cause: other.name(),
                enabled: self.fix_names(),
            }),
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
    fn trusted(&self) -> Result<(), FixError> {
        match &self.distrust {
            None => Ok(()),
            Some(why) => Err(FixError::Untrusted(why.clone())),
        }
    }

    /// In a dry run, what the real run would do instead of doing it.
    fn would(&self, what: String) -> Option<String> {
        self.settings
            .dry_run
            .then(|| format!("dry run: would {what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_or_deploy_is_named_in_the_refusal() {
        for (status, stage) in [
            (DeployStatus::BuildFailed, "build"),
            (DeployStatus::UpdateFailed, "deploy"),
            (DeployStatus::PreDeployFailed, "deploy"),
        ] {
            let error = FixError::KeptServing {
                id: "dep-1".into(),
                status: status.clone(),
            };
            assert_eq!(
                error.to_string(),
                format!("deploy dep-1 ended {status}: not rolled back, because Render keeps the previous deploy serving after a failed {stage}; fix the cause and deploy again")
            );
        }
    }

    #[test]
    fn each_hook_warning_is_a_note_after_valid() {
        let error = FixError::UntrustedHook {
            warnings: vec!["a trailing newline".into(), "a space".into()],
            why: "a fork".into(),
        };
        assert_eq!(
            error.to_string(),
            "the deploy hook is valid (note: a trailing newline) (note: a space), but render-pilot does not deploy this run's head (a fork)"
        );
        let error = FixError::UntrustedHook {
            warnings: Vec::new(),
            why: "a fork".into(),
        };
        assert!(error
            .to_string()
            .starts_with("the deploy hook is valid, but"));
    }
}
