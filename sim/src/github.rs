//! The simulated GitHub: issues, and git over smart HTTP served by the real
//! `git http-backend` (so pushes run server-side hooks such as a protected
//! branch's). Workflow runs, jobs and logs are added for recover mode.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use crate::wire::{Request, Response};
use crate::{now_rfc3339, Sim, State, GITHUB_TOKEN};

mod deployments;

pub use deployments::{Deployment, DeploymentStatus};

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
    deployments: Vec<Deployment>,
}

/// A workflow run with its jobs.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: u64,
    pub name: String,
    pub workflow_id: u64,
    pub path: String,
    /// Empty: GitHub names no branch (`null`).
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
    /// When the run was created; it completed four minutes later.
    pub created_at: Timestamp,
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
            created_at: Timestamp::now() - SignedDuration::from_mins(10),
        }
    }

    /// The run as the REST API and the `workflow_run` event show it.
    pub fn json(&self) -> Value {
        let api = format!("{GITHUB_API}/repos/acme/shop/actions/runs/{}", self.id);
        let fork = self.head_repository != "acme/shop";
        json!({
            "id": self.id,
            "name": self.name,
            "node_id": format!("WFR_kwLO{}", self.id),
            "check_suite_id": self.id + 5000,
            "check_suite_node_id": format!("CS_kwDO{}", self.id + 5000),
            // GitHub sends null when it knows no branch (a tag, say).
            "head_branch": (!self.head_branch.is_empty()).then_some(&self.head_branch),
            "head_sha": self.head_sha,
            "path": self.path,
            "display_title": self.head_message.lines().next().unwrap_or_default(),
            "run_number": self.id,
            "run_attempt": self.attempt,
            "referenced_workflows": [],
            "event": self.event,
            "status": "completed",
            "conclusion": self.conclusion,
            "workflow_id": self.workflow_id,
            "url": api,
            "html_url": format!("https://github.com/acme/shop/actions/runs/{}", self.id),
            "pull_requests": [],
            "created_at": self.created_at.to_string(),
            "updated_at": self.finished_at().to_string(),
            "run_started_at": self.created_at.to_string(),
            "actor": user("ada", 583231, "User", GITHUB_API),
            "triggering_actor": user("ada", 583231, "User", GITHUB_API),
            "jobs_url": format!("{api}/jobs"),
            "logs_url": format!("{api}/logs"),
            "check_suite_url": format!("{GITHUB_API}/repos/acme/shop/check-suites/{}", self.id + 5000),
            "artifacts_url": format!("{api}/artifacts"),
            "cancel_url": format!("{api}/cancel"),
            "rerun_url": format!("{api}/rerun"),
            "previous_attempt_url": (self.attempt > 1).then(|| format!("{api}/attempts/{}", self.attempt - 1)),
            "workflow_url": format!("{GITHUB_API}/repos/acme/shop/actions/workflows/{}", self.workflow_id),
            "head_commit": {
                "id": self.head_sha,
                "tree_id": self.head_sha.chars().rev().collect::<String>(),
                "message": self.head_message,
                "timestamp": self.created_at.to_string(),
                "author": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "head_repository": repository(&self.head_repository, if fork { 2 } else { 1 }, fork),
            "head_repository_id": if fork { 2 } else { 1 },
            "repository": repository("acme/shop", 1, false),
        })
    }

    fn finished_at(&self) -> Timestamp {
        self.created_at + SignedDuration::from_mins(4)
    }

    /// The run's jobs as the jobs API lists them.
    fn jobs_json(&self) -> Vec<Value> {
        let at = |secs: i64| (self.created_at + SignedDuration::from_secs(secs)).to_string();
        self.jobs
            .iter()
            .map(|j| {
                json!({
                    "id": j.id,
                    "run_id": self.id,
                    "run_url": format!("{GITHUB_API}/repos/acme/shop/actions/runs/{}", self.id),
                    "run_attempt": self.attempt,
                    "node_id": format!("CR_kwDO{}", j.id),
                    "head_sha": self.head_sha,
                    "url": format!("{GITHUB_API}/repos/acme/shop/actions/jobs/{}", j.id),
                    "html_url": format!("https://github.com/acme/shop/actions/runs/{}/job/{}", self.id, j.id),
                    "status": "completed",
                    "conclusion": j.conclusion,
                    "created_at": at(0),
                    "started_at": at(5),
                    "completed_at": self.finished_at().to_string(),
                    "name": j.name,
                    "steps": [
                        {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1, "started_at": at(5), "completed_at": at(7)},
                        {"name": "Run pnpm install", "status": "completed", "conclusion": j.conclusion, "number": 2, "started_at": at(7), "completed_at": self.finished_at().to_string()},
                    ],
                    "check_run_url": format!("{GITHUB_API}/repos/acme/shop/check-runs/{}", j.id),
                    "labels": ["ubuntu-latest"],
                    "runner_id": 7,
                    "runner_name": "GitHub Actions 7",
                    "runner_group_id": 2,
                    "runner_group_name": "GitHub Actions",
                    "workflow_name": self.name,
                    "head_branch": (!self.head_branch.is_empty()).then_some(&self.head_branch),
                })
            })
            .collect()
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
    pub updated_at: String,
    /// Set while closed.
    pub closed_at: Option<String>,
    /// The id and times of each comment, index for index with `comments`
    /// (which keeps the bodies alone, for tests to read).
    comment_meta: Vec<CommentMeta>,
    /// A pull request, which GitHub treats as an issue for comments.
    pull_request: bool,
}

#[derive(Debug, Clone)]
struct CommentMeta {
    id: u64,
    created_at: String,
    updated_at: String,
}

impl Issue {
    fn json(&self, base: &str) -> Value {
        let url = format!("{base}/repos/acme/shop/issues/{}", self.number);
        let mut value = json!({
            "id": 2_000_000 + self.number,
            "node_id": format!("I_kwDOsim{}", self.number),
            "url": url,
            "repository_url": format!("{base}/repos/acme/shop"),
            "labels_url": format!("{url}/labels{{/name}}"),
            "comments_url": format!("{url}/comments"),
            "events_url": format!("{url}/events"),
            "html_url": format!("{base}/acme/shop/issues/{}", self.number),
            "number": self.number,
            "state": self.state,
            "state_reason": self.closed_at.as_ref().map(|_| "completed"),
            "title": self.title,
            // GitHub sends null, not "", for an issue without a body.
            "body": (!self.body.is_empty()).then_some(&self.body),
            "user": user("github-actions[bot]", 41898282, "Bot", base),
            "labels": self.labels.iter().map(|l| label(l, base)).collect::<Vec<_>>(),
            "assignee": null,
            "assignees": [],
            "milestone": null,
            "locked": false,
            "active_lock_reason": null,
            "comments": self.comments.len(),
            "closed_at": self.closed_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "author_association": "CONTRIBUTOR",
            "performed_via_github_app": null,
        });
        if self.pull_request {
            let pull = format!("{base}/acme/shop/pull/{}", self.number);
            value["html_url"] = json!(pull);
            value["pull_request"] = json!({
                "url": format!("{base}/repos/acme/shop/pulls/{}", self.number),
                "html_url": pull,
                "diff_url": format!("{pull}.diff"),
                "patch_url": format!("{pull}.patch"),
                "merged_at": null,
            });
        }
        value
    }

    /// Comment `index` of the issue, posted as the Actions bot.
    fn comment_json(&self, index: usize, base: &str) -> Value {
        let meta = &self.comment_meta[index];
        let id = meta.id;
        json!({
            "id": id,
            "node_id": format!("IC_kwDOsim{id}"),
            "url": format!("{base}/repos/acme/shop/issues/comments/{id}"),
            "html_url": format!("{base}/acme/shop/issues/{}#issuecomment-{id}", self.number),
            "issue_url": format!("{base}/repos/acme/shop/issues/{}", self.number),
            "body": self.comments[index],
            "user": user("github-actions[bot]", 41898282, "Bot", base),
            "created_at": meta.created_at,
            "updated_at": meta.updated_at,
            "author_association": "CONTRIBUTOR",
            "performed_via_github_app": null,
        })
    }

    fn new(number: u64, title: &str) -> Issue {
        Issue {
            number,
            title: title.to_string(),
            body: String::new(),
            state: "open".into(),
            labels: Vec::new(),
            comments: Vec::new(),
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
            closed_at: None,
            comment_meta: Vec::new(),
            pull_request: false,
        }
    }
}

impl GitHub {
    /// The directory of a repository served by [`Sim::serve_git`].
    pub(crate) fn repository(&self, name: &str) -> Option<PathBuf> {
        Some(self.git_root.as_ref()?.join(name))
    }

    /// Pull request `number` opens, unless that number is taken.
    pub(crate) fn open_pull_request(&mut self, number: u64) {
        if self.issues.iter().all(|i| i.number != number) {
            self.issues.push(Issue {
                pull_request: true,
                ..Issue::new(number, &format!("Pull request #{number}"))
            });
        }
    }

    /// Comment ids count up across issues, as GitHub's do.
    fn next_comment_id(&self) -> u64 {
        let posted: usize = self.issues.iter().map(|i| i.comments.len()).sum();
        3_000_000 + posted as u64 + 1
    }
}

/// Where API URLs point in payloads that are not served by a simulator
/// (the `workflow_run` event).
const GITHUB_API: &str = "https://api.github.com";

/// A user as GitHub's `simple-user` schema shapes it.
fn user(login: &str, id: u64, kind: &str, api: &str) -> Value {
    // A bot's login has brackets, which URLs carry percent-encoded.
    let escaped = login.replace('[', "%5B").replace(']', "%5D");
    let url = format!("{api}/users/{escaped}");
    let page = match login.strip_suffix("[bot]") {
        Some(app) => format!("https://github.com/apps/{app}"),
        None => format!("https://github.com/{login}"),
    };
    json!({
        "login": login,
        "id": id,
        "node_id": format!("MDQ6VXNlcj{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": page,
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

fn label(name: &str, api: &str) -> Value {
    let id = name
        .bytes()
        .fold(5000_u64, |h, b| h.wrapping_mul(31) + u64::from(b))
        % 1_000_000_000;
    json!({
        "id": id,
        "node_id": format!("LA_kwDOsim{id}"),
        "url": format!("{api}/repos/acme/shop/labels/{name}"),
        "name": name,
        "description": null,
        "color": "ededed",
        "default": false,
    })
}

/// A repository as GitHub's `minimal-repository` schema shapes it.
fn repository(full_name: &str, id: u64, fork: bool) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    let url = format!("{GITHUB_API}/repos/{full_name}");
    let mut value = json!({
        "id": id,
        "node_id": format!("R_kgDOsim{id}"),
        "name": name,
        "full_name": full_name,
        "owner": user(owner, 1000 + id, "Organization", GITHUB_API),
        "private": false,
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": fork,
        "url": url,
    });
    let links = [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ];
    for (key, path) in links {
        value[key] = json!(format!("{url}{path}"));
    }
    value
}

impl Sim {
    /// The issues, without pull requests.
    pub fn issues(&self) -> Vec<Issue> {
        let issues = self.lock().github.issues.clone();
        issues.into_iter().filter(|i| !i.pull_request).collect()
    }

    /// The comments on issue or pull request `number`, oldest first: (id,
    /// body).
    pub fn comments(&self, number: u64) -> Vec<(u64, String)> {
        let state = self.lock();
        let Some(issue) = state.github.issues.iter().find(|i| i.number == number) else {
            return Vec::new();
        };
        let ids = issue.comment_meta.iter().map(|m| m.id);
        ids.zip(issue.comments.iter().cloned()).collect()
    }

    /// Adds a run, or replaces the record of a run with the same id.
    pub fn add_run(&self, run: Run) {
        let runs = &mut self.lock().github.runs;
        runs.retain(|r| r.id != run.id);
        runs.push(run);
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

/// An error as GitHub words it: a message and where the docs are.
fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

fn not_found() -> Response {
    error(404, "Not Found")
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
            None => not_found(),
        },
        ("GET", ["runs", id, "attempts", attempt, "jobs"]) => match find_run(&github.runs, id) {
            Some(i) if attempt.parse::<u64>().ok() == Some(github.runs[i].attempt) => {
                let jobs = github.runs[i].jobs_json();
                Response::json(200, &json!({"total_count": jobs.len(), "jobs": jobs}))
            }
            _ => not_found(),
        },
        ("GET", ["jobs", id, "logs"]) => {
            let known = github
                .runs
                .iter()
                .flat_map(|r| &r.jobs)
                .any(|j| j.id.to_string() == *id);
            if !known {
                return not_found();
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
            None => not_found(),
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
                Some(_) => error(422, "Workflow does not have 'workflow_dispatch' trigger"),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// `/repos/{owner}/{repo}/…`
pub(crate) fn api(state: &mut State, request: &Request) -> Response {
    if request.path.starts_with("/_logs/") {
        return log_blob(state, request);
    }
    if !authorized(request) {
        return error(401, "Bad credentials");
    }
    let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    if parts.get(3) == Some(&"actions") {
        return actions(state, request, &parts[4..]);
    }
    if parts.get(3) == Some(&"deployments") {
        return deployments::api(state, request, &parts[4..]);
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
            let (per_page, page) = paging(request);
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
                return error(422, "Invalid request: \"title\" wasn't supplied.");
            };
            // Issues and pull requests share numbers.
            let number = github.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1;
            let issue = Issue {
                body: body
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
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
                ..Issue::new(number, title)
            };
            let answer = issue.json(&base);
            github.issues.push(issue);
            Response::json(201, &answer)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let Some(text) = body.get("body").and_then(Value::as_str) else {
                return error(422, "Invalid request: \"body\" wasn't supplied.");
            };
            let id = id.parse::<u64>().ok();
            let found = github.issues.iter_mut().find_map(|issue| {
                let index = issue.comment_meta.iter().position(|m| Some(m.id) == id)?;
                Some((issue, index))
            });
            let Some((issue, index)) = found else {
                return not_found();
            };
            issue.comments[index] = text.to_string();
            issue.comment_meta[index].updated_at = now_rfc3339();
            Response::json(200, &issue.comment_json(index, &base))
        }
        (method, ["issues", number, rest @ ..]) => {
            let comment_id = github.next_comment_id();
            let Some(issue) = number
                .parse::<u64>()
                .ok()
                .and_then(|n| github.issues.iter_mut().find(|i| i.number == n))
            else {
                return not_found();
            };
            match (method, rest) {
                ("POST", ["comments"]) => {
                    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
                    issue.comments.push(text.to_string());
                    issue.updated_at = now_rfc3339();
                    issue.comment_meta.push(CommentMeta {
                        id: comment_id,
                        created_at: issue.updated_at.clone(),
                        updated_at: issue.updated_at.clone(),
                    });
                    let index = issue.comments.len() - 1;
                    Response::json(201, &issue.comment_json(index, &base))
                }
                // Oldest first, as GitHub lists them.
                ("GET", ["comments"]) => {
                    let (per_page, page) = paging(request);
                    let comments: Vec<Value> = (0..issue.comments.len())
                        .skip((page - 1) * per_page)
                        .take(per_page)
                        .map(|i| issue.comment_json(i, &base))
                        .collect();
                    Response::json(200, &Value::Array(comments))
                }
                ("PATCH", []) => {
                    if let Some(s) = body.get("state").and_then(Value::as_str) {
                        issue.state = s.to_string();
                        issue.closed_at = match s {
                            "closed" => issue.closed_at.take().or_else(|| Some(now_rfc3339())),
                            _ => None,
                        };
                    }
                    if let Some(b) = body.get("body").and_then(Value::as_str) {
                        issue.body = b.to_string();
                    }
                    issue.updated_at = now_rfc3339();
                    Response::json(200, &issue.json(&base))
                }
                ("GET", []) => Response::json(200, &issue.json(&base)),
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// `per_page` (default 30, at most 100) and `page` (from 1), as GitHub's
/// lists take them.
fn paging(request: &Request) -> (usize, usize) {
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
    (per_page, page)
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

impl GitCall {
    /// Runs the hook a test set to run before this push.
    pub(crate) fn run_push_hook(&mut self) {
        if let Some(hook) = self.hook.take() {
            hook();
        }
    }

    /// The repository a push goes to: (name, directory); `None` for a
    /// fetch.
    pub(crate) fn pushed_repository(&self, request: &Request) -> Option<(String, PathBuf)> {
        let path = request.path.strip_prefix("/git/")?;
        let name = path.strip_suffix("/git-receive-pack")?;
        let pushed = request.method == "POST" && !name.contains("..");
        pushed.then(|| (name.to_string(), self.root.join(name)))
    }
}

/// Hands the request to `git http-backend` as CGI.
pub(crate) fn serve_git(call: GitCall, request: &Request) -> Response {
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
