//! The simulated GitHub: issues, and git over smart HTTP served by the real
//! `git http-backend` (so pushes run server-side hooks such as a protected
//! branch's). Workflow runs, jobs and logs are added for recover mode.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::wire::{Request, Response};
use crate::{now_rfc3339, Sim, State, GITHUB_TOKEN};

type PushHook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub(crate) struct GitHub {
    issues: Vec<Issue>,
    git_root: Option<PathBuf>,
    push_hooks: VecDeque<PushHook>,
    runs: Vec<Run>,
    reruns: Vec<u64>,
    dispatches: Vec<(String, String)>,
    log_downloads: Vec<Option<String>>,
}

/// A workflow run with its jobs.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: u64,
    pub name: String,
    pub workflow_id: u64,
    pub path: String,
    pub head_branch: String,
    pub head_sha: String,
    pub head_message: String,
    pub conclusion: String,
    pub attempt: u64,
    pub event: String,
    /// The head repository's full name; `acme/shop` unless a fork.
    pub head_repository: String,
    pub jobs: Vec<Job>,
    /// Whether its workflow has an `on: workflow_dispatch` trigger.
    pub dispatchable: bool,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub name: String,
    pub conclusion: String,
    pub log: String,
}

impl Run {
    /// A failed `push` run of `.github/workflows/ci.yml` on main with one
    /// failed job carrying `log`.
    pub fn failed(id: u64, head_sha: &str, log: &str) -> Run {
        Run {
            id,
            name: "CI".into(),
            workflow_id: 7001,
            path: ".github/workflows/ci.yml".into(),
            head_branch: "main".into(),
            head_sha: head_sha.into(),
            head_message: "change package.json".into(),
            conclusion: "failure".into(),
            attempt: 1,
            event: "push".into(),
            head_repository: "acme/shop".into(),
            jobs: vec![
                Job {
                    id: id * 10,
                    name: "lint".into(),
                    conclusion: "success".into(),
                    log: "all good\n".into(),
                },
                Job {
                    id: id * 10 + 1,
                    name: "build".into(),
                    conclusion: "failure".into(),
                    log: log.into(),
                },
            ],
            dispatchable: true,
        }
    }

    /// The run as the REST API and the `workflow_run` event show it.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "workflow_id": self.workflow_id,
            "path": self.path,
            "head_branch": self.head_branch,
            "head_sha": self.head_sha,
            "head_commit": {"id": self.head_sha, "message": self.head_message},
            "status": "completed",
            "conclusion": self.conclusion,
            "run_attempt": self.attempt,
            "run_number": self.id,
            "event": self.event,
            "html_url": format!("https://github.com/acme/shop/actions/runs/{}", self.id),
            "head_repository": {"id": if self.head_repository == "acme/shop" { 1 } else { 2 }, "full_name": self.head_repository, "fork": self.head_repository != "acme/shop"},
            "repository": {"id": 1, "full_name": "acme/shop", "fork": false},
            "pull_requests": [],
        })
    }

    /// The `workflow_run` event payload GitHub writes to GITHUB_EVENT_PATH.
    pub fn event(&self) -> Value {
        json!({
            "action": "completed",
            "workflow_run": self.json(),
            "workflow": {"id": self.workflow_id, "name": self.name, "path": self.path},
            "repository": {"id": 1, "full_name": "acme/shop"},
        })
    }
}

/// An issue as the simulator holds it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub labels: Vec<String>,
    pub comments: Vec<String>,
    pub created_at: String,
}

impl Issue {
    fn json(&self, base: &str) -> Value {
        json!({
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "state": self.state,
            "labels": self.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "comments": self.comments.len(),
            "created_at": self.created_at,
            "html_url": format!("{base}/acme/shop/issues/{}", self.number),
        })
    }
}

impl Sim {
    pub fn issues(&self) -> Vec<Issue> {
        self.lock().github.issues.clone()
    }

    pub fn add_run(&self, run: Run) {
        self.lock().github.runs.push(run);
    }

    /// Runs whose failed jobs were re-run, in order.
    pub fn reruns(&self) -> Vec<u64> {
        self.lock().github.reruns.clone()
    }

    /// Workflow dispatches: (workflow, ref).
    pub fn dispatches(&self) -> Vec<(String, String)> {
        self.lock().github.dispatches.clone()
    }

    /// The Authorization header each log download arrived with (after the
    /// redirect): it must be none.
    pub fn log_downloads(&self) -> Vec<Option<String>> {
        self.lock().github.log_downloads.clone()
    }

    /// Serves the bare repositories under `root` at `{url}/git/<name>.git`.
    pub fn serve_git(&self, root: PathBuf) {
        self.lock().github.git_root = Some(root);
    }

    /// The clone URL of a repository served by [`Sim::serve_git`].
    pub fn git_url(&self, name: &str) -> String {
        format!("{}/git/{name}", self.url)
    }

    /// Runs `hook` just before the next push is handed to git: the way to
    /// make someone else push between our fetch and our push.
    pub fn before_next_push(&self, hook: impl FnOnce() + Send + 'static) {
        self.lock().github.push_hooks.push_back(Box::new(hook));
    }
}

fn authorized(request: &Request) -> bool {
    let header = request.header("authorization").unwrap_or_default();
    header == format!("Bearer {GITHUB_TOKEN}") || header == format!("token {GITHUB_TOKEN}")
}

/// `/_logs/{job}`: the pre-signed log host a job-log download redirects to.
fn log_blob(state: &mut State, request: &Request) -> Response {
    let github = &mut state.github;
    github
        .log_downloads
        .push(request.header("authorization").map(String::from));
    let id: u64 = request
        .path
        .trim_start_matches("/_logs/")
        .parse()
        .unwrap_or(0);
    match github
        .runs
        .iter()
        .flat_map(|r| &r.jobs)
        .find(|j| j.id == id)
    {
        Some(job) => Response::text(200, &job.log),
        None => Response::text(404, "expired"),
    }
}

fn actions(state: &mut State, request: &Request, parts: &[&str]) -> Response {
    let port = state
        .base_url
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let github = &mut state.github;
    let find_run = |runs: &[Run], id: &str| {
        id.parse::<u64>()
            .ok()
            .and_then(|id| runs.iter().position(|r| r.id == id))
    };
    match (request.method.as_str(), parts) {
        ("GET", ["runs", id]) => match find_run(&github.runs, id) {
            Some(i) => Response::json(200, &github.runs[i].json()),
            None => Response::error(404, "not_found", "Not Found"),
        },
        ("GET", ["runs", id, "attempts", attempt, "jobs"]) => match find_run(&github.runs, id) {
            Some(i) if attempt.parse::<u64>().ok() == Some(github.runs[i].attempt) => {
                let run = &github.runs[i];
                let jobs: Vec<Value> = run
                    .jobs
                    .iter()
                    .map(|j| json!({"id": j.id, "name": j.name, "status": "completed", "conclusion": j.conclusion, "run_attempt": run.attempt, "run_id": run.id}))
                    .collect();
                Response::json(200, &json!({"total_count": jobs.len(), "jobs": jobs}))
            }
            _ => Response::error(404, "not_found", "Not Found"),
        },
        ("GET", ["jobs", id, "logs"]) => {
            let known = github
                .runs
                .iter()
                .flat_map(|r| &r.jobs)
                .any(|j| j.id.to_string() == *id);
            if !known {
                return Response::error(404, "not_found", "Not Found");
            }
            // A different host name, as GitHub's pre-signed blob URL is.
            Response::empty(302).with_header(
                "Location",
                format!("http://localhost:{port}/_logs/{id}?sig=expires-in-1-minute"),
            )
        }
        // Newest first, as GitHub lists them; `branch` filters.
        ("GET", ["workflows", workflow, "runs"]) => {
            let branch = request.param("branch");
            let per_page = request
                .param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30usize);
            let runs: Vec<Value> = github
                .runs
                .iter()
                .rev()
                .filter(|r| {
                    r.workflow_id.to_string() == *workflow
                        || r.path.ends_with(&format!("/{workflow}"))
                })
                .filter(|r| branch.is_none_or(|b| b == r.head_branch))
                .map(Run::json)
                .collect();
            let total = runs.len();
            let page: Vec<Value> = runs.into_iter().take(per_page).collect();
            Response::json(200, &json!({"total_count": total, "workflow_runs": page}))
        }
        ("POST", ["runs", id, "rerun-failed-jobs"]) => match find_run(&github.runs, id) {
            Some(i) => {
                github.reruns.push(github.runs[i].id);
                Response::json(201, &json!({}))
            }
            None => Response::error(404, "not_found", "Not Found"),
        },
        ("POST", ["workflows", workflow, "dispatches"]) => {
            let reference = request
                .json()
                .get("ref")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            // The newest run of the workflow says whether it can be dispatched.
            let run = github.runs.iter().rev().find(|r| {
                r.workflow_id.to_string() == *workflow || r.path.ends_with(&format!("/{workflow}"))
            });
            match run {
                Some(r) if r.dispatchable => {
                    github.dispatches.push((workflow.to_string(), reference));
                    Response::empty(204)
                }
                Some(_) => Response::error(
                    422,
                    "invalid",
                    "Workflow does not have 'workflow_dispatch' trigger",
                ),
                None => Response::error(404, "not_found", "Not Found"),
            }
        }
        _ => Response::error(404, "not_found", "Not Found"),
    }
}

/// `/repos/{owner}/{repo}/…`
pub(crate) fn api(state: &mut State, request: &Request) -> Response {
    if request.path.starts_with("/_logs/") {
        return log_blob(state, request);
    }
    if !authorized(request) {
        return Response::error(401, "unauthorized", "Bad credentials");
    }
    let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    if parts.get(3) == Some(&"actions") {
        return actions(state, request, &parts[4..]);
    }
    let base = state.base_url.clone();
    let github = &mut state.github;
    let body = request.json();
    match (request.method.as_str(), &parts[3..]) {
        ("GET", ["issues"]) => {
            let wanted = request.param("state").unwrap_or("open");
            let labels: Vec<&str> = request
                .param("labels")
                .map(|l| l.split(',').collect())
                .unwrap_or_default();
            let per_page: usize = request
                .param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30)
                .min(100);
            let page: usize = request
                .param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            let matching: Vec<Value> = github
                .issues
                .iter()
                .rev()
                .filter(|i| wanted == "all" || i.state == wanted)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|i| i.json(&base))
                .collect();
            Response::json(200, &Value::Array(matching))
        }
        ("POST", ["issues"]) => {
            let Some(title) = body.get("title").and_then(Value::as_str) else {
                return Response::error(422, "invalid", "title is required");
            };
            let issue = Issue {
                number: github.issues.len() as u64 + 1,
                title: title.to_string(),
                body: body
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                state: "open".into(),
                labels: body
                    .get("labels")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                comments: Vec::new(),
                created_at: now_rfc3339(),
            };
            let answer = issue.json(&base);
            github.issues.push(issue);
            Response::json(201, &answer)
        }
        (method, ["issues", number, rest @ ..]) => {
            let Some(issue) = number
                .parse::<u64>()
                .ok()
                .and_then(|n| github.issues.iter_mut().find(|i| i.number == n))
            else {
                return Response::error(404, "not_found", "Not Found");
            };
            match (method, rest) {
                ("POST", ["comments"]) => {
                    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
                    issue.comments.push(text.to_string());
                    Response::json(201, &json!({"id": issue.comments.len(), "body": text}))
                }
                ("PATCH", []) => {
                    if let Some(s) = body.get("state").and_then(Value::as_str) {
                        issue.state = s.to_string();
                    }
                    if let Some(b) = body.get("body").and_then(Value::as_str) {
                        issue.body = b.to_string();
                    }
                    Response::json(200, &issue.json(&base))
                }
                ("GET", []) => Response::json(200, &issue.json(&base)),
                _ => Response::error(404, "not_found", "Not Found"),
            }
        }
        _ => Response::error(404, "not_found", "Not Found"),
    }
}

/// What a git request needs once the state lock is released.
pub(crate) struct GitCall {
    root: PathBuf,
    hook: Option<PushHook>,
}

pub(crate) fn prepare_git(state: &mut State, request: &Request) -> Result<GitCall, Response> {
    let basic = request.header("authorization").unwrap_or_default();
    let expected = git_auth_header();
    if basic != expected {
        return Err(Response::text(401, "Authentication required")
            .with_header("WWW-Authenticate", "Basic realm=\"render-sim\""));
    }
    let root = state
        .github
        .git_root
        .clone()
        .ok_or_else(|| Response::text(404, "no repositories served"))?;
    let is_push = request.method == "POST" && request.path.ends_with("/git-receive-pack");
    let hook = if is_push {
        state.github.push_hooks.pop_front()
    } else {
        None
    };
    Ok(GitCall { root, hook })
}

/// Hands the request to `git http-backend` as CGI.
pub(crate) fn serve_git(call: GitCall, request: &Request) -> Response {
    if let Some(hook) = call.hook {
        hook();
    }
    let path_info = request.path.trim_start_matches("/git");
    let mut child = match Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &call.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path_info)
        .env("REQUEST_METHOD", &request.method)
        .env("QUERY_STRING", &request.raw_query)
        .env(
            "CONTENT_TYPE",
            request.header("content-type").unwrap_or_default(),
        )
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            request.header("content-encoding").unwrap_or_default(),
        )
        .env(
            "GIT_PROTOCOL",
            request.header("git-protocol").unwrap_or_default(),
        )
        .env("REMOTE_USER", "x-access-token")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Response::text(500, &format!("git http-backend: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&request.body);
    }
    let output = match child.wait_with_output() {
        Ok(o) => o.stdout,
        Err(e) => return Response::text(500, &format!("git http-backend: {e}")),
    };
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, gap)) = split else {
        return Response::text(500, "git http-backend gave no headers");
    };
    let head = String::from_utf8_lossy(&output[..end]).into_owned();
    let mut response = Response::empty(200);
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                response.status = v
                    .trim()
                    .split(' ')
                    .next()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(500);
            } else {
                response
                    .headers
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    response.body = output[end + gap..].to_vec();
    response
}

/// The `Authorization` value git sends for `x-access-token:<token>`; tests
/// pass it to the git command line with `-c http.extraHeader=…`.
pub fn git_auth_header() -> String {
    format!(
        "Basic {}",
        base64(&format!("x-access-token:{GITHUB_TOKEN}"))
    )
}

fn base64(text: &str) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
