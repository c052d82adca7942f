//! GitHub REST API client: the issue calls monitor and recover share, and
//! the Actions calls recover needs.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clients::http::{
    is_rate_limited, retry_after, Bucket, Http, HttpError, Response, Retry, MAX_BODY,
};
use crate::output::secrets::{redact, redact_registered};

pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";
/// Job logs can be long; the diagnosis reads them in one pass.
const MAX_LOG: usize = 128 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum GitHubError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("GitHub API {what}: HTTP {status}{}: {hint}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Api {
        what: String,
        status: u16,
        message: Option<String>,
        hint: String,
    },
}

/// What to do about an error answer. A 403 can be a missing permission or
/// a spent rate limit; the headers tell.
fn hint(response: &Response) -> String {
    if is_rate_limited(response.status, &response.headers) {
        let when = retry_after(&response.headers)
            .map(|wait| format!(" for {}", crate::output::human_duration(wait)))
            .unwrap_or_default();
        return format!("GitHub's rate limit for this token is spent{when}; run again later");
    }
    match response.status {
        401 => "the token was refused; pass github-token: ${{ github.token }} or a valid PAT",
        403 => "the token lacks a permission; grant it in the workflow's permissions: block (issues: write, contents: write, actions: write)",
        404 => "not found; check GITHUB_REPOSITORY and the token's access to it",
        410 => "issues are disabled for this repository; enable them or set issues: false",
        422 => "GitHub rejected the request as invalid",
        429 => "GitHub's rate limit was hit; retry later",
        _ => "unexpected answer from GitHub",
    }
    .to_string()
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Issue {
    pub number: u64,
    pub body: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    /// Present when the "issue" is a pull request.
    pub pull_request: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Job {
    pub id: u64,
    pub name: String,
    pub conclusion: Option<String>,
}

/// Where the GitHub API is, and the repository this job runs in.
#[derive(Debug, Clone)]
pub(crate) struct GitHubApi {
    pub base: Url,
    /// `owner/name`.
    pub repository: String,
}

pub(crate) struct GitHub<'a> {
    http: &'a Http,
    base: Url,
    token: String,
    repository: String,
}

impl<'a> GitHub<'a> {
    pub(crate) fn new(http: &'a Http, api: &GitHubApi, token: &str) -> GitHub<'a> {
        GitHub {
            http,
            base: api.base.clone(),
            token: token.to_string(),
            repository: api.repository.clone(),
        }
    }

    /// `owner/name` of the repository this job runs in and holds a token for.
    pub(crate) fn repository(&self) -> &str {
        &self.repository
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}/repos/{}{path}", self.repository));
        url
    }

    pub(crate) fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, GitHubError> {
        self.send_limited(method, url, body, what, MAX_BODY)
    }

    fn send_limited(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
        max_body: usize,
    ) -> Result<Response, GitHubError> {
        let retry = if method == Method::GET {
            Retry::Idempotent
        } else {
            Retry::Unsent
        };
        let response = self.http.send(
            Bucket::GitHub,
            || {
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(&self.token)
                    .header("accept", "application/vnd.github+json")
                    .header("x-github-api-version", "2022-11-28");
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            },
            retry,
            max_body,
        )?;
        if response.is_success() {
            return Ok(response);
        }
        Err(GitHubError::Api {
            what: what.to_string(),
            status: response.status,
            message: response.error_message(),
            hint: hint(&response),
        })
    }

    /// Open issues with `label`, every page. Listing (not the search API,
    /// which lags by minutes) so a rerun sees the issue it just opened.
    pub(crate) fn open_issues(&self, label: &str) -> Result<Vec<Issue>, GitHubError> {
        let mut issues = Vec::new();
        for page in 1.. {
            let mut url = self.url("/issues");
            url.query_pairs_mut()
                .append_pair("state", "open")
                .append_pair("labels", label)
                .append_pair("per_page", "100")
                .append_pair("page", &page.to_string());
            let batch: Vec<Issue> = self.send(Method::GET, url, None, "list issues")?.json()?;
            let done = batch.len() < 100;
            issues.extend(batch.into_iter().filter(|i| i.pull_request.is_none()));
            if done || page >= 50 {
                break;
            }
        }
        Ok(issues)
    }

    /// Opens an issue. The caller (the issue tracker) shows and bounds its
    /// text; here registered secrets go, the last guard of every issue
    /// call, and nothing else: the body's marker and the title's names must
    /// reach GitHub as written. Comments, which carry no such names, are
    /// redacted whole.
    pub(crate) fn create_issue(
        &self,
        title: &str,
        body: &str,
        label: &str,
    ) -> Result<Issue, GitHubError> {
        let body = json!({
            "title": redact_registered(title),
            "body": redact_registered(body),
            "labels": [label]
        });
        Ok(self
            .send(
                Method::POST,
                self.url("/issues"),
                Some(&body),
                "create issue",
            )?
            .json()?)
    }

    pub(crate) fn comment(&self, number: u64, text: &str) -> Result<(), GitHubError> {
        let url = self.url(&format!("/issues/{number}/comments"));
        self.send(
            Method::POST,
            url,
            Some(&json!({"body": redact(text)})),
            "comment on issue",
        )?;
        Ok(())
    }

    pub(crate) fn get_run(
        &self,
        id: u64,
    ) -> Result<crate::clients::event::WorkflowRun, GitHubError> {
        let url = self.url(&format!("/actions/runs/{id}"));
        Ok(self
            .send(Method::GET, url, None, &format!("get run {id}"))?
            .json()?)
    }

    /// The jobs of one attempt of a run.
    pub(crate) fn jobs(&self, run: u64, attempt: u64) -> Result<Vec<Job>, GitHubError> {
        #[derive(Deserialize)]
        struct Jobs {
            jobs: Vec<Job>,
        }
        let mut url = self.url(&format!("/actions/runs/{run}/attempts/{attempt}/jobs"));
        url.query_pairs_mut().append_pair("per_page", "100");
        let jobs: Jobs = self.send(Method::GET, url, None, "list jobs")?.json()?;
        Ok(jobs.jobs)
    }

    /// A job's plain-text log. GitHub answers 302 to a pre-signed URL on
    /// another host; the redirect is followed without the Authorization
    /// header (reqwest drops it across hosts).
    pub(crate) fn job_log(&self, job: u64) -> Result<Vec<u8>, GitHubError> {
        let url = self.url(&format!("/actions/jobs/{job}/logs"));
        Ok(self
            .send_limited(Method::GET, url, None, "download job log", MAX_LOG)?
            .body)
    }

    /// The newest `count` runs of `workflow` on `branch`, newest first.
    pub(crate) fn workflow_runs(
        &self,
        workflow: &str,
        branch: &str,
        count: u64,
    ) -> Result<Vec<crate::clients::event::WorkflowRun>, GitHubError> {
        #[derive(Deserialize)]
        struct Runs {
            workflow_runs: Vec<crate::clients::event::WorkflowRun>,
        }
        let mut url = self.url(&format!("/actions/workflows/{workflow}/runs"));
        url.query_pairs_mut()
            .append_pair("branch", branch)
            .append_pair("per_page", &count.to_string());
        let runs: Runs = self
            .send(Method::GET, url, None, "list workflow runs")?
            .json()?;
        Ok(runs.workflow_runs)
    }

    pub(crate) fn rerun_failed_jobs(&self, run: u64) -> Result<(), GitHubError> {
        let url = self.url(&format!("/actions/runs/{run}/rerun-failed-jobs"));
        self.send(Method::POST, url, None, "re-run failed jobs")?;
        Ok(())
    }

    /// Starts `workflow` on `reference`. `Ok(false)` when the workflow has
    /// no `workflow_dispatch` trigger (GitHub answers 422).
    pub(crate) fn dispatch(&self, workflow: &str, reference: &str) -> Result<bool, GitHubError> {
        let url = self.url(&format!("/actions/workflows/{workflow}/dispatches"));
        match self.send(
            Method::POST,
            url,
            Some(&json!({"ref": reference})),
            "dispatch workflow",
        ) {
            Ok(_) => Ok(true),
            Err(GitHubError::Api { status: 422, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn update_body(&self, number: u64, body: &str) -> Result<(), GitHubError> {
        let url = self.url(&format!("/issues/{number}"));
        self.send(
            Method::PATCH,
            url,
            Some(&json!({"body": redact_registered(body)})),
            "update issue",
        )?;
        Ok(())
    }

    pub(crate) fn close(&self, number: u64) -> Result<(), GitHubError> {
        let url = self.url(&format!("/issues/{number}"));
        let body = json!({"state": "closed", "state_reason": "completed"});
        self.send(Method::PATCH, url, Some(&body), "close issue")?;
        Ok(())
    }

    /// The comments on an issue or pull request, oldest first (at most
    /// 50 pages of 100).
    pub(crate) fn comments(&self, number: u64) -> Result<Vec<Comment>, GitHubError> {
        let mut comments = Vec::new();
        for page in 1..=50 {
            let mut url = self.url(&format!("/issues/{number}/comments"));
            url.query_pairs_mut()
                .append_pair("per_page", "100")
                .append_pair("page", &page.to_string());
            let batch: Vec<Comment> = self.send(Method::GET, url, None, "list comments")?.json()?;
            let done = batch.len() < 100;
            comments.extend(batch);
            if done {
                break;
            }
        }
        Ok(comments)
    }

    pub(crate) fn edit_comment(&self, id: u64, text: &str) -> Result<(), GitHubError> {
        let url = self.url(&format!("/issues/comments/{id}"));
        self.send(
            Method::PATCH,
            url,
            Some(&json!({"body": redact(text)})),
            "edit comment",
        )?;
        Ok(())
    }

    /// Creates a GitHub deployment of `reference` in `environment`; returns
    /// its id. Never merges the default branch in, and asks for no checks:
    /// the deploy happened on Render already.
    pub(crate) fn create_deployment(
        &self,
        reference: &str,
        environment: &str,
        transient: bool,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let body = json!({
            "ref": reference,
            "environment": environment,
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": transient,
            "production_environment": environment == "production",
            "description": "Render deploy followed by render-pilot",
        });
        let created: Created = self
            .send(
                Method::POST,
                self.url("/deployments"),
                Some(&body),
                "create deployment",
            )?
            .json()?;
        Ok(created.id)
    }

    /// Sets a deployment's state (`in_progress`, `success`, `failure`).
    pub(crate) fn deployment_status(
        &self,
        deployment: u64,
        state: &str,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        let mut body = json!({"state": state, "auto_inactive": true});
        if let Some(url) = environment_url {
            body["environment_url"] = json!(url);
        }
        if let Some(url) = log_url {
            body["log_url"] = json!(url);
        }
        let url = self.url(&format!("/deployments/{deployment}/statuses"));
        self.send(Method::POST, url, Some(&body), "set deployment status")?;
        Ok(())
    }
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Comment {
    pub id: u64,
    pub body: Option<String>,
}
