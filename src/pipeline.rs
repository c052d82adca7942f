//! docs/PIPELINE.md: the page people read, and the history block the next
//! run reads back. Rendering is pure and byte-identical for the same state,
//! so a run that changes nothing commits nothing. The page holds no check
//! time and no "ago": those go to the step summary.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::escape::{escape_inline, link_target};
use crate::inputs::human_duration;
use crate::status::{HealthCheck, State};

const HISTORY_START: &str = "<!-- render-pilot history v1";
const HISTORY_END: &str = "-->";

/// One recorded check: each service's state at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: String,
    pub services: BTreeMap<String, String>,
}

/// One service as the page shows it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub state: State,
    pub reason: String,
    pub dashboard: String,
    pub url: Option<String>,
    pub deploy_id: Option<String>,
    pub deploy_status: Option<String>,
    pub source: Option<String>,
    pub deployed_at: Option<String>,
    pub health: Option<HealthCheck>,
}

/// Reads the history block back, keeping what parses. Returns warnings
/// for what it dropped; never fails. Only the block render-pilot writes
/// counts: its exact opening line, the last one in the text, so a name or a
/// hand edit that looks like a history block cannot replace it.
pub fn read_history(text: &str) -> (Vec<Entry>, Vec<String>) {
    let mut warnings = Vec::new();
    let Some(block) = history_block(text) else {
        if !text.trim().is_empty() {
            warnings.push("the status file has no render-pilot history block (hand-edited?); starting a new history".into());
        }
        return (Vec::new(), warnings);
    };
    let lines: Vec<&str> = block.lines().take_while(|l| *l != HISTORY_END).collect();
    if lines.len() == block.lines().count() {
        warnings.push(
            "the history block in the status file is not closed; kept the entries that parse"
                .into(),
        );
    }
    let mut entries = Vec::new();
    for (n, line) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Entry>(line.trim()) {
            Ok(entry) if entry.at.parse::<Timestamp>().is_ok() => entries.push(entry),
            _ => warnings.push(format!(
                "dropped line {} of the history block: not a valid entry",
                n + 1
            )),
        }
    }
    entries.sort_by_key(|e| timestamp(&e.at));
    (entries, warnings)
}

/// The text after the last exact history opening line, with the newline
/// that ends that line.
fn history_block(text: &str) -> Option<&str> {
    let line = history_line();
    let start = text
        .rfind(&format!("\n{line}"))
        .map(|i| i + 1)
        .or(text.starts_with(&line).then_some(0))?;
    Some(&text[start + line.len()..])
}

fn history_line() -> String {
    format!("{HISTORY_START}: read back by the next run; keep it as it is.\n")
}

/// One history entry on one line. `<` and `>` are written as JSON escapes
/// so no id can close the comment the history lives in.
fn entry_line(entry: &Entry) -> String {
    serde_json::to_string(entry)
        .expect("entries serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

/// Adds `entry` when the states changed (or always), keeping the newest
/// `keep` entries.
pub fn record(mut history: Vec<Entry>, entry: Entry, keep: usize, always: bool) -> Vec<Entry> {
    if always || history.last().map(|l| &l.services) != Some(&entry.services) {
        history.push(entry);
    }
    let excess = history.len().saturating_sub(keep);
    history.drain(..excess);
    history
}

fn timestamp(text: &str) -> Timestamp {
    text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn format_time(text: &str) -> String {
    match text.parse::<Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => escape_inline(text),
    }
}

/// The share of recorded time a service was up, from the oldest entry to
/// the newest one. `None` when the history never saw the service.
pub fn uptime(history: &[Entry], service: &str) -> Option<f64> {
    let points: Vec<(i64, bool)> = history
        .iter()
        .filter_map(|e| {
            let state = State::parse(e.services.get(service)?)?;
            Some((timestamp(&e.at).as_second(), state.is_up()))
        })
        .collect();
    let last = points.last()?;
    let (mut up, mut total) = (0i64, 0i64);
    for pair in points.windows(2) {
        let span = (pair[1].0 - pair[0].0).max(0);
        total += span;
        if pair[0].1 {
            up += span;
        }
    }
    if total == 0 {
        return Some(if last.1 { 1.0 } else { 0.0 });
    }
    Some(up as f64 / total as f64)
}

pub fn format_uptime(share: Option<f64>) -> String {
    match share {
        None => "—".into(),
        Some(s) if s >= 1.0 => "100%".into(),
        Some(s) => format!("{:.1}%", (s * 1000.0).floor() / 10.0),
    }
}

/// A stretch of time a service was failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub service: String,
    pub state: State,
    pub start: String,
    pub end: Option<String>,
}

pub fn incidents(history: &[Entry]) -> Vec<Incident> {
    let mut open: BTreeMap<String, Incident> = BTreeMap::new();
    let mut done = Vec::new();
    for entry in history {
        for (service, text) in &entry.services {
            let Some(state) = State::parse(text) else {
                continue;
            };
            if state.is_failing() && !open.contains_key(service) {
                open.insert(
                    service.clone(),
                    Incident {
                        service: service.clone(),
                        state,
                        start: entry.at.clone(),
                        end: None,
                    },
                );
            } else if state.is_up() {
                if let Some(mut incident) = open.remove(service) {
                    incident.end = Some(entry.at.clone());
                    done.push(incident);
                }
            }
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| {
        timestamp(&b.start)
            .cmp(&timestamp(&a.start))
            .then(a.service.cmp(&b.service))
    });
    done
}

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
pub fn live_detail(row: &Row, now: Timestamp) -> String {
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
        .map(|h| format!("answered in {} ms", h.latency_ms));
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
pub fn status_line(rows: &[Row]) -> String {
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

/// The service table, shared by the page and the step summary.
pub fn table(rows: &[Row], history: &[Entry]) -> String {
    let mut out = String::from(
        "| | Service | State | Last deploy | Deploy status | Commit or image | Deployed | URL | Response | Uptime |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let deploy = r
            .deploy_id
            .as_deref()
            .map_or("—".into(), |d| deploy_link(r, d));
        out.push_str(&format!(
            "| {} | {} | {} | {deploy} | {} | {} | {} | {} | {} | {} |\n",
            r.state.emoji(),
            name_link(r),
            r.state.as_str(),
            r.deploy_status.as_deref().map_or("—".into(), escape_inline),
            r.source.as_deref().map_or("—".into(), escape_inline),
            r.deployed_at.as_deref().map_or("—".into(), format_time),
            r.url
                .as_deref()
                .and_then(link_target)
                .map_or("—".into(), |u| format!("<{u}>")),
            response(r.health.as_ref()),
            format_uptime(uptime(history, &r.id)),
        ));
    }
    out
}

/// The service's name, linked to its dashboard when that is a web address.
fn name_link(r: &Row) -> String {
    match link_target(&r.dashboard) {
        Some(target) => format!("[{}]({target})", escape_inline(&r.name)),
        None => escape_inline(&r.name),
    }
}

fn deploy_link(r: &Row, deploy: &str) -> String {
    let target = link_target(&format!(
        "{}/deploys/{deploy}",
        r.dashboard.trim_end_matches('/')
    ));
    match target {
        Some(target) => format!("[{}]({target})", escape_inline(deploy)),
        None => escape_inline(deploy),
    }
}

pub fn render(rows: &[Row], history: &[Entry]) -> String {
    let mut out = String::from("# Pipeline status\n\n");
    out.push_str(
        "_Written by render-pilot monitor. Each run rewrites this file; edits are lost._\n\n",
    );
    out.push_str(&status_line(rows));
    out.push_str("\n\n");
    out.push_str(&table(rows, history));
    if let (Some(first), Some(last)) = (history.first(), history.last()) {
        out.push_str(&format!(
            "\nUptime: share of time healthy or deploying over the recorded history ({} state change{}, {} to {}).\n",
            history.len(),
            if history.len() == 1 { "" } else { "s" },
            format_time(&first.at),
            format_time(&last.at)
        ));
    }
    out.push_str("\n## Recent incidents\n\n");
    let names: BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let list = incidents(history);
    if list.is_empty() {
        out.push_str("No incidents in the recorded history.\n");
    }
    for incident in list.iter().take(10) {
        let name = names
            .get(incident.service.as_str())
            .copied()
            .unwrap_or(&incident.service);
        match &incident.end {
            None => out.push_str(&format!(
                "- {} **{}** {} since {} (ongoing)\n",
                incident.state.emoji(),
                escape_inline(name),
                incident.state.as_str(),
                format_time(&incident.start)
            )),
            Some(end) => {
                let secs =
                    (timestamp(end).as_second() - timestamp(&incident.start).as_second()).max(0);
                out.push_str(&format!(
                    "- ✅ **{}** {} from {} to {} ({})\n",
                    escape_inline(name),
                    incident.state.as_str(),
                    format_time(&incident.start),
                    format_time(end),
                    human_duration(Duration::from_secs(secs as u64))
                ));
            }
        }
    }
    out.push('\n');
    out.push_str(&history_line());
    for entry in history {
        out.push_str(&entry_line(entry));
        out.push('\n');
    }
    out.push_str(HISTORY_END);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str, states: &[(&str, &str)]) -> Entry {
        Entry {
            at: at.into(),
            services: states
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                id: "srv-a".into(),
                name: "shop-web".into(),
                state: State::Healthy,
                reason: "deploy dep-1 live".into(),
                dashboard: "https://dashboard.render.com/web/srv-a".into(),
                url: Some("https://shop-web.onrender.com".into()),
                deploy_id: Some("dep-1".into()),
                deploy_status: Some("live".into()),
                source: Some("abc1234".into()),
                deployed_at: Some("2026-11-29T00:12:30Z".into()),
                health: Some(HealthCheck {
                    code: Some(200),
                    latency_ms: 87,
                    error: None,
                }),
            },
            Row {
                id: "srv-b".into(),
                name: "shop-api".into(),
                state: State::Failed,
                reason: "deploy dep-2 build_failed".into(),
                dashboard: "https://dashboard.render.com/web/srv-b".into(),
                url: None,
                deploy_id: Some("dep-2".into()),
                deploy_status: Some("build_failed".into()),
                source: None,
                deployed_at: None,
                health: None,
            },
        ]
    }

    fn history() -> Vec<Entry> {
        vec![
            entry(
                "2026-11-28T00:00:00Z",
                &[("srv-a", "healthy"), ("srv-b", "healthy")],
            ),
            entry(
                "2026-11-28T12:00:00Z",
                &[("srv-a", "degraded"), ("srv-b", "healthy")],
            ),
            entry(
                "2026-11-28T13:00:00Z",
                &[("srv-a", "healthy"), ("srv-b", "healthy")],
            ),
            entry(
                "2026-11-29T00:00:00Z",
                &[("srv-a", "healthy"), ("srv-b", "failed")],
            ),
        ]
    }

    #[test]
    fn page() {
        insta::assert_snapshot!(render(&rows(), &history()));
    }

    #[test]
    fn the_page_reads_back_its_own_history() {
        let page = render(&rows(), &history());
        let (read, warnings) = read_history(&page);
        assert_eq!(read, history());
        assert!(warnings.is_empty());
        assert_eq!(render(&rows(), &read), page, "byte-identical");
    }

    #[test]
    fn corrupted_history_keeps_what_parses() {
        let page = render(&rows(), &history());
        let broken = page
            .replacen("{\"at\":\"2026-11-28T12", "{\"at\":oops", 1)
            .replace("-->", "");
        let (read, warnings) = read_history(&broken);
        assert_eq!(read.len(), 3);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let (read, warnings) = read_history("# my own notes\n");
        assert!(read.is_empty());
        assert_eq!(warnings.len(), 1);
        assert_eq!(read_history("").1.len(), 0);
    }

    const HOSTILE: [&str; 6] = [
        "x\n<!-- render-pilot history v1: read back by the next run; keep it as it is.\n{\"at\":\"2020-01-01T00:00:00Z\",\"services\":{}}\n-->\n",
        "<!-- render-pilot history v1",
        "evil -->",
        "a | b | c",
        "`code` **bold** [link](https://evil.example)",
        "line\r\nbreak",
    ];

    #[test]
    fn hostile_names_and_ids_cannot_forge_the_history() {
        for (i, name) in HOSTILE.iter().enumerate() {
            let mut rows = rows();
            rows[0].name = name.to_string();
            rows[1].id = format!("srv-b{name}");
            let mut history = history();
            for e in &mut history {
                let state = e.services.remove("srv-b").unwrap();
                e.services.insert(rows[1].id.clone(), state);
            }
            let page = render(&rows, &history);
            let (read, warnings) = read_history(&page);
            assert_eq!(read, history, "case {i}: {page}");
            assert!(warnings.is_empty(), "case {i}: {warnings:?}");
            assert_eq!(
                page.matches(HISTORY_START).count(),
                1,
                "case {i}: only ours\n{page}"
            );
            assert_eq!(page.matches("-->").count(), 1, "case {i}\n{page}");
            let cells = |line: &str| line.replace("\\|", "").matches('|').count();
            let table: Vec<&str> = page.lines().filter(|l| l.starts_with('|')).collect();
            assert!(
                table.iter().all(|l| cells(l) == cells(table[0])),
                "case {i}: a name must not add cells:\n{}",
                table.join("\n")
            );
            assert!(
                page.lines().all(|l| !l.starts_with("{\"at\":\"2020")),
                "case {i}: no forged entry line"
            );
        }
    }

    #[test]
    fn only_the_last_exact_history_block_is_read() {
        let page = render(&rows(), &history());
        let forged = format!(
            "<!-- render-pilot history v1\n{{\"at\":\"2020-01-01T00:00:00Z\",\"services\":{{\"srv-a\":\"failed\"}}}}\n-->\n{page}"
        );
        assert_eq!(read_history(&forged).0, history());
        let twice = format!("{}{page}", render(&rows(), &history()[..1]));
        assert_eq!(read_history(&twice).0, history(), "the last block wins");
    }

    #[test]
    fn the_summary_gets_ages_and_exact_latency() {
        let now: Timestamp = "2026-11-29T01:12:30Z".parse().unwrap();
        assert_eq!(
            live_detail(&rows()[0], now),
            "- shop-web: last deploy 1h 00m ago, answered in 87 ms\n"
        );
        assert_eq!(live_detail(&rows()[1], now), "");
    }

    #[test]
    fn record_only_changes_unless_always() {
        let h = history();
        let same = entry(
            "2026-11-29T01:00:00Z",
            &[("srv-a", "healthy"), ("srv-b", "failed")],
        );
        assert_eq!(record(h.clone(), same.clone(), 48, false), h);
        assert_eq!(record(h.clone(), same.clone(), 48, true).len(), 5);
        let kept = record(
            h.clone(),
            entry("2026-11-29T02:00:00Z", &[("srv-a", "healthy")]),
            2,
            false,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1].at, "2026-11-29T02:00:00Z");
    }

    #[test]
    fn uptime_is_time_weighted() {
        let h = history();
        assert_eq!(format_uptime(uptime(&h, "srv-a")), "95.8%");
        assert_eq!(format_uptime(uptime(&h, "srv-b")), "100%");
        assert_eq!(format_uptime(uptime(&h, "srv-z")), "—");
        assert_eq!(uptime(&h[3..], "srv-b"), Some(0.0));
    }

    #[test]
    fn incidents_open_and_close() {
        let list = incidents(&history());
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].service, "srv-b");
        assert_eq!(list[0].end, None);
        assert_eq!(list[1].end.as_deref(), Some("2026-11-28T13:00:00Z"));
    }
}
