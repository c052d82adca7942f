//! A deploy's build log on Render: the window of its service's log that
//! is the deploy's (Render's logs carry no deploy label), its lines as the
//! job log may show them (capped), Render's own lines that mark the end of
//! a phase, and why a failed deploy failed, read from it.

use jiff::{SignedDuration, Timestamp};

use crate::clients::render::{around, Deploy, LogEntry, LogFilter, RenderClient, RenderError};
use crate::ops::diagnose::{Explainer, Explanation};
use crate::output::escape::strip_escapes;

mod stream;

pub(crate) use stream::{Follower, Heard};

/// The most lines of one build log the job log shows…
pub(crate) const MAX_LINES: usize = 2_000;
/// …and the most bytes.
pub(crate) const MAX_BYTES: usize = 256 * 1024;
/// The longest line shown; a longer one is cut.
const MAX_LINE: usize = 2_000;

/// A log line as the job log may show it: no terminal escape (colours,
/// OSC-8 hyperlinks, titles) or control character, at most [`MAX_LINE`]
/// bytes. The runner's writer redacts it and disarms workflow commands.
pub(crate) fn shown_line(message: &str) -> String {
    let line = strip_escapes(message.trim_end());
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut cut = MAX_LINE;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &line[..cut])
}

/// How much of a build log the job log has shown, and how much it left
/// to the dashboard.
#[derive(Debug, Default)]
pub(crate) struct Cap {
    lines: usize,
    bytes: usize,
    more: usize,
}

impl Cap {
    /// Whether `line` is shown: yes until [`MAX_LINES`] lines or
    /// [`MAX_BYTES`] bytes were; the rest are counted.
    pub(crate) fn admit(&mut self, line: &str) -> bool {
        if self.more > 0 || self.lines >= MAX_LINES || self.bytes + line.len() > MAX_BYTES {
            self.more += 1;
            return false;
        }
        self.lines += 1;
        self.bytes += line.len() + 1;
        true
    }

    /// The line that says how many were not shown, and where they are.
    pub(crate) fn more(&self, link: &str) -> Option<String> {
        (self.more > 0).then(|| format!("… {} more lines in the dashboard: {link}", self.more))
    }
}

/// Render's own lines that end a phase: the moment to read the deploy's
/// status. Their wording is evidence, never a verdict: a build script can
/// print anything, and the status from the API decides.
const MARKS: [&str; 8] = [
    "Build successful",
    "Build failed",
    "Deploying",
    "Your service is live",
    "Exited with status",
    "Pre-deploy failed",
    "Deploy failed",
    "Deploy canceled",
];

/// Whether `message` is Render's line for the end of a phase.
pub(crate) fn is_mark(message: &str) -> bool {
    strip_escapes(message)
        .trim_start()
        .strip_prefix("==> ")
        .is_some_and(|rest| MARKS.iter().any(|m| rest.starts_with(m)))
}

/// Render writes the lines of one moment together (`Build successful`,
/// then `Deploying...`): those within this of the last are one moment.
const ONE_MOMENT: SignedDuration = SignedDuration::from_millis(250);

/// The moments Render's lines marked: one read for each, not one a line.
#[derive(Debug, Default)]
pub(crate) struct Moments {
    last: Option<Timestamp>,
}

impl Moments {
    /// Whether a mark written at `at` is a moment of its own.
    pub(crate) fn is_new(&mut self, at: Timestamp) -> bool {
        let new = self
            .last
            .is_none_or(|last| at.duration_since(last).abs() > ONE_MOMENT);
        if new {
            self.last = Some(at);
        }
        new
    }
}

/// Pages read to explain a failure when no stream carried the log: its
/// newest 500 lines, where the failure is.
const FAILURE_PAGES: usize = 5;

/// The deploy's window of its service's build log, from when it started
/// (else was created, else `fallback`) to when it finished, a second
/// either side; `None` when no start is known.
pub(crate) fn deploy_window(
    owner: &str,
    service: &str,
    deploy: &Deploy,
    fallback: Option<Timestamp>,
) -> Option<LogFilter> {
    let time = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    let start = time(&deploy.started_at)
        .or(time(&deploy.created_at))
        .or(fallback)?;
    let (from, to) = around(start, time(&deploy.finished_at));
    Some(LogFilter {
        owner: owner.to_string(),
        service: service.to_string(),
        from,
        to,
    })
}

/// Feeds each line of the entries (a message may hold several).
pub(crate) fn feed(explainer: &mut Explainer, entries: &[LogEntry]) {
    for entry in entries {
        entry.message.lines().for_each(|l| explainer.feed(l));
    }
}

/// Why a deploy failed, from the newest lines of its build log.
pub(crate) fn explain_window(
    render: &RenderClient,
    filter: &LogFilter,
) -> Result<Explanation, RenderError> {
    let entries = render.recent_logs(filter, FAILURE_PAGES)?;
    let mut explainer = Explainer::default();
    feed(&mut explainer, &entries);
    Ok(explainer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_marks_the_end_of_phases_and_a_script_cannot_pass_for_it_mid_line() {
        for line in [
            "==> Build successful 🎉",
            "==> Deploying...",
            "==> Your service is live 🎉",
            "==> Build failed 😞",
            "==> Exited with status 1",
            "\u{1b}[32m==> Build successful 🎉\u{1b}[0m",
        ] {
            assert!(is_mark(line), "{line}");
        }
        for line in [
            "==> Cloning from https://github.com/acme/shop",
            "==> Uploading build...",
            "echo ==> Build failed",
            "Build failed",
        ] {
            assert!(!is_mark(line), "{line}");
        }
    }

    #[test]
    fn lines_of_one_moment_are_one_moment() {
        let at = |ms: i64| Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap();
        let mut moments = Moments::default();
        assert!(moments.is_new(at(0)));
        assert!(
            !moments.is_new(at(1)),
            "Deploying... after Build successful"
        );
        assert!(moments.is_new(at(4_000)), "live, seconds later");
        assert!(!moments.is_new(at(4_200)));
    }

    #[test]
    fn the_job_log_shows_lines_up_to_a_cap_and_counts_the_rest() {
        let mut cap = Cap::default();
        let shown = (0..MAX_LINES + 5)
            .filter(|i| cap.admit(&format!("line {i}")))
            .count();
        assert_eq!(shown, MAX_LINES);
        assert_eq!(
            cap.more("https://dashboard.render.com/web/srv-a/deploys/dep-b").as_deref(),
            Some("… 5 more lines in the dashboard: https://dashboard.render.com/web/srv-a/deploys/dep-b")
        );
        let mut cap = Cap::default();
        let long = "x".repeat(MAX_LINE);
        let shown = (0..200).filter(|_| cap.admit(&long)).count();
        assert_eq!(shown, MAX_BYTES / (MAX_LINE + 1), "the bytes cap");
        assert!(!cap.admit("short"), "once capped, capped");
        assert_eq!(Cap::default().more("x"), None);
    }

    #[test]
    fn a_shown_line_has_no_escape_and_a_bounded_length() {
        assert_eq!(
            shown_line("\u{1b}]8;;https://evil.example\u{7}docs\u{1b}]8;;\u{7} and \u{1b}[31mred\u{1b}[0m\r\n"),
            "docs and red"
        );
        let long = shown_line(&"é".repeat(MAX_LINE));
        assert!(long.len() <= MAX_LINE + '…'.len_utf8() && long.ends_with('…'));
    }
}
