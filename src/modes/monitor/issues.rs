//! One issue per failing service: opened when it fails, commented when its
//! state changes, closed when it is healthy again.

use std::time::Duration;

use jiff::Timestamp;

use crate::clients::github::{GitHub, GitHubError, Issue};
use crate::ops::issues::{Changes, Tracker};
use crate::ops::service_state::State;
use crate::ops::status_page::Row;
use crate::output::escape::{escape_inline, one_line};
use crate::output::human_duration;
use crate::settings::MonitorSettings;

/// Brings the issues in line with `rows`; returns what changed.
pub(super) fn update_issues(
    github: &GitHub,
    settings: &MonitorSettings,
    rows: &[Row],
    now: Timestamp,
) -> anyhow::Result<Changes> {
    let mut tracker = Tracker::load(github, &settings.issue_label)?;
    for row in rows {
        let key = format!("monitor:{}", row.id);
        if row.state.is_failing() {
            report_failing(&mut tracker, &key, row, now)?;
        } else if row.state == State::Healthy {
            tracker.resolve(&key, &|issue| resolved_note(issue, row, now))?;
        }
    }
    Ok(tracker.changes)
}

/// Opens the service's issue, or comments on it when its state changed.
fn report_failing(
    tracker: &mut Tracker,
    key: &str,
    row: &Row,
    now: Timestamp,
) -> Result<(), GitHubError> {
    let title = format!(
        "render-pilot: {} {}",
        one_line(&row.name, 100),
        row.state.phrase()
    );
    let body = crate::markdown::monitor_issue_body(row, &now.to_string());
    let note = format!(
        "{} **{}** is now **{}**: {}.",
        row.state.emoji(),
        escape_inline(&row.name),
        row.state.as_str(),
        escape_inline(&row.reason)
    );
    tracker.open_or_update(key, row.state.as_str(), &title, &body, &note)?;
    Ok(())
}

/// The comment that closes a healthy service's issue: how long it failed.
fn resolved_note(issue: &Issue, row: &Row, now: Timestamp) -> String {
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
}
