//! Checking the services: each one's record, newest deploys and health.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;

use crate::clients::http::{health_url, HealthCheck, Http};
use crate::clients::render::{
    api_hint, dashboard_url, Deploy, DeployStatus, RenderClient, RenderError, Service,
};
use crate::ops::buildlog::{deploy_window, explain_window};
use crate::ops::diagnose::Explanation;
use crate::ops::service_state::{classify, State};
use crate::ops::status_page::Row;
use crate::settings::{HealthPolicy, MonitorSettings, Services};

/// Deploys read per service: enough to see past a canceled one.
const DEPLOYS_PER_SERVICE: usize = 5;

/// Reads every service with bounded concurrency: at most two API calls per
/// service (its record, unless listed already, and its newest deploys).
pub(super) fn check_all(
    settings: &MonitorSettings,
    render: &RenderClient,
    health: &Http,
) -> anyhow::Result<Vec<Row>> {
    let work: Vec<(String, Option<Service>)> = match &settings.services {
        Services::All => render
            .list_services(settings.previews)
            .map_err(|e| anyhow::anyhow!("listing services: {e}"))?
            .into_iter()
            .map(|s| (s.id.clone(), Some(s)))
            .collect(),
        Services::Ids(ids) => ids.iter().map(|id| (id.clone(), None)).collect(),
    };
    if work.is_empty() {
        anyhow::bail!("render-api-key sees no service: Render listed none for services: all. A key of another workspace sees none of yours; use a key of a member of the services' workspace, or list the ids in services. Nothing was committed");
    }
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::with_capacity(work.len()));
    std::thread::scope(|scope| {
        for _ in 0..settings.concurrency.min(work.len()).max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, listed)) = work.get(i) else {
                    break;
                };
                let checked = check(settings, render, health, id, listed.clone())
                    .map_err(|e| refusal(id, &e));
                rows.lock().unwrap_or_else(|e| e.into_inner()).push(checked);
            });
        }
    });
    let (rows, refused): (Vec<_>, Vec<_>) = rows
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .partition(Result::is_ok);
    let mut refused: Vec<String> = refused.into_iter().filter_map(Result::err).collect();
    if !refused.is_empty() {
        refused.sort();
        anyhow::bail!("{}. Nothing was committed", refused.join("; "));
    }
    let mut rows: Vec<Row> = rows.into_iter().filter_map(Result::ok).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// What Render's refusal says about the inputs: a refused key or an
/// unknown id is a mistake to fix, never a service state to publish.
fn refusal(id: &str, error: &RenderError) -> String {
    match error.status() {
        Some(404) => format!("services: Render knows no service {id} (HTTP 404); check the id (Dashboard → service → Settings) and that render-api-key belongs to the service's workspace"),
        Some(status) => format!("render-api-key: Render refused it for {id} (HTTP {status}): {}", api_hint(status)),
        None => error.to_string(),
    }
}

/// One service's row; `Err` only when Render refuses the key or does not
/// know the id. Any other failure to read is the row's unknown state.
fn check(
    settings: &MonitorSettings,
    render: &RenderClient,
    health: &Http,
    id: &str,
    listed: Option<Service>,
) -> Result<Row, RenderError> {
    let refused = |e: &RenderError| matches!(e.status(), Some(401 | 403 | 404));
    let service = match listed.map_or_else(|| render.get_service(id), Ok) {
        Ok(s) => s,
        Err(e) if refused(&e) => return Err(e),
        Err(e) => return Ok(unknown(id, e)),
    };
    let deploys = match render.list_deploys(id, DEPLOYS_PER_SERVICE, None, None) {
        Ok(d) => d,
        Err(e) if refused(&e) => return Err(e),
        Err(e) => return Ok(unknown(id, e)),
    };
    let check = match (&settings.health_path, service.url()) {
        (Some(path), Some(base)) if !service.is_suspended() => health_url(&base, path)
            .ok()
            .map(|u| check_health(health, &u, &settings.health)),
        _ => None,
    };
    let (state, reason) = classify(&service, &deploys, check.as_ref());
    let latest = deploys.first();
    Ok(Row {
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
        preview: service.parent_id().is_some(),
        why: (state == State::Failed && settings.issues && !settings.dry_run)
            .then(|| why_failed(render, &service, &deploys))
            .flatten(),
    })
}

/// Why the newest deploy that was not canceled failed, as its build log
/// says, for the service's issue: one read of a few pages; a log Render
/// does not give leaves the issue without it.
fn why_failed(render: &RenderClient, service: &Service, deploys: &[Deploy]) -> Option<Explanation> {
    let failed = deploys
        .iter()
        .find(|d| d.status != Some(DeployStatus::Canceled))
        .filter(|d| d.status_or_unknown().is_failure())?;
    let window = deploy_window(service.owner_id.as_deref()?, &service.id, failed, None)?;
    explain_window(render, &window).ok()
}

/// The row of a service the API could not tell about.
fn unknown(id: &str, e: RenderError) -> Row {
    Row {
        id: id.to_string(),
        name: id.to_string(),
        state: State::Unknown,
        reason: e.to_string(),
        serving: false,
        dashboard: dashboard_url(id),
        url: None,
        deploy_id: None,
        deploy_status: None,
        source: None,
        deployed_at: None,
        health: None,
        preview: false,
        why: None,
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
fn serving(deploys: &[Deploy], check: Option<&HealthCheck>) -> bool {
    match check {
        Some(check) => check.ok(),
        None => deploys.iter().any(|d| d.status == Some(DeployStatus::Live)),
    }
}
