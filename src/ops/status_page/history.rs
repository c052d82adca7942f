//! The history block: one JSON line per recorded check, read back by the
//! next run.

use jiff::Timestamp;

use super::{timestamp, Entry, BLOCK_END};

const HISTORY_START: &str = "<!-- render-pilot history v1";
const HISTORY_END: &str = "-->";

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
pub(super) fn history_block(text: &str) -> Option<&str> {
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
pub(crate) fn record(
    mut history: Vec<Entry>,
    entry: Entry,
    keep: usize,
    always: bool,
) -> Vec<Entry> {
    if always || history.last().map(|l| &l.services) != Some(&entry.services) {
        history.push(entry);
    }
    let excess = history.len().saturating_sub(keep);
    history.drain(..excess);
    history
}

/// The history block: its opening line, one line per entry, its end line.
pub(super) fn history_text(history: &[Entry]) -> String {
    let mut out = history_line();
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
    use super::super::fixtures::{entry, history, now, rows};
    use super::super::{block, layout, Layout};
    use super::*;

    #[test]
    fn the_page_reads_back_its_own_history() {
        let page = block(&rows(), &history(), now());
        let (read, warnings) = read_history(&page);
        assert_eq!(read, history());
        assert!(warnings.is_empty());
        assert_eq!(block(&rows(), &read, now()), page, "byte-identical");
    }

    #[test]
    fn corrupted_history_keeps_what_parses() {
        let page = block(&rows(), &history(), now());
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
            let page = block(&rows, &history, now());
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
        let page = block(&rows(), &history(), now());
        let forged = format!(
            "<!-- render-pilot history v1\n{{\"at\":\"2020-01-01T00:00:00Z\",\"services\":{{\"srv-a\":\"failed\"}}}}\n-->\n{page}"
        );
        assert_eq!(read_history(&forged).0, history());
        let twice = format!("{}{page}", block(&rows(), &history()[..1], now()));
        assert_eq!(read_history(&twice).0, history(), "the last block wins");
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
}
