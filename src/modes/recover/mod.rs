//! Recover mode: read a failed run's logs, diagnose them, apply the fixes
//! the user enabled, and file one issue per workflow and branch for what
//! cannot be fixed.

mod fixes;
mod pnpm;

pub use pnpm::DEFAULT_PNPM;

use std::time::Duration;

use crate::clients::event::{read_event, WorkflowRun};
use crate::clients::github::GitHub;
use crate::clients::http::Http;
use crate::inputs::InputError;
use crate::ops::diagnose::{Diagnoser, FailedStep, Finding, StepReader};
use crate::ops::issues::Tracker;
use crate::output::escape::escape_inline;
use crate::output::runner::Runner;
use crate::report::{Action, RecoverReport};
use crate::settings::RecoverSettings;
use crate::Status;
use fixes::Fixer;

/// Marks our own fix commits, so a failure after one is not "fixed" again.
pub const TRAILER: &str = "Render-Pilot-Fix: lockfile";
const LOCKFILE: &str = "pnpm-lock.yaml";
const MANIFESTS: [&str; 3] = ["pnpm-lock.yaml", "package.json", "pnpm-workspace.yaml"];
const ROLLBACK_WAIT: Duration = Duration::from_secs(300);

/// The run to work on: from `run-id`, else from the event payload.
fn load_run(config: &RecoverSettings, github: &GitHub) -> anyhow::Result<WorkflowRun> {
    if let Some(id) = config.run_id {
        return Ok(github.get_run(id)?);
    }
    let path = config.event_path.as_ref().ok_or_else(|| {
        InputError::new("run-id", "is not set and there is no GITHUB_EVENT_PATH; run recover on a workflow_run event or pass run-id")
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::new(
            "GITHUB_EVENT_PATH",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok(read_event(&text)?.ok_or_else(|| {
        InputError::new("run-id", "is not set and the event is not workflow_run; trigger recover with on: workflow_run, or pass run-id")
    })?)
}

pub fn run(config: &RecoverSettings, runner: &mut Runner) -> anyhow::Result<Status> {
    let http = Http::new(&config.tuning)?.notify_waits(runner.info_printer());
    let github = GitHub::new(&http, &config.github, &config.token);
    let run = load_run(config, &github)?;
    let branch = config
        .branch
        .clone()
        .or(run.head_branch.clone())
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| {
            InputError::new(
                "branch",
                format!("is not set and run {} names no head branch (head_branch is null); pass the branch the run was on as branch", run.id),
            )
        })?;
    // The head repository is part of the key: a fork's `main` is not ours.
    let key = format!(
        "recover:{}:{}:{branch}",
        run.workflow_key(),
        run.head_repository_name()
    );
    // Titles are plain text, but one line.
    let title = format!("render-pilot: {} failed on {branch}", run.workflow_name())
        .replace(char::is_control, " ");
    // GitHub's conclusions are lowercase words; anything else is shown as
    // those letters only.
    let conclusion: String = run
        .conclusion
        .as_deref()
        .unwrap_or("unknown")
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
    for name in ["diagnosis", "fixed", "actions", "commit-sha", "issue-url"] {
        runner.set_output(name, "");
    }

    if conclusion != "failure" {
        let mut note = format!(
            "Run {} of {} ended `{conclusion}`: nothing to recover.",
            run.id,
            escape_inline(&run.workflow_name())
        );
        if conclusion == "success" && !config.dry_run {
            let mut tracker = Tracker::load(&github, &config.issue_label)?;
            let closed = tracker.resolve(&key, &|_| {
                format!(
                    "✅ {} passed on {} (run {}); closing.",
                    escape_inline(&run.workflow_name()),
                    escape_inline(&branch),
                    run.id
                )
            })?;
            if closed {
                note.push_str(&format!(
                    " Closed the recovery issue for {}.",
                    escape_inline(&branch)
                ));
            }
        }
        runner.info(&note);
        runner.append_summary(&format!("### render-pilot recover\n\n{note}\n"));
        return Ok(Status::Done);
    }

    let (findings, steps) = read_logs(&github, &run, runner)?;
    runner.set_output(
        "diagnosis",
        findings
            .iter()
            .map(|f| f.cause.name())
            .collect::<Vec<_>>()
            .join(","),
    );
    let distrust = run.distrust(github.repository());
    let mut fixer = Fixer {
        config,
        http: &http,
        github: &github,
        run: &run,
        branch: &branch,
        distrust: distrust.clone(),
        runner,
        commit: None,
        started: None,
    };
    let mut actions: Vec<Action> = Vec::new();
    for finding in &findings {
        let action = fixer.fix(&finding.cause);
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
        steps: &steps,
        distrust: distrust.as_deref(),
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
            .map(|f| escape_inline(&f.cause.describe()))
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
/// evidence and each job's failed step are kept, never the whole log.
fn read_logs(
    github: &GitHub,
    run: &WorkflowRun,
    runner: &Runner,
) -> anyhow::Result<(Vec<Finding>, Vec<FailedStep>)> {
    let jobs = github.jobs(run.id, run.attempt())?;
    let failed: Vec<_> = jobs
        .iter()
        .filter(|j| j.conclusion.as_deref() == Some("failure"))
        .collect();
    let mut diagnoser = Diagnoser::default();
    let mut steps = Vec::new();
    runner.group("Logs of the failed jobs");
    for job in &failed {
        let log = github.job_log(job.id)?;
        runner.info(&format!(
            "Read the log of job '{}' ({} KiB).",
            job.name,
            log.len() / 1024
        ));
        let mut reader = StepReader::default();
        for line in String::from_utf8_lossy(&log).lines() {
            diagnoser.feed(line);
            reader.feed(line);
        }
        steps.extend(reader.finish(&job.name));
    }
    runner.end_group();
    if failed.is_empty() {
        runner.warning("the run lists no failed job; diagnosing without logs");
    }
    Ok((diagnoser.finish(), steps))
}
