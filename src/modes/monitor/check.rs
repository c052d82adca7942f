//! Checking the services: each one's record, newest deploys and health.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;

use crate::clients::http::{health_url, HealthCheck, Http};
use crate::clients::render::{
    dashboard_url, Deploy, DeployStatus, RenderClient, RenderError, Service,
};
use crate::ops::service_state::{classify, State};
use crate::ops::status_page::Row;
use crate::settings::{HealthPolicy, MonitorSettings, Services};

/// Deploys read per service: enough to see past a canceled one.
const DEPLOYS_PER_SERVICE: usize = 5;

/// Reads every service with bounded concurrency: at most two API calls per
/// service (its record, unless listed already, and its newest deploys).
pub(super) fn check_all(
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
    let service = match listed.map_or_else(|| render.get_service(id), Ok) {
        Ok(s) => s,
        Err(e) => return unknown(id, e),
    };
    let deploys = match render.list_deploys(id, DEPLOYS_PER_SERVICE, None, None) {
        Ok(d) => d,
        Err(e) => return unknown(id, e),
    };
    let check = match (&config.health_path, service.url()) {
        (Some(path), Some(base)) if !service.is_suspended() => health_url(&base, path)
            .ok()
            .map(|u| check_health(health, &u, &config.health)),
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
