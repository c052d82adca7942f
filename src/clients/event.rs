//! The `workflow_run` event payload (and the same run read from the API):
//! which run failed, on which head, and whether we may push for it.

use serde::Deserialize;
use serde_json::Value;

use crate::inputs::InputError;

#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    pub name: Option<String>,
    pub workflow_id: Option<u64>,
    pub path: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: String,
    pub head_commit: Option<HeadCommit>,
    pub conclusion: Option<String>,
    pub run_attempt: Option<u64>,
    pub event: Option<String>,
    pub html_url: Option<String>,
    pub head_repository: Option<Repository>,
    pub repository: Option<Repository>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeadCommit {
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    pub id: Option<u64>,
    pub full_name: Option<String>,
    pub fork: Option<bool>,
}

impl WorkflowRun {
    /// Why render-pilot may only read and report for this run, or `None`
    /// when the run is this repository's own code and fixes may write.
    /// Anything it cannot prove is distrusted: a head repository the event
    /// leaves out (deleted forks have none) counts as a stranger's.
    pub fn distrust(&self, repository: &str) -> Option<String> {
        if let Some(event @ ("pull_request" | "pull_request_target")) = self.event.as_deref() {
            return Some(format!("a {event} run, whose head nobody has merged yet"));
        }
        let Some(head) = self.head_repository.as_ref() else {
            return Some("the event names no head repository".into());
        };
        let Some(name) = head.full_name.as_deref() else {
            return Some("the event names no head repository".into());
        };
        let base = self.repository.as_ref();
        let other_repository = !name.eq_ignore_ascii_case(repository)
            || base
                .and_then(|b| b.full_name.as_deref())
                .is_some_and(|b| !b.eq_ignore_ascii_case(name))
            || matches!((head.id, base.and_then(|b| b.id)), (Some(h), Some(b)) if h != b);
        if other_repository || head.fork == Some(true) {
            return Some(format!("its head comes from {name}, not {repository}"));
        }
        None
    }

    /// The run's name; the official payloads carry `"name": ""`, so an
    /// empty one falls back to the workflow's file name.
    pub fn workflow_name(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| self.file_name())
            .or_else(|| self.workflow_id.map(|w| format!("workflow {w}")))
            .unwrap_or_else(|| "workflow".into())
    }

    /// `ci.yml` of `.github/workflows/ci.yml`.
    pub fn file_name(&self) -> Option<String> {
        let path = self.path.as_deref()?.trim();
        let name = path.rsplit('/').next()?;
        (!name.is_empty()).then(|| name.to_string())
    }

    /// The workflow for the Actions API: its numeric id, else its file
    /// name when that is a plain file name (never a path to walk).
    pub fn workflow_ref(&self) -> Option<String> {
        self.workflow_id.map(|w| w.to_string()).or_else(|| {
            self.file_name().filter(|f| {
                f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    && f.chars().any(|c| c.is_ascii_alphanumeric())
            })
        })
    }

    /// Identifies the workflow for issue keys: its file path if known.
    pub fn workflow_key(&self) -> String {
        self.path
            .clone()
            .filter(|p| !p.trim().is_empty())
            .or_else(|| self.workflow_id.map(|w| w.to_string()))
            .unwrap_or_else(|| self.workflow_name())
    }

    /// The head repository's `owner/name`, for issue keys: a fork's
    /// branch must never share an issue with this repository's branch.
    pub fn head_repository_name(&self) -> &str {
        self.head_repository
            .as_ref()
            .and_then(|h| h.full_name.as_deref())
            .unwrap_or("unknown")
    }

    pub fn head_message(&self) -> &str {
        self.head_commit
            .as_ref()
            .and_then(|c| c.message.as_deref())
            .unwrap_or("")
    }

    pub fn attempt(&self) -> u64 {
        self.run_attempt.unwrap_or(1)
    }
}

/// Reads the `workflow_run` of an event payload. `Ok(None)` when the event
/// is of another kind.
/// What a deploy that follows Render needs from the event that started
/// the job: a pull request's number and head, or a push's head message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// `pull_request.number` and `pull_request.head.sha` of a pull_request
    /// event (`GITHUB_SHA` is then a merge commit Render never deploys).
    pub pull_request: Option<(u64, String)>,
    /// `head_commit.message` of a push event.
    pub message: Option<String>,
}

/// Reads [`Pushed`] from an event payload; fields the event lacks stay
/// `None`, and text that is not JSON is bad input.
pub(crate) fn read_pushed(text: &str) -> Result<Pushed, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        InputError::new(
            "GITHUB_EVENT_PATH",
            format!("does not hold valid JSON ({e}); the runner writes it, so check the path"),
        )
    })?;
    let number = value
        .pointer("/pull_request/number")
        .and_then(Value::as_u64);
    let head = value
        .pointer("/pull_request/head/sha")
        .and_then(Value::as_str)
        .filter(|sha| sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()));
    Ok(Pushed {
        pull_request: number.zip(head.map(str::to_ascii_lowercase)),
        message: value
            .pointer("/head_commit/message")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

pub fn read_event(text: &str) -> Result<Option<WorkflowRun>, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        InputError::new(
            "GITHUB_EVENT_PATH",
            format!("does not hold valid JSON ({e}); the runner writes it, so check the path"),
        )
    })?;
    let mut run: WorkflowRun = match value.get("workflow_run") {
        None | Some(Value::Null) => return Ok(None),
        Some(run) => serde_json::from_value(run.clone()).map_err(|e| {
            InputError::new(
                "GITHUB_EVENT_PATH",
                format!("has a workflow_run this program cannot read ({e}); pass run-id instead"),
            )
        })?,
    };
    // Some payloads leave the run's path out; the event's workflow has it.
    if run.path.as_deref().is_none_or(|p| p.trim().is_empty()) {
        run.path = value
            .pointer("/workflow/path")
            .and_then(Value::as_str)
            .map(String::from);
    }
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"action":"completed","workflow_run":{"id":42,"name":"CI","workflow_id":7,"path":".github/workflows/ci.yml",
        "head_branch":"main","head_sha":"abc","head_commit":{"id":"abc","message":"m"},"conclusion":"failure","run_attempt":2,
        "event":"push","head_repository":{"id":1,"full_name":"acme/shop","fork":false},"repository":{"id":1,"full_name":"acme/shop"},
        "pull_requests":[]}}"#;

    #[test]
    fn reads_a_workflow_run() {
        let run = read_event(EVENT).unwrap().unwrap();
        assert_eq!(
            (run.id, run.attempt(), run.conclusion.as_deref()),
            (42, 2, Some("failure"))
        );
        assert_eq!(run.distrust("acme/shop"), None);
        assert_eq!(run.workflow_key(), ".github/workflows/ci.yml");
    }

    #[test]
    fn only_this_repository_s_own_runs_are_trusted() {
        let distrust = |from: &str, to: &str, repository: &str| {
            read_event(&EVENT.replace(from, to))
                .unwrap()
                .unwrap()
                .distrust(repository)
        };
        let fork = (
            r#""id":1,"full_name":"acme/shop","fork":false"#,
            r#""id":9,"full_name":"mallory/shop","fork":true"#,
        );
        assert_eq!(
            distrust(fork.0, fork.1, "acme/shop").as_deref(),
            Some("its head comes from mallory/shop, not acme/shop")
        );
        for event in ["pull_request", "pull_request_target"] {
            let pr = distrust(
                r#""event":"push""#,
                &format!(r#""event":"{event}""#),
                "acme/shop",
            );
            assert_eq!(
                pr,
                Some(format!("a {event} run, whose head nobody has merged yet"))
            );
        }
        let no_head = r#""head_repository":null"#;
        let head = r#""head_repository":{"id":1,"full_name":"acme/shop","fork":false}"#;
        assert!(distrust(head, no_head, "acme/shop").is_some());
        let same_name_other_id = r#""head_repository":{"id":5,"full_name":"acme/shop"}"#;
        assert!(distrust(head, same_name_other_id, "acme/shop").is_some());
        assert!(
            distrust("", "", "other/repo").is_some(),
            "another repository's run"
        );
        assert_eq!(
            distrust("", "", "ACME/Shop"),
            None,
            "names are case-insensitive"
        );
    }

    #[test]
    fn official_example_payloads_are_read() {
        let text = include_str!("../../tests/fixtures/github-workflow-run-examples.json");
        let examples: Value = serde_json::from_str(text).unwrap();
        for example in examples["examples"].as_array().unwrap() {
            let run = read_event(&example.to_string()).unwrap().unwrap();
            assert!(!run.workflow_name().is_empty());
            assert!(!run.workflow_key().is_empty());
        }
    }

    #[test]
    fn an_empty_name_falls_back_to_the_file_name() {
        let run = read_event(&EVENT.replace(r#""name":"CI""#, r#""name":"""#))
            .unwrap()
            .unwrap();
        assert_eq!(run.workflow_name(), "ci.yml");
        let nulls = EVENT
            .replace(r#""name":"CI""#, r#""name":null"#)
            .replace(r#""head_branch":"main""#, r#""head_branch":null"#)
            .replace(r#""pull_requests":[]"#, r#""pull_requests":null"#);
        let run = read_event(&nulls).unwrap().unwrap();
        assert_eq!(
            (run.workflow_name().as_str(), run.head_branch),
            ("ci.yml", None)
        );
    }

    #[test]
    fn other_events_and_bad_payloads() {
        assert!(read_event(r#"{"push":{}}"#).unwrap().is_none());
        assert!(read_event("{not json").is_err());
        assert!(read_event(r#"{"workflow_run":{"id":"x"}}"#).is_err());
    }
}
