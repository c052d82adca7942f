//! Runner I/O: the GitHub Actions contract for container actions, written
//! here rather than taken from a crate (see the README, "Design").
//!
//! Everything the program prints, every output and the step summary pass
//! through [`crate::output::secrets::redact`]. Outputs and the summary are collected
//! and written once at the end, so a failed run never leaves them
//! half-written.

use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::inputs::InputError;
use crate::output::{escape, secrets, shown};

/// GitHub refuses step summaries over 1 MiB.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Where the runner wants outputs and the step summary.
pub(crate) struct RunnerFiles {
    /// Inside GitHub Actions: workflow commands instead of plain text.
    pub actions: bool,
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
}

pub(crate) struct Runner {
    /// Inside GitHub Actions: workflow commands instead of plain text.
    actions: bool,
    output_file: Option<PathBuf>,
    summary_file: Option<PathBuf>,
    outputs: Vec<(String, String)>,
    summary: String,
}

impl Runner {
    /// The files are opened once now, so a bad path fails before anything
    /// happens.
    pub(crate) fn open(files: RunnerFiles) -> Result<Runner, InputError> {
        let RunnerFiles {
            actions,
            output_file,
            summary_file,
        } = files;
        for (name, path) in [
            ("GITHUB_OUTPUT", &output_file),
            ("GITHUB_STEP_SUMMARY or --summary-file", &summary_file),
        ] {
            if let Some(path) = path {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        InputError::new(
                            name,
                            format!(
                                "cannot write to {}: {e}; point it at a writable file",
                                path.display()
                            ),
                        )
                    })?;
            }
        }
        Ok(Runner {
            actions,
            output_file,
            summary_file,
            outputs: Vec::new(),
            summary: String::new(),
        })
    }

    /// Registers a secret and, on the runner, masks it in the job log before
    /// anything could print it.
    pub(crate) fn mask(&self, secret: &str) {
        for form in secrets::register(secret) {
            if self.actions {
                for line in form.lines().filter(|l| !l.trim().is_empty()) {
                    println!("::add-mask::{}", escape_data(line));
                }
            }
        }
    }

    pub(crate) fn info(&self, message: &str) {
        info_line(self.actions, message);
    }

    /// Inside GitHub Actions, rather than on a terminal.
    pub(crate) fn in_actions(&self) -> bool {
        self.actions
    }

    /// The log for other threads (the HTTP client's rate-limit notices).
    pub(crate) fn printer(&self) -> Printer {
        Printer {
            actions: self.actions,
        }
    }

    pub(crate) fn warning(&self, message: &str) {
        command_line(self.actions, "warning", None, message);
    }

    pub(crate) fn notice(&self, message: &str) {
        command_line(self.actions, "notice", None, message);
    }

    pub(crate) fn error(&self, title: &str, message: &str) {
        command_line(self.actions, "error", Some(title), message);
    }

    /// Starts a collapsible group in the job log; plain text elsewhere.
    pub(crate) fn group(&self, title: &str) {
        if self.actions {
            println!("{}", workflow_command("group", None, title));
        } else {
            eprintln!("── {} ──", terminal_line(title));
        }
    }

    pub(crate) fn end_group(&self) {
        if self.actions {
            println!("::endgroup::");
        }
    }

    /// Sets an output (written by [`Runner::finish`]). A later value for the
    /// same name replaces the earlier one.
    fn set_output(&mut self, name: &str, value: impl Into<String>) {
        let value = shown(&value.into());
        self.outputs.retain(|(n, _)| n != name);
        self.outputs.push((name.to_string(), value));
    }

    /// Sets a mode's outputs, all at once (written by [`Runner::finish`]).
    pub(crate) fn set_outputs(&mut self, outputs: Vec<(&str, String)>) {
        for (name, value) in outputs {
            self.set_output(name, value);
        }
    }

    pub(crate) fn append_summary(&mut self, markdown: &str) {
        self.summary.push_str(&shown(markdown));
    }

    /// Writes the outputs and the summary. Without `GITHUB_OUTPUT` (a
    /// laptop) the outputs are printed as `name: value` lines on stdout.
    pub(crate) fn finish(&mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        let mut text = String::new();
        for (name, value) in &self.outputs {
            match &self.output_file {
                Some(_) => text.push_str(&format_output(name, value, &new_delimiter())?),
                // On a terminal an empty output is noise.
                None if value.is_empty() => {}
                None => text.push_str(&format!("{name}: {value}\n")),
            }
        }
        match &self.output_file {
            Some(path) => append(path, &text)
                .with_context(|| format!("writing outputs to {}", path.display()))?,
            None => print!("{}", neutralise(&text)),
        }
        if let Some(path) = &self.summary_file {
            if !self.summary.is_empty() {
                let used = std::fs::metadata(path)
                    .map(|m| m.len() as usize)
                    .unwrap_or(0);
                let summary = fit_summary(&self.summary, SUMMARY_LIMIT.saturating_sub(used));
                append(path, &summary)
                    .with_context(|| format!("writing the step summary to {}", path.display()))?;
            }
        }
        self.outputs.clear();
        self.summary.clear();
        Ok(())
    }
}

/// The job log's plain lines and warnings, for threads that cannot borrow
/// the [`Runner`].
#[derive(Clone, Copy)]
pub(crate) struct Printer {
    actions: bool,
}

impl Printer {
    pub(crate) fn info(&self, message: &str) {
        info_line(self.actions, message);
    }

    pub(crate) fn warning(&self, message: &str) {
        command_line(self.actions, "warning", None, message);
    }
}

/// A status line: an indicatif spinner on a terminal, plain lines
/// elsewhere (in Actions stderr is a pipe and a spinner draws nothing).
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    /// The current message, and when a plain line was last printed.
    state: RefCell<(String, Instant)>,
}

/// In CI a line at least this often, so a long phase never looks stuck.
const HEARTBEAT: Duration = Duration::from_secs(25);

impl Progress {
    pub(crate) fn new(runner: &Runner) -> Progress {
        let bar = (!runner.actions).then(indicatif::ProgressBar::new_spinner);
        let bar = bar.filter(|b| !b.is_hidden());
        if let Some(b) = &bar {
            // indicatif redraws `{elapsed}` on every tick, so it runs even
            // while the message stays the same.
            // The prefix holds the lines shown under the status, if any.
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed}){prefix}")
            {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(120));
        }
        let now = Instant::now();
        Progress {
            bar,
            started: now,
            state: RefCell::new((String::new(), now)),
        }
    }

    /// A new status. On a terminal the previous one stays printed above the
    /// spinner, once; elsewhere one line with the elapsed time.
    pub(crate) fn update(&self, runner: &Runner, message: &str) {
        let message = neutralise(&shown(message));
        let mut state = self.state.borrow_mut();
        match &self.bar {
            Some(bar) => {
                if !state.0.is_empty() {
                    bar.println(&state.0);
                }
                bar.set_message(message.clone());
            }
            None => runner.info(&format!("{message} ({})", self.elapsed())),
        }
        *state = (message, Instant::now());
    }

    /// A line printed for good: above the spinner on a terminal.
    pub(crate) fn println(&self, runner: &Runner, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(terminal_line(line)),
            None => runner.info(line),
        }
    }

    /// Lines shown under the spinner, replacing the last ones (a terminal
    /// only; elsewhere there is no spinner to show them under).
    pub(crate) fn set_tail(&self, lines: &[String]) {
        if let Some(bar) = &self.bar {
            let tail: String = lines
                .iter()
                .map(|l| format!("\n  │ {}", terminal_line(l)))
                .collect();
            bar.set_prefix(tail);
        }
    }

    /// Nothing new: in CI, a heartbeat line when none was printed for a
    /// while (the spinner keeps time by itself).
    pub(crate) fn tick(&self, runner: &Runner) {
        let mut state = self.state.borrow_mut();
        if self.bar.is_some() || state.1.elapsed() < HEARTBEAT || state.0.is_empty() {
            return;
        }
        runner.info(&format!("{}: still waiting ({})", state.0, self.elapsed()));
        state.1 = Instant::now();
    }

    fn elapsed(&self) -> String {
        crate::output::human_duration(self.started.elapsed())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn command_line(actions: bool, name: &str, title: Option<&str>, message: &str) {
    if actions {
        // The runner shows annotations as plain text: Markdown would show
        // its brackets and stars (redacted first: dropping Markdown could
        // split a secret).
        let message = plain(&shown(message));
        println!("{}", workflow_command(name, title, &message));
    } else {
        let prefix = match title {
            Some(t) => format!("{name}: {t}: "),
            None => format!("{name}: "),
        };
        eprintln!("{}", terminal_line(&format!("{prefix}{message}")));
    }
}

fn info_line(actions: bool, message: &str) {
    if actions {
        println!("{}", neutralise(&shown(message)));
    } else {
        eprintln!("{}", terminal_line(message));
    }
}

/// A line for a terminal: [`shown`], Markdown made [`plain`], then
/// [`neutralise`]d last, since dropping Markdown could rebuild a command
/// (`` `::`error:: `` loses its backticks).
pub(crate) fn terminal_line(text: &str) -> String {
    neutralise(&plain(&shown(text)))
}

/// One workflow command line, `::name title=…::message`, from outside
/// text: [`shown`], with the legacy syntax disarmed even in the message (a
/// runner that does not know `name` reads the line for `##[` next), then
/// escaped as the runner unescapes it.
pub(crate) fn workflow_command(name: &str, title: Option<&str>, message: &str) -> String {
    let props = title
        .map(|t| format!(" title={}", escape_property(&disarm_legacy(&shown(t)))))
        .unwrap_or_default();
    format!(
        "::{name}{props}::{}",
        escape_data(&disarm_legacy(&shown(message)))
    )
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// Markdown meant for summaries, as plain text for a terminal: links become
/// `text (url)`, and bold and code markers go.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let link = rest[open..].find("](").and_then(|mid| {
            let close = rest[open + mid..].find(')')?;
            Some((open + mid, open + mid + close))
        });
        match link {
            Some((mid, close)) if !rest[open + 1..mid].contains(['[', '\n']) => {
                out.push_str(&rest[..open]);
                out.push_str(&rest[open + 1..mid]);
                out.push_str(" (");
                out.push_str(&rest[mid + 2..close]);
                out.push(')');
                rest = &rest[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    // A masked secret (`***`) stays as the runner would show it.
    out.split(secrets::MASK)
        .map(|part| part.replace("**", "").replace('`', ""))
        .collect::<Vec<_>>()
        .join(secrets::MASK)
}

/// Makes text safe to print where the runner reads workflow commands (it
/// reads them on stdout and stderr, line by line, and a lone CR ends a
/// line too, so it becomes a line break first). The runner's
/// `ActionCommand` obeys two syntaxes, which can only come from data here
/// (a job name, a server's answer):
/// - `::name::data` when the line starts with it after whitespace
///   (`TryParseV2`): such a line is printed behind a visible `⟫ `;
/// - the legacy `##[name]data` anywhere in the line (`TryParse`): every
///   `##[` is [`disarm_legacy`]d.
pub(crate) fn neutralise(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if !text.contains("::") && !text.contains(LEGACY) {
        return text;
    }
    text.split('\n')
        .map(|line| {
            let line = disarm_legacy(line);
            if line.trim_start().starts_with("::") {
                format!("⟫ {line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The legacy command prefix, obeyed anywhere in a line.
const LEGACY: &str = "##[";

/// `##[` becomes `##⟫[`: still readable, never a command. The mark is a
/// visible character on purpose: the runner looks for `##[` with a
/// culture-aware search that skips invisible characters, so a zero-width
/// one would not separate the three.
pub(crate) fn disarm_legacy(text: &str) -> String {
    text.replace(LEGACY, "##⟫[")
}

/// `%` first, then CR and LF, as the runner's `ActionCommand` unescapes them.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn new_delimiter() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ghadelimiter_{hex}")
}

/// The heredoc form `name<<DELIM`, refusing names and values that could
/// break out of it (CVE-2020-15228).
pub(crate) fn format_output(name: &str, value: &str, delimiter: &str) -> anyhow::Result<String> {
    if name.is_empty() || name.contains(['\r', '\n']) || name.contains(delimiter) {
        anyhow::bail!("output name {name:?} cannot be written to GITHUB_OUTPUT");
    }
    if value.contains(delimiter) {
        anyhow::bail!("output {name} contains the heredoc delimiter; not written");
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Cuts a summary to `budget` bytes on a line boundary, with a note.
pub(crate) fn fit_summary(summary: &str, budget: usize) -> String {
    escape::fit(
        summary,
        budget,
        "\n\n_(summary truncated: GitHub shows at most 1 MiB)_\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_escaping_follows_the_runner() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn data_never_starts_a_workflow_command() {
        for hostile in [
            "job\n::error::forged",
            "x\r::add-mask::abc",
            "  ::stop-commands::tok",
            "a\r\n##[set-output name=x;]y",
            "::warning title=a::b",
        ] {
            let safe = neutralise(hostile);
            for line in safe.lines() {
                let start = line.trim_start();
                assert!(
                    !start.starts_with("::") && !start.starts_with("##["),
                    "{hostile:?} gave {safe:?}"
                );
            }
            assert!(!safe.contains('\r'));
        }
        assert_eq!(neutralise("Deploy dep-1 is live"), "Deploy dep-1 is live");
        assert_eq!(neutralise("see a::b"), "see a::b");
    }

    #[test]
    fn legacy_commands_are_disarmed_anywhere_in_a_line() {
        for (hostile, safe) in [
            ("build ##[stop-commands]x", "build ##⟫[stop-commands]x"),
            ("x ##[add-mask]secret", "x ##⟫[add-mask]secret"),
            ("a ::warning::b", "a ::warning::b"),
            (
                "2026-11-29T10:00:02Z ##[error]Process completed",
                "2026-11-29T10:00:02Z ##⟫[error]Process completed",
            ),
            ("###[x] ##[##[y]", "###⟫[x] ##⟫[##⟫[y]"),
            (
                "ok\r  ::group::g ##[endgroup]",
                "ok\n⟫   ::group::g ##⟫[endgroup]",
            ),
        ] {
            let once = neutralise(hostile);
            assert_eq!(once, safe, "{hostile:?}");
            assert_eq!(
                neutralise(&once),
                once,
                "neutralising twice changes nothing"
            );
            assert!(!once.contains("##["));
        }
    }

    #[test]
    fn data_in_our_own_commands_stays_data() {
        assert_eq!(
            workflow_command("warning", Some("a:b,c"), "job x ##[add-mask]y\n::error::z"),
            "::warning title=a%3Ab%2Cc::job x ##⟫[add-mask]y%0A::error::z"
        );
        assert_eq!(
            workflow_command("group", None, "a\u{202E}b"),
            "::group::ab",
            "no bidi control"
        );
        // Markdown goes before the check: its backticks cannot hide a command.
        assert_eq!(terminal_line("`::`error::x"), "⟫ ::error::x");
        assert_eq!(terminal_line("`##`[add-mask]x"), "##⟫[add-mask]x");
    }

    #[test]
    fn terminals_get_plain_text() {
        assert_eq!(
            plain("Resume it in the [dashboard](https://x/y) and run `deploy` **again**."),
            "Resume it in the dashboard (https://x/y) and run deploy again."
        );
        assert_eq!(plain("a [b] c (d)"), "a [b] c (d)");
        assert_eq!(
            plain("would POST https://x/deploy/srv-a?key=***; **then** wait"),
            "would POST https://x/deploy/srv-a?key=***; then wait"
        );
    }

    #[test]
    fn heredoc_output() {
        assert_eq!(
            format_output("deploy-id", "dep-1\nline2", "D").unwrap(),
            "deploy-id<<D\ndep-1\nline2\nD\n"
        );
        assert!(format_output("x", "has D inside", "D").is_err());
        assert!(format_output("a\nb", "v", "D").is_err());
    }

    #[test]
    fn summary_is_cut_on_a_line() {
        let text = "line one\nline two\nline three\n".repeat(1000);
        let cut = fit_summary(&text, 500);
        assert!(cut.len() <= 500);
        assert!(cut.ends_with("1 MiB)_\n"));
        assert_eq!(fit_summary("short", 500), "short");
    }

    #[test]
    fn delimiters_are_random() {
        assert_ne!(new_delimiter(), new_delimiter());
    }
}
