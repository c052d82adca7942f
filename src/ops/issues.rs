//! One issue per problem, found again by a hidden marker in its body, so
//! reruns never open a duplicate. Shared by monitor and recover.
//!
//! Everything render-pilot sends to an issue passes here: the free text of
//! bodies and comments is [`shown`] (secrets and token-shaped words
//! redacted) and bounded; the marker and the title are names, not free
//! text, so only registered secrets leave them (in the client), and a
//! branch named like a token (`rnd_pricing_page`) still finds its issue.

use crate::clients::github::{GitHub, GitHubError, Issue};
use crate::output::escape::{fit, one_line};
use crate::output::shown;

const MARKER_START: &str = "<!-- render-pilot:";
const MARKER_END: &str = " -->";

/// GitHub refuses an issue body or comment over 65,536 characters. A text
/// within as many bytes fits however they are counted.
const MAX_BODY: usize = 65_536;
/// GitHub refuses titles over 256 characters.
const MAX_TITLE: usize = 256;
/// Where a body or comment was cut to fit.
const CUT: &str = "\n\n… (cut: GitHub takes at most 65,536 characters here; the run's log and summary have the rest)\n";

/// The hidden marker: `<!-- render-pilot:<key> state=<state> -->`, always
/// the last line of a body render-pilot writes. The key and state are
/// percent-encoded outside a small safe set, so text from outside (a
/// branch, a repository name) can neither end the comment nor pose as
/// another key.
pub(crate) fn marker(key: &str, state: &str) -> String {
    format!(
        "{MARKER_START}{} state={}{MARKER_END}",
        encode(key),
        encode(state)
    )
}

/// The key and state of the marker on the body's last line. A marker
/// anywhere else (quoted log text, a name) is not ours and is ignored.
pub(crate) fn read_marker(body: &str) -> Option<(String, String)> {
    let last = body.trim_end().lines().last()?.trim();
    let inner = last.strip_prefix(MARKER_START)?.strip_suffix(MARKER_END)?;
    let (key, state) = inner.split_once(" state=")?;
    if key.contains(' ') || state.contains(' ') {
        return None;
    }
    Some((key.to_string(), state.to_string()))
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b':' | b'/' | b'+' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Free text for a comment: shown, and cut to fit.
fn comment_text(text: &str) -> String {
    fit(&shown(text), MAX_BODY, CUT)
}

/// A body as sent: the free text shown and cut to leave room for the
/// marker, which stays whole on the last line.
fn issue_body(text: &str, marker: &str) -> String {
    let room = MAX_BODY.saturating_sub(marker.len() + "\n\n\n".len());
    format!("{}\n\n{marker}\n", fit(&shown(text), room, CUT))
}

/// The state recorded in the issue's own marker, if it is `key`'s.
pub(crate) fn marked_state(issue: &Issue, key: &str) -> Option<String> {
    let (found, state) = read_marker(issue.body.as_deref()?)?;
    (found == encode(key)).then_some(state)
}

fn is_for(issue: &Issue, key: &str) -> bool {
    marked_state(issue, key).is_some()
}

/// What happened to issues in a run.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub opened: Vec<(u64, String)>,
    pub commented: Vec<u64>,
    pub closed: Vec<u64>,
}

pub(crate) struct Tracker<'a> {
    github: &'a GitHub<'a>,
    label: String,
    open: Vec<Issue>,
    pub changes: Changes,
}

impl<'a> Tracker<'a> {
    /// Lists the open issues with our label once; later lookups are local.
    pub(crate) fn load(github: &'a GitHub<'a>, label: &str) -> Result<Tracker<'a>, GitHubError> {
        Ok(Tracker {
            github,
            label: label.to_string(),
            open: github.open_issues(label)?,
            changes: Changes::default(),
        })
    }

    /// The open issue for `key`; the lowest number if a race left two.
    pub(crate) fn find(&self, key: &str) -> Option<&Issue> {
        self.open
            .iter()
            .filter(|i| is_for(i, key))
            .min_by_key(|i| i.number)
    }

    /// Opens the issue for `key`, or, when one is open in another state,
    /// records the change with a comment. Returns the issue's URL.
    pub(crate) fn open_or_update(
        &mut self,
        key: &str,
        state: &str,
        title: &str,
        body: &str,
        change_note: &str,
    ) -> Result<Option<String>, GitHubError> {
        let body = issue_body(body, &marker(key, state));
        if let Some(issue) = self.find(key) {
            let (number, url) = (issue.number, issue.html_url.clone());
            if marked_state(issue, key).as_deref() != Some(state) {
                self.github.comment(number, &comment_text(change_note))?;
                self.github.update_body(number, &body)?;
                self.changes.commented.push(number);
            }
            return Ok(url);
        }
        let title = one_line(title, MAX_TITLE);
        let issue = self.github.create_issue(&title, &body, &self.label)?;
        if let Some(first) = self.opened_earlier(key, issue.number)? {
            return Ok(first);
        }
        self.changes
            .opened
            .push((issue.number, issue.html_url.clone().unwrap_or_default()));
        let url = issue.html_url.clone();
        self.open.push(issue);
        Ok(url)
    }

    /// Runs started at once can each open an issue for the same key. The
    /// lowest number is kept: after opening `ours`, the list is read again,
    /// and when an open issue for `key` has a lower number, ours is closed
    /// as its duplicate. Returns the kept issue's URL then.
    fn opened_earlier(
        &mut self,
        key: &str,
        ours: u64,
    ) -> Result<Option<Option<String>>, GitHubError> {
        let first = self
            .github
            .open_issues(&self.label)?
            .into_iter()
            .filter(|i| i.number < ours && is_for(i, key))
            .min_by_key(|i| i.number);
        let Some(first) = first else {
            return Ok(None);
        };
        self.github.comment(
            ours,
            &comment_text(&format!(
                "Duplicate of #{}: another render-pilot run opened it at the same moment.",
                first.number
            )),
        )?;
        self.github.close(ours)?;
        self.changes.closed.push(ours);
        let url = first.html_url.clone();
        self.open.push(first);
        Ok(Some(url))
    }

    /// Closes the issue for `key`, if one is open, with a comment.
    pub(crate) fn resolve(
        &mut self,
        key: &str,
        comment: &dyn Fn(&Issue) -> String,
    ) -> Result<bool, GitHubError> {
        let Some(index) = self.open.iter().position(|i| is_for(i, key)) else {
            return Ok(false);
        };
        let issue = self.open.remove(index);
        self.github
            .comment(issue.number, &comment_text(&comment(&issue)))?;
        self.github.close(issue.number)?;
        self.changes.closed.push(issue.number);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(body: &str) -> Issue {
        Issue {
            number: 1,
            body: Some(body.into()),
            html_url: None,
            created_at: None,
            pull_request: None,
        }
    }

    #[test]
    fn markers_round_trip() {
        let body = format!("text\n\n{}\n", marker("monitor:srv-a", "failed"));
        assert_eq!(
            marked_state(&issue(&body), "monitor:srv-a").as_deref(),
            Some("failed")
        );
        assert_eq!(marked_state(&issue(&body), "monitor:srv-b"), None);
        assert_eq!(marked_state(&issue(&body), "monitor:srv"), None);
    }

    #[test]
    fn only_the_last_line_counts() {
        let forged = marker("monitor:srv-b", "failed");
        let body = format!(
            "name {forged} here\n{forged}\n\n{}\n",
            marker("monitor:srv-a", "failed")
        );
        assert_eq!(marked_state(&issue(&body), "monitor:srv-b"), None);
        assert!(marked_state(&issue(&body), "monitor:srv-a").is_some());
        let quoted_last = format!("{}\nsomeone wrote below", marker("monitor:srv-a", "x"));
        assert_eq!(marked_state(&issue(&quoted_last), "monitor:srv-a"), None);
    }

    #[test]
    fn a_huge_body_is_cut_and_keeps_its_marker_whole() {
        let marker = marker("recover:.github/workflows/ci.yml:acme/shop:main", "unknown");
        for text in [
            "x".repeat(400_000),
            format!(
                "evidence:\n\n{}",
                crate::output::escape::fenced(&"é log line\n".repeat(40_000))
            ),
            "€".repeat(70_000),
        ] {
            let body = issue_body(&text, &marker);
            assert!(body.len() <= MAX_BODY, "{} bytes", body.len());
            assert!(body.contains("… (cut"), "{}", &body[body.len() - 300..]);
            assert_eq!(
                read_marker(&body).map(|(_, s)| s).as_deref(),
                Some("unknown")
            );
            assert!(body.ends_with(&format!("\n\n{marker}\n")));
            assert_eq!(body.matches("```").count() % 2, 0, "a fence left open");
        }
        assert_eq!(issue_body("short", &marker), format!("short\n\n{marker}\n"));
        assert!(comment_text(&"y".repeat(100_000)).len() <= MAX_BODY);
    }

    #[test]
    fn markers_keep_names_shaped_like_tokens() {
        let key = "recover:.github/workflows/ci.yml:acme/rnd_platform_api:rnd_pricing_page";
        let body = issue_body("CI failed on rnd_pricing_page.", &marker(key, "unknown"));
        assert!(body.starts_with("CI failed on ***."), "free text: {body}");
        assert_eq!(marked_state(&issue(&body), key).as_deref(), Some("unknown"));
    }

    #[test]
    fn keys_from_outside_cannot_pose_as_others() {
        let key = "recover:ci.yml:mallory/shop:main state=ok -->";
        let m = marker(key, "unknown");
        assert_eq!(m.matches("-->").count(), 1);
        assert_eq!(marked_state(&issue(&m), key).as_deref(), Some("unknown"));
        assert_eq!(
            marked_state(&issue(&m), "recover:ci.yml:mallory/shop:main"),
            None
        );
        assert_ne!(encode("a b"), encode("a%20b"));
    }
}
