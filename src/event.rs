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
    #[serde(default)]
    pub pull_requests: Vec<Value>,
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
    /// A head from another repository: its code must never run, or be
    /// pushed to, with this job's write token.
    pub fn from_fork(&self) -> bool {
        let head = self.head_repository.as_ref();
        let base = self.repository.as_ref();
        let other_name = match (
            head.and_then(|h| h.full_name.as_ref()),
            base.and_then(|b| b.full_name.as_ref()),
        ) {
            (Some(h), Some(b)) => h != b,
            _ => false,
        };
        let other_id = match (head.and_then(|h| h.id), base.and_then(|b| b.id)) {
            (Some(h), Some(b)) => h != b,
            _ => false,
        };
        other_name || other_id || head.and_then(|h| h.fork).unwrap_or(false)
    }

    pub fn from_pull_request(&self) -> bool {
        matches!(
            self.event.as_deref(),
            Some("pull_request" | "pull_request_target")
        ) || !self.pull_requests.is_empty()
    }

    pub fn workflow_name(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.path.clone())
            .unwrap_or_else(|| "workflow".into())
    }

    /// Identifies the workflow for issue keys: its file path if known.
    pub fn workflow_key(&self) -> String {
        self.path
            .clone()
            .or_else(|| self.workflow_id.map(|w| w.to_string()))
            .unwrap_or_else(|| self.workflow_name())
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
pub fn read_event(text: &str) -> Result<Option<WorkflowRun>, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        InputError::new(
            "GITHUB_EVENT_PATH",
            format!("does not hold valid JSON ({e}); the runner writes it, so check the path"),
        )
    })?;
    match value.get("workflow_run") {
        None | Some(Value::Null) => Ok(None),
        Some(run) => serde_json::from_value(run.clone()).map(Some).map_err(|e| {
            InputError::new(
                "GITHUB_EVENT_PATH",
                format!("has a workflow_run this program cannot read ({e}); pass run-id instead"),
            )
        }),
    }
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
        assert!(!run.from_fork() && !run.from_pull_request());
        assert_eq!(run.workflow_key(), ".github/workflows/ci.yml");
    }

    #[test]
    fn forks_and_pull_requests_are_recognised() {
        let fork = EVENT.replace(
            r#""id":1,"full_name":"acme/shop","fork":false"#,
            r#""id":9,"full_name":"mallory/shop","fork":true"#,
        );
        assert!(read_event(&fork).unwrap().unwrap().from_fork());
        let pr = EVENT.replace(r#""event":"push""#, r#""event":"pull_request""#);
        assert!(read_event(&pr).unwrap().unwrap().from_pull_request());
    }

    #[test]
    fn other_events_and_bad_payloads() {
        assert!(read_event(r#"{"push":{}}"#).unwrap().is_none());
        assert!(read_event("{not json").is_err());
        assert!(read_event(r#"{"workflow_run":{"id":"x"}}"#).is_err());
    }
}
