//! Where render-pilot's block sits in a status file, and the file with a
//! new block in its place.

use super::history::history_block;
use super::{BLOCK_END, BLOCK_START, TITLE};

/// How pages written before the markers began: all render-pilot's.
const LEGACY_INTRO: &str = "_Written by render-pilot monitor. Each run rewrites this file";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_marker_without_an_end_is_refused() {
        let text = format!("notes\n{BLOCK_START}\nmore notes\n");
        assert_eq!(layout(&text).unwrap_err(), UnclosedBlock);
        // Markers quoted inside a line are the team's text, not a block.
        let quoted = format!("Keep `{BLOCK_START}` and `{BLOCK_END}` as they are.\n");
        assert!(matches!(layout(&quoted), Ok(Layout::Unmarked(_))));
    }
}
