//! docs/PIPELINE.md: the page people read, and the history block the next
//! run reads back. render-pilot owns only the block between its start and
//! end markers; the team's text around it is kept byte for byte. The block
//! is rewritten only when a state changes, so its figures (uptime) are
//! stated "as of" that moment; the step summary has the live ones.

mod block;
mod figures;
#[cfg(test)]
pub(crate) mod fixtures;
mod history;
mod layout;
mod table;
mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::clients::http::HealthCheck;
use crate::ops::diagnose::Explanation;
use crate::ops::service_state::State;
use crate::output::escape::{escape_inline, strip_bidi};

pub(crate) use block::block;
pub(crate) use figures::{format_uptime, incidents, uptime, Incident};
pub use history::read_history;
pub(crate) use history::record;
pub(crate) use layout::UnclosedBlock;
pub use layout::{layout, Layout};
pub(crate) use table::{details, live_detail, status_line, table};
pub(crate) use timeline::timeline;

pub(crate) const BLOCK_START: &str = "<!-- render-pilot:start -->";
pub(crate) const BLOCK_END: &str = "<!-- render-pilot:end -->";
const TITLE: &str = "# Pipeline status\n\n";

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
    /// A pull-request preview: listed in its own section, since previews
    /// come and go with their pull requests.
    pub preview: bool,
    /// Why the newest deploy failed, as its build log says (read for the
    /// service's issue only).
    pub why: Option<Explanation>,
}

impl Row {
    /// Counts as up for uptime: serving as it should, or failing while the
    /// previous deploy still serves.
    pub fn is_up(&self) -> bool {
        self.state.is_up() || (self.state == State::Failed && self.serving)
    }
}

/// The entry this run records for `rows`.
pub(crate) fn entry(rows: &[Row], at: Timestamp) -> Entry {
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
    // The block shows names from Render everywhere (table, details,
    // charts): none of them may reorder what a reader sees.
    let page = (always || !placed || history != previous)
        .then(|| layout.with_block(&strip_bidi(&block(rows, &history, now))));
    Ok(Update {
        page,
        history,
        warnings,
        notice,
    })
}

fn timestamp(text: &str) -> Timestamp {
    text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn format_time(text: &str) -> String {
    match text.parse::<Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => escape_inline(text),
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, history, now, rows};
    use super::*;

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
        let block = block(&rows(), &history(), now());
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
    fn no_bidi_control_reaches_the_page_not_even_in_its_charts() {
        let mut rows = rows();
        rows[0].name = "web\u{202E}txt.exe\u{2066}".into();
        let first = update_at("", "2026-11-28T00:00:00Z", &rows, false);
        rows[0].state = State::Degraded;
        let page = update_at(&first.page.unwrap(), "2026-11-29T00:00:00Z", &rows, false)
            .page
            .unwrap();
        assert!(page.contains("section webtxt.exe"), "{page}");
        assert!(!page.contains(['\u{202E}', '\u{2066}']), "{page}");
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
}
