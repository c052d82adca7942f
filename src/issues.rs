//! One issue per problem, found again by a hidden marker in its body, so
//! reruns never open a duplicate. Shared by monitor and recover.

use crate::github::{GitHub, GitHubError, Issue};

/// The hidden marker: `<!-- render-pilot:<key> state=<state> -->`.
pub fn marker(key: &str, state: &str) -> String {
    format!("<!-- render-pilot:{key} state={state} -->")
}

/// The state recorded in an issue's marker.
pub fn marked_state(issue: &Issue, key: &str) -> Option<String> {
    let body = issue.body.as_deref()?;
    let start = body.find(&format!("<!-- render-pilot:{key} state="))?;
    let rest = &body[start..];
    let value = rest.split_once("state=")?.1;
    Some(value.split_whitespace().next()?.to_string())
}

/// What happened to issues in a run.
#[derive(Debug, Default)]
pub struct Changes {
    pub opened: Vec<(u64, String)>,
    pub commented: Vec<u64>,
    pub closed: Vec<u64>,
}

pub struct Tracker<'a> {
    github: &'a GitHub<'a>,
    label: String,
    open: Vec<Issue>,
    pub changes: Changes,
}

impl<'a> Tracker<'a> {
    /// Lists the open issues with our label once; later lookups are local.
    pub fn load(github: &'a GitHub<'a>, label: &str) -> Result<Tracker<'a>, GitHubError> {
        Ok(Tracker {
            github,
            label: label.to_string(),
            open: github.open_issues(label)?,
            changes: Changes::default(),
        })
    }

    pub fn find(&self, key: &str) -> Option<&Issue> {
        let prefix = format!("<!-- render-pilot:{key} ");
        self.open.iter().find(|i| i.has_marker(&prefix))
    }

    /// Opens the issue for `key`, or, when one is open in another state,
    /// records the change with a comment. Returns the issue's URL.
    pub fn report(
        &mut self,
        key: &str,
        state: &str,
        title: &str,
        body: &str,
        change_note: &str,
    ) -> Result<Option<String>, GitHubError> {
        let body = format!("{body}\n\n{}\n", marker(key, state));
        if let Some(issue) = self.find(key) {
            let (number, url) = (issue.number, issue.html_url.clone());
            if marked_state(issue, key).as_deref() != Some(state) {
                self.github.comment(number, change_note)?;
                self.github.update_body(number, &body)?;
                self.changes.commented.push(number);
            }
            return Ok(url);
        }
        let issue = self.github.create_issue(title, &body, &self.label)?;
        self.changes
            .opened
            .push((issue.number, issue.html_url.clone().unwrap_or_default()));
        let url = issue.html_url.clone();
        self.open.push(issue);
        Ok(url)
    }

    /// Closes the issue for `key`, if one is open, with a comment.
    pub fn resolve(
        &mut self,
        key: &str,
        comment: &dyn Fn(&Issue) -> String,
    ) -> Result<bool, GitHubError> {
        let Some(index) = self
            .open
            .iter()
            .position(|i| i.has_marker(&format!("<!-- render-pilot:{key} ")))
        else {
            return Ok(false);
        };
        let issue = self.open.remove(index);
        self.github.comment(issue.number, &comment(&issue))?;
        self.github.close(issue.number)?;
        self.changes.closed.push(issue.number);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let issue = Issue {
            number: 1,
            title: "t".into(),
            body: Some(format!("text\n{}", marker("monitor:srv-a", "failed"))),
            html_url: None,
            created_at: None,
            pull_request: None,
        };
        assert_eq!(
            marked_state(&issue, "monitor:srv-a").as_deref(),
            Some("failed")
        );
        assert_eq!(marked_state(&issue, "monitor:srv-b"), None);
        assert!(issue.has_marker("<!-- render-pilot:monitor:srv-a "));
    }
}
