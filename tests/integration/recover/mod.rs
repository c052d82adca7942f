//! Recover's tests, a file per fix. Each test is a scenario: a CI run
//! failed, recover runs on it, and the test reads what changed: the
//! repository, GitHub's runs and issues, Render's deploys.
//!
//! A [`Project`] is a real pnpm project on a real remote that the simulator
//! serves, whose last commit broke its lockfile. [`Recover`] is one run of
//! recover on it, written as just's tests are: inputs, then what it must
//! report, then `.success()`, `.failure()` or `.status(n)`, which runs it,
//! checks everything, fails once with all that differed, and checks that
//! no secret it was given reached an issue or a commit.

mod events;
mod issues;
mod lockfile;
mod pnpm;
mod render;
mod runs;
mod untrusted;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use render_sim::{Plan, Recorded, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};
use tempfile::TempDir;

use crate::repo::{assert_no_secret_published, git, remote, Remote};
use crate::support::{rp, Outcome, Rp};

/// The pnpm releases ./scripts/test puts in corepack's cache: render-pilot's
/// default, and the majors before it.
pub(crate) const PNPM_10: &str = "10.34.9";
const PNPM_9: &str = "9.15.9";
const PNPM_8: &str = "8.15.9";

/// A `git push` that lost the race with another push.
const PUSH_RACE_LOG: &str = "2026-11-29T10:00:00Z To https://github.com/acme/shop.git\n2026-11-29T10:00:00Z  ! [rejected]        main -> main (fetch first)\n2026-11-29T10:00:00Z error: failed to push some refs";

/// A build step that failed in a way no fix knows.
const MAKE_LOG: &str = "2026-11-29T10:00:00Z make: *** [all] Error 2\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 2.";

/// pnpm `version` through corepack, as recover runs it; never downloaded.
fn pnpm_at(version: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("corepack")
        .arg(format!("pnpm@{version}"))
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env("COREPACK_ENABLE_NETWORK", "0")
        .output()
        .expect("corepack is installed (./scripts/test sets it up)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A pnpm project on a remote the simulator serves (with the simulated
/// GitHub and Render around it), whose last commit on main added a local
/// dependency to package.json without updating pnpm-lock.yaml.
pub(crate) struct Project {
    pub(crate) sim: Sim,
    pub(crate) remote: Remote,
    /// main's head: the commit that broke the lockfile.
    pub(crate) head: String,
    /// A clone of the remote: the workspace recover runs in.
    pub(crate) clone: PathBuf,
    /// The real log of `pnpm install --frozen-lockfile` at `head`,
    /// timestamped as job logs are.
    pub(crate) log: String,
    /// The `workflow_run` event payload recover reads.
    event: PathBuf,
    _dir: TempDir,
}

impl Project {
    /// The project with its lockfile written by render-pilot's default pnpm.
    fn new() -> Project {
        Project::using(PNPM_10, None, &[])
    }

    /// The project with its lockfile written by pnpm `version`,
    /// package.json's `packageManager` (if any) and more files in its first
    /// commit.
    pub(crate) fn using(
        version: &str,
        package_manager: Option<&str>,
        files: &[(&str, &str)],
    ) -> Project {
        let sim = Sim::start();
        let remote = remote(&sim);
        let dir = tempfile::tempdir().unwrap();
        let clone = remote.clone_into(dir.path());
        write_libb(&clone);
        for (name, text) in files {
            std::fs::write(clone.join(name), text).unwrap();
        }
        let mut manifest = serde_json::json!({"name": "shop", "version": "1.0.0", "private": true});
        if let Some(pm) = package_manager {
            manifest["packageManager"] = pm.into();
        }
        std::fs::write(clone.join("package.json"), manifest.to_string()).unwrap();
        let (ok, output) = pnpm_at(version, &clone, &["install", "--lockfile-only"]);
        assert!(ok, "{output}");
        git(&clone, &["add", "."]);
        git(&clone, &["commit", "-q", "-m", "add pnpm project"]);
        manifest["dependencies"] = serde_json::json!({"libb": "file:./libb"});
        std::fs::write(clone.join("package.json"), manifest.to_string()).unwrap();
        git(&clone, &["commit", "-q", "-am", "use libb"]);
        git(&clone, &["push", "-q", "origin", "main"]);
        let (ok, output) = pnpm_at(version, &clone, &["install", "--frozen-lockfile"]);
        assert!(!ok, "the lockfile is out of date");
        let log: String = output
            .lines()
            .map(|l| format!("2026-11-29T10:00:01.1234567Z {l}\n"))
            .collect::<String>()
            + "2026-11-29T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n";
        Project {
            head: remote.tip(),
            event: dir.path().join("event.json"),
            sim,
            remote,
            clone,
            log,
            _dir: dir,
        }
    }

    /// A failed `push` run of CI on main's head whose build job logged
    /// `log`: change its fields, then hand it to [`Project::ran`].
    fn failed_run(&self, id: u64, log: &str) -> Run {
        Run::failed(id, &self.head, log)
    }

    /// Makes `run` the run recover is started for: GitHub serves it and the
    /// `workflow_run` event names it.
    pub(crate) fn ran(&self, run: Run) -> &Self {
        self.ran_with_event(run, |_| {})
    }

    /// [`Project::ran`], with the event's `workflow_run` changed by `edit`:
    /// the way to send what the simulator never sends.
    fn ran_with_event(&self, run: Run, edit: impl FnOnce(&mut serde_json::Value)) -> &Self {
        let mut event = run.event();
        edit(&mut event["workflow_run"]);
        std::fs::write(&self.event, event.to_string()).unwrap();
        self.sim.add_run(run);
        self
    }

    /// CI failed on main's head with `log`.
    fn fails(&self, id: u64, log: &str) -> &Self {
        self.ran(self.failed_run(id, log))
    }

    /// CI failed on main's head on the outdated lockfile.
    fn fails_on_the_lockfile(&self, id: u64) -> &Self {
        self.fails(id, &self.log)
    }

    /// A failed run of CI on main's tip, render-pilot's fix: its commit
    /// message, trailer and all.
    fn failed_run_on_the_fix(&self, id: u64, log: &str) -> Run {
        Run {
            head_message: self.last_message(),
            ..Run::failed(id, &self.remote.tip(), log)
        }
    }

    /// Changes package.json with `edit`, commits it (with whatever else
    /// the test wrote in the clone) and pushes: returns the new tip.
    fn commit_manifest(&self, message: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let path = self.clone.join("package.json");
        let mut manifest = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut manifest);
        std::fs::write(&path, manifest.to_string()).unwrap();
        git(&self.clone, &["add", "."]);
        git(&self.clone, &["commit", "-q", "-m", message]);
        git(&self.clone, &["push", "-q", "origin", "main"]);
        self.remote.tip()
    }

    /// The parent of main's head.
    fn head_parent(&self) -> String {
        git(&self.clone, &["rev-parse", "HEAD~1"])
            .trim()
            .to_string()
    }

    /// The one issue recover filed.
    fn the_issue(&self) -> render_sim::Issue {
        let mut issues = self.sim.issues();
        assert_eq!(issues.len(), 1, "{issues:#?}");
        issues.remove(0)
    }

    /// A commit pushed to main from another clone, as someone else would.
    fn someone_pushes(&self, file: &str, text: &str, message: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let other = self.remote.clone_into(dir.path());
        crate::repo::push_change(&other, file, text, message);
        self.remote.tip()
    }

    /// A web service on Render named `name`.
    fn service(&self, name: &str) -> String {
        self.sim.add_service(ServiceSpec::web(name))
    }

    /// A deploy of `service` that ended `status` `ago_secs` seconds ago.
    fn deployed(&self, service: &str, status: &str, ago_secs: u64) -> String {
        self.sim
            .add_history(service, status, Duration::from_secs(ago_secs))
    }

    /// A web service whose newest deploy went live a minute ago, after one
    /// of two hours ago: returns the service and that older deploy.
    fn live_again(&self) -> (String, String) {
        let service = self.service("shop-web");
        let old = self.deployed(&service, "live", 7200);
        self.deployed(&service, "live", 60);
        (service, old)
    }

    /// A service whose newest deploy ended `status` after a live one, and a
    /// failed run whose log says so. Returns (service, live deploy, failed
    /// deploy).
    fn failed_deploy(
        &self,
        run_id: u64,
        status: &str,
        spec: ServiceSpec,
    ) -> (String, String, String) {
        let service = self.sim.add_service(spec);
        let good = self.deployed(&service, "live", 3600);
        let broken = self.deployed(&service, status, 60);
        self.fails(
            run_id,
            &format!("::error title=Deploy failed::deploy {broken} ended {status}"),
        );
        (service, good, broken)
    }

    /// render-pilot's deploy mode on `service` while its new instance
    /// answers 503: the deploy goes live but unhealthy, and the step fails.
    fn unhealthy_deploy(&self, service: &str) -> Outcome {
        let unhealthy = Plan {
            health: 503,
            ..Plan::live(Duration::from_millis(300))
        };
        self.sim.set_plan(service, unhealthy);
        let deploy = rp()
            .input("mode", "deploy")
            .input("deploy-hook-url", &self.sim.hook_url(service))
            .input("render-api-key", API_KEY)
            .input("render-api-url", &self.sim.api_url())
            .input("health-path", "/healthz")
            .input("health-timeout", "1s")
            .run();
        deploy.assert_code(1);
        deploy
    }

    /// Recover on the last run the project [ran](Project::ran), with the
    /// fixes that need no Render API.
    fn recover(&self) -> Recover<'_> {
        let rp = rp()
            .input("mode", "recover")
            .input("github-token", GITHUB_TOKEN)
            .env("GITHUB_EVENT_PATH", &self.event)
            .env("GITHUB_WORKSPACE", &self.clone)
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_API_URL", &self.sim.url);
        Recover {
            project: self,
            rp,
            expected: Vec::new(),
        }
    }

    /// Recover with only `fixes`, and the Render API for `service`.
    fn recover_on_render(&self, fixes: &str, service: &str) -> Recover<'_> {
        self.recover().fixes(fixes).render(service)
    }

    fn open_issues(&self) -> usize {
        self.sim
            .issues()
            .iter()
            .filter(|i| i.state == "open")
            .count()
    }

    /// Deploys Render started for `service` after the test set it up.
    fn new_deploys(&self, service: &str) -> usize {
        self.sim
            .deploys(service)
            .iter()
            .filter(|(_, _, trigger)| trigger != "new_commit")
            .count()
    }

    /// The message of main's newest commit.
    fn last_message(&self) -> String {
        git(&self.remote.bare(), &["log", "-1", "--format=%B", "main"])
    }

    /// The first request to the simulator that `which` picks.
    fn request(&self, which: impl Fn(&Recorded) -> bool) -> Recorded {
        let requests = self.sim.requests();
        let found = requests.iter().find(|r| which(r)).cloned();
        found.unwrap_or_else(|| panic!("no such request among {requests:#?}"))
    }

    /// A fresh clone of main installs with pnpm `version` and
    /// `--frozen-lockfile`: the pushed lockfile is right.
    pub(crate) fn assert_frozen_install(&self, version: &str) {
        let fresh = tempfile::tempdir().unwrap();
        let clone = self.remote.clone_into(fresh.path());
        let (ok, output) = pnpm_at(
            version,
            &clone,
            &["install", "--frozen-lockfile", "--offline"],
        );
        assert!(
            ok,
            "frozen install with pnpm {version} on a fresh clone: {output}"
        );
    }

    /// No secret the run was given, nor any of `extra`, in what it wrote,
    /// the issues it filed or the commits on the remote.
    fn assert_no_leak(&self, out: &Outcome, extra: &[&str]) {
        let mut secrets: Vec<&str> = out.secrets.iter().map(String::as_str).collect();
        secrets.extend_from_slice(extra);
        out.assert_no_secret(&secrets);
        assert_no_secret_published(&self.sim, &self.remote, &secrets);
    }
}

/// The `libb` package the broken commit depends on.
fn write_libb(dir: &Path) {
    std::fs::create_dir_all(dir.join("libb")).unwrap();
    std::fs::write(
        dir.join("libb/package.json"),
        r#"{"name":"libb","version":"1.0.0"}"#,
    )
    .unwrap();
}

/// `run` as a fork's: its head is someone else's code.
fn from_fork(run: Run) -> Run {
    Run {
        head_repository: "mallory/shop".into(),
        ..run
    }
}

/// `run`, passed.
fn passed(run: Run) -> Run {
    Run {
        conclusion: "success".into(),
        ..run
    }
}

/// What the simulator records for one dispatch of CI (workflow 7001) on main.
fn dispatched_on_main() -> [(String, String); 1] {
    [("7001".to_string(), "main".to_string())]
}

/// A commit as render-pilot names it in what it writes.
fn short(sha: &str) -> &str {
    &sha[..7]
}

/// One run of recover on a [`Project`]: its inputs, then what it must
/// report, then `.success()`, `.failure()` or `.status(n)` to run it.
#[must_use = "a Recover does nothing until .success(), .failure() or .status(n)"]
struct Recover<'p> {
    project: &'p Project,
    rp: Rp,
    expected: Vec<Expected>,
}

/// What a run must report: in an output (or, with `None`, in its log) a
/// text that the value is, contains or starts with.
struct Expected {
    output: Option<&'static str>,
    how: How,
    text: String,
}

enum How {
    Is,
    Contains,
    StartsWith,
    EndsWith,
}

impl<'p> Recover<'p> {
    /// An action input, named as in action.yml.
    fn input(mut self, name: &str, value: &str) -> Self {
        self.rp = self.rp.input(name, value);
        self
    }

    fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.rp = self.rp.env(name, value);
        self
    }

    fn env_remove(mut self, name: &str) -> Self {
        self.rp = self.rp.env_remove(name);
        self
    }

    fn fixes(self, fixes: &str) -> Self {
        self.input("fixes", fixes)
    }

    fn dry_run(self) -> Self {
        self.input("dry-run", "true")
    }

    /// The Render API, for `service`: what the Render fixes read and change.
    fn render(self, service: &str) -> Self {
        let api = self.project.sim.api_url();
        self.input("render-api-key", API_KEY)
            .input("render-api-url", &api)
            .input("service-id", service)
    }

    /// `service`'s deploy hook.
    fn hook(self, service: &str) -> Self {
        let hook = self.project.sim.hook_url(service);
        self.input("deploy-hook-url", &hook)
    }

    fn expect(mut self, output: Option<&'static str>, how: How, text: &str) -> Self {
        self.expected.push(Expected {
            output,
            how,
            text: text.to_string(),
        });
        self
    }

    /// The `diagnosis` output.
    fn diagnosis(self, diagnosis: &str) -> Self {
        self.expect(Some("diagnosis"), How::Is, diagnosis)
    }

    /// The `fixed` output.
    fn fixed(self, fixed: bool) -> Self {
        self.expect(Some("fixed"), How::Is, &fixed.to_string())
    }

    /// The whole `actions` output.
    fn actions(self, actions: &str) -> Self {
        self.expect(Some("actions"), How::Is, actions)
    }

    fn actions_contain(self, text: &str) -> Self {
        self.expect(Some("actions"), How::Contains, text)
    }

    fn actions_start(self, text: &str) -> Self {
        self.expect(Some("actions"), How::StartsWith, text)
    }

    fn actions_end(self, text: &str) -> Self {
        self.expect(Some("actions"), How::EndsWith, text)
    }

    /// The actions say a rollback from deploy `from` to deploy `to`.
    fn rolled_back(self, from: &str, to: &str) -> Self {
        self.actions_contain(&format!("rolled back from {from} to {to}"))
    }

    /// The job log (stdout or stderr) contains `text`.
    fn says(self, text: &str) -> Self {
        self.expect(None, How::Contains, text)
    }

    /// Runs it: exit 0.
    fn success(self) -> Outcome {
        self.status(0)
    }

    /// Runs it: exit 1.
    fn failure(self) -> Outcome {
        self.status(1)
    }

    /// Runs it and checks the exit code, every expectation and that no
    /// secret leaked; fails once, with all that differed.
    fn status(self, code: i32) -> Outcome {
        let out = self.rp.run();
        let log = format!("{}\n{}", out.stdout, out.stderr);
        let mut wrong = Vec::new();
        if out.code != Some(code) {
            wrong.push(format!("exit code {:?}, expected {code}", out.code));
        }
        for e in &self.expected {
            let value = match e.output {
                Some(name) => out.outputs.get(name).map(String::as_str),
                None => Some(log.as_str()),
            };
            let ok = value.is_some_and(|v| match e.how {
                How::Is => v == e.text,
                How::Contains => v.contains(&e.text),
                How::StartsWith => v.starts_with(&e.text),
                How::EndsWith => v.ends_with(&e.text),
            });
            if !ok {
                let how = match e.how {
                    How::Is => "to be",
                    How::Contains => "to contain",
                    How::StartsWith => "to start with",
                    How::EndsWith => "to end with",
                };
                let name = e.output.unwrap_or("the log");
                wrong.push(format!(
                    "expected {name} {how} {:?}; it is {value:?}",
                    e.text
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{}\n--- outputs\n{:#?}\n{}",
            wrong.join("\n"),
            out.outputs,
            out.log()
        );
        self.project.assert_no_leak(&out, &[]);
        out
    }
}
