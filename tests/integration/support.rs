//! Runs the real binary the way the Actions runner does (INPUT_* variables,
//! GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files) and reads back what it wrote
//! with the runner's own rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_render-pilot");

pub struct Rp {
    command: Command,
    dir: TempDir,
    actions: bool,
    /// Every secret this run was given: checked after every run.
    secrets: Vec<String>,
}

const SECRET_INPUTS: [&str; 6] = [
    "deploy-hook-url",
    "render-api-key",
    "github-token",
    "RENDER_DEPLOY_HOOK",
    "RENDER_API_KEY",
    "GITHUB_TOKEN",
];

/// A run inside "GitHub Actions": workflow commands and file commands.
pub fn rp() -> Rp {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary"))
        .env("RENDER_PILOT_POLL_MS", "150")
        .env("RENDER_PILOT_TEST_FAST", "1")
        .current_dir(dir.path());
    // The pnpm that recover runs may be corepack's (./scripts/test sets it
    // up), which needs its cache and the machine's registry settings; the
    // product passes these through to pnpm too.
    for (name, value) in std::env::vars() {
        let pass = name.starts_with("COREPACK_")
            || name.to_ascii_lowercase().ends_with("_proxy")
            || [
                "NODE_EXTRA_CA_CERTS",
                "SSL_CERT_FILE",
                "npm_config_registry",
            ]
            .contains(&name.as_str());
        if pass {
            command.env(name, value);
        }
    }
    // Recover's pnpm releases are in corepack's cache (./scripts/test puts
    // them there): a test never downloads one.
    command.env("COREPACK_ENABLE_NETWORK", "0");
    Rp {
        command,
        dir,
        actions: true,
        secrets: vec![render_sim::API_KEY.into(), render_sim::GITHUB_TOKEN.into()],
    }
}

/// A run on "a laptop": no runner variables at all.
pub fn laptop() -> Rp {
    let mut rp = rp();
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "CI",
    ] {
        rp.command.env_remove(var);
    }
    rp.actions = false;
    rp
}

impl Rp {
    /// An action input, named as in action.yml.
    pub fn input(mut self, name: &str, value: &str) -> Rp {
        self.remember(name, value);
        self.command
            .env(format!("INPUT_{}", name.to_uppercase()), value);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Rp {
        self.remember(name, &value.as_ref().to_string_lossy());
        self.command.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: &str) -> Rp {
        self.command.env_remove(name);
        self
    }

    /// Secrets, and the key inside a hook URL, are remembered for the
    /// leak check every run ends with.
    fn remember(&mut self, name: &str, value: &str) {
        if !SECRET_INPUTS.contains(&name) || value.trim().len() < 4 {
            return;
        }
        self.secrets.push(value.to_string());
        if let Some(key) = value.split("key=").nth(1) {
            let key = key.split(['&', '\n', ' ']).next().unwrap_or_default();
            if key.len() >= 4 {
                self.secrets.push(key.to_string());
            }
        }
    }

    pub fn args(mut self, args: &[&str]) -> Rp {
        self.command.args(args);
        self
    }

    /// Runs `program` with this run's environment instead of render-pilot
    /// directly (`script`, to give render-pilot a terminal).
    pub fn run_program(mut self, program: &str, args: &[&str]) -> Outcome {
        let mut command = Command::new(program);
        command.env_clear().args(args);
        for (name, value) in self.command.get_envs() {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        if let Some(dir) = self.command.get_current_dir() {
            command.current_dir(dir);
        }
        self.command = command;
        self.run()
    }

    pub fn run(mut self) -> Outcome {
        let out = self.command.output().expect("running render-pilot");
        let secrets = std::mem::take(&mut self.secrets);
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let raw_outputs = read("output");
        let outputs = if self.actions {
            parse_file_command(&raw_outputs).unwrap_or_else(|e| {
                panic!("the runner would reject GITHUB_OUTPUT: {e}\n{raw_outputs}")
            })
        } else {
            BTreeMap::new()
        };
        let outcome = Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            raw_outputs,
            outputs,
            summary: read("summary"),
            dir: self.dir,
            secrets,
        };
        assert!(
            !outcome.stderr.contains("panicked"),
            "render-pilot panicked:\n{}",
            outcome.stderr
        );
        let secrets: Vec<&str> = outcome.secrets.iter().map(String::as_str).collect();
        outcome.assert_no_secret(&secrets);
        outcome.assert_only_own_commands(self.actions);
        outcome
    }
}

pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub raw_outputs: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub dir: TempDir,
    /// Every secret the run was given, for checks of where else it could
    /// have gone (issues, commits).
    pub secrets: Vec<String>,
}

impl Outcome {
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).unwrap_or_else(|| {
            panic!(
                "output {name} not set; outputs: {:?}\n{}",
                self.outputs,
                self.log()
            )
        })
    }

    pub fn log(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}",
            self.stdout, self.stderr, self.summary
        )
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code\n{}", self.log());
        self
    }

    pub fn assert_says(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?} in the log\n{}",
            self.log()
        );
        self
    }

    /// Every byte the binary wrote, except the `::add-mask::` commands,
    /// which exist to carry secrets to the runner's masker.
    pub fn written(&self) -> String {
        let visible = |text: &str| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("::add-mask::"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut all = format!(
            "{}\n{}\n{}\n{}",
            visible(&self.stdout),
            visible(&self.stderr),
            self.raw_outputs,
            self.summary
        );
        for file in walk(self.dir.path()) {
            if let Ok(text) = std::fs::read(&file) {
                all.push_str(&String::from_utf8_lossy(&text));
            }
        }
        all
    }

    pub fn assert_no_secret(&self, secrets: &[&str]) -> &Self {
        assert_no_secret_in(&self.written(), secrets);
        self
    }

    /// The runner obeys only the commands render-pilot issues: in Actions,
    /// `::name::` lines of its own few kinds; on a terminal, none. Anything
    /// else (a legacy `##[…]` anywhere, `stop-commands`, a forged
    /// `::set-output`) came from data.
    pub fn assert_only_own_commands(&self, actions: bool) -> &Self {
        const OWN: [&str; 6] = [
            "add-mask", "error", "warning", "notice", "group", "endgroup",
        ];
        for (stream, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            for command in runner_commands(text) {
                assert!(
                    actions && !command.legacy && OWN.contains(&command.name.as_str()),
                    "the runner would obey {command:?} on {stream}\n{}",
                    self.log()
                );
            }
        }
        self
    }
}

/// A workflow command as GitHub's runner reads it from one line of a
/// step's output.
#[derive(Debug, PartialEq, Eq)]
pub struct RunnerCommand {
    /// Lower-cased: the runner's names ignore case.
    pub name: String,
    /// `##[name]data` rather than `::name::data`.
    pub legacy: bool,
    pub data: String,
}

/// The commands the runner would find in `output`, by its rules
/// (actions/runner `OutputManager`, `ActionCommand.TryParseV2` then
/// `TryParse`): a line ends at LF, CR or CRLF; `::name props::data` counts
/// when the line starts with it after whitespace; otherwise the line's
/// first `##[`, up to the next `]`, is `##[name props]data`. Every name
/// counts, registered or not: `stop-commands` registers new ones.
pub fn runner_commands(output: &str) -> Vec<RunnerCommand> {
    let command = |info: &str, legacy: bool, data: &str| RunnerCommand {
        name: info.split(' ').next().unwrap_or_default().to_lowercase(),
        legacy,
        data: data.to_string(),
    };
    let mut found = Vec::new();
    for line in output.replace("\r\n", "\n").split(['\r', '\n']) {
        let start = line.trim_start();
        if let Some((info, data)) = start.strip_prefix("::").and_then(|r| r.split_once("::")) {
            found.push(command(info, false, data));
        } else if let Some((_, rest)) = line.split_once("##[") {
            if let Some((info, data)) = rest.split_once(']') {
                found.push(command(info, true, data));
            }
        }
    }
    found
}

#[test]
fn the_runner_rules_find_what_the_runner_obeys() {
    let found = |text: &str| {
        runner_commands(text)
            .into_iter()
            .map(|c| (c.name, c.legacy, c.data))
            .collect::<Vec<_>>()
    };
    let c = |name: &str, legacy: bool, data: &str| (name.to_string(), legacy, data.to_string());
    assert_eq!(
        found("build ##[stop-commands]x"),
        [c("stop-commands", true, "x")]
    );
    assert_eq!(
        found("x ##[add-mask]secret"),
        [c("add-mask", true, "secret")]
    );
    assert_eq!(found("a ::warning::b"), [], "v2 only at a line's start");
    assert_eq!(
        found("  ::Error title=t::m\rok\r\n::group::g"),
        [c("error", false, "m"), c("group", false, "g")]
    );
    assert_eq!(
        found("::warning::says ##[add-mask]x"),
        [c("warning", false, "says ##[add-mask]x")],
        "a v2 command's data is data"
    );
    assert_eq!(found("##[ no end"), []);
    assert_eq!(found("⟫ ::error::x and ##⟫[add-mask]y"), []);
}

/// Fails, showing all of `text`, unless it contains `part`.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} is missing from:\n{text}");
}

/// Fails when a secret, its URL-encoded or its trimmed form, appears.
pub fn assert_no_secret_in(text: &str, secrets: &[&str]) {
    for secret in secrets {
        for form in [
            secret.to_string(),
            secret.trim().to_string(),
            encode(secret.trim()),
        ] {
            if form.len() >= 4 {
                assert!(!text.contains(&form), "secret {form:?} leaked in:\n{text}");
            }
        }
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "objects") {
            continue;
        }
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The runner's `FileCommandManager` rules for GITHUB_OUTPUT.
pub fn parse_file_command(text: &str) -> Result<BTreeMap<String, String>, String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut values = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let name = &line[..e];
                if name.is_empty() {
                    return Err(format!("Invalid format '{line}'. Name must not be empty"));
                }
                values.insert(name.to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("Invalid format '{line}'. Name must not be empty and delimiter must not be empty"));
                }
                let start = i;
                let end = (start..lines.len())
                    .find(|&j| lines[j] == delimiter)
                    .ok_or_else(|| {
                        format!("Invalid value. Matching delimiter not found '{delimiter}'")
                    })?;
                if end + 1 == lines.len() {
                    return Err("Invalid value. EOF marker missing new line.".into());
                }
                values.insert(name.to_string(), lines[start..end].join("\n"));
                i = end + 1;
            }
            _ => return Err(format!("Invalid format '{line}'")),
        }
    }
    Ok(values)
}

#[test]
fn the_runner_rules_reject_what_the_runner_rejects() {
    assert!(parse_file_command("a<<EOF\nx\n").is_err());
    assert!(parse_file_command("a<<EOF\nx\nEOF").is_err());
    assert!(parse_file_command("novalue\n").is_err());
    let ok = parse_file_command("a=1\nb<<D\nx\ny\nD\n\nc=\n").unwrap();
    assert_eq!(ok["a"], "1");
    assert_eq!(ok["b"], "x\ny");
    assert_eq!(ok["c"], "");
}

/// A length as render-pilot writes it: `45s`, `3m 05s`, `1h 02m`.
macro_rules! human_duration {
    () => {
        r"(?:\d+h \d\dm|\d+m \d\ds|\d+s)"
    };
}

/// What changes from one run of the same scenario to the next in a step
/// summary, each with the placeholder it becomes, in the order applied:
/// ids the simulator makes, its port, times of day, commit SHAs (after the
/// gantt charts' times in milliseconds, which are hex digits too), and the
/// lengths render-pilot measures with the clock. The phases of a deploy and
/// the lengths of earlier ones are Render's records, which the simulator
/// keeps to the millisecond: they stay.
const SUMMARY_FILTERS: [(&str, &str); 11] = [
    (r"\bsrv-[0-9a-z]+", "srv-[id]"),
    (r"\bdep-[0-9a-z]+", "dep-[id]"),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
    (
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z| UTC)",
        "[time]",
    ),
    (r"\b\d{13}\b", "[epoch ms]"),
    (r"\b[0-9a-f]{7,40}\b", "[sha]"),
    // Deploy: how long render-pilot waited, the table's last column.
    (
        concat!(r"(?m)(\| `[a-z_]+` \| )", human_duration!(), r"( \|)$"),
        "${1}[duration]${2}",
    ),
    // Monitor: how long the check took, how long ago each deploy was,
    // and how fast each service answered.
    (
        concat!(r"(?m)in ", human_duration!(), r"\.$"),
        "in [duration].",
    ),
    (concat!(human_duration!(), " ago"), "[duration] ago"),
    (r"answered in \d+ ms", "answered in [ms] ms"),
    // Monitor: the response-time chart orders the services by how fast
    // they answered.
    (
        "(?s)(title \"Response time \\(ms\\)\"\n).*?(\n```)",
        "${1}    [the services' response times, slowest first]${2}",
    ),
];

/// insta's settings for a step summary: [`SUMMARY_FILTERS`] applied, and
/// every summary's snapshot in tests/integration/snapshots/, whichever
/// module holds it. Their charts, with placeholders for times, are not
/// Mermaid any more: scripts/mermaid-check and mermaid-draw read src's
/// snapshots only, where the same charts are whole.
pub fn summary_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_filters(SUMMARY_FILTERS);
    settings.set_omit_expression(true);
    settings.set_snapshot_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/snapshots"
    ));
    settings
}

/// Holds a step summary, as users read it, in a snapshot named after the
/// calling module and `$name`: a change in what users read shows in
/// review. A macro, so that the snapshot takes the caller's module name.
macro_rules! assert_summary {
    ($name:expr, $summary:expr) => {
        $crate::support::summary_settings().bind(|| insta::assert_snapshot!($name, $summary))
    };
}
pub(crate) use assert_summary;
