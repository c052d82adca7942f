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

    /// The open issue for `key`; the lowest number if a race left two.
    pub fn find(&self, key: &str) -> Option<&Issue> {
        let prefix = format!("<!-- render-pilot:{key} ");
        self.open
            .iter()
            .filter(|i| i.has_marker(&prefix))
            .min_by_key(|i| i.number)
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
        let prefix = format!("<!-- render-pilot:{key} ");
        let first = self
            .github
            .open_issues(&self.label)?
            .into_iter()
            .filter(|i| i.number < ours && i.has_marker(&prefix))
            .min_by_key(|i| i.number);
        let Some(first) = first else {
            return Ok(None);
        };
        self.github.comment(
            ours,
            &format!(
                "Duplicate of #{}: another render-pilot run opened it at the same moment.",
                first.number
            ),
        )?;
        self.github.close(ours)?;
        self.changes.closed.push(ours);
        let url = first.html_url.clone();
        self.open.push(first);
        Ok(Some(url))
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
