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
use crate::markdown::{Action, FixOutcome, RecoverReport};
use crate::ops::diagnose::{Diagnoser, FailedStep, Finding, StepReader};
use crate::ops::issues::Tracker;
use crate::output::escape::{escape_inline, one_line};
use crate::output::runner::Runner;
use crate::settings::RecoverSettings;
use crate::verdict::Verdict;
use fixes::Fixer;

/// Marks our own fix commits, so a failure after one is not "fixed" again.
pub(crate) const TRAILER: &str = "Render-Pilot-Fix: lockfile";
const LOCKFILE: &str = "pnpm-lock.yaml";
const MANIFESTS: [&str; 3] = ["pnpm-lock.yaml", "package.json", "pnpm-workspace.yaml"];
const ROLLBACK_WAIT: Duration = Duration::from_secs(300);

/// The run to work on: from `run-id`, else from the event payload.
fn load_run(settings: &RecoverSettings, github: &GitHub) -> anyhow::Result<WorkflowRun> {
    if let Some(id) = settings.run_id {
        return Ok(github.get_run(id)?);
    }
    let path = settings.event_path.as_ref().ok_or_else(|| {
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

/// The failed run recover works on, and its issue's key.
struct Case<'a> {
    settings: &'a RecoverSettings,
    github: &'a GitHub<'a>,
    run: WorkflowRun,
    branch: String,
    key: String,
}

/// What recover tells the workflow. Written once, at the end, also when a
/// step stopped the run: what was found and done by then is kept.
#[derive(Default)]
struct Outputs {
    diagnosis: String,
    fixed: Option<bool>,
    actions: String,
    commit_sha: Option<String>,
    issue_url: Option<String>,
}

fn outputs(found: &Outputs) -> Vec<(&'static str, String)> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    vec![
        ("diagnosis", found.diagnosis.clone()),
        (
            "fixed",
            found.fixed.map(|f| f.to_string()).unwrap_or_default(),
        ),
        ("actions", found.actions.clone()),
        ("commit-sha", text(&found.commit_sha)),
        ("issue-url", text(&found.issue_url)),
    ]
}

pub(crate) fn run(settings: &RecoverSettings, runner: &mut Runner) -> anyhow::Result<Verdict> {
    let http = Http::new(&settings.tuning)?.notify_waits(runner.printer());
    let github = GitHub::new(&http, &settings.github, &settings.token);
    let run = load_run(settings, &github)?;
    // The conclusion first: a run that did not fail needs no branch to
    // be left alone.
    let conclusion = conclusion(&run);
    let branch = branch(settings, &run, &github);
    let mut found = Outputs::default();
    let result = match (conclusion.as_str(), branch) {
        ("failure", Some(branch)) => {
            let case = Case {
                settings,
                github: &github,
                key: issue_key(&run, &branch),
                run,
                branch,
            };
            recover(&case, &http, runner, &mut found)
        }
        ("failure", None) => Err(InputError::new(
            "branch",
            format!("is not set and run {} names no head branch (head_branch is null in the event and in GitHub's API); pass the branch the run was on as branch", run.id),
        )
        .into()),
        (other, branch) => nothing_to_recover(settings, &github, &run, branch, other, runner),
    };
    runner.set_outputs(outputs(&found));
    result
}

/// The branch the run was on: `branch`, else the run's head branch, else
/// the head branch GitHub's API gives for the run (an event may carry
/// null where the API knows it).
fn branch(settings: &RecoverSettings, run: &WorkflowRun, github: &GitHub) -> Option<String> {
    let named = |b: Option<String>| b.filter(|b| !b.trim().is_empty());
    named(settings.branch.clone())
        .or_else(|| named(run.head_branch.clone()))
        .or_else(|| named(github.get_run(run.id).ok()?.head_branch))
}

/// One issue per workflow and branch. The head repository is part of the
/// key: a fork's `main` is not ours.
fn issue_key(run: &WorkflowRun, branch: &str) -> String {
    format!(
        "recover:{}:{}:{branch}",
        run.workflow_key(),
        run.head_repository_name()
    )
}

/// GitHub's conclusions are lowercase words; anything else is shown as
/// those letters only.
fn conclusion(run: &WorkflowRun) -> String {
    run.conclusion
        .as_deref()
        .unwrap_or("unknown")
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .collect()
}

/// A run that did not fail: nothing to fix, but a success closes the
/// branch's recovery issue.
fn nothing_to_recover(
    settings: &RecoverSettings,
    github: &GitHub,
    run: &WorkflowRun,
    branch: Option<String>,
    conclusion: &str,
    runner: &mut Runner,
) -> anyhow::Result<Verdict> {
    let mut note = format!(
        "Run {} of {} ended `{conclusion}`: nothing to recover.",
        run.id,
        escape_inline(&run.workflow_name())
    );
    match branch {
        Some(branch) if conclusion == "success" && !settings.dry_run => {
            let comment = format!(
                "✅ {} passed on {} (run {}); closing.",
                escape_inline(&run.workflow_name()),
                escape_inline(&branch),
                run.id
            );
            let closed = close_issue(settings, github, &issue_key(run, &branch), &comment)?;
            if closed {
                note.push_str(&format!(
                    " Closed the recovery issue for {}.",
                    escape_inline(&branch)
                ));
            }
        }
        None if conclusion == "success" => note.push_str(
            " The run names no head branch, so no recovery issue could be matched to close; pass branch to close one.",
        ),
        _ => {}
    }
    runner.info(&note);
    runner.append_summary(&format!("### render-pilot recover\n\n{note}\n"));
    Ok(Verdict::Done)
}

/// Closes the recovery issue of `key`, if one is open, with `comment`.
fn close_issue(
    settings: &RecoverSettings,
    github: &GitHub,
    key: &str,
    comment: &str,
) -> anyhow::Result<bool> {
    let mut tracker = Tracker::load(github, &settings.issue_label)?;
    Ok(tracker.resolve(key, &|_| comment.to_string())?)
}

/// A failed run: diagnose its logs, apply the enabled fixes, file an issue
/// for what is left, and report.
fn recover(
    case: &Case,
    http: &Http,
    runner: &mut Runner,
    found: &mut Outputs,
) -> anyhow::Result<Verdict> {
    let settings = case.settings;
    let (findings, steps) = read_logs(case.github, &case.run, runner)?;
    found.diagnosis = cause_names(&findings, ",");
    let distrust = case.run.distrust(case.github.repository());
    let (actions, commit) = apply_fixes(case, http, distrust.clone(), &findings, runner);
    let fixed = !settings.dry_run && actions.iter().all(Action::fixed);
    found.fixed = Some(fixed);
    found.actions = actions
        .iter()
        .map(|a| a.text.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    found.commit_sha = commit;
    let report = RecoverReport {
        run: &case.run,
        branch: &case.branch,
        findings: &findings,
        actions: &actions,
        steps: &steps,
        distrust: distrust.as_deref(),
        dry_run: settings.dry_run,
    };
    let issue_url = if !fixed && !settings.dry_run {
        file_issue(case, &findings, &report)?
    } else {
        None
    };
    let settled = !actions.is_empty() && actions.iter().all(|a| a.outcome == FixOutcome::Settled);
    if settled && !settings.dry_run {
        let closed = close_issue(
            settings,
            case.github,
            &case.key,
            &format!(
                "✅ Nothing left to fix after run {}: {}; closing.",
                case.run.id,
                escape_inline(&found.actions)
            ),
        )?;
        if closed {
            runner.info(&format!(
                "Closed the recovery issue for {}: nothing is left to fix.",
                escape_inline(&case.branch)
            ));
        }
    }
    found.issue_url = issue_url.clone();
    runner.append_summary(&report.summary(issue_url.as_deref()));
    if settings.dry_run {
        return Ok(Verdict::Done);
    }
    Ok(if fixed {
        Verdict::Done
    } else {
        Verdict::Failed
    })
}

/// The causes' names, joined with `separator`.
fn cause_names(findings: &[Finding], separator: &str) -> String {
    findings
        .iter()
        .map(|f| f.cause.name())
        .collect::<Vec<_>>()
        .join(separator)
}

/// Applies the fix of each finding, in order; returns what was done and
/// the commit pushed, if any.
fn apply_fixes(
    case: &Case,
    http: &Http,
    distrust: Option<String>,
    findings: &[Finding],
    runner: &Runner,
) -> (Vec<Action>, Option<String>) {
    let mut fixer = Fixer {
        settings: case.settings,
        http,
        github: case.github,
        run: &case.run,
        branch: &case.branch,
        distrust,
        runner,
        commit: None,
        started: None,
        deployed: None,
    };
    let mut actions = Vec::new();
    for finding in findings {
        let action = fixer.fix(&finding.cause);
        runner_log(runner, finding, &action);
        actions.push(action);
    }
    (actions, fixer.commit)
}

/// Opens or updates the branch's recovery issue; returns its URL.
fn file_issue(
    case: &Case,
    findings: &[Finding],
    report: &RecoverReport,
) -> anyhow::Result<Option<String>> {
    // Titles are plain text, one line, and GitHub caps them at 256.
    let title = one_line(
        &format!(
            "render-pilot: {} failed on {}",
            case.run.workflow_name(),
            case.branch
        ),
        200,
    );
    let causes = findings
        .iter()
        .map(|f| escape_inline(&f.cause.describe()))
        .collect::<Vec<_>>()
        .join("; ");
    let note = format!("The run {} failed again: {causes}.", case.run.id);
    // The run is part of the state: every failed run (a fix's own run
    // failing again, say) updates the issue once, a repeat of this
    // recover run does not.
    let state = format!(
        "{}@{}.{}",
        cause_names(findings, "+"),
        case.run.id,
        case.run.attempt()
    );
    let mut tracker = Tracker::load(case.github, &case.settings.issue_label)?;
    Ok(tracker.open_or_update(&case.key, &state, &title, &report.issue_body(), &note)?)
}

fn runner_log(runner: &Runner, finding: &Finding, action: &Action) {
    let line = format!("{}: {}", finding.cause.describe(), action.text);
    if action.fixed() {
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
