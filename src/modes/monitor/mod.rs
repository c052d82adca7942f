//! Monitor mode: check every service, rewrite the status page, commit and
//! push it safely, and keep one issue per failing service.

mod check;
mod issues;
mod page;
mod summary;

use std::time::Instant;

use jiff::Timestamp;

use crate::clients::git::Workspace;
use crate::clients::github::GitHub;
use crate::clients::http::Http;
use crate::clients::render::RenderClient;
use crate::inputs::InputError;
use crate::ops::issues::Changes;
use crate::ops::service_state::State;
use crate::ops::status_page::{self, Row};
use crate::output::human_duration;
use crate::output::runner::Runner;
use crate::settings::{CommitMode, MonitorSettings};
use crate::verdict::Verdict;

use check::check_all;
use issues::update_issues;
use page::{refuse_linked_path, write_page, PageResult};

/// What one run found and did: the outputs and the summary are read from
/// it, never from each other.
struct MonitorReport {
    rows: Vec<Row>,
    now: Timestamp,
    /// `None` when no page was written (none asked, a dry run, an error).
    page: Option<PageResult>,
    /// `None` when issues were not kept (no token, a dry run, an error).
    issues: Option<Changes>,
}

pub(crate) fn run(settings: &MonitorSettings, runner: &mut Runner) -> anyhow::Result<Verdict> {
    let http = Http::new(&settings.tuning)?.notify_waits(runner.printer());
    let health_http = Http::with_timeout(settings.health.budget, &settings.tuning)?;
    let render = RenderClient::new(&http, settings.api.url.clone(), &settings.api.key);
    let github = github_client(settings, &http);
    let git_target = status_target(settings)?;
    let started = Instant::now();
    let now = Timestamp::now().round(jiff::Unit::Second)?;
    let rows = check_all(settings, &render, &health_http)?;
    runner.info(&format!(
        "Checked {} services in {}.",
        rows.len(),
        human_duration(started.elapsed())
    ));
    let mut problems = Vec::new();
    let (page, refusal) = match write_status_page(
        settings,
        git_target.as_ref(),
        &rows,
        now,
        runner,
        &mut problems,
    ) {
        Ok(page) => (page, None),
        Err(refusal) => (None, Some(refusal)),
    };
    let issues = keep_issues(github.as_ref(), settings, &rows, now, &mut problems);
    let report = MonitorReport {
        rows,
        now,
        page,
        issues,
    };
    runner.set_outputs(outputs(&report));
    runner.append_summary(&summary::summary(settings, &report, started.elapsed()));
    warn_failing(runner, &report.rows);
    // A status path refused on the branch is bad input (exit 2), found only
    // once the tip is fetched: the services' outputs, summary and issues
    // are kept all the same.
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    if !problems.is_empty() {
        anyhow::bail!(problems.join("; "));
    }
    Ok(status(settings, &report.rows))
}

fn github_client<'a>(settings: &MonitorSettings, http: &'a Http) -> Option<GitHub<'a>> {
    match (&settings.token, &settings.github) {
        (Some(token), Some(api)) => Some(GitHub::new(http, api, token)),
        _ => None,
    }
}

/// The checkout and branch the page is committed on, when it is. They are
/// checked before anything happens, so a bad workspace or status path is
/// bad input (exit 2) and nothing has changed.
fn status_target(settings: &MonitorSettings) -> anyhow::Result<Option<(Workspace, String)>> {
    let git_target = match (
        &settings.status_file,
        settings.commit_mode,
        settings.dry_run,
    ) {
        (Some(_), mode, false) if mode != CommitMode::Never => {
            let ws = Workspace::open(&settings.workspace)?;
            let branch = ws.branch(settings.branch.clone())?;
            Some((ws, branch))
        }
        _ => None,
    };
    if let (Some(path), false) = (&settings.status_file, settings.dry_run) {
        refuse_linked_path(&settings.workspace, path)?;
    }
    Ok(git_target)
}

/// Writes the status page, unless there is none or this is a dry run. A
/// refused status path is returned as the error (exit 2); any other
/// failure goes to `problems`, reported after the summary.
fn write_status_page(
    settings: &MonitorSettings,
    git_target: Option<&(Workspace, String)>,
    rows: &[Row],
    now: Timestamp,
    runner: &Runner,
    problems: &mut Vec<String>,
) -> anyhow::Result<Option<PageResult>> {
    let Some(path) = settings
        .status_file
        .as_deref()
        .filter(|_| !settings.dry_run)
    else {
        return Ok(None);
    };
    let entry = status_page::entry(rows, now);
    match write_page(settings, git_target, path, rows, &entry, runner) {
        Ok(page) => Ok(Some(page)),
        Err(e) if e.is::<InputError>() => Err(e),
        Err(e) => {
            problems.push(format!("{e:#}"));
            Ok(None)
        }
    }
}

/// Keeps one issue per failing service, unless there is no token or this
/// is a dry run; a failure goes to `problems`.
fn keep_issues(
    github: Option<&GitHub>,
    settings: &MonitorSettings,
    rows: &[Row],
    now: Timestamp,
    problems: &mut Vec<String>,
) -> Option<Changes> {
    let github = github.filter(|_| !settings.dry_run)?;
    match update_issues(github, settings, rows, now) {
        Ok(changes) => Some(changes),
        Err(e) => {
            problems.push(format!("issues: {e:#}"));
            None
        }
    }
}

/// The services that need attention: failing, or not known.
fn failing(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.state.is_failing() || r.state == State::Unknown)
        .collect()
}

fn outputs(report: &MonitorReport) -> Vec<(&'static str, String)> {
    let failing = failing(&report.rows);
    let joined = |list: Vec<String>| list.join(",");
    let (changed, commit) = match &report.page {
        Some(p) => (p.changed, p.commit.clone().unwrap_or_default()),
        None => (false, String::new()),
    };
    let (opened, closed) = match &report.issues {
        Some(changes) => (
            joined(changes.opened.iter().map(|(n, _)| n.to_string()).collect()),
            joined(changes.closed.iter().map(|n| n.to_string()).collect()),
        ),
        None => (String::new(), String::new()),
    };
    vec![
        ("healthy", failing.is_empty().to_string()),
        (
            "failing-services",
            joined(failing.iter().map(|r| r.id.clone()).collect()),
        ),
        ("status-changed", changed.to_string()),
        ("commit-sha", commit),
        ("issues-opened", opened),
        ("issues-closed", closed),
    ]
}

fn warn_failing(runner: &Runner, rows: &[Row]) {
    for row in rows.iter().filter(|r| r.state.is_failing()) {
        runner.warning(&format!(
            "{} ({}) is {}: {}",
            row.name,
            row.id,
            row.state.as_str(),
            row.reason
        ));
    }
}

fn status(settings: &MonitorSettings, rows: &[Row]) -> Verdict {
    if settings.fail_on_unhealthy && !failing(rows).is_empty() {
        Verdict::Failed
    } else {
        Verdict::Done
    }
}
