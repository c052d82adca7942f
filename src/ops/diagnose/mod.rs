//! Log diagnosis: from a failed job's log to a list of causes, each with the
//! lines that prove it. Pure and single-pass, so a 50 MB log takes well
//! under a second. Matches stable codes (`ERR_PNPM_*`, git's `[rejected]`
//! reasons, curl exit codes, Render statuses), never prose that changes
//! between versions.

use std::collections::VecDeque;

use crate::output::escape::{code, escape_inline};
use crate::output::secrets::redact;

mod signatures;
mod steps;

use signatures::match_line;
pub use steps::StepReader;
pub(crate) use steps::{looks_like_error, FailedStep};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// pnpm-lock.yaml is out of date, missing or broken: regenerate it.
    Lockfile {
        code: String,
    },
    /// pnpm's version does not fit the lockfile or `packageManager`.
    PnpmVersion {
        code: String,
    },
    /// A push lost a race (fetch first, non-fast-forward).
    PushRace,
    /// The server refused a push (protection, permissions): not ours to fix.
    PushRejected {
        reason: String,
    },
    /// Calling the deploy hook failed.
    DeployHook {
        problem: String,
    },
    /// A Render deploy ended in a failure status.
    DeployFailed {
        status: String,
        deploy: Option<String>,
    },
    /// A deploy went live and then failed its health check.
    DeployUnhealthy {
        deploy: Option<String>,
    },
    /// A network or service hiccup that a re-run may pass.
    Transient {
        what: String,
    },
    /// The build imports a module it cannot find.
    MissingModule {
        module: String,
    },
    /// The build or the service ran out of memory.
    OutOfMemory,
    /// Render's own line: the command exited with this status.
    ExitCode {
        code: String,
    },
    Unknown,
}

impl Cause {
    pub fn name(&self) -> &'static str {
        match self {
            Cause::Lockfile { .. } => "lockfile",
            Cause::PnpmVersion { .. } => "pnpm-version",
            Cause::PushRace => "push-race",
            Cause::PushRejected { .. } => "push-rejected",
            Cause::DeployHook { .. } => "deploy-hook",
            Cause::DeployFailed { .. } => "deploy-failed",
            Cause::DeployUnhealthy { .. } => "deploy-unhealthy",
            Cause::Transient { .. } => "transient",
            Cause::MissingModule { .. } => "missing-module",
            Cause::OutOfMemory => "out-of-memory",
            Cause::ExitCode { .. } => "exit-code",
            Cause::Unknown => "unknown",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Cause::Lockfile { code } => {
                format!("pnpm-lock.yaml does not match package.json ({code})")
            }
            Cause::PnpmVersion { code } => {
                format!("the pnpm version does not fit the lockfile or packageManager ({code})")
            }
            Cause::PushRace => "a git push was rejected because someone pushed first".into(),
            Cause::PushRejected { reason } => format!("the git server refused a push ({reason})"),
            Cause::DeployHook { problem } => format!("the deploy hook call failed: {problem}"),
            Cause::DeployFailed { status, deploy } => format!(
                "a Render deploy{} ended {status}",
                deploy
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            Cause::DeployUnhealthy { deploy } => format!(
                "a Render deploy{} went live and failed its health check",
                deploy
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            Cause::Transient { what } => format!("a transient failure ({what})"),
            Cause::MissingModule { module } => format!("the build cannot find module {module}"),
            Cause::OutOfMemory => "the build or the service ran out of memory".into(),
            Cause::ExitCode { code } => format!("a command exited with status {code}"),
            Cause::Unknown => "no known failure signature".into(),
        }
    }

    /// Why a Render deploy failed and what to do, in one line of
    /// Markdown (text from the log is in code spans), for the summary and,
    /// made plain, the annotation of a failed deploy.
    pub fn remedy(&self) -> String {
        match self {
            Cause::Lockfile { code } if code == "ERR_PNPM_OUTDATED_LOCKFILE" => {
                "pnpm-lock.yaml is out of date with package.json: run recover's lockfile fix, or `pnpm install` and commit".into()
            }
            Cause::Lockfile { code } => format!(
                "pnpm-lock.yaml is missing or broken ({code}): run recover's lockfile fix, or `pnpm install` and commit"
            ),
            Cause::PnpmVersion { code } => format!(
                "the pnpm version does not fit the lockfile ({code}): pin it in package.json's packageManager"
            ),
            Cause::MissingModule { module } => format!(
                "the build cannot find module {}: add it to package.json (or fix the import path) and commit",
                code(module)
            ),
            Cause::OutOfMemory => "the build ran out of memory: lower its memory use (NODE_OPTIONS=--max-old-space-size) or choose a larger build plan".into(),
            Cause::ExitCode { code } => format!(
                "a command exited with status {code}: the lines quoted in the summary show why"
            ),
            other => escape_inline(&other.describe()),
        }
    }

    /// Render's exit line says less than any other cause that names why.
    fn specific(&self) -> bool {
        !matches!(
            self,
            Cause::ExitCode { .. } | Cause::DeployFailed { .. } | Cause::Unknown
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub cause: Cause,
    pub evidence: Vec<String>,
}

const EVIDENCE_PER_CAUSE: usize = 4;
const TAIL_LINES: usize = 12;
const LINE_LIMIT: usize = 400;

/// Feeds log lines one at a time; keeps only evidence and a short tail.
#[derive(Default)]
pub(crate) struct Diagnoser {
    findings: Vec<Finding>,
    tail: VecDeque<String>,
    errors: VecDeque<String>,
    mentions_render: bool,
}

impl Diagnoser {
    pub(crate) fn feed(&mut self, raw: &str) {
        let line = clean_line(raw);
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        if !self.mentions_render
            && (line.contains("render.com")
                || line.contains("RENDER_")
                || line.contains("render-pilot"))
        {
            self.mentions_render = true;
        }
        if let Some(cause) = match_line(line) {
            self.add(cause, line);
        }
        if looks_like_error(line) {
            push_bounded(&mut self.errors, line, TAIL_LINES);
        }
        push_bounded(&mut self.tail, line, TAIL_LINES);
    }

    fn add(&mut self, cause: Cause, line: &str) {
        let evidence = clip_log_line(&redact(line));
        match self
            .findings
            .iter_mut()
            .find(|f| f.cause.name() == cause.name())
        {
            Some(f) if f.evidence.len() < EVIDENCE_PER_CAUSE && !f.evidence.contains(&evidence) => {
                f.evidence.push(evidence)
            }
            Some(_) => {}
            None => self.findings.push(Finding {
                cause,
                evidence: vec![evidence],
            }),
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Finding> {
        // curl's exit codes only mean a deploy hook when the log is about
        // Render at all.
        if !self.mentions_render {
            self.findings.retain(|f| !matches!(&f.cause, Cause::DeployHook { problem } if problem.starts_with("curl")));
        }
        if self.findings.is_empty() {
            let lines = if self.errors.is_empty() {
                self.tail
            } else {
                self.errors
            };
            self.findings.push(Finding {
                cause: Cause::Unknown,
                evidence: lines
                    .into_iter()
                    .map(|l| clip_log_line(&redact(&l)))
                    .collect(),
            });
        }
        self.findings
    }
}

/// The most lines a failure quotes when they match a signature.
const QUOTE_MATCHED: usize = 12;
/// The last lines a failure quotes when none says why.
pub(crate) const QUOTE_TAIL: usize = 30;

/// Why a build or a deploy failed, from its log: the causes its lines
/// show, the most telling first, and the lines to quote for a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    pub causes: Vec<Cause>,
    /// The lines that match a signature that names why; else the last
    /// [`QUOTE_TAIL`] lines. Cleaned of escapes, cut and redacted.
    pub lines: Vec<String>,
}

impl Explanation {
    /// The cause to name in one line, when one says why.
    pub fn cause(&self) -> Option<&Cause> {
        self.causes.first().filter(|c| c.specific())
    }
}

/// Feeds a Render log line by line (a 10,000-line build log too): keeps
/// the causes, the lines that show them and the last lines; nothing more.
#[derive(Default)]
pub(crate) struct Explainer {
    causes: Vec<Cause>,
    matched: Vec<String>,
    tail: VecDeque<String>,
}

impl Explainer {
    pub(crate) fn feed(&mut self, raw: &str) {
        let line = clean_line(raw);
        let line = line.trim_end();
        if line.trim().is_empty() {
            return;
        }
        let shown = clip_log_line(&redact(line));
        if let Some(cause) = match_line(line) {
            if cause.specific()
                && self.matched.len() < QUOTE_MATCHED
                && !self.matched.contains(&shown)
            {
                self.matched.push(shown.clone());
            }
            if !self.causes.iter().any(|c| c.name() == cause.name()) {
                self.causes.push(cause);
            }
        }
        push_bounded(&mut self.tail, &shown, QUOTE_TAIL);
    }

    pub(crate) fn finish(mut self) -> Explanation {
        self.causes.sort_by_key(|c| !c.specific());
        let lines = if self.matched.is_empty() {
            self.tail.into()
        } else {
            self.matched
        };
        Explanation {
            causes: self.causes,
            lines,
        }
    }
}

/// Explains a whole log at once.
pub fn explain<'a>(lines: impl IntoIterator<Item = &'a str>) -> Explanation {
    let mut explainer = Explainer::default();
    lines.into_iter().for_each(|l| explainer.feed(l));
    explainer.finish()
}

/// Appends `line`, and returns the oldest line when it had to go.
fn push_bounded(queue: &mut VecDeque<String>, line: &str, max: usize) -> Option<String> {
    let dropped = (queue.len() == max).then(|| queue.pop_front()).flatten();
    queue.push_back(line.to_string());
    dropped
}

/// A log line cut to `LINE_LIMIT` bytes: logs may hold megabyte-long lines.
fn clip_log_line(line: &str) -> String {
    if line.len() <= LINE_LIMIT {
        return line.to_string();
    }
    let mut cut = LINE_LIMIT;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &line[..cut])
}

/// Diagnoses a whole log.
pub fn diagnose(log: &str) -> Vec<Finding> {
    let mut d = Diagnoser::default();
    log.lines().for_each(|l| d.feed(l));
    d.finish()
}

/// Drops the runner's ISO-8601 timestamp prefix, colour codes and every
/// other terminal escape.
pub(crate) fn clean_line(line: &str) -> String {
    let bytes = line.as_bytes();
    let stamped = bytes.len() > 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[..4].iter().all(u8::is_ascii_digit);
    let line = match (stamped, line.find("Z ")) {
        (true, Some(z)) if z < 40 => &line[z + 2..],
        _ => line,
    };
    crate::output::escape::strip_escapes(line)
}

#[cfg(test)]
mod tests {
    use super::steps::STEP_TAIL;
    use super::*;

    fn names(log: &str) -> Vec<&'static str> {
        diagnose(log).iter().map(|f| f.cause.name()).collect()
    }

    const PNPM_10: &str = "2026-11-29T10:00:01.1234567Z \u{1b}[31m ERR_PNPM_OUTDATED_LOCKFILE\u{1b}[39m  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json

Note that in CI environments this setting is true by default. If you still need to run install in such cases, use \"pnpm install --no-frozen-lockfile\"

  Failure reason:
  specifiers in the lockfile don't match specifiers in package.json:
* 1 dependencies were added: libb@file:../libb
##[error]Process completed with exit code 1.";

    const PNPM_12: &str = "Error: ERR_PNPM_OUTDATED_LOCKFILE
  × installing dependencies
  ╰─▶ Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up
      to date with package.json.
        Failure reason:
        specifiers in the lockfile don't match specifiers in package.json:
      * in importers[\".\"]:
      * 1 dependency was added: libb@file:../libb
  help: Regenerate the lockfile with `pnpm install --lockfile-only` so that
        pnpm-lock.yaml reflects the current package.json, then re-run `pnpm
        install --frozen-lockfile`.";

    #[test]
    fn pnpm_lockfile_errors_old_and_new_formats() {
        let found = diagnose(PNPM_10);
        assert_eq!(
            found[0].cause,
            Cause::Lockfile {
                code: "ERR_PNPM_OUTDATED_LOCKFILE".into()
            }
        );
        assert_eq!(
            found[0].evidence[0],
            " ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json"
        );
        assert_eq!(
            diagnose(PNPM_12)[0].cause,
            Cause::Lockfile {
                code: "ERR_PNPM_OUTDATED_LOCKFILE".into()
            }
        );
        for code in [
            "ERR_PNPM_NO_LOCKFILE",
            "ERR_PNPM_LOCKFILE_CONFIG_MISMATCH",
            "ERR_PNPM_BROKEN_LOCKFILE",
            "ERR_PNPM_LOCKFILE_MISSING_DEPENDENCY",
        ] {
            assert_eq!(
                names(&format!(" {code}  something")),
                ["lockfile"],
                "{code}"
            );
        }
        assert_eq!(names(" ERR_PNPM_LOCKFILE_BREAKING_CHANGE  Lockfile /x/pnpm-lock.yaml not compatible with current pnpm"), ["pnpm-version"]);
        assert_eq!(names(" ERR_PNPM_BAD_PM_VERSION  This project is configured to use v8.15.9 of pnpm. Your current pnpm is v9.15.9"), ["pnpm-version"]);
    }

    #[test]
    fn git_push_rejections() {
        let race = "To github.com:acme/shop.git\n ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs to 'github.com:acme/shop.git'";
        assert_eq!(names(race), ["push-race"]);
        assert_eq!(
            names(" ! [rejected]        main -> main (non-fast-forward)"),
            ["push-race"]
        );
        assert_eq!(
            names("!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)"),
            ["push-race"]
        );
        let protected = " ! [remote rejected] main -> main (protected branch hook declined)\nremote: error: GH006: Protected branch update failed for refs/heads/main.";
        let found = diagnose(protected);
        assert_eq!(
            found[0].cause,
            Cause::PushRejected {
                reason: "protected branch hook declined".into()
            }
        );
        let workflows = " ! [remote rejected] main -> main (refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission)";
        assert_eq!(names(workflows), ["push-rejected"]);
    }

    #[test]
    fn deploy_hook_failures() {
        let with_render = |l: &str| format!("Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\n{l}");
        assert_eq!(
            diagnose(&with_render(
                "curl: (3) URL using bad/illegal format or missing URL"
            ))[0]
                .cause,
            Cause::DeployHook {
                problem: "curl exit 3: malformed URL (empty secret, or a space or newline in it)"
                    .into()
            }
        );
        assert_eq!(
            names(&with_render(
                "curl: (6) Could not resolve host: api.render.com"
            )),
            ["deploy-hook"]
        );
        assert_eq!(
            names(&with_render(
                "curl: (22) The requested URL returned error: 404"
            )),
            ["deploy-hook"]
        );
        assert_eq!(
            names(&with_render("Deploy failed: HTTP 000")),
            ["deploy-hook"]
        );
        assert_eq!(names("::error title=Deploy hook failed::Render does not know this deploy hook (HTTP 404): the service was deleted"), ["deploy-hook"]);
        assert_eq!(
            names("error: deploy-hook-url: contains a newline inside the key (character 58)"),
            ["deploy-hook"]
        );
        assert_eq!(
            names("curl: (22) The requested URL returned error: 404"),
            ["unknown"],
            "curl alone is not about Render"
        );
    }

    #[test]
    fn render_deploy_failures() {
        let found = diagnose("::error title=Deploy failed::deploy dep-d0abc123 ended build_failed");
        assert_eq!(
            found[0].cause,
            Cause::DeployFailed {
                status: "build_failed".into(),
                deploy: Some("dep-d0abc123".into())
            }
        );
        assert_eq!(names("Deploy status: update_failed."), ["deploy-failed"]);
        assert_eq!(
            names("deploy dep-x is pre_deploy_failed"),
            ["deploy-failed"]
        );
        let unhealthy = diagnose("::error title=Deploy unhealthy::deploy dep-9z is live but /healthz did not answer 2xx within 2m (last: HTTP 503)");
        assert_eq!(
            unhealthy[0].cause,
            Cause::DeployUnhealthy {
                deploy: Some("dep-9z".into())
            }
        );
    }

    #[test]
    fn unknown_failures_keep_the_error_lines() {
        let found = diagnose("2026-11-29T10:00:00Z compiling\n2026-11-29T10:00:01Z error[E0308]: mismatched types\n2026-11-29T10:00:01Z all good\n2026-11-29T10:00:02Z ##[error]Process completed with exit code 101.");
        assert_eq!(found[0].cause, Cause::Unknown);
        assert_eq!(
            found[0].evidence,
            [
                "error[E0308]: mismatched types",
                "##[error]Process completed with exit code 101."
            ]
        );
    }

    fn failed_step(log: &str) -> Option<FailedStep> {
        let mut reader = StepReader::default();
        log.lines().for_each(|l| reader.feed(l));
        reader.finish("build")
    }

    #[test]
    fn the_failed_step_keeps_its_name_last_lines_and_earlier_errors() {
        let mut log = String::from("2026-11-29T10:00:00.1Z ##[group]Run actions/checkout@v4\n2026-11-29T10:00:00.1Z with:\n2026-11-29T10:00:00.1Z ##[endgroup]\n2026-11-29T10:00:00.2Z checked out\n");
        log.push_str("2026-11-29T10:00:01.0Z ##[group]Run cargo test\n2026-11-29T10:00:01.0Z cargo test\n2026-11-29T10:00:01.0Z shell: /usr/bin/bash -e {0}\n2026-11-29T10:00:01.0Z ##[endgroup]\n");
        log.push_str("2026-11-29T10:00:02.0Z \u{1b}[31merror[E0308]\u{1b}[0m: mismatched types\n");
        for i in 0..30 {
            log.push_str(&format!("2026-11-29T10:00:03.0Z note {i}\n"));
        }
        log.push_str("2026-11-29T10:00:04.0Z ##[error]Process completed with exit code 101.\n");
        log.push_str("2026-11-29T10:00:05.0Z Post job cleanup.\n");
        let step = failed_step(&log).unwrap();
        assert_eq!(step.step.as_deref(), Some("Run cargo test"));
        assert_eq!(step.lines[0], "error[E0308]: mismatched types");
        assert_eq!(step.lines[1], "…");
        assert_eq!(step.lines[2], "note 10");
        assert_eq!(step.lines.len(), 2 + STEP_TAIL + 1);
        assert_eq!(
            step.lines.last().unwrap(),
            "##[error]Process completed with exit code 101."
        );
        assert!(!step.lines.iter().any(|l| l.contains("shell:")));
        assert_eq!(failed_step("##[group]Run true\n##[endgroup]\nok\n"), None);
    }

    #[test]
    fn build_failures_name_the_module_the_memory_or_the_exit() {
        for (line, module) in [
            ("Error: Cannot find module 'dotenv'", "dotenv"),
            ("Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /opt/render/project/src/index.js", "zod"),
            ("Module not found: Error: Can't resolve '@/lib/db' in '/opt/render/project/src/src'", "@/lib/db"),
            ("[vite]: Rollup failed to resolve import \"zod\" from \"/opt/render/project/src/src/schema.ts\".", "zod"),
            ("ModuleNotFoundError: No module named 'redis'", "redis"),
        ] {
            assert_eq!(
                diagnose(line)[0].cause,
                Cause::MissingModule { module: module.into() },
                "{line}"
            );
        }
        for line in [
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            "npm ERR! code ENOMEM",
            "MemoryError",
        ] {
            assert_eq!(names(line), ["out-of-memory"], "{line}");
        }
        assert_eq!(
            diagnose("==> Exited with status 137")[0].cause,
            Cause::ExitCode { code: "137".into() }
        );
        assert_eq!(names("the script said: Exited with status 1"), ["unknown"]);
    }

    #[test]
    fn a_build_log_is_explained_by_its_telling_lines_else_its_last_ones() {
        let log = "==> Running build command 'pnpm install --frozen-lockfile'...\n\u{1b}[31m ERR_PNPM_OUTDATED_LOCKFILE\u{1b}[39m  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json\n  Failure reason:\n==> Exited with status 1\n==> Build failed 😞";
        let why = explain(log.lines());
        assert_eq!(why.cause().map(Cause::name), Some("lockfile"));
        assert_eq!(
            why.causes.iter().map(Cause::name).collect::<Vec<_>>(),
            ["lockfile", "exit-code"]
        );
        assert_eq!(why.lines, [" ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json"]);
        assert!(why
            .cause()
            .unwrap()
            .remedy()
            .starts_with("pnpm-lock.yaml is out of date with package.json"));

        let mut log: Vec<String> = (0..40).map(|i| format!("step {i}")).collect();
        log.push("==> Exited with status 2".into());
        let why = explain(log.iter().map(String::as_str));
        assert_eq!(why.cause(), None, "an exit alone does not say why");
        assert_eq!(why.lines.len(), QUOTE_TAIL);
        assert_eq!(why.lines.last().unwrap(), "==> Exited with status 2");
        assert_eq!(why.lines[0], "step 11");
        let why = explain(["key=rnd_AbCdEfGhIjKlMnOpQrStUv0123 Cannot find module 'x'"]);
        assert!(!why.lines[0].contains("rnd_AbCd"), "{:?}", why.lines);
    }

    #[test]
    fn secrets_in_evidence_are_redacted() {
        let found = diagnose("curl -X POST https://api.render.com/deploy/srv-a?key=SeCrEt1 curl: (6) Could not resolve host");
        assert!(!found[0].evidence[0].contains("SeCrEt1"), "{:?}", found);
    }

    #[test]
    fn timestamps_and_colours_are_stripped() {
        assert_eq!(
            clean_line("2026-11-29T10:00:01.1234567Z \u{1b}[1;31mred\u{1b}[0m text"),
            "red text"
        );
        assert_eq!(clean_line("plain"), "plain");
    }
}
