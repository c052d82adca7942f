//! render-pilot's whole block: headline, table, timeline, details,
//! incidents and the history the next run reads back.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::history::history_text;
use super::{
    details, format_time, incidents, status_line, table, timeline, timestamp, Entry, Incident, Row,
    BLOCK_END, BLOCK_START, TITLE,
};
use crate::output::escape::escape_inline;
use crate::output::human_duration;

/// render-pilot's block, markers included, with figures as of `now`.
pub(crate) fn block(rows: &[Row], history: &[Entry], now: Timestamp) -> String {
    let (previews, rows): (Vec<Row>, Vec<Row>) = rows.iter().cloned().partition(|r| r.preview);
    let rows = rows.as_slice();
    let as_of = now.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = format!("{BLOCK_START}\n{TITLE}");
    out.push_str(&format!(
        "_Written by render-pilot monitor, which rewrites only the text between its start and end markers, when a state changes. Figures as of {as_of}._\n\n"
    ));
    out.push_str(&status_line(rows));
    out.push_str("\n\n");
    out.push_str(&table(rows, history, now));
    out.push_str(&uptime_note(history, now, &as_of));
    if let Some(chart) = timeline(rows, history) {
        out.push_str("\n## State timeline\n\n");
        out.push_str(&chart);
    }
    out.push_str("\n## Services\n\n");
    out.push_str(&details(rows));
    if !previews.is_empty() {
        out.push_str(
            "\n## Pull-request previews\n\n_They come and go with their pull requests._\n\n",
        );
        out.push_str(&table(&previews, history, now));
        out.push('\n');
        out.push_str(&details(&previews));
    }
    out.push_str("\n## Recent incidents\n\n");
    out.push_str(&recent_incidents(rows, history));
    out.push('\n');
    out.push_str(&history_text(history));
    out.push_str(BLOCK_END);
    out.push('\n');
    out
}

/// Under the table: the window the uptime is measured over.
fn uptime_note(history: &[Entry], now: Timestamp, as_of: &str) -> String {
    match history.first() {
        Some(first) if timestamp(&first.at).as_second() < now.as_second() => format!(
            "\nUptime: share of time healthy, deploying or still serving a previous deploy, from {} to {as_of} ({} state change{}).\n",
            format_time(&first.at),
            history.len(),
            if history.len() == 1 { "" } else { "s" },
        ),
        _ => "\nUptime appears once a later run has a window to measure.\n".into(),
    }
}

/// The ten newest incidents, by service name.
fn recent_incidents(rows: &[Row], history: &[Entry]) -> String {
    let names: BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let list = incidents(history);
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("No incidents in the recorded history.\n");
    }
    for incident in list.iter().take(10) {
        let name = names
            .get(incident.service.as_str())
            .copied()
            .unwrap_or(&incident.service);
        out.push_str(&incident_line(incident, name));
    }
    out
}

fn incident_line(incident: &Incident, name: &str) -> String {
    match &incident.end {
        None => format!(
            "- {} **{}** {} since {} (ongoing)\n",
            incident.state.emoji(),
            escape_inline(name),
            incident.state.as_str(),
            format_time(&incident.start)
        ),
        Some(end) => {
            let secs = (timestamp(end).as_second() - timestamp(&incident.start).as_second()).max(0);
            format!(
                "- ✅ **{}** {} from {} to {} ({})\n",
                escape_inline(name),
                incident.state.as_str(),
                format_time(&incident.start),
                format_time(end),
                human_duration(Duration::from_secs(secs as u64))
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{history, now, rows};
    use super::*;

    #[test]
    fn page() {
        insta::assert_snapshot!(block(&rows(), &history(), now()));
    }

    #[test]
    fn previews_have_their_own_section() {
        let mut rows = rows();
        let mut preview = rows[1].clone();
        preview.id = "srv-p".into();
        preview.name = "shop-api PR #41".into();
        preview.preview = true;
        rows.push(preview);
        let page = block(&rows, &history(), now());
        let (services, rest) = page
            .split_once("## Pull-request previews")
            .expect("a previews section");
        let previews = rest.split("\n## ").next().unwrap_or_default();
        assert!(!services.contains("shop-api PR #41"), "{services}");
        assert!(previews.contains("shop-api PR #41"), "{previews}");
        assert!(!previews.contains("shop-web"), "{previews}");
        assert!(!block(&rows[..2], &history(), now()).contains("Pull-request previews"));
    }

    #[test]
    fn page_with_a_hostile_name_in_its_timeline() {
        let mut rows = rows();
        rows[1].name = "shop: api; #1 %%{init} \"x\" `y` <b>[z]\nsection evil\ntitle x".into();
        insta::assert_snapshot!(block(&rows, &history(), now()));
    }
}
