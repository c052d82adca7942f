//! Monitor mode: check every service, rewrite the status page, commit and
//! push it safely, and keep one issue per failing service.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::Url;

use crate::clients::git::{GitError, Published, Target, Workspace};
use crate::clients::github::GitHub;
use crate::clients::http::{HealthCheck, Http};
use crate::clients::render::{RenderClient, RenderError, Service};
use crate::inputs::{human_duration, shorten, InputError};
use crate::ops::issues::Tracker;
use crate::ops::service_state::{classify, State};
use crate::ops::status_page::{self, Entry, Row};
use crate::output::escape::{escape_inline, one_line};
use crate::output::runner::Runner;
use crate::settings::{CommitMode, HealthPolicy, MonitorSettings, Services};
use crate::Status;

/// Deploys read per service: enough to see past a canceled one.
const DEPLOYS_PER_SERVICE: usize = 5;
const PUSH_ATTEMPTS: u32 = 5;
/// Status commits land on the branch Render auto-deploys: `[skip render]`
/// keeps Render from rebuilding every service (and looping, when a deploy
/// changes the page); `[skip ci]` does the same for GitHub Actions.
const SKIP_DEPLOYS: &str = "[skip render] [skip ci]";
/// The largest status file read: far above any page render-pilot writes,
/// far below a memory problem. A bigger one is left alone.
const MAX_STATUS_FILE: u64 = 8 * 1024 * 1024;

fn symlink_refused(path: &str, link: &str, place: &str) -> InputError {
    InputError::new(
        "status-file",
        format!(
            "'{}': {} is a symbolic link {place}; render-pilot never writes through a link. Replace it with a plain file or directory, or choose another status-file",
            shorten(path),
            shorten(link)
        ),
    )
}

/// Refuses a status path that passes through a symbolic link in the
/// checkout: the write would land wherever the link points.
fn refuse_linked_path(root: &Path, path: &str) -> Result<(), InputError> {
    let mut here = root.to_path_buf();
    for part in Path::new(path).components() {
        here.push(part);
        match std::fs::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = here.strip_prefix(root).unwrap_or(&here);
                return Err(symlink_refused(
                    path,
                    &link.to_string_lossy(),
                    "in the workspace",
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Refuses a status path that passes through a symbolic link committed on
/// the branch: checking our commit out would follow it.
fn refuse_linked_entry(ws: &Workspace, commit: git2::Oid, path: &str) -> Result<(), GitError> {
    let Ok(tree) = ws.repo().find_commit(commit).and_then(|c| c.tree()) else {
        return Ok(());
    };
    let mut prefix = std::path::PathBuf::new();
    for part in Path::new(path).components() {
        prefix.push(part);
        match tree.get_path(&prefix) {
            Ok(entry) if entry.filemode() == i32::from(git2::FileMode::Link) => {
                return Err(GitError::Refused(
                    symlink_refused(path, &prefix.to_string_lossy(), "on the branch").message,
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

pub fn run(config: &MonitorSettings, runner: &mut Runner) -> anyhow::Result<Status> {
    let http = Http::new(&config.tuning)?.notify_waits(runner.info_printer());
    let health_http = Http::with_timeout(config.health.budget, &config.tuning)?;
    let render = RenderClient::new(&http, config.api.url.clone(), &config.api.key);
    let github = match (&config.token, &config.github) {
        (Some(token), Some(api)) => Some(GitHub::new(&http, api, token)),
        _ => None,
    };
    // The checkout and branch are checked before anything happens, so a
    // bad workspace is bad input (exit 2) and nothing has changed.
    let git_target = match (&config.status_file, config.commit_mode, config.dry_run) {
        (Some(_), mode, false) if mode != CommitMode::Never => {
            let ws = Workspace::open(&config.workspace)?;
            let branch = ws.branch(config.branch.clone())?;
            Some((ws, branch))
        }
        _ => None,
    };
    if let (Some(path), false) = (&config.status_file, config.dry_run) {
        refuse_linked_path(&config.workspace, path)?;
    }
    let started = Instant::now();
    let now = Timestamp::now().round(jiff::Unit::Second)?;
    let rows = check_all(config, &render, &health_http)?;
    runner.info(&format!(
        "Checked {} services in {}.",
        rows.len(),
        human_duration(started.elapsed())
    ));

    let entry = status_page::entry(&rows, now);
    let mut problems = Vec::new();
    let page = match &config.status_file {
        Some(path) if !config.dry_run => {
            match write_page(config, git_target.as_ref(), path, &rows, &entry, runner) {
                Ok(page) => Some(page),
                Err(e) if e.is::<InputError>() => return Err(e),
                Err(e) => {
                    problems.push(format!("{e:#}"));
                    None
                }
            }
        }
        _ => None,
    };

    let mut tracker = None;
    if let (Some(github), false) = (&github, config.dry_run) {
        match update_issues(github, config, &rows, now) {
            Ok(t) => tracker = Some(t),
            Err(e) => problems.push(format!("issues: {e:#}")),
        }
    }

    let failing: Vec<&Row> = rows
        .iter()
        .filter(|r| r.state.is_failing() || r.state == State::Unknown)
        .collect();
    let healthy = failing.is_empty();
    runner.set_output("healthy", healthy.to_string());
    runner.set_output(
        "failing-services",
        failing
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    let (changed, commit) = match &page {
        Some(p) => (p.changed, p.commit.clone().unwrap_or_default()),
        None => (false, String::new()),
    };
    runner.set_output("status-changed", changed.to_string());
    runner.set_output("commit-sha", &commit);
    let numbers = |list: &[u64]| {
        list.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (opened, closed) = match &tracker {
        Some(t) => (
            t.changes
                .opened
                .iter()
                .map(|(n, _)| n.to_string())
                .collect::<Vec<_>>()
                .join(","),
            numbers(&t.changes.closed),
        ),
        None => (String::new(), String::new()),
    };
    runner.set_output("issues-opened", &opened);
    runner.set_output("issues-closed", &closed);

    let mut summary = format!(
        "### Render services\n\n{}\n\n{}\nChecked at {} in {}.\n",
        status_page::status_line(&rows),
        status_page::table(&rows, page.as_ref().map_or(&[][..], |p| &p.history), now),
        now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        human_duration(started.elapsed())
    );
    summary.push('\n');
    summary.push_str(&crate::report::fleet_charts(&rows));
    for row in &rows {
        summary.push_str(&status_page::live_detail(row, now));
        if row.state != State::Healthy {
            summary.push_str(&format!(
                "- {} **{}**: {}\n",
                row.state.emoji(),
                escape_inline(&row.name),
                escape_inline(&row.reason)
            ));
        }
    }
    match (&page, &config.status_file) {
        (_, None) => {}
        (None, Some(_)) if config.dry_run => {
            summary.push_str("\nDry run: nothing written, committed or pushed.\n")
        }
        (None, Some(path)) => {
            summary.push_str(&format!("\n`{path}` was not updated (see the error).\n"))
        }
        (Some(p), Some(path)) => summary.push_str(&format!("\n`{path}`: {}\n", p.outcome)),
    }
    if let Some(t) = &tracker {
        for (n, url) in &t.changes.opened {
            summary.push_str(&format!("- Opened issue [#{n}]({url})\n"));
        }
        for n in &t.changes.commented {
            summary.push_str(&format!("- Commented on issue #{n} (state changed)\n"));
        }
        for n in &t.changes.closed {
            summary.push_str(&format!("- Closed issue #{n} (resolved)\n"));
        }
    }
    runner.append_summary(&summary);
    for row in rows.iter().filter(|r| r.state.is_failing()) {
        runner.warning(&format!(
            "{} ({}) is {}: {}",
            row.name,
            row.id,
            row.state.as_str(),
            row.reason
        ));
    }
    if !problems.is_empty() {
        anyhow::bail!(problems.join("; "));
    }
    Ok(if config.fail_on_unhealthy && !healthy {
        Status::Failed
    } else {
        Status::Done
    })
}

/// Reads every service with bounded concurrency: at most two API calls per
/// service (its record, unless listed already, and its newest deploys).
fn check_all(
    config: &MonitorSettings,
    render: &RenderClient,
    health: &Http,
) -> anyhow::Result<Vec<Row>> {
    let work: Vec<(String, Option<Service>)> = match &config.services {
        Services::All => render
            .list_services()
            .map_err(|e| anyhow::anyhow!("listing services: {e}"))?
            .into_iter()
            .map(|s| (s.id.clone(), Some(s)))
            .collect(),
        Services::Ids(ids) => ids.iter().map(|id| (id.clone(), None)).collect(),
    };
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::with_capacity(work.len()));
    std::thread::scope(|scope| {
        for _ in 0..config.concurrency.min(work.len()).max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, listed)) = work.get(i) else {
                    break;
                };
                let row = check(config, render, health, id, listed.clone());
                rows.lock().unwrap_or_else(|e| e.into_inner()).push(row);
            });
        }
    });
    let mut rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}

fn check(
    config: &MonitorSettings,
    render: &RenderClient,
    health: &Http,
    id: &str,
    listed: Option<Service>,
) -> Row {
    let unknown = |e: RenderError| Row {
        id: id.to_string(),
        name: id.to_string(),
        state: State::Unknown,
        reason: e.to_string(),
        serving: false,
        dashboard: crate::clients::render::dashboard_url(id),
        url: None,
        deploy_id: None,
        deploy_status: None,
        source: None,
        deployed_at: None,
        health: None,
    };
    let service = match listed.map_or_else(|| render.get_service(id), Ok) {
        Ok(s) => s,
        Err(e) => return unknown(e),
    };
    let deploys = match render.list_deploys(id, DEPLOYS_PER_SERVICE, None, None) {
        Ok(d) => d,
        Err(e) => return unknown(e),
    };
    let check = match (&config.health_path, service.url()) {
        (Some(path), Some(base)) if !service.is_suspended() => {
            Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
                .ok()
                .map(|u| check_health(health, &u, &config.health))
        }
        _ => None,
    };
    let (state, reason) = classify(&service, &deploys, check.as_ref());
    let latest = deploys.first();
    Row {
        id: service.id.clone(),
        name: service.display_name().to_string(),
        state,
        reason,
        serving: serving(&deploys, check.as_ref()),
        dashboard: service.dashboard(),
        url: service.url(),
        deploy_id: latest.map(|d| d.id.clone()),
        deploy_status: latest.map(|d| d.status_or_unknown().to_string()),
        source: latest.and_then(|d| d.source()),
        deployed_at: latest.and_then(|d| d.finished_at.clone().or(d.created_at.clone())),
        health: check,
    }
}

/// Checks a service's health, trying again with backoff while it fails and
/// the policy allows; each request may use what is left of the budget, so a
/// late answer after a spin-up counts.
fn check_health(http: &Http, url: &Url, policy: &HealthPolicy) -> HealthCheck {
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let left = policy.budget.saturating_sub(started.elapsed());
        let mut check = http.health_check_within(url, Some(left.max(Duration::from_secs(1))));
        check.attempts = attempt;
        match policy.wait_after(attempt, started.elapsed()) {
            Some(wait) if !check.ok() => std::thread::sleep(wait),
            _ => return check,
        }
        attempt += 1;
    }
}

/// Whether users are served: the health check answered, or without one,
/// Render still lists a deploy as live (it keeps the previous deploy serving
/// when a newer one fails).
fn serving(deploys: &[crate::clients::render::Deploy], check: Option<&HealthCheck>) -> bool {
    match check {
        Some(check) => check.ok(),
        None => deploys
            .iter()
            .any(|d| d.status == Some(crate::clients::render::DeployStatus::Live)),
    }
}

struct PageResult {
    changed: bool,
    commit: Option<String>,
    outcome: String,
    /// The history after this run, for the summary's uptime.
    history: Vec<Entry>,
}

fn write_page(
    config: &MonitorSettings,
    git_target: Option<&(Workspace, String)>,
    path: &str,
    rows: &[Row],
    entry: &Entry,
    runner: &Runner,
) -> anyhow::Result<PageResult> {
    let always = config.commit_mode == CommitMode::Always;
    let update = |old: &str| status_page::update(old, rows, entry.clone(), config.history, always);
    let tell = |update: &status_page::Update| {
        for warning in &update.warnings {
            runner.warning(&format!("{path}: {warning}"));
        }
        if let (Some(notice), Some(_)) = (update.notice, &update.page) {
            runner.notice(&format!("{path} {notice}."));
        }
    };
    let Some((ws, branch)) = git_target else {
        let file = config.workspace.join(path);
        let old = read_capped(&file, path)?;
        let update = update(&old)?;
        tell(&update);
        if let Some(page) = &update.page {
            write_atomically(&file, page)?;
        }
        return Ok(PageResult {
            changed: update.page.is_some(),
            commit: None,
            outcome: if update.page.is_some() {
                "written (not committed: commit-mode never)".into()
            } else {
                "no state changed, not rewritten".into()
            },
            history: update.history,
        });
    };
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| r.state.is_failing())
        .map(|r| format!("{} {}", one_line(&r.name, 60), r.state.as_str()))
        .collect();
    let message = format!(
        "docs: update pipeline status ({}) {SKIP_DEPLOYS}",
        if failing.is_empty() {
            "all healthy".to_string()
        } else {
            failing.join(", ")
        }
    );
    let target = Target {
        branch,
        token: config.token.as_deref(),
        push: config.push,
        author: &config.author,
        max_attempts: PUSH_ATTEMPTS,
    };
    let mut last = None;
    let published = ws.publish(&target, &message, &mut |ws: &Workspace, base| {
        refuse_linked_entry(ws, base, path)?;
        if let Some(size) = blob_size(ws, base, path).filter(|s| *s > MAX_STATUS_FILE) {
            return Err(GitError::Git(too_big(path, size)));
        }
        let old = ws
            .read_at(base, path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let update = update(&old).map_err(|e| GitError::Git(e.to_string()))?;
        let files = update
            .page
            .clone()
            .map(|page| vec![(path.to_string(), page.into_bytes())]);
        last = Some(update);
        Ok(files)
    });
    let published = match published {
        Err(GitError::Refused(message)) => {
            return Err(InputError::new("status-file", message).into())
        }
        other => other?,
    };
    let (changed, history) = match last {
        Some(update) => {
            tell(&update);
            (update.page.is_some(), update.history)
        }
        None => (false, Vec::new()),
    };
    Ok(match published {
        Published::Unchanged => PageResult {
            changed: false,
            commit: None,
            outcome: "no state changed, nothing committed".into(),
            history,
        },
        Published::Committed(oid) => PageResult {
            changed,
            commit: Some(oid.to_string()),
            outcome: format!("committed `{}` (not pushed: push is false)", short(oid)),
            history,
        },
        Published::Pushed { commit, attempts } => {
            runner.info(&format!(
                "Pushed {} to {branch}{}.",
                short(commit),
                if attempts > 1 {
                    format!(" after {attempts} attempts (others pushed first)")
                } else {
                    String::new()
                }
            ));
            PageResult {
                changed,
                commit: Some(commit.to_string()),
                outcome: format!("committed and pushed `{}` to `{branch}`", short(commit)),
                history,
            }
        }
    })
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..7].to_string()
}

fn too_big(path: &str, size: u64) -> String {
    format!(
        "{path} is {} MiB, more than the {} MiB render-pilot reads, so it was left as it is; trim it (deleting render-pilot's block is fine: a new one starts) or choose another status-file",
        size / (1024 * 1024),
        MAX_STATUS_FILE / (1024 * 1024)
    )
}

/// The status file in the checkout, read only up to the cap; "" when there
/// is none.
fn read_capped(file: &Path, path: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let handle = match std::fs::File::open(file) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(anyhow::anyhow!("reading {path}: {e}")),
    };
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_STATUS_FILE {
        anyhow::bail!(too_big(path, size));
    }
    let mut bytes = Vec::new();
    handle
        .take(MAX_STATUS_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    if bytes.len() as u64 > MAX_STATUS_FILE {
        anyhow::bail!(too_big(path, bytes.len() as u64));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The size of the file at `path` in `commit`, read from the object's
/// header without loading it.
fn blob_size(ws: &Workspace, commit: git2::Oid, path: &str) -> Option<u64> {
    let repo = ws.repo();
    let entry = repo
        .find_commit(commit)
        .ok()?
        .tree()
        .ok()?
        .get_path(Path::new(path))
        .ok()?;
    let (size, _) = repo.odb().ok()?.read_header(entry.id()).ok()?;
    Some(size as u64)
}

/// Writes through a temporary file and a rename, so a crash never leaves
/// half a file. The temporary file gets a fresh name and is created
/// exclusively, so nothing planted in the directory can redirect the write.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".render-pilot-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", temp.path().display()))?;
    temp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn update_issues<'a>(
    github: &'a GitHub<'a>,
    config: &MonitorSettings,
    rows: &[Row],
    now: Timestamp,
) -> anyhow::Result<Tracker<'a>> {
    let mut tracker = Tracker::load(github, &config.issue_label)?;
    let mut seen = BTreeSet::new();
    for row in rows {
        let key = format!("monitor:{}", row.id);
        seen.insert(key.clone());
        if row.state.is_failing() {
            let title = format!(
                "render-pilot: {} is {}",
                one_line(&row.name, 100),
                row.state.as_str()
            );
            let body = crate::report::monitor_issue_body(row, &now.to_string());
            let note = format!(
                "{} **{}** is now **{}**: {}.",
                row.state.emoji(),
                escape_inline(&row.name),
                row.state.as_str(),
                escape_inline(&row.reason)
            );
            tracker.report(&key, row.state.as_str(), &title, &body, &note)?;
        } else if row.state == State::Healthy {
            tracker.resolve(&key, &|issue| {
                let since = issue
                    .created_at
                    .as_deref()
                    .and_then(|t| t.parse::<Timestamp>().ok());
                let after = since.map_or("an unknown time".into(), |t| {
                    human_duration(Duration::from_secs(
                        (now.as_second() - t.as_second()).max(0) as u64,
                    ))
                });
                format!(
                    "✅ Resolved after {after}: **{}** is healthy again ({}).",
                    escape_inline(&row.name),
                    escape_inline(&row.reason)
                )
            })?;
        }
    }
    Ok(tracker)
}
