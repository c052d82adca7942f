//! The step summary: the live table, charts and details, then what the run
//! did to the status page and the issues.

use std::time::Duration;

use crate::ops::issues::Changes;
use crate::ops::service_state::State;
use crate::ops::status_page;
use crate::output::escape::escape_inline;
use crate::output::human_duration;
use crate::settings::MonitorSettings;

use super::page::PageResult;
use super::MonitorReport;

pub(super) fn summary(
    settings: &MonitorSettings,
    report: &MonitorReport,
    took: Duration,
) -> String {
    let mut summary = services(report, took);
    summary.push_str(&page_outcome(settings, report.page.as_ref()));
    if let Some(changes) = &report.issues {
        summary.push_str(&issue_changes(changes));
    }
    summary
}

/// The services as they are now: headline, table, charts and live details.
fn services(report: &MonitorReport, took: Duration) -> String {
    let (rows, now) = (&report.rows, report.now);
    let history = report.page.as_ref().map_or(&[][..], |p| &p.history);
    let mut summary = format!(
        "### Render services\n\n{}\n\n{}\nChecked at {} in {}.\n",
        status_page::status_line(rows),
        status_page::table(rows, history, now),
        now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        human_duration(took)
    );
    summary.push('\n');
    summary.push_str(&crate::markdown::fleet_charts(rows));
    for row in rows {
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
    summary
}

/// What happened to the status file, when there is one.
fn page_outcome(settings: &MonitorSettings, page: Option<&PageResult>) -> String {
    match (page, &settings.status_file) {
        (_, None) => String::new(),
        (None, Some(_)) if settings.dry_run => {
            "\nDry run: nothing written, committed or pushed.\n".into()
        }
        (None, Some(path)) => format!("\n`{path}` was not updated (see the error).\n"),
        (Some(p), Some(path)) => format!("\n`{path}`: {}\n", p.outcome),
    }
}

fn issue_changes(changes: &Changes) -> String {
    let mut lines = String::new();
    for (n, url) in &changes.opened {
        lines.push_str(&format!("- Opened issue [#{n}]({url})\n"));
    }
    for n in &changes.commented {
        lines.push_str(&format!("- Commented on issue #{n} (state changed)\n"));
    }
    for n in &changes.closed {
        lines.push_str(&format!("- Closed issue #{n} (resolved)\n"));
    }
    lines
}
