//! The service table and the lines around it, shared by the page and the
//! step summary.

use std::time::Duration;

use jiff::Timestamp;

use super::{format_time, format_uptime, uptime, Entry, Row};
use crate::clients::http::{web_url, HealthCheck};
use crate::ops::service_state::State;
use crate::output::escape::escape_inline;
use crate::output::human_duration;

fn response(health: Option<&HealthCheck>) -> String {
    let Some(h) = health else { return "—".into() };
    if !h.ok() {
        return h.code.map_or("no answer".into(), |c| format!("HTTP {c}"));
    }
    // Buckets, not milliseconds: the page must not change on every run.
    let bucket = match h.latency_ms {
        0..300 => "< 300 ms",
        300..1000 => "< 1 s",
        1000..3000 => "< 3 s",
        _ => "≥ 3 s",
    };
    format!("{} · {bucket}", h.code.unwrap_or(0))
}

/// What the page leaves out so it stays byte-identical: how long ago the
/// last deploy finished and the exact response time. For the step summary.
pub(crate) fn live_detail(row: &Row, now: Timestamp) -> String {
    let age = row
        .deployed_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| {
            let secs = (now.as_second() - t.as_second()).max(0) as u64;
            format!(
                "last deploy {} ago",
                human_duration(Duration::from_secs(secs))
            )
        });
    let latency = row
        .health
        .as_ref()
        .filter(|h| h.code.is_some())
        .map(|h| match h.attempts {
            0 | 1 => format!("answered in {} ms", h.latency_ms),
            n => format!("answered in {} ms on try {n}", h.latency_ms),
        });
    match (age, latency) {
        (None, None) => String::new(),
        (a, l) => format!(
            "- {}: {}\n",
            escape_inline(&row.name),
            [a, l].into_iter().flatten().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The headline: how many services fail, by name.
pub(crate) fn status_line(rows: &[Row]) -> String {
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| r.state.is_failing() || r.state == State::Unknown)
        .map(|r| format!("{} ({})", escape_inline(&r.name), r.state.as_str()))
        .collect();
    let deploying = rows.iter().filter(|r| r.state == State::Deploying).count();
    if !failing.is_empty() {
        format!(
            "🔴 **{} of {} services need attention**: {}",
            failing.len(),
            rows.len(),
            failing.join(", ")
        )
    } else if deploying > 0 {
        format!(
            "🔵 **All {} services serving**; {deploying} deploying",
            rows.len()
        )
    } else {
        format!("🟢 **All {} services operational**", rows.len())
    }
}

/// The service table, shared by the page and the step summary: six
/// columns, so it fits a screen; the rest is in [`details`].
pub(crate) fn table(rows: &[Row], history: &[Entry], now: Timestamp) -> String {
    let mut out = String::from(
        "| State | Service | Deploy | Deployed | Response | Uptime |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in rows {
        // The status, linked to the deploy: the id is in the details.
        let deploy = match (&r.deploy_id, &r.deploy_status) {
            (Some(d), status) => deploy_link(r, d, status.as_deref().unwrap_or("unknown")),
            (None, _) => "—".into(),
        };
        out.push_str(&format!(
            "| {} {} | {} | {deploy} | {} | {} | {} |\n",
            r.state.emoji(),
            r.state.as_str(),
            name_link(r),
            r.deployed_at.as_deref().map_or("—".into(), format_time),
            response(r.health.as_ref()),
            format_uptime(uptime(history, &r.id, now)),
        ));
    }
    out
}

/// Per service, what the table leaves out: why it is in its state, what
/// the deploy was built from, where it answers.
pub(crate) fn details(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let mut parts = vec![escape_inline(&r.reason)];
        if r.state == State::Failed && r.serving {
            parts.push("the previous deploy still serves".into());
        }
        if let Some(source) = &r.source {
            parts.push(format!("built from {}", escape_inline(source)));
        }
        if let Some(url) = r.url.as_deref().and_then(web_url) {
            parts.push(format!("<{url}>"));
        }
        out.push_str(&format!(
            "- {} **{}** ({}): {}\n",
            r.state.emoji(),
            escape_inline(&r.name),
            escape_inline(&r.id),
            parts.join(" · ")
        ));
    }
    out
}

/// The service's name, linked to its dashboard when that is a web address.
fn name_link(r: &Row) -> String {
    match web_url(&r.dashboard) {
        Some(target) => format!("[{}]({target})", escape_inline(&r.name)),
        None => escape_inline(&r.name),
    }
}

fn deploy_link(r: &Row, deploy: &str, text: &str) -> String {
    let target = web_url(&format!(
        "{}/deploys/{deploy}",
        r.dashboard.trim_end_matches('/')
    ));
    match target {
        Some(target) => format!("[{}]({target})", escape_inline(text)),
        None => escape_inline(text),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::rows;
    use super::*;

    #[test]
    fn the_summary_gets_ages_and_exact_latency() {
        let now: Timestamp = "2026-11-29T01:12:30Z".parse().unwrap();
        assert_eq!(
            live_detail(&rows()[0], now),
            "- shop-web: last deploy 1h 00m ago, answered in 87 ms\n"
        );
        assert_eq!(live_detail(&rows()[1], now), "");
    }
}
