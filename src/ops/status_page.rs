//! docs/PIPELINE.md: the page people read, and the history block the next
//! run reads back. render-pilot owns only the block between its start and
//! end markers; the team's text around it is kept byte for byte. The block
//! is rewritten only when a state changes, so its figures (uptime) are
//! stated "as of" that moment; the step summary has the live ones.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::clients::http::web_url;
use crate::clients::http::HealthCheck;
use crate::inputs::human_duration;
use crate::ops::service_state::State;
use crate::output::charts::{self, Bar};
use crate::output::escape::escape_inline;

pub const BLOCK_START: &str = "<!-- render-pilot:start -->";
pub const BLOCK_END: &str = "<!-- render-pilot:end -->";
const HISTORY_START: &str = "<!-- render-pilot history v1";
const HISTORY_END: &str = "-->";
const TITLE: &str = "# Pipeline status\n\n";
/// How pages written before the markers began: all render-pilot's.
const LEGACY_INTRO: &str = "_Written by render-pilot monitor. Each run rewrites this file";

/// One recorded check: each service's state at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: String,
    pub services: BTreeMap<String, String>,
    /// Failing services whose previous deploy still answered: up for uptime.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub serving: BTreeSet<String>,
}

/// One service as the page shows it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub state: State,
    pub reason: String,
    /// Users are served, whatever the newest deploy did: the health check
    /// answered, or (without one) an earlier deploy is still live.
    pub serving: bool,
    pub dashboard: String,
    pub url: Option<String>,
    pub deploy_id: Option<String>,
    pub deploy_status: Option<String>,
    pub source: Option<String>,
    pub deployed_at: Option<String>,
    pub health: Option<HealthCheck>,
}

impl Row {
    /// Counts as up for uptime: serving as it should, or failing while the
    /// previous deploy still serves.
    pub fn is_up(&self) -> bool {
        self.state.is_up() || (self.state == State::Failed && self.serving)
    }
}

/// The entry this run records for `rows`.
pub fn entry(rows: &[Row], at: Timestamp) -> Entry {
    Entry {
        at: at.to_string(),
        services: rows
            .iter()
            .map(|r| (r.id.clone(), r.state.as_str().to_string()))
            .collect(),
        serving: rows
            .iter()
            .filter(|r| r.is_up() && !r.state.is_up())
            .map(|r| r.id.clone())
            .collect(),
    }
}

/// Where render-pilot's block sits in a status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    /// No file, or an empty one: the page is all block.
    Empty,
    /// A whole page from a render-pilot without markers: all ours.
    Legacy(&'a str),
    /// The team's text around render-pilot's block.
    Block {
        before: &'a str,
        block: &'a str,
        after: &'a str,
    },
    /// The team's text and no block yet: the block goes at the end.
    Unmarked(&'a str),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the status file has the line {BLOCK_START} but no {BLOCK_END} line after it; put the end marker back (or delete the start marker) so render-pilot knows which text is yours. Nothing was written")]
pub struct UnclosedBlock;

/// Finds render-pilot's block: the first start marker line and the first
/// end marker line after it, each a whole line.
pub fn layout(text: &str) -> Result<Layout<'_>, UnclosedBlock> {
    if text.trim().is_empty() {
        return Ok(Layout::Empty);
    }
    let Some(start) = find_line(text, BLOCK_START, 0) else {
        let legacy = text.starts_with(TITLE)
            && text[TITLE.len()..].starts_with(LEGACY_INTRO)
            && history_block(text).is_some();
        return Ok(if legacy {
            Layout::Legacy(text)
        } else {
            Layout::Unmarked(text)
        });
    };
    let end = find_line(text, BLOCK_END, start).ok_or(UnclosedBlock)?;
    let after = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    Ok(Layout::Block {
        before: &text[..start],
        block: &text[start..after],
        after: &text[after..],
    })
}

/// The byte offset of the first line at or after `from` that is exactly
/// `line` (a trailing CR allowed).
fn find_line(text: &str, line: &str, from: usize) -> Option<usize> {
    text[from..]
        .match_indices(line)
        .map(|(i, _)| from + i)
        .find(|&i| {
            let starts = i == 0 || text.as_bytes()[i - 1] == b'\n';
            let rest = &text[i + line.len()..];
            starts && (rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n"))
        })
}

impl Layout<'_> {
    /// The text render-pilot wrote, where its history is read from.
    pub fn ours(&self) -> &str {
        match self {
            Layout::Legacy(text) => text,
            Layout::Block { block, .. } => block,
            Layout::Empty | Layout::Unmarked(_) => "",
        }
    }

    /// The file with `block` in render-pilot's place and everything else
    /// as it was.
    pub fn with_block(&self, block: &str) -> String {
        match self {
            Layout::Empty | Layout::Legacy(_) => block.to_string(),
            Layout::Block { before, after, .. } => format!("{before}{block}{after}"),
            Layout::Unmarked(text) => {
                let gap = if text.ends_with('\n') { "\n" } else { "\n\n" };
                format!("{text}{gap}{block}")
            }
        }
    }
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
    let lines: Vec<&str> = block
        .lines()
        .take_while(|l| *l != HISTORY_END && *l != BLOCK_END)
        .collect();
    if block.lines().nth(lines.len()) != Some(HISTORY_END) {
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

/// What a run does to the status file.
#[derive(Debug)]
pub struct Update {
    /// The new file; `None` when no state changed and the block is in
    /// place: figures alone never make a commit.
    pub page: Option<String>,
    pub history: Vec<Entry>,
    pub warnings: Vec<String>,
    /// What happened to the team's text, when that is news.
    pub notice: Option<&'static str>,
}

/// Records `entry` in the history the file holds and, when a state changed
/// (or `always`), puts a fresh block in render-pilot's place.
pub fn update(
    old: &str,
    rows: &[Row],
    entry: Entry,
    keep: usize,
    always: bool,
) -> Result<Update, UnclosedBlock> {
    let layout = layout(old)?;
    let (previous, warnings) = read_history(layout.ours());
    let now = timestamp(&entry.at);
    let history = record(previous.clone(), entry, keep, always);
    let notice = match layout {
        Layout::Unmarked(_) => Some("had no render-pilot markers: added render-pilot's block at the end and kept the rest of the file as it was"),
        Layout::Legacy(_) => Some("was a whole page from an earlier render-pilot: it is now render-pilot's block between markers, and text you add outside them is kept"),
        Layout::Empty | Layout::Block { .. } => None,
    };
    let placed = matches!(layout, Layout::Block { .. });
    let page = (always || !placed || history != previous)
        .then(|| layout.with_block(&render(rows, &history, now)));
    Ok(Update {
        page,
        history,
        warnings,
        notice,
    })
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

/// The share of time a service was up, from its first recorded state until
/// `now`: the state it is in counts up to now. `None` when the history never
/// saw the service or there is no window yet to measure.
pub fn uptime(history: &[Entry], service: &str, now: Timestamp) -> Option<f64> {
    let mut points: Vec<(i64, bool)> = history
        .iter()
        .filter_map(|e| {
            let state = State::parse(e.services.get(service)?)?;
            let up = state.is_up() || e.serving.contains(service);
            Some((timestamp(&e.at).as_second(), up))
        })
        .collect();
    let last = *points.last()?;
    points.push((now.as_second().max(last.0), last.1));
    let (mut up, mut total) = (0i64, 0i64);
    for pair in points.windows(2) {
        let span = (pair[1].0 - pair[0].0).max(0);
        total += span;
        if pair[0].1 {
            up += span;
        }
    }
    (total > 0).then(|| up as f64 / total as f64)
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

/// The service table, shared by the page and the step summary: six
/// columns, so it fits a screen; the rest is in [`details`].
pub fn table(rows: &[Row], history: &[Entry], now: Timestamp) -> String {
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
pub fn details(rows: &[Row]) -> String {
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

/// The state timeline: one section per service (in the table's order),
/// one bar per stretch of time in one state, failed and degraded in red.
/// The window is the history's own, first entry to last, never the clock,
/// so the same states give the same bytes. A service's current state has
/// no end yet: it is drawn a twentieth of the window long (at least a
/// minute) past the last change. `None` until the history spans a window.
pub fn timeline(rows: &[Row], history: &[Entry]) -> Option<String> {
    let start = timestamp(&history.first()?.at).as_second();
    let end = timestamp(&history.last()?.at).as_second();
    if end <= start {
        return None;
    }
    let current = ((end - start) / 20).max(60);
    let bar = |state: State, from: i64, to: i64| Bar {
        name: state.as_str().to_string(),
        start: from,
        seconds: to - from,
        crit: state.is_failing(),
    };
    let services: Vec<(String, Vec<Bar>)> = rows
        .iter()
        .filter_map(|r| {
            let mut bars = Vec::new();
            let mut open: Option<(State, i64)> = None;
            for entry in history {
                let state = entry.services.get(&r.id).and_then(|s| State::parse(s));
                if open.map(|(s, _)| s) == state {
                    continue;
                }
                let at = timestamp(&entry.at).as_second();
                if let Some((s, from)) = open {
                    bars.push(bar(s, from, at));
                }
                open = state.map(|s| (s, at));
            }
            if let Some((s, from)) = open {
                bars.push(bar(s, from, end + current));
            }
            (!bars.is_empty()).then(|| (r.name.clone(), bars))
        })
        .collect();
    if services.is_empty() {
        return None;
    }
    Some(format!(
        "{}\nFrom {} to {}, the last change (the chart's axis is in your time zone); each service's last bar is its state since then.\n",
        charts::fenced(&charts::state_timeline(&services)),
        format_time(&history[0].at),
        format_time(&history[history.len() - 1].at),
    ))
}

/// render-pilot's block, markers included, with figures as of `now`.
pub fn render(rows: &[Row], history: &[Entry], now: Timestamp) -> String {
    let as_of = now.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = format!("{BLOCK_START}\n{TITLE}");
    out.push_str(&format!(
        "_Written by render-pilot monitor, which rewrites only the text between its start and end markers, when a state changes. Figures as of {as_of}._\n\n"
    ));
    out.push_str(&status_line(rows));
    out.push_str("\n\n");
    out.push_str(&table(rows, history, now));
    match history.first() {
        Some(first) if timestamp(&first.at).as_second() < now.as_second() => {
            out.push_str(&format!(
                "\nUptime: share of time healthy, deploying or still serving a previous deploy, from {} to {as_of} ({} state change{}).\n",
                format_time(&first.at),
                history.len(),
                if history.len() == 1 { "" } else { "s" },
            ));
        }
        _ => out.push_str("\nUptime appears once a later run has a window to measure.\n"),
    }
    if let Some(chart) = timeline(rows, history) {
        out.push_str("\n## State timeline\n\n");
        out.push_str(&chart);
    }
    out.push_str("\n## Services\n\n");
    out.push_str(&details(rows));
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
    out.push_str(BLOCK_END);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T00:00:00Z".parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn entry(at: &str, states: &[(&str, &str)]) -> Entry {
        Entry {
            serving: BTreeSet::new(),
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
                serving: true,
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
                    attempts: 1,
                }),
            },
            Row {
                id: "srv-b".into(),
                name: "shop-api".into(),
                state: State::Failed,
                reason: "deploy dep-2 build_failed".into(),
                serving: false,
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
        insta::assert_snapshot!(render(&rows(), &history(), now()));
    }

    #[test]
    fn page_with_a_hostile_name_in_its_timeline() {
        let mut rows = rows();
        rows[1].name = "shop: api; #1 %%{init} \"x\" `y` <b>[z]\nsection evil\ntitle x".into();
        insta::assert_snapshot!(render(&rows, &history(), now()));
    }

    #[test]
    fn the_timeline_has_one_bar_per_state_period_from_the_history_alone() {
        let chart = timeline(&rows(), &history()).unwrap();
        let bars: Vec<&str> = chart.lines().filter(|l| l.contains(" :")).collect();
        // shop-web: healthy 12 h, degraded 1 h, healthy 11 h and since;
        // shop-api: healthy 24 h, failed since. The current states are a
        // twentieth of the 24-hour window long.
        assert_eq!(
            bars,
            [
                "    healthy :s0b0, 1795824000, 43200s",
                "    degraded :crit, s0b1, 1795867200, 3600s",
                "    healthy :s0b2, 1795870800, 43920s",
                "    healthy :s1b0, 1795824000, 86400s",
                "    failed :crit, s1b1, 1795910400, 4320s",
            ]
        );
        assert_eq!(
            chart.matches("section").count(),
            2,
            "one section per service"
        );
        assert_eq!(timeline(&rows(), &history()[..1]), None, "no window yet");
        // Not the clock: a run later with the same states writes nothing.
        let page = render(&rows(), &history(), now());
        let later = super::entry(&rows(), at("2026-11-29T05:00:00Z"));
        assert!(update(&page, &rows(), later, 48, false)
            .unwrap()
            .page
            .is_none());
    }

    #[test]
    fn the_page_reads_back_its_own_history() {
        let page = render(&rows(), &history(), now());
        let (read, warnings) = read_history(&page);
        assert_eq!(read, history());
        assert!(warnings.is_empty());
        assert_eq!(render(&rows(), &read, now()), page, "byte-identical");
    }

    #[test]
    fn corrupted_history_keeps_what_parses() {
        let page = render(&rows(), &history(), now());
        let broken = page
            .replacen("{\"at\":\"2026-11-28T12", "{\"at\":oops", 1)
            .replace("\n-->\n", "\n");
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
            let page = render(&rows, &history, now());
            let (read, warnings) = read_history(&page);
            assert_eq!(read, history, "case {i}: {page}");
            assert!(warnings.is_empty(), "case {i}: {warnings:?}");
            assert_eq!(
                page.matches(HISTORY_START).count(),
                1,
                "case {i}: only ours\n{page}"
            );
            assert_eq!(page.matches("<!--").count(), 3, "case {i}\n{page}");
            assert_eq!(page.matches("-->").count(), 3, "case {i}\n{page}");
            assert!(
                matches!(layout(&page), Ok(Layout::Block { .. })),
                "case {i}"
            );
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
        let page = render(&rows(), &history(), now());
        let forged = format!(
            "<!-- render-pilot history v1\n{{\"at\":\"2020-01-01T00:00:00Z\",\"services\":{{\"srv-a\":\"failed\"}}}}\n-->\n{page}"
        );
        assert_eq!(read_history(&forged).0, history());
        let twice = format!("{}{page}", render(&rows(), &history()[..1], now()));
        assert_eq!(read_history(&twice).0, history(), "the last block wins");
    }

    fn update_at(old: &str, when: &str, rows: &[Row], always: bool) -> Update {
        update(old, rows, super::entry(rows, at(when)), 48, always).unwrap()
    }

    #[test]
    fn the_teams_text_around_the_block_is_kept_byte_for_byte() {
        let before = "# Our pipeline\r\n\nHand-written notes, `code`, <!-- a comment -->\n\n";
        let after = "\n## Runbook\n\nStep 1.   Trailing spaces   \nno final newline";
        let first = update_at("", "2026-11-29T00:00:00Z", &rows(), false);
        let block = first.page.unwrap();
        assert_eq!(
            layout(&block).unwrap().ours(),
            block,
            "a new file is all block"
        );
        let file = format!("{before}{block}{after}");

        let mut failed = rows();
        failed[0].state = State::Degraded;
        let second = update_at(&file, "2026-11-29T01:00:00Z", &failed, false);
        let page = second.page.unwrap();
        assert!(page.starts_with(before) && page.ends_with(after), "{page}");
        assert_eq!(page.matches(BLOCK_START).count(), 1);
        assert_eq!(second.history.len(), 2, "the history went on");
        assert_eq!(second.notice, None);

        let third = update_at(&page, "2026-11-29T02:00:00Z", &failed, false);
        assert!(third.page.is_none(), "no state changed: nothing to write");
        assert_eq!(third.history, second.history);
        let always = update_at(&page, "2026-11-29T02:00:00Z", &failed, true);
        let page = always.page.unwrap();
        assert!(page.starts_with(before) && page.ends_with(after));
    }

    #[test]
    fn a_file_without_markers_gets_the_block_added() {
        for notes in ["# Notes\n\nOurs.\n", "# Notes\n\nNo newline at the end"] {
            let update = update_at(notes, "2026-11-29T00:00:00Z", &rows(), false);
            let page = update.page.unwrap();
            assert!(page.starts_with(notes), "{page}");
            assert!(page.contains(&format!("\n\n{BLOCK_START}\n")), "{page}");
            assert!(update.notice.unwrap().contains("kept the rest"));
            let again = update_at(&page, "2026-11-29T01:00:00Z", &rows(), true)
                .page
                .unwrap();
            assert_eq!(again.matches(BLOCK_START).count(), 1, "never duplicated");
            assert!(again.starts_with(notes));
        }
    }

    #[test]
    fn an_earlier_whole_page_becomes_the_block_with_its_history() {
        let block = render(&rows(), &history(), now());
        let inner = block
            .strip_prefix(&format!("{BLOCK_START}\n"))
            .unwrap()
            .strip_suffix(&format!("{BLOCK_END}\n"))
            .unwrap();
        let legacy = inner.replacen(
            "_Written by render-pilot monitor,",
            "_Written by render-pilot monitor. Each run rewrites this file; edits are lost._ Was:",
            1,
        );
        assert!(matches!(layout(&legacy), Ok(Layout::Legacy(_))));
        let update = update_at(&legacy, "2026-11-29T01:00:00Z", &rows(), false);
        let page = update.page.unwrap();
        assert!(page.starts_with(BLOCK_START), "replaced, not appended");
        assert_eq!(update.history.len(), 4, "history carried over");
    }

    #[test]
    fn a_start_marker_without_an_end_is_refused() {
        let text = format!("notes\n{BLOCK_START}\nmore notes\n");
        assert_eq!(layout(&text).unwrap_err(), UnclosedBlock);
        // Markers quoted inside a line are the team's text, not a block.
        let quoted = format!("Keep `{BLOCK_START}` and `{BLOCK_END}` as they are.\n");
        assert!(matches!(layout(&quoted), Ok(Layout::Unmarked(_))));
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
        assert_eq!(format_uptime(uptime(&h, "srv-a", now())), "95.8%");
        assert_eq!(format_uptime(uptime(&h, "srv-b", now())), "100%");
        assert_eq!(format_uptime(uptime(&h, "srv-z", now())), "—");
        assert_eq!(uptime(&h[3..], "srv-b", now()), None, "no window yet");
        assert_eq!(
            uptime(&h[3..], "srv-b", at("2026-11-29T01:00:00Z")),
            Some(0.0)
        );
    }

    #[test]
    fn the_ongoing_state_counts_up_to_now() {
        let h = history();
        // Healthy for a day, then failed for three: a quarter.
        let later = at("2026-12-02T00:00:00Z");
        assert_eq!(format_uptime(uptime(&h, "srv-b", later)), "25.0%");
        assert!(uptime(&h, "srv-a", later).unwrap() > 0.98);
        // Failed, but the previous deploy still serves: up.
        let mut serving = h.clone();
        serving[3].serving.insert("srv-b".into());
        assert_eq!(format_uptime(uptime(&serving, "srv-b", later)), "100%");
    }

    #[test]
    fn a_failed_deploy_that_still_serves_is_recorded_as_up() {
        let mut rows = rows();
        rows[1].serving = true;
        let e = super::entry(&rows, now());
        assert_eq!(e.services["srv-b"], "failed");
        assert_eq!(e.serving, BTreeSet::from(["srv-b".to_string()]));
        assert!(super::entry(&self::rows(), now()).serving.is_empty());
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
