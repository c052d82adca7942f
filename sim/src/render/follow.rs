//! What Render does without being asked: Auto-Deploy of a push to a
//! service's branch (at once, or once the commit's checks pass), and
//! pull-request previews, each a few seconds later.
//!
//! Nothing runs on a timer. The work is scheduled, and done the next time
//! anyone locks the state (every request and every `Sim` call does), dated
//! back to when it fell due: no reader can tell it from a timer, and no
//! thread outlives a test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::{Timestamp, Unit};

use super::{timestamp_of, AutoDeploy, Render, ServiceSpec};
use crate::{Sim, State};

/// The phrases that keep Render from deploying a commit, anywhere in its
/// message and in any case.
const SKIP_PHRASES: [&str; 6] = [
    "[skip render]",
    "[render skip]",
    "[skip deploy]",
    "[deploy skip]",
    "[skip cd]",
    "[cd skip]",
];

/// A commit as a deploy shows it: the first line of its message, and when
/// it was committed.
#[derive(Debug, Clone)]
pub(crate) struct CommitDetail {
    pub message: String,
    pub created_at: Timestamp,
}

/// A commit Render is to deploy.
#[derive(Debug, Clone)]
struct Commit {
    sha: String,
    /// `None` when the SHA is not in the service's served repository.
    detail: Option<CommitDetail>,
}

enum Work {
    /// A deploy of this commit, triggered by the push (`new_commit`).
    Deploy { service: String, commit: Commit },
    /// The preview of this pull request, with a deploy of its head.
    Preview(u64),
}

struct PullRequest {
    number: u64,
    parent: String,
    head: Commit,
    /// The preview service, once Render created it.
    preview: Option<String>,
}

pub(crate) struct Follow {
    auto_deploy_delay: Duration,
    preview_delay: Duration,
    /// Work to do, each with when.
    scheduled: Vec<(Instant, Work)>,
    /// Pushed tips of `ChecksPass` services whose checks have not passed:
    /// (service, commit), the newest push of each service only.
    awaiting_checks: Vec<(String, Commit)>,
    pull_requests: Vec<PullRequest>,
}

impl Default for Follow {
    fn default() -> Follow {
        Follow {
            auto_deploy_delay: Duration::from_secs(2),
            preview_delay: Duration::from_secs(3),
            scheduled: Vec::new(),
            awaiting_checks: Vec::new(),
            pull_requests: Vec::new(),
        }
    }
}

impl Follow {
    fn schedule(&mut self, delay: Duration, work: Work) {
        self.scheduled.push((Instant::now() + delay, work));
    }

    fn deploy_later(&mut self, service: &str, commit: Commit) {
        let work = Work::Deploy {
            service: service.to_string(),
            commit,
        };
        self.schedule(self.auto_deploy_delay, work);
    }
}

impl Render {
    /// Does the work that fell due by `now`, earliest first, each at its
    /// own time.
    pub(crate) fn catch_up(&mut self, now: Instant) {
        loop {
            let next = self
                .follow
                .scheduled
                .iter()
                .enumerate()
                .filter(|(_, (due, _))| *due <= now)
                .min_by_key(|(_, (due, _))| *due)
                .map(|(i, _)| i);
            let Some(next) = next else {
                return;
            };
            match self.follow.scheduled.remove(next) {
                (due, Work::Deploy { service, commit }) => {
                    self.deploy_commit(&service, commit, due)
                }
                (due, Work::Preview(number)) => self.create_preview(number, due),
            }
        }
    }

    fn deploy_commit(&mut self, service: &str, commit: Commit, at: Instant) {
        let Some(index) = self.services.iter().position(|s| s.id == service) else {
            return;
        };
        // A suspended service deploys nothing until it is resumed.
        if self.services[index].spec.suspended {
            return;
        }
        let i = self.start_deploy(index, Some(commit.sha), None, "new_commit", at);
        self.services[index].deploys[i].commit_detail = commit.detail;
    }

    /// Render names a preview `<parent> PR #<number>` and gives it the
    /// parent's settings; it builds the pull request's branch, not `main`.
    fn create_preview(&mut self, number: u64, at: Instant) {
        let follow = &self.follow;
        let Some(pull) = follow.pull_requests.iter().find(|p| p.number == number) else {
            return;
        };
        let Some(parent) = self.services.iter().find(|s| s.id == pull.parent) else {
            return;
        };
        if !parent.spec.previews {
            return;
        }
        let spec = ServiceSpec {
            name: format!("{} PR #{number}", parent.spec.name),
            repo: None,
            previews: false,
            ..parent.spec.clone()
        };
        let parent = (parent.id.clone(), parent.spec.name.clone());
        let head = pull.head.clone();
        let id = self.add(spec, Some(parent));
        if let Some(preview) = self.services.last_mut() {
            let created = timestamp_of(at);
            preview.created_at = created.round(Unit::Second).unwrap_or(created).to_string();
        }
        let follow = &mut self.follow;
        if let Some(pull) = follow.pull_requests.iter_mut().find(|p| p.number == number) {
            pull.preview = Some(id.clone());
        }
        self.deploy_commit(&id, head, at);
    }

    /// A push moved `main` of `repo` to `commit`: what each service that
    /// deploys it does, by its Auto-Deploy setting.
    fn pushed(&mut self, repo: &str, commit: &Commit, message: &str, changed: &[&str]) {
        let message = message.to_lowercase();
        if SKIP_PHRASES.iter().any(|p| message.contains(p)) {
            return;
        }
        let Render {
            services, follow, ..
        } = self;
        for svc in services.iter() {
            let spec = &svc.spec;
            if spec.repo.as_deref() != Some(repo) || !touches(&spec.root_dir, changed) {
                continue;
            }
            match spec.auto_deploy {
                AutoDeploy::Commit => follow.deploy_later(&svc.id, commit.clone()),
                AutoDeploy::ChecksPass => {
                    // Render deploys the branch's tip: an older commit
                    // whose checks pass later is not deployed.
                    follow.awaiting_checks.retain(|(id, _)| *id != svc.id);
                    follow
                        .awaiting_checks
                        .push((svc.id.clone(), commit.clone()));
                }
                AutoDeploy::Off => {}
            }
        }
    }
}

/// Whether a change to `changed` paths concerns a service with this root
/// directory: every change does when it has none.
fn touches(root_dir: &str, changed: &[&str]) -> bool {
    let root = root_dir.trim_start_matches("./").trim_matches('/');
    root.is_empty()
        || changed.iter().any(|path| {
            path.strip_prefix(root)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// A push to a served repository, seen from both sides of git's work.
pub(crate) struct Push {
    repo: String,
    dir: PathBuf,
    before: Option<String>,
}

impl Push {
    /// Reads `main` before git takes the push.
    pub(crate) fn begin(repo: &str, dir: PathBuf) -> Push {
        let before = tip(&dir);
        Push {
            repo: repo.to_string(),
            dir,
            before,
        }
    }

    /// Once git took the push: if it moved `main`, tells Render the new
    /// tip, its message and what changed. Reads git before taking the lock.
    pub(crate) fn finish(self, shared: &Mutex<State>) {
        let Some(after) = tip(&self.dir) else {
            return;
        };
        if self.before.as_deref() == Some(after.as_str()) {
            return;
        }
        let changed = match &self.before {
            Some(before) => git(&self.dir, &["diff", "--name-only", before, &after]),
            // A new branch: everything in it is new.
            None => git(&self.dir, &["ls-tree", "-r", "--name-only", &after]),
        }
        .unwrap_or_default();
        let (detail, message) = match read_commit(&self.dir, &after) {
            Some((detail, message)) => (Some(detail), message),
            None => (None, String::new()),
        };
        let commit = Commit { sha: after, detail };
        let changed: Vec<&str> = changed.lines().collect();
        crate::lock(shared)
            .render
            .pushed(&self.repo, &commit, &message, &changed);
    }
}

fn tip(dir: &Path) -> Option<String> {
    let sha = git(dir, &["rev-parse", "--verify", "-q", "refs/heads/main"])?;
    Some(sha.trim().to_string())
}

/// A commit of the repository at `dir`: its detail and whole message, or
/// `None` when it is not there.
fn read_commit(dir: &Path, sha: &str) -> Option<(CommitDetail, String)> {
    let out = git(
        dir,
        &["log", "-1", "--format=%cI%n%B", "--end-of-options", sha],
    )?;
    let (time, message) = out.split_once('\n')?;
    let detail = CommitDetail {
        message: message.lines().next().unwrap_or_default().to_string(),
        created_at: time.parse().ok()?,
    };
    Some((detail, message.to_string()))
}

/// Git on a bare repository; `None` when it fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Sim {
    /// Links `service` to `repo` (served by [`Sim::serve_git`]): Render
    /// then deploys the pushes to its `main` by the service's Auto-Deploy.
    pub fn set_repo(&self, service: &str, repo: &str) {
        if let Some(svc) = self.lock().render.find(service) {
            svc.spec.repo = Some(repo.to_string());
        }
    }

    /// How long after a push Render starts its deploy (default 2 s); also
    /// how long after a push to a pull request its preview deploys.
    pub fn set_auto_deploy_delay(&self, delay: Duration) {
        self.lock().render.follow.auto_deploy_delay = delay;
    }

    /// How long after a pull request opens its preview appears (default
    /// 3 s).
    pub fn set_preview_delay(&self, delay: Duration) {
        self.lock().render.follow.preview_delay = delay;
    }

    /// The checks of commit `sha` passed: services set to deploy after
    /// checks pass deploy it, if it is still their branch's newest push.
    pub fn checks_passed(&self, sha: &str) {
        let mut state = self.lock();
        let follow = &mut state.render.follow;
        let (passed, waiting) = std::mem::take(&mut follow.awaiting_checks)
            .into_iter()
            .partition(|(_, commit)| commit.sha == sha);
        follow.awaiting_checks = waiting;
        for (service, commit) in passed {
            follow.deploy_later(&service, commit);
        }
    }

    /// Pull request `number` opens with `head_sha`: GitHub knows it (for
    /// comments), and after the preview delay Render creates the preview
    /// of `parent_service` if that has previews, and deploys the head.
    pub fn open_pull_request(&self, parent_service: &str, number: u64, head_sha: &str) {
        let head = self.commit_of(parent_service, head_sha);
        let mut state = self.lock();
        state.github.open_pull_request(number);
        let follow = &mut state.render.follow;
        if follow.pull_requests.iter().any(|p| p.number == number) {
            return;
        }
        follow.pull_requests.push(PullRequest {
            number,
            parent: parent_service.to_string(),
            head,
            preview: None,
        });
        follow.schedule(follow.preview_delay, Work::Preview(number));
    }

    /// A push to pull request `number`: its preview deploys `head_sha`
    /// after the Auto-Deploy delay (canceling a running deploy), or is
    /// created with it if it does not exist yet.
    pub fn push_pull_request(&self, number: u64, head_sha: &str) {
        let parent = {
            let state = self.lock();
            let pulls = &state.render.follow.pull_requests;
            pulls
                .iter()
                .find(|p| p.number == number)
                .map(|p| p.parent.clone())
        };
        let Some(parent) = parent else {
            return;
        };
        let head = self.commit_of(&parent, head_sha);
        let mut state = self.lock();
        let follow = &mut state.render.follow;
        let Some(pull) = follow.pull_requests.iter_mut().find(|p| p.number == number) else {
            return;
        };
        pull.head = head.clone();
        if let Some(preview) = pull.preview.clone() {
            follow.deploy_later(&preview, head);
        }
    }

    /// The preview service of `parent` for pull request `number`, once
    /// Render created it.
    pub fn preview_of(&self, parent: &str, number: u64) -> Option<String> {
        let state = self.lock();
        let pulls = &state.render.follow.pull_requests;
        let pull = pulls
            .iter()
            .find(|p| p.number == number && p.parent == parent)?;
        pull.preview.clone()
    }

    /// `sha` as a commit of the repository `service` deploys, with its
    /// message and time when it is there.
    fn commit_of(&self, service: &str, sha: &str) -> Commit {
        let dir = {
            let mut state = self.lock();
            let repo = state.render.find(service).and_then(|s| s.spec.repo.clone());
            repo.and_then(|r| state.github.repository(&r))
        };
        let detail = dir
            .and_then(|d| read_commit(&d, sha))
            .map(|(detail, _)| detail);
        Commit {
            sha: sha.to_string(),
            detail,
        }
    }
}
