//! Every input in one table: the modes that read it, its fallback variable
//! and its default. The settings take defaults from here, `--help` shows
//! them from here (see [`super::parse_command_line`]), and a test holds action.yml
//! and README's input table to it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Deploy,
    Monitor,
    Recover,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Deploy, Mode::Monitor, Mode::Recover];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Deploy => "deploy",
            Mode::Monitor => "monitor",
            Mode::Recover => "recover",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnset {
    /// Not given.
    Nothing,
    /// A value, read as if it had been given.
    Value(&'static str),
    /// Worked out at run time; the text says how.
    Derived(&'static str),
    /// Filled in by action.yml only; on a terminal the fallback applies.
    Action(&'static str),
}

#[derive(Debug)]
pub struct Input {
    pub name: &'static str,
    pub modes: &'static [Mode],
    /// The variable read when neither the flag nor `INPUT_<NAME>` is set.
    pub fallback: Option<&'static str>,
    /// Masked as soon as it is read, whatever the mode.
    pub secret: bool,
    pub default: WhenUnset,
}

use crate::clients::render::DEFAULT_API_URL;
use Mode::{Deploy, Monitor, Recover};
use WhenUnset::{Action, Derived, Value};

const fn input(name: &'static str, modes: &'static [Mode], default: WhenUnset) -> Input {
    Input {
        name,
        modes,
        fallback: None,
        secret: false,
        default,
    }
}

const fn secret(name: &'static str, modes: &'static [Mode], fallback: &'static str) -> Input {
    Input {
        name,
        modes,
        fallback: Some(fallback),
        secret: true,
        default: WhenUnset::Nothing,
    }
}

const ALL: &[Mode] = &Mode::ALL;
const REPO: &[Mode] = &[Monitor, Recover];

pub(crate) const STATUS_FILE: &str = "docs/PIPELINE.md";
pub(crate) const DEFAULT_AUTHOR: &str =
    "render-pilot[bot] <render-pilot[bot]@users.noreply.github.com>";

/// In action.yml's order.
pub const INPUTS: &[Input] = &[
    secret("deploy-hook-url", ALL, "RENDER_DEPLOY_HOOK"),
    secret("render-api-key", ALL, "RENDER_API_KEY"),
    Input {
        fallback: Some("RENDER_API_URL"),
        ..input("render-api-url", ALL, Derived(DEFAULT_API_URL))
    },
    input("service-id", ALL, Derived("the id in the deploy hook URL")),
    input("trigger", &[Deploy], Value("auto")),
    input("wait", &[Deploy], Derived("true when an API key is given")),
    input("timeout", &[Deploy], Value("20m")),
    input("commit", &[Deploy], WhenUnset::Nothing),
    input("image", &[Deploy], WhenUnset::Nothing),
    input("clear-cache", &[Deploy], Value("false")),
    input("canceled-is-failure", &[Deploy], Value("true")),
    input("cancel-on-timeout", &[Deploy], Value("false")),
    input("build-log", &[Deploy], Value("auto")),
    input("health-path", &[Deploy, Monitor], WhenUnset::Nothing),
    input("health-timeout", &[Deploy, Monitor], Value("2m")),
    input("health-retries", &[Monitor], Value("3")),
    input("pr-comment", &[Deploy], Value("false")),
    input("github-deployment", &[Deploy], Value("false")),
    input(
        "environment",
        &[Deploy],
        Derived("production, or pr-<number> for a preview"),
    ),
    Input {
        default: Action("${{ github.token }}"),
        ..secret("github-token", ALL, "GITHUB_TOKEN")
    },
    input("dry-run", ALL, Value("false")),
    input(
        "services",
        &[Monitor],
        Derived("service-id, else the deploy hook's service"),
    ),
    input("status-file", &[Monitor], Value(STATUS_FILE)),
    input("keep", &[Monitor], Value("48")),
    input("commit-mode", &[Monitor], Value("on-change")),
    input(
        "branch",
        &[Monitor],
        Derived("GITHUB_REF_NAME, else the checked-out branch"),
    ),
    input("branch", &[Recover], Derived("the failed run's branch")),
    input("push", &[Monitor], Value("true")),
    input("issues", &[Monitor], Value("true")),
    input("issue-label", REPO, Value("render-pilot")),
    input("concurrency", &[Monitor], Value("8")),
    input("fail-on-unhealthy", &[Monitor], Value("false")),
    input("previews", &[Monitor], Value("false")),
    input("commit-author", REPO, Value(DEFAULT_AUTHOR)),
    input(
        "run-id",
        &[Recover],
        Derived("workflow_run.id of the event"),
    ),
    input("fixes", &[Recover], Value("lockfile,rerun,webhook")),
    input("max-attempts", &[Recover], Value("2")),
];

/// The row of `name` for `mode`. Every input a mode reads is in the table
/// (a unit test resolves each mode with defaults only).
pub(crate) fn row(mode: Mode, name: &str) -> Option<&'static Input> {
    INPUTS
        .iter()
        .find(|i| i.name == name && i.modes.contains(&mode))
}

/// What `--help` shows after an input's text.
pub fn help_suffix(input: &Input) -> String {
    let mut parts = Vec::new();
    if let Some(variable) = input.fallback {
        parts.push(format!("[env: {variable}]"));
    }
    match input.default {
        Value(text) | Derived(text) => parts.push(format!("[default: {text}]")),
        WhenUnset::Nothing | Action(_) => {}
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// action.yml fills in a `Value` default whenever the input is not
    /// given, so the fallback variable would never be read.
    #[test]
    fn inputs_with_a_fallback_have_no_default_value() {
        for input in INPUTS.iter().filter(|i| i.fallback.is_some()) {
            assert!(!matches!(input.default, Value(_)), "{}", input.name);
        }
    }

    #[test]
    fn each_input_has_one_row_per_mode() {
        for mode in Mode::ALL {
            let mut names: Vec<_> = INPUTS
                .iter()
                .filter(|i| i.modes.contains(&mode))
                .map(|i| i.name)
                .collect();
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "{mode:?}");
        }
    }
}
