use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use render_sim::{Plan, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, remote, Remote};
use crate::support::{assert_no_secret_in, rp, Outcome, Rp};

const PNPM_12_LOG: &str = "2026-11-29T10:00:00.0000000Z ##[group]Run pnpm install --frozen-lockfile
2026-11-29T10:00:01.0000000Z Error: ERR_PNPM_OUTDATED_LOCKFILE
2026-11-29T10:00:01.0000000Z   × installing dependencies
2026-11-29T10:00:01.0000000Z   ╰─▶ Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up
2026-11-29T10:00:01.0000000Z       to date with package.json.
2026-11-29T10:00:01.0000000Z ##[error]Process completed with exit code 1.";

pub(crate) struct Project {
    pub(crate) sim: Sim,
    pub(crate) remote: Remote,
    pub(crate) head: String,
    _dir: tempfile::TempDir,
    pub(crate) clone: PathBuf,
    event: PathBuf,
}

/// The pnpm releases ./scripts/test puts in corepack's cache: render-pilot's
/// default, and the majors before it.
pub(crate) const PNPM_10: &str = "10.34.9";
const PNPM_9: &str = "9.15.9";
const PNPM_8: &str = "8.15.9";

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

/// A pnpm project whose last commit added a local dependency to
/// package.json without updating pnpm-lock.yaml; returns it with the real
/// log of `pnpm install --frozen-lockfile` on that commit, timestamped as
/// job logs are.
fn project() -> (Project, String) {
    project_using(PNPM_10, None, &[])
}

/// [`project`] with its lockfile written by pnpm `version`, package.json's
/// `packageManager` (if any) and more files in its first commit.
pub(crate) fn project_using(
    version: &str,
    package_manager: Option<&str>,
    files: &[(&str, &str)],
) -> (Project, String) {
    let sim = Sim::start();
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    std::fs::create_dir_all(clone.join("libb")).unwrap();
    std::fs::write(
        clone.join("libb/package.json"),
        r#"{"name":"libb","version":"1.0.0"}"#,
    )
    .unwrap();
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
    let head = remote.tip();
    let event = dir.path().join("event.json");
    let p = Project {
        sim,
        remote,
        head,
        _dir: dir,
        clone,
        event,
    };
    (p, log)
}

impl Project {
    pub(crate) fn run_with(&self, run: Run) -> &Self {
        std::fs::write(&self.event, run.event().to_string()).unwrap();
        self.sim.add_run(run);
        self
    }

    fn recover(&self) -> Rp {
        rp().input("mode", "recover")
            .input("github-token", GITHUB_TOKEN)
            .env("GITHUB_EVENT_PATH", &self.event)
            .env("GITHUB_WORKSPACE", &self.clone)
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_API_URL", &self.sim.url)
    }

    /// Recover with the Render API, for the fixes that use it.
    fn recover_on_render(&self, fixes: &str, service: &str) -> Rp {
        self.recover()
            .input("fixes", fixes)
            .input("render-api-key", API_KEY)
            .input("render-api-url", &self.sim.api_url())
            .input("service-id", service)
    }

    /// A service whose newest deploy ended `status` after a live one, and a
    /// failed run whose log says so. Returns (service, live deploy, failed deploy).
    fn failed_deploy(
        &self,
        run_id: u64,
        status: &str,
        spec: ServiceSpec,
    ) -> (String, String, String) {
        let service = self.sim.add_service(spec);
        let good = self
            .sim
            .add_history(&service, "live", Duration::from_secs(3600));
        let broken = self
            .sim
            .add_history(&service, status, Duration::from_secs(60));
        self.run_with(Run::failed(
            run_id,
            &self.head,
            &format!("::error title=Deploy failed::deploy {broken} ended {status}"),
        ));
        (service, good, broken)
    }

    /// A fresh clone of the remote installs with pnpm `version` and
    /// `--frozen-lockfile`: the pushed lockfile is the one it needs.
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

    fn no_leak(&self, out: &Outcome, extra: &[&str]) {
        let mut secrets = vec![API_KEY, GITHUB_TOKEN];
        secrets.extend_from_slice(extra);
        out.assert_no_secret(&secrets);
        let sent: String = self
            .sim
            .issues()
            .iter()
            .map(|i| format!("{}\n{}\n{}", i.title, i.body, i.comments.join("\n")))
            .collect();
        assert_no_secret_in(&sent, &secrets);
        assert_no_secret_in(&git(&self.remote.bare(), &["log", "-p", "--all"]), &secrets);
    }
}

#[test]
fn an_outdated_lockfile_is_regenerated_pushed_and_ci_dispatched() {
    let (p, log) = project();
    p.run_with(Run::failed(501, &p.head, &log));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "lockfile");
    assert_eq!(out.output("fixed"), "true");
    assert!(
        out.output("actions")
            .contains("regenerated pnpm-lock.yaml and pushed"),
        "{}",
        out.output("actions")
    );
    assert_eq!(out.output("commit-sha"), p.remote.tip());
    let subject = git(&p.remote.bare(), &["log", "-1", "--format=%s%n%b", "main"]);
    assert!(
        subject.starts_with("fix(ci): regenerate pnpm-lock.yaml"),
        "{subject}"
    );
    assert!(subject.contains(&format!("Render-Pilot-Fix: lockfile {}", p.head)));
    assert!(
        !crate::monitor::render_skips(&subject),
        "the fix must deploy: {subject}"
    );
    let changed = git(&p.remote.bare(), &["diff", "--name-only", &p.head, "main"]);
    assert_eq!(changed.trim(), "pnpm-lock.yaml");
    assert_eq!(
        p.sim.dispatches(),
        [("7001".to_string(), "main".to_string())]
    );
    assert!(
        p.sim.log_downloads().iter().all(Option::is_none),
        "the log redirect carried no Authorization"
    );

    p.assert_frozen_install(PNPM_10);
    p.no_leak(&out, &[]);
}

#[test]
fn pnpm_12_error_format_is_recognised_and_fixed() {
    let (p, _) = project();
    p.run_with(Run::failed(502, &p.head, PNPM_12_LOG));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "lockfile");
    assert!(
        out.summary.contains("Error: ERR_PNPM_OUTDATED_LOCKFILE"),
        "{}",
        out.summary
    );
}

#[test]
fn a_failure_after_our_own_fix_files_an_issue_instead_of_fixing_again() {
    let (p, log) = project();
    p.run_with(Run::failed(503, &p.head, &log));
    p.recover().run().assert_code(0);
    let fix = p.remote.tip();
    let mut again = Run::failed(504, &fix, &log);
    again.head_message = git(&p.remote.bare(), &["log", "-1", "--format=%B", "main"]);
    p.run_with(again);
    let out = p.recover().run();
    out.assert_code(1);
    assert_eq!(out.output("fixed"), "false");
    assert_eq!(p.remote.tip(), fix, "no second fix");
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].body.contains("render-pilot's own lockfile fix"),
        "{}",
        issues[0].body
    );
    assert_eq!(
        out.output("issue-url"),
        "http://127.0.0.1:".to_string()
            + p.sim.url.rsplit(':').next().unwrap()
            + "/acme/shop/issues/1"
    );
    p.no_leak(&out, &[]);
}

#[test]
fn a_branch_that_moved_and_changed_the_lockfile_is_not_overwritten() {
    let (p, log) = project();
    p.run_with(Run::failed(505, &p.head, &log));
    let other_dir = tempfile::tempdir().unwrap();
    let other = p.remote.clone_into(other_dir.path());
    std::fs::write(
        other.join("pnpm-lock.yaml"),
        "lockfileVersion: '9.0'\n# someone else\n",
    )
    .unwrap();
    git(&other, &["commit", "-q", "-am", "hand-edited lockfile"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let tip = p.remote.tip();
    let out = p.recover().run();
    out.assert_code(1);
    assert!(
        out.output("actions")
            .contains("changed pnpm-lock.yaml; not overwriting"),
        "{}",
        out.output("actions")
    );
    assert_eq!(p.remote.tip(), tip);
}

const PUSH_RACE_LOG: &str = "2026-11-29T10:00:00Z To https://github.com/acme/shop.git\n2026-11-29T10:00:00Z  ! [rejected]        main -> main (fetch first)\n2026-11-29T10:00:00Z error: failed to push some refs";

#[test]
fn a_lost_push_race_starts_a_fresh_run_on_the_branch_head_then_files_an_issue() {
    let (p, _) = project();
    p.run_with(Run::failed(506, &p.head, PUSH_RACE_LOG));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "push-race");
    assert!(
        out.output("actions")
            .contains("started a fresh run of CI on the head of main"),
        "{}",
        out.output("actions")
    );
    assert_eq!(
        p.sim.dispatches(),
        [("7001".to_string(), "main".to_string())]
    );
    assert!(
        p.sim.reruns().is_empty(),
        "a re-run would lose the race again"
    );

    // The fresh run lost again: two failures in a row, max-attempts 2.
    let second = Run {
        event: "workflow_dispatch".into(),
        ..Run::failed(507, &p.head, PUSH_RACE_LOG)
    };
    p.run_with(second);
    let out = p.recover().run();
    out.assert_code(1);
    assert!(
        out.output("actions")
            .contains("2 runs of CI on main failed in a row and max-attempts is 2"),
        "{}",
        out.output("actions")
    );
    assert_eq!(p.sim.dispatches().len(), 1, "no third run");
    assert_eq!(p.sim.issues().len(), 1);

    // A higher max-attempts allows one more.
    let out = p.recover().input("max-attempts", "3").run();
    out.assert_code(0);
    assert_eq!(p.sim.dispatches().len(), 2);
}

#[test]
fn a_push_race_in_a_workflow_without_dispatch_says_what_to_add() {
    let (p, _) = project();
    let run = Run {
        dispatchable: false,
        ..Run::failed(530, &p.head, PUSH_RACE_LOG)
    };
    p.run_with(run);
    let out = p.recover().run();
    out.assert_code(1);
    assert!(p.sim.dispatches().is_empty() && p.sim.reruns().is_empty());
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    // Escaped Markdown: it renders as "add `workflow_dispatch:` under `on:`".
    assert!(
        issues[0]
            .body
            .contains("add \\`workflow_dispatch:\\` under \\`on:\\` in .github/workflows/ci.yml"),
        "{}",
        issues[0].body
    );
    assert!(
        out.output("actions")
            .contains("add `workflow_dispatch:` under `on:` in .github/workflows/ci.yml"),
        "{}",
        out.output("actions")
    );
}

#[test]
fn a_transient_failure_reruns_the_same_commit_up_to_max_attempts() {
    let (p, _) = project();
    let log = "2026-11-29T10:00:00Z npm ERR! code ECONNRESET\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 1.";
    p.run_with(Run::failed(531, &p.head, log));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "transient");
    assert_eq!(p.sim.reruns(), [531]);
    assert!(p.sim.dispatches().is_empty());

    let second = Run {
        attempt: 2,
        ..Run::failed(532, &p.head, log)
    };
    p.run_with(second);
    p.recover().run().assert_code(1);
    assert_eq!(p.sim.reruns(), [531], "max-attempts 2: no third attempt");
}

#[test]
fn a_hook_with_a_trailing_newline_is_named_and_the_deploy_triggered() {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let hook = format!("{}\n", p.sim.hook_url(&service));
    let log = "2026-11-29T10:00:00Z Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\n2026-11-29T10:00:00Z curl: (3) URL using bad/illegal format or missing URL\n2026-11-29T10:00:00Z ##[error]Process completed with exit code 3.";
    p.run_with(Run::failed(508, &p.head, log));
    let out = p.recover().input("deploy-hook-url", &hook).run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "deploy-hook");
    assert!(
        out.output("actions").contains("has a trailing newline"),
        "{}",
        out.output("actions")
    );
    assert_eq!(
        p.sim.deploys(&service).len(),
        1,
        "deployed through the hook"
    );
    assert_eq!(p.sim.deploys(&service)[0].2, "deploy_hook");
    p.no_leak(&out, &[&hook]);

    let out = p
        .recover()
        .input(
            "deploy-hook-url",
            "https://api.render.com/deploy/srv-abc?key=Bad Key",
        )
        .run();
    out.assert_code(1);
    assert!(
        out.output("actions").contains("a space inside the key"),
        "{}",
        out.output("actions")
    );
    p.no_leak(&out, &["Bad Key"]);
}

#[test]
fn a_live_but_unhealthy_deploy_is_rolled_back_and_a_build_failure_is_not() {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let good = p
        .sim
        .add_history(&service, "live", Duration::from_secs(3600));
    p.sim.set_plan(
        &service,
        Plan {
            health: 503,
            ..Plan::live(Duration::from_millis(300))
        },
    );
    let deploy = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &p.sim.hook_url(&service))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &p.sim.api_url())
        .input("health-path", "/healthz")
        .input("health-timeout", "1s")
        .run();
    deploy.assert_code(1);
    let bad = deploy.output("deploy-id").to_string();
    p.run_with(Run::failed(
        509,
        &p.head,
        &(deploy.stdout.clone() + "##[error]Process completed with exit code 1."),
    ));
    let out = p.recover_on_render("rollback", &service).run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "deploy-unhealthy");
    assert!(
        out.output("actions")
            .contains(&format!("rolled back from {bad} to {good}")),
        "{}",
        out.output("actions")
    );
    let deploys = p.sim.deploys(&service);
    let last = deploys.last().unwrap();
    assert_eq!((last.1.as_str(), last.2.as_str()), ("live", "rollback"));
    p.no_leak(&out, &[]);

    let (failed, _, _) = p.failed_deploy(510, "build_failed", ServiceSpec::web("shop-api"));
    let out = p.recover_on_render("rollback", &failed).run();
    out.assert_code(1);
    assert!(
        out.summary
            .contains("Render keeps the previous deploy serving"),
        "{}",
        out.summary
    );
    assert_eq!(p.sim.deploys(&failed).len(), 2, "no rollback");
}

#[test]
fn an_update_failure_on_a_service_with_a_disk_is_rolled_back() {
    let (p, _) = project();
    let spec = ServiceSpec {
        disk: true,
        ..ServiceSpec::web("shop-db-admin")
    };
    let (service, good, broken) = p.failed_deploy(518, "update_failed", spec);
    let out = p.recover_on_render("rollback", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .contains(&format!("rolled back from {broken} to {good}")),
        "{}",
        out.output("actions")
    );
}

#[test]
fn an_unknown_failure_files_an_issue_with_evidence_and_success_closes_it() {
    let (p, _) = project();
    let log = "2026-11-29T10:00:00Z error[E0308]: mismatched types\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 101.";
    p.run_with(Run::failed(511, &p.head, log));
    let out = p.recover().run();
    out.assert_code(1);
    assert_eq!(out.output("diagnosis"), "unknown");
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].title, "render-pilot: CI failed on main");
    assert!(issues[0]
        .body
        .contains("##[error]Process completed with exit code 101."));
    // Failing again: the same issue.
    p.recover().run().assert_code(1);
    assert_eq!(p.sim.issues().len(), 1);

    let mut ok = Run::failed(512, &p.head, "");
    ok.conclusion = "success".into();
    p.run_with(ok);
    let out = p.recover().run();
    out.assert_code(0);
    let issue = &p.sim.issues()[0];
    assert_eq!(issue.state, "closed");
    assert!(issue.comments.last().unwrap().contains("passed on main"));
}

#[test]
fn a_fork_run_gets_no_push() {
    let (p, log) = project();
    let mut run = Run::failed(513, &p.head, &log);
    run.head_repository = "mallory/shop".into();
    p.run_with(run);
    let tip = p.remote.tip();
    let out = p.recover().run();
    out.assert_code(1);
    assert_eq!(p.remote.tip(), tip);
    assert!(
        out.summary.contains("only reads and reports"),
        "{}",
        out.summary
    );
}

#[test]
fn a_fork_run_never_deploys_its_head_through_the_hook() {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let log = "Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\ncurl: (22) The requested URL returned error: 404";
    let mut run = Run::failed(515, &p.head, log);
    run.event = "pull_request".into();
    p.run_with(run);
    let out = p
        .recover()
        .input("deploy-hook-url", &p.sim.hook_url(&service))
        .run();
    out.assert_code(1);
    assert!(
        out.output("actions")
            .contains("render-pilot does not deploy this run's head (a pull_request run"),
        "{}",
        out.output("actions")
    );
    assert!(p.sim.deploys(&service).is_empty(), "nothing deployed");
}

#[test]
fn redeploy_clears_the_build_cache_and_a_workflow_without_dispatch_is_named() {
    let (p, log) = project();
    let (service, _, _) = p.failed_deploy(516, "build_failed", ServiceSpec::web("shop-api"));
    let out = p.recover_on_render("redeploy", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions").contains("with a cleared build cache"),
        "{}",
        out.output("actions")
    );
    let trigger = p
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/deploys"))
        .unwrap();
    assert!(
        trigger.body.contains(r#""clearCache":"clear""#),
        "{}",
        trigger.body
    );

    let mut run = Run::failed(517, &p.head, &log);
    run.dispatchable = false;
    p.run_with(run);
    let out = p.recover().run();
    out.assert_code(0);
    // Said in the outputs, a warning annotation and the summary.
    for said in [out.output("actions"), &out.stdout, &out.summary] {
        assert!(
            said.contains("CI was not re-run on the fix: CI has no workflow_dispatch trigger")
                || said
                    .contains("CI was not re-run on the fix: CI has no workflow_dispatch trigger"),
            "{said}"
        );
    }
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::warning::CI was not re-run")),
        "{}",
        out.stdout
    );
    assert!(p.sim.dispatches().is_empty());
}

#[test]
fn a_dry_run_says_what_the_real_run_would_do_and_does_nothing() {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let live = p
        .sim
        .add_history(&service, "live", Duration::from_secs(3600));
    let parent = git(&p.clone, &["rev-parse", "HEAD~1"]).trim().to_string();
    p.sim.set_deploy_commit(&service, &live, &parent);
    let broken = p
        .sim
        .add_history(&service, "build_failed", Duration::from_secs(60));
    let log = format!("::error title=Deploy failed::deploy {broken} ended build_failed\n{PUSH_RACE_LOG}\nnpm ERR! code ECONNRESET");
    p.run_with(Run::failed(680, &p.head, &log));
    let out = p
        .recover_on_render("rerun,redeploy", &service)
        .input("dry-run", "true")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("fixed"), "false");
    let (head, parent) = (&p.head[..7], &parent[..7]);
    assert_eq!(
        out.output("actions"),
        format!("dry run: would start a deploy of {head} with a cleared build cache after {broken} (build_failed; checked: {head} is the tip of main; the live deploy {live} runs {parent}, an ancestor of the head); dry run: would start a fresh run of CI on the head of main (run 2 of 2); nothing more to start: dry run: would start a fresh run of CI on the head of main (run 2 of 2)")
    );
    assert_eq!(p.sim.deploys(&service).len(), 2, "nothing deployed");
    assert!(p.sim.dispatches().is_empty() && p.sim.reruns().is_empty());
    assert!(p.sim.issues().is_empty());

    // What the real run refuses, the dry run refuses the same way.
    let out = p
        .recover_on_render("rollback", &service)
        .input("dry-run", "true")
        .run();
    assert!(
        out.output("actions").starts_with("not fixed: deploy ")
            && out.output("actions").contains("not rolled back"),
        "{}",
        out.output("actions")
    );
}

#[test]
fn a_cancelled_run_does_nothing() {
    let (p, log) = project();
    let mut run = Run::failed(514, &p.head, &log);
    run.conclusion = "cancelled".into();
    p.run_with(run);
    let tip = p.remote.tip();
    let out = p.recover().run();
    out.assert_code(0);
    out.assert_says("ended `cancelled`: nothing to recover");
    assert_eq!(p.remote.tip(), tip);
    assert!(p.sim.issues().is_empty() && p.sim.reruns().is_empty());
}

#[test]
fn a_missing_or_malformed_event_is_bad_input() {
    let (p, _) = project();
    std::fs::write(&p.event, "{not json").unwrap();
    let out = p.recover().run();
    out.assert_code(2);
    out.assert_says("GITHUB_EVENT_PATH: does not hold valid JSON");
    let out = p.recover().env("GITHUB_EVENT_PATH", "").run();
    out.assert_code(2);
    out.assert_says("run-id: is not set");
    let out = p.recover().input("fixes", "lockfile,magic").run();
    out.assert_code(2);
    out.assert_says("'magic' is not a fix");
}

impl Project {
    /// Registers `run` with the simulator and writes its event payload,
    /// changed by `edit`: the way to send what the simulator never sends.
    fn run_with_event(&self, run: Run, edit: impl FnOnce(&mut serde_json::Value)) -> &Self {
        let mut event = run.event();
        edit(&mut event["workflow_run"]);
        std::fs::write(&self.event, event.to_string()).unwrap();
        self.sim.add_run(run);
        self
    }
}

/// Changes a `workflow_run` payload before it is written.
type Edit = fn(&mut serde_json::Value);

/// Every way a run can be someone else's code: a fork's head, a pull
/// request event from this repository, and a head repository the event
/// does not name.
fn untrusted_runs(id: u64, head: &str, log: &str) -> Vec<(&'static str, Run, Edit)> {
    let fork = Run {
        head_repository: "mallory/shop".into(),
        ..Run::failed(id, head, log)
    };
    let pull_request = Run {
        event: "pull_request".into(),
        ..Run::failed(id + 1, head, log)
    };
    let pull_request_target = Run {
        event: "pull_request_target".into(),
        ..Run::failed(id + 2, head, log)
    };
    let no_head_repository = Run::failed(id + 3, head, log);
    vec![
        ("fork", fork, |_| {}),
        ("pull_request", pull_request, |_| {}),
        ("pull_request_target", pull_request_target, |_| {}),
        ("head_repository null", no_head_repository, |run| {
            run["head_repository"] = serde_json::Value::Null
        }),
    ]
}

#[test]
fn an_untrusted_run_only_reports_whatever_its_log_says() {
    let (p, lockfile_log) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let old = p
        .sim
        .add_history(&service, "live", Duration::from_secs(7200));
    p.sim.add_history(&service, "live", Duration::from_secs(60));
    let log = format!(
        "{lockfile_log}deploy {old} is live but /healthz did not answer 2xx: healthy=false ({old})\n\
         ::error title=Deploy failed::deploy {old} ended update_failed\n\
         npm ERR! network ECONNRESET\n ! [rejected]        main -> main (fetch first)\n\
         Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\ncurl: (22) The requested URL returned error: 404\n"
    );
    let tip = p.remote.tip();
    for (variant, run, edit) in untrusted_runs(601, &p.head, &log) {
        p.run_with_event(run, edit);
        let out = p
            .recover_on_render("lockfile,rerun,webhook,rollback,redeploy", &service)
            .input("deploy-hook-url", &p.sim.hook_url(&service))
            .run();
        out.assert_code(1);
        assert_eq!(
            out.output("diagnosis"),
            "lockfile,deploy-unhealthy,deploy-failed,transient,push-race,deploy-hook",
            "{variant}"
        );
        assert_eq!(out.output("fixed"), "false", "{variant}");
        assert_eq!(
            p.sim.deploys(&service).len(),
            2,
            "{variant}: no rollback, redeploy or hook deploy"
        );
        assert!(p.sim.reruns().is_empty(), "{variant}: no re-run");
        assert!(p.sim.dispatches().is_empty(), "{variant}: no dispatch");
        assert_eq!(p.remote.tip(), tip, "{variant}: no push");
        assert_eq!(out.output("commit-sha"), "", "{variant}");
        assert!(
            out.summary.contains("only reads and reports"),
            "{variant}: {}",
            out.summary
        );
        let refusals = out
            .output("actions")
            .matches("render-pilot only reports on this run (")
            .count()
            + out
                .output("actions")
                .matches("render-pilot does not deploy this run's head (")
                .count();
        assert_eq!(refusals, 6, "{variant}: {}", out.output("actions"));
        p.no_leak(&out, &[]);
    }
    let untouched = p
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.contains("/services/"))
        .count();
    assert_eq!(untouched, 0, "not one write reached Render");
}

#[test]
fn a_dry_run_of_an_untrusted_run_says_it_would_not_fix() {
    let (p, log) = project();
    for (variant, run, edit) in untrusted_runs(611, &p.head, &log) {
        p.run_with_event(run, edit);
        let out = p.recover().input("dry-run", "true").run();
        out.assert_code(0);
        assert!(
            out.output("actions")
                .starts_with("not fixed: render-pilot only reports on this run ("),
            "{variant}: {}",
            out.output("actions")
        );
        assert!(
            !out.output("actions").contains("would regenerate"),
            "{variant}"
        );
    }
    let (p, log) = project();
    p.run_with(Run::failed(615, &p.head, &log));
    let tip = p.remote.tip();
    let out = p.recover().input("dry-run", "true").run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .starts_with("dry run: would regenerate pnpm-lock.yaml"),
        "{}",
        out.output("actions")
    );
    assert_eq!(p.remote.tip(), tip, "a dry run pushes nothing");
    assert!(p.sim.dispatches().is_empty() && p.sim.issues().is_empty());
}

fn open_issues(p: &Project) -> usize {
    p.sim.issues().iter().filter(|i| i.state == "open").count()
}

#[test]
fn rollback_and_redeploy_act_on_render_s_deploy_list_never_on_a_logged_id() {
    let (p, _) = project();
    // The newest deploy is live and healthy; the log blames an old one.
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let old = p
        .sim
        .add_history(&service, "live", Duration::from_secs(7200));
    p.sim.add_history(&service, "live", Duration::from_secs(60));
    p.run_with(Run::failed(
        620,
        &p.head,
        &format!("deploy {old} is live but unhealthy: healthy=false ({old})"),
    ));
    let out = p.recover_on_render("rollback,redeploy", &service).run();
    out.assert_code(1);
    assert!(
        out.output("actions")
            .contains("not rolling back a healthy service"),
        "{}",
        out.output("actions")
    );
    assert_eq!(p.sim.deploys(&service).len(), 2, "no rollback");

    p.run_with(Run::failed(
        621,
        &p.head,
        &format!("::error title=Deploy failed::deploy {old} ended update_failed"),
    ));
    // A later deploy made the service live again: nothing to fix, and the
    // recovery issue the first run filed is closed.
    assert_eq!(open_issues(&p), 1);
    let out = p.recover_on_render("rollback,redeploy", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .starts_with("nothing to fix: Render's newest deploy")
            && out.output("actions").ends_with("is live again"),
        "{}",
        out.output("actions")
    );
    assert_eq!(out.output("fixed"), "true");
    assert_eq!(p.sim.deploys(&service).len(), 2, "no redeploy");
    assert_eq!(open_issues(&p), 0, "the issue is closed");

    // The newest deploy failed to build: the log's id is ignored, Render's
    // own failed deploy is redeployed.
    let broken = p
        .sim
        .add_history(&service, "build_failed", Duration::from_secs(30));
    p.run_with(Run::failed(
        622,
        &p.head,
        "::error title=Deploy failed::deploy dep-notoursatall ended build_failed",
    ));
    let out = p.recover_on_render("redeploy", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .contains(&format!("deploy {broken} build_failed; started")),
        "{}",
        out.output("actions")
    );
}

#[test]
fn an_unhealthy_newest_deploy_is_rolled_back_whatever_id_the_log_names() {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let oldest = p
        .sim
        .add_history(&service, "live", Duration::from_secs(7200));
    let good = p
        .sim
        .add_history(&service, "live", Duration::from_secs(3600));
    p.sim.set_plan(
        &service,
        Plan {
            health: 503,
            ..Plan::live(Duration::from_millis(300))
        },
    );
    let deploy = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &p.sim.hook_url(&service))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &p.sim.api_url())
        .input("health-path", "/healthz")
        .input("health-timeout", "1s")
        .run();
    deploy.assert_code(1);
    let bad = deploy.output("deploy-id").to_string();
    p.run_with(Run::failed(
        630,
        &p.head,
        &format!("deploy {oldest} is live but unhealthy: healthy=false ({oldest})"),
    ));
    let out = p.recover_on_render("rollback", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .contains(&format!("rolled back from {bad} to {good}")),
        "{}",
        out.output("actions")
    );
}

const OFFICIAL_EXAMPLES: &str = include_str!("../fixtures/github-workflow-run-examples.json");

#[test]
fn github_s_official_example_payloads_are_read() {
    let (p, _) = project();
    let examples: serde_json::Value = serde_json::from_str(OFFICIAL_EXAMPLES).unwrap();
    let examples = examples["examples"].as_array().unwrap();
    for example in examples {
        std::fs::write(&p.event, example.to_string()).unwrap();
        let out = p
            .recover()
            .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
            .run();
        out.assert_code(0);
        out.assert_says("nothing to recover");
        assert!(!out.stdout.contains(" of  ended"), "{}", out.log());
    }

    // The same payload as a failure, with every field the schema lets be
    // null or empty: an empty name, no branch, no pull requests.
    let mut failed = examples[2].clone();
    let run = &mut failed["workflow_run"];
    run["conclusion"] = "failure".into();
    run["head_branch"] = serde_json::Value::Null;
    run["pull_requests"] = serde_json::Value::Null;
    assert_eq!(run["name"], "");
    let id = run["id"].as_u64().unwrap();
    let sha = run["head_sha"].as_str().unwrap().to_string();
    let mut api_run = Run::failed(
        id,
        &sha,
        "2026-11-29T10:00:00Z ##[error]Process completed with exit code 1.",
    );
    api_run.head_branch = String::new();
    p.sim.add_run(api_run);
    std::fs::write(&p.event, failed.to_string()).unwrap();
    let recover = || p.recover().env("GITHUB_REPOSITORY", "octo-org/octo-repo");
    // Neither the event nor GitHub's API names the branch: a failure
    // cannot be fixed or filed without one.
    let out = recover().run();
    out.assert_code(2);
    out.assert_says("branch: is not set and run 289782451 names no head branch");
    assert!(p.sim.issues().is_empty());

    // A run that did not fail needs no branch: its conclusion is read first.
    for conclusion in ["success", "cancelled", "skipped"] {
        let mut done = failed.clone();
        done["workflow_run"]["conclusion"] = conclusion.into();
        std::fs::write(&p.event, done.to_string()).unwrap();
        let out = recover().run();
        out.assert_code(0);
        out.assert_says(&format!("ended `{conclusion}`: nothing to recover"));
    }
    std::fs::write(&p.event, failed.to_string()).unwrap();

    let out = recover().input("branch", "master").run();
    out.assert_code(1);
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].title, "render-pilot: test.yml failed on master");
    assert!(
        out.summary.contains("test.yml on master failed"),
        "{}",
        out.summary
    );

    // The event names no branch but GitHub's API does: its branch is used.
    let mut api_run = Run::failed(
        id,
        &sha,
        "2026-11-29T10:00:00Z ##[error]Process completed with exit code 1.",
    );
    api_run.head_branch = "release".into();
    p.sim.add_run(api_run);
    let out = recover().run();
    out.assert_code(1);
    assert!(
        p.sim
            .issues()
            .iter()
            .any(|i| i.title == "render-pilot: test.yml failed on release"),
        "{:?}",
        p.sim.issues()
    );
}

#[test]
fn pnpm_through_corepack_runs_without_secrets_scripts_or_the_repository_s_pnpmfile() {
    pnpm_runs_without_secrets_scripts_or_the_pnpmfile("corepack");
}

#[test]
fn pnpm_on_path_of_the_wanted_version_runs_without_secrets_scripts_or_the_pnpmfile() {
    pnpm_runs_without_secrets_scripts_or_the_pnpmfile("pnpm");
}

/// A directory with only `node` in it: a PATH without corepack.
fn node_only() -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    let node = Command::new("sh")
        .args(["-c", "command -v node"])
        .output()
        .unwrap();
    let node = String::from_utf8_lossy(&node.stdout).trim().to_string();
    std::os::unix::fs::symlink(node, bin.path().join("node")).unwrap();
    bin
}

/// Recover started with a spy in place of `program` (corepack, or pnpm on a
/// PATH without corepack), which records the environment it gets.
fn pnpm_runs_without_secrets_scripts_or_the_pnpmfile(program: &str) {
    let (p, log) = project();
    let spy = tempfile::tempdir().unwrap();
    let stolen = |name: &str| spy.path().join(name).to_string_lossy().into_owned();
    // The repository tries to read recover's environment both ways pnpm
    // could run its code.
    std::fs::write(
        p.clone.join(".pnpmfile.cjs"),
        format!(
            "require('fs').writeFileSync({:?}, JSON.stringify(process.env));\nmodule.exports = {{ hooks: {{}} }};\n",
            stolen("pnpmfile.json")
        ),
    )
    .unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.clone.join("package.json")).unwrap())
            .unwrap();
    manifest["scripts"] = serde_json::json!({
        "preinstall": format!(
            "node -e \"require('fs').writeFileSync('{}', JSON.stringify(process.env))\"",
            stolen("script.json")
        )
    });
    let manifest = manifest.to_string();
    std::fs::write(p.clone.join("package.json"), manifest).unwrap();
    git(&p.clone, &["add", "."]);
    git(&p.clone, &["commit", "-q", "-m", "add a pnpmfile"]);
    git(&p.clone, &["push", "-q", "origin", "main"]);
    let head = p.remote.tip();

    // `program` on PATH, recording the environment it was started with.
    let real = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    let bin = spy.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(
        bin.join(program),
        format!(
            "#!/usr/bin/env node\nrequire('fs').appendFileSync({:?}, JSON.stringify(process.env) + '\\n');\nconst r = require('child_process').spawnSync(process.execPath, [{real:?}, ...process.argv.slice(2)], {{ stdio: 'inherit' }});\nprocess.exit(r.status ?? 1);\n",
            stolen("pnpm-env.jsonl")
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join(program))
        .status()
        .unwrap();
    let node = node_only();
    let rest = match program {
        "pnpm" => node.path().display().to_string(),
        _ => std::env::var("PATH").unwrap(),
    };
    let path = format!("{}:{rest}", bin.display());

    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let hook = p.sim.hook_url(&service);
    p.run_with(Run::failed(640, &head, &log));
    let out = p
        .recover()
        .input("render-api-key", API_KEY)
        .input("deploy-hook-url", &hook)
        .env("PATH", &path)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0")
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .env("NPM_TOKEN", "npm_SeCrEtToKeN")
        // Cached releases are not checked again: the product must not turn
        // the check off itself.
        .env_remove("COREPACK_INTEGRITY_KEYS")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("fixed"), "true", "{}", out.log());

    assert!(
        !spy.path().join("pnpmfile.json").exists(),
        "the pnpmfile ran"
    );
    assert!(!spy.path().join("script.json").exists(), "a script ran");
    let seen = std::fs::read_to_string(spy.path().join("pnpm-env.jsonl")).unwrap();
    assert!(
        seen.lines().count() >= 3,
        "--version, then two installs: {seen}"
    );
    for line in seen.lines() {
        let env: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let mut names: Vec<&str> = env.keys().map(String::as_str).collect();
        names.sort();
        // What node itself adds to process.env is not ours to strip.
        // What corepack adds for the pnpm it starts is not ours either.
        names.retain(|n| {
            !n.starts_with("npm_")
                && !n.starts_with("NODE_")
                && *n != "PNPM_SCRIPT_SRC_DIR"
                && !["COREPACK_ROOT", "COREPACK_HOME"].contains(n)
        });
        assert_eq!(
            names,
            [
                "CI",
                "COREPACK_ENABLE_DOWNLOAD_PROMPT",
                "COREPACK_ENABLE_NETWORK",
                "HOME",
                "NO_PROXY",
                "PATH",
                "SSL_CERT_FILE"
            ],
            "{line}"
        );
    }
    assert_no_secret_in(&seen, &[API_KEY, GITHUB_TOKEN, &hook, "npm_SeCrEtToKeN"]);
    p.no_leak(&out, &[&hook]);
}

/// A job log as `GET …/actions/jobs/{id}/logs` serves it: a checkout step,
/// then `command` printing `output` and exiting `code`, then cleanup.
fn job_log(command: &str, output: &str, code: u8) -> String {
    let mut lines = vec![
        "##[group]Run actions/checkout@v4".to_string(),
        "with:".into(),
        "  repository: acme/shop".into(),
        "##[endgroup]".into(),
        "Syncing repository: acme/shop".into(),
        format!("##[group]Run {command}"),
        command.into(),
        "shell: /usr/bin/bash -e {0}".into(),
        "env:".into(),
        "  NPM_TOKEN: ***".into(),
        "##[endgroup]".into(),
    ];
    lines.extend(output.lines().map(String::from));
    lines.push(format!("##[error]Process completed with exit code {code}."));
    lines.push("Post job cleanup.".into());
    lines.push("[command]/usr/bin/git version".into());
    lines
        .iter()
        .map(|l| format!("2026-11-29T10:00:01.1234567Z {l}\n"))
        .collect()
}

const CARGO: &str = "   Compiling shop v0.1.0 (/home/runner/work/shop/shop)
\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0308]\u{1b}[0m\u{1b}[0m\u{1b}[1m: mismatched types\u{1b}[0m
 --> src/main.rs:4:18
  |
4 |     let n: u32 = \"five\";
  |            ---   ^^^^^^ expected `u32`, found `&str`
  |            |
  |            expected due to this

For more information about this error, try `rustc --explain E0308`.
error: could not compile `shop` (bin \"shop\") due to 1 previous error";

const TSC: &str = "
> shop@1.0.0 typecheck /home/runner/work/shop/shop
> tsc --noEmit

src/cart.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.
 ELIFECYCLE  Command failed with exit code 2.";

const PYTEST: &str =
    "============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /home/runner/work/shop/shop
collected 3 items

tests/test_cart.py .F.                                                   [100%]

=================================== FAILURES ===================================
__________________________________ test_total __________________________________

    def test_total():
>       assert total([1, 2]) == 4
E       assert 3 == 4
E        +  where 3 = total([1, 2])

tests/test_cart.py:6: AssertionError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - assert 3 == 4
========================= 1 failed, 2 passed in 0.02s ==========================";

const SHELL: &str = "Deploying to staging
Error: STAGING_URL is not set; add it to the repository's variables";

/// Jest names the failed file first, then every passing one: the FAIL line
/// is far above the last lines.
fn jest() -> String {
    let mut out = String::from(
        "FAIL src/sum.test.js\n  ● sum › adds numbers\n\n    expect(received).toBe(expected) // Object.is equality\n\n    Expected: 5\n    Received: 4\n",
    );
    for i in 0..40 {
        out.push_str(&format!("PASS src/part{i}.test.js\n"));
    }
    out.push_str("Test Suites: 1 failed, 40 passed, 41 total\nTests:       1 failed, 41 passed, 42 total\nSnapshots:   0 total\nTime:        3.2 s\nRan all test suites.");
    out
}

#[test]
fn the_issue_quotes_each_failed_step_s_own_error_lines() {
    let (p, _) = project();
    let mut run = Run::failed(650, &p.head, "");
    let jest = jest();
    let logs = [
        ("rust", job_log("cargo build --locked", CARGO, 101)),
        ("types", job_log("pnpm typecheck", TSC, 2)),
        ("unit", job_log("pnpm jest", &jest, 1)),
        ("python", job_log("pytest -q", PYTEST, 1)),
        ("deploy", job_log("./scripts/deploy staging", SHELL, 1)),
    ];
    run.jobs = logs
        .iter()
        .enumerate()
        .map(|(i, (name, log))| render_sim::Job {
            id: 6500 + i as u64,
            name: name.to_string(),
            conclusion: "failure".into(),
            log: log.clone(),
        })
        .collect();
    p.run_with(run);
    let out = p.recover().run();
    out.assert_code(1);
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    for text in [&issues[0].body, &out.summary] {
        for expected in [
            "Job **rust**, step **Run cargo build --locked**",
            "error[E0308]: mismatched types",
            "4 |     let n: u32 = \"five\";",
            "error: could not compile `shop` (bin \"shop\") due to 1 previous error",
            "##[error]Process completed with exit code 101.",
            "Job **types**, step **Run pnpm typecheck**",
            "src/cart.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
            "Job **unit**, step **Run pnpm jest**",
            "FAIL src/sum.test.js",
            "Tests:       1 failed, 41 passed, 42 total",
            "Job **python**, step **Run pytest -q**",
            "E       assert 3 == 4",
            "FAILED tests/test_cart.py::test_total - assert 3 == 4",
            "Job **deploy**, step **Run ./scripts/deploy staging**",
            "Error: STAGING_URL is not set; add it to the repository's variables",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(!text.contains("\u{1b}["), "colour codes are stripped");
        assert!(
            !text.contains("2026-11-29T10:00:01"),
            "timestamps are stripped"
        );
        assert!(!text.contains("Post job cleanup"), "{text}");
        assert!(
            !text.contains("shell: /usr/bin/bash"),
            "the step header is not output"
        );
        assert!(
            !text.contains("PASS src/part0.test.js"),
            "only the last lines"
        );
    }
    assert!(issues[0].body.len() < 65536);
}

#[test]
fn a_fork_s_main_never_closes_or_joins_main_s_recovery_issue() {
    let (p, _) = project();
    let log = "2026-11-29T10:00:00Z ##[group]Run make\n2026-11-29T10:00:00Z ##[endgroup]\n2026-11-29T10:00:00Z make: *** [all] Error 2\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 2.";
    p.run_with(Run::failed(660, &p.head, log));
    p.recover().run().assert_code(1);
    assert_eq!(p.sim.issues().len(), 1);

    // A fork's `main` passes: main's issue stays open.
    let fork_passed = Run {
        head_repository: "mallory/shop".into(),
        conclusion: "success".into(),
        ..Run::failed(661, &p.head, "")
    };
    p.run_with(fork_passed);
    p.recover().run().assert_code(0);
    assert_eq!(p.sim.issues()[0].state, "open");
    assert!(p.sim.issues()[0].comments.is_empty());

    // A fork's `main` fails: its own issue, main's untouched.
    let fork_failed = Run {
        head_repository: "mallory/shop".into(),
        ..Run::failed(662, &p.head, PUSH_RACE_LOG)
    };
    p.run_with(fork_failed);
    p.recover().run().assert_code(1);
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 2);
    assert!(issues[0].comments.is_empty(), "main's issue got no comment");
    assert!(
        issues[1].body.contains("mallory/shop"),
        "{}",
        issues[1].body
    );

    // main itself passes: only main's issue closes.
    let passed = Run {
        conclusion: "success".into(),
        ..Run::failed(663, &p.head, "")
    };
    p.run_with(passed);
    p.recover().run().assert_code(0);
    let issues = p.sim.issues();
    assert_eq!(
        (issues[0].state.as_str(), issues[1].state.as_str()),
        ("closed", "open")
    );
}

#[test]
fn outside_text_cannot_forge_markers_or_break_out_of_the_issue_s_markdown() {
    let (p, _) = project();
    let forged =
        "<!-- render-pilot:recover:.github/workflows/ci.yml:acme/shop:main state=unknown -->";
    let log = format!(
        "##[group]Run echo\n##[endgroup]\n```\n{forged}\n| a | b |\n# Heading\n##[error]Process completed with exit code 1."
    );
    let mut run = Run::failed(670, &p.head, &log);
    run.name = format!("CI`\n{forged}\n| x |");
    run.jobs[1].name = format!("build\n{forged} `x` *y*");
    run.head_branch = "feature/`tick`|pipe".into();
    p.run_with(run);
    let out = p.recover().run();
    out.assert_code(1);
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1);
    let body = &issues[0].body;
    // The tracker's own marker is the only comment, on the last line.
    let last = body.trim_end().lines().last().unwrap();
    assert!(last.starts_with("<!-- render-pilot:recover:"), "{body}");
    assert_eq!(
        body.matches("<!--").count(),
        1 + fenced_mentions(body),
        "{body}"
    );
    // Outside the fences, names are escaped on one line.
    assert!(
        body.contains("CI\\` &lt;!-- render-pilot:recover:"),
        "{body}"
    );
    assert!(body.contains("feature/\\`tick\\`\\|pipe"), "{body}");
    assert!(body.contains("Job **build &lt;!-- render-pilot"), "{body}");
    // The log's own fence cannot close ours.
    assert!(
        body.contains("````text\n```\n<!-- render-pilot:recover:"),
        "{body}"
    );
    assert!(!issues[0].title.contains('\n'));
    assert!(
        out.summary.contains("feature/\\`tick\\`\\|pipe"),
        "{}",
        out.summary
    );
}

/// `<!--` inside fenced code blocks: shown as text, never read as HTML.
fn fenced_mentions(body: &str) -> usize {
    let mut inside: Option<String> = None;
    let mut count = 0;
    for line in body.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match &inside {
            None if ticks >= 3 => inside = Some("`".repeat(ticks)),
            Some(fence) if line.trim_end() == fence.as_str() => inside = None,
            Some(_) => count += line.matches("<!--").count(),
            None => {}
        }
    }
    count
}

/// pnpm 10 records inject-workspace-packages in the lockfile's settings,
/// pnpm 9 does not know the setting: with it on, the lockfile shows which
/// major wrote it.
const INJECT: (&str, &str) = (".npmrc", "inject-workspace-packages=true\n");
const WRITTEN_BY_PNPM_10: &str = "injectWorkspacePackages: true";

/// The sha512 of pnpm 10.34.9's npm tarball, as a packageManager hash.
const PNPM_10_SHA512: &str = "f49b5a8ea0fdedb44bb3c0c1d6575092a53c2950d95b7ad15df11f17974877a2de3a01c07e934e9b28ce716e51c09a94962c7306d09be2e1e4b18a8c8762fd32";

/// Recovers a project whose lockfile pnpm `version` wrote, with
/// `package_manager` in package.json; checks the fix and says which pnpm
/// it names, and returns the pushed lockfile.
fn recovered_with(version: &str, package_manager: Option<&str>, source: &str) -> String {
    let (p, log) = project_using(version, package_manager, &[INJECT]);
    p.run_with(Run::failed(520, &p.head, &log));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("fixed"), "true", "{}", out.log());
    let with = format!("with pnpm {version} ({source})");
    assert!(
        out.output("actions").contains(&with),
        "{}",
        out.output("actions")
    );
    let message = git(&p.remote.bare(), &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains(&format!("Regenerated {with}.")),
        "{message}"
    );
    let lockfile = p.remote.show("pnpm-lock.yaml");
    assert!(lockfile.contains("specifier: file:./libb"), "{lockfile}");
    p.assert_frozen_install(version);
    p.no_leak(&out, &[]);
    lockfile
}

#[test]
fn a_project_pinning_pnpm_9_gets_its_lockfile_from_pnpm_9() {
    let pinned = format!("pnpm@{PNPM_9}");
    let lockfile = recovered_with(PNPM_9, Some(&pinned), "package.json's packageManager");
    assert!(
        !lockfile.contains(WRITTEN_BY_PNPM_10),
        "pnpm 10 wrote it: {lockfile}"
    );
    // The mark is real: pnpm 10 writes it for this very project.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pnpm-lock.yaml"), &lockfile).unwrap();
    std::fs::create_dir(dir.path().join("libb")).unwrap();
    std::fs::write(
        dir.path().join("libb/package.json"),
        r#"{"name":"libb","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join(INJECT.0), INJECT.1).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"shop","version":"1.0.0","private":true,"dependencies":{"libb":"file:./libb"}}"#,
    )
    .unwrap();
    let (ok, output) = pnpm_at(PNPM_10, dir.path(), &["install", "--lockfile-only"]);
    assert!(ok, "{output}");
    let by_10 = std::fs::read_to_string(dir.path().join("pnpm-lock.yaml")).unwrap();
    assert!(by_10.contains(WRITTEN_BY_PNPM_10), "{by_10}");
}

#[test]
fn a_project_pinning_pnpm_10_with_a_hash_gets_its_lockfile_from_pnpm_10() {
    let pinned = format!("pnpm@{PNPM_10}+sha512.{PNPM_10_SHA512}");
    let lockfile = recovered_with(PNPM_10, Some(&pinned), "package.json's packageManager");
    assert!(lockfile.contains(WRITTEN_BY_PNPM_10), "{lockfile}");
}

#[test]
fn without_package_manager_the_pnpm_of_the_lockfile_s_format_regenerates_it() {
    let lockfile = recovered_with(
        PNPM_8,
        None,
        "the pnpm that writes pnpm-lock.yaml's lockfileVersion 6.0",
    );
    // pnpm 9 and 10 would have rewritten it in format 9.0.
    assert!(lockfile.starts_with("lockfileVersion: '6.0'"), "{lockfile}");
}

/// Recover on a project pinning `package_manager` must fail: no commit,
/// exit 1, and an issue naming the pnpm needed and `fix`, how to provide it.
fn refused(package_manager: &str, path: &str, fix: &str) -> (String, Vec<render_sim::Issue>) {
    let (p, log) = project_using(PNPM_9, Some(package_manager), &[]);
    p.run_with(Run::failed(530, &p.head, &log));
    let out = p.recover().env("PATH", path).run();
    out.assert_code(1);
    assert_eq!(out.output("fixed"), "false");
    assert_eq!(p.remote.tip(), p.head, "nothing was pushed");
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1, "{}", out.log());
    assert!(issues[0].body.contains(fix), "{}", issues[0].body);
    p.no_leak(&out, &[]);
    (out.log(), issues)
}

/// A PATH with node and a `pnpm` that is pnpm `version` (corepack's,
/// started by absolute path), but no corepack.
fn path_without_corepack(version: &str) -> tempfile::TempDir {
    let node = node_only();
    let corepack = Command::new("sh")
        .args(["-c", "command -v corepack"])
        .output()
        .unwrap();
    let corepack = String::from_utf8_lossy(&corepack.stdout).trim().to_string();
    std::fs::write(
        node.path().join("pnpm"),
        format!("#!/bin/sh\nexec {corepack:?} pnpm@{version} \"$@\"\n"),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(node.path().join("pnpm"))
        .status()
        .unwrap();
    node
}

#[test]
fn another_pnpm_on_a_runner_without_corepack_is_refused_not_used() {
    let node = path_without_corepack(PNPM_10);
    let (log, issues) = refused(
        &format!("pnpm@{PNPM_9}"),
        &node.path().display().to_string(),
        "Put corepack on PATH",
    );
    for text in [&log, &issues[0].body] {
        assert!(
            text.contains(&format!(
                "must be regenerated with pnpm {PNPM_9} (package.json's packageManager)"
            )),
            "{text}"
        );
        assert!(text.contains("there is no corepack on PATH"), "{text}");
        assert!(
            text.contains(&format!("the pnpm on PATH is \"{PNPM_10}\"")),
            "{text}"
        );
    }
}

#[test]
fn a_pinned_pnpm_missing_from_corepack_s_cache_is_not_downloaded() {
    let (log, issues) = refused(
        "pnpm@9.14.4",
        &std::env::var("PATH").unwrap(),
        "Put corepack on PATH",
    );
    for text in [&log, &issues[0].body] {
        assert!(
            text.contains("must be regenerated with pnpm 9.14.4"),
            "{text}"
        );
        assert!(text.contains("Network access disabled"), "{text}");
    }
}

/// packageManager pins pnpm 9.15.9 to a hash. Corepack has that release in
/// its cache, downloaded (and checked) with another hash, and runs it
/// without looking at the pin; a pnpm 9.15.9 is on PATH too. Neither may
/// run: a pinned pnpm runs only once corepack's record matches the pin.
#[test]
fn a_pinned_hash_that_does_not_match_is_refused_not_worked_around() {
    let wrong = "0".repeat(128);
    let (log, issues) = refused(
        &format!("pnpm@{PNPM_9}+sha512.{wrong}"),
        &std::env::var("PATH").unwrap(),
        "Correct the hash",
    );
    for text in [&log, &issues[0].body] {
        assert!(
            text.contains(&format!(
                "package.json's packageManager pins pnpm {PNPM_9} to sha512.0000000000000000…"
            )),
            "{text}"
        );
        assert!(
            text.contains("corepack runs a cached release without comparing it to the pin"),
            "{text}"
        );
    }
}

/// The right hash, but no corepack to check it: the pnpm on PATH, the right
/// version, is not used instead; and a hash in another algorithm than the
/// one corepack recorded cannot be compared, so it is refused too.
#[test]
fn a_pinned_hash_nobody_can_check_is_refused() {
    let node = path_without_corepack(PNPM_10);
    let (log, _) = refused(
        &format!("pnpm@{PNPM_10}+sha512.{PNPM_10_SHA512}"),
        &node.path().display().to_string(),
        "Correct the hash",
    );
    assert!(log.contains("there is no corepack on PATH"), "{log}");
    assert!(
        !log.contains("the pnpm on PATH"),
        "PATH's pnpm was not even asked: {log}"
    );

    let (log, _) = refused(
        &format!("pnpm@{PNPM_10}+sha256.{}", &PNPM_10_SHA512[..64]),
        &std::env::var("PATH").unwrap(),
        "Correct the hash",
    );
    assert!(
        log.contains("downloaded with the hash sha512.f49b5a8ea0fdedb4…"),
        "{log}"
    );
}

/// Branches and repositories named like tokens (`rnd_…`, `ghp_…`) are
/// names, not secrets: the issue's hidden marker keeps them, so each
/// failure finds the one issue (whose title names the branch) and a
/// passing run closes it.
#[test]
fn names_shaped_like_tokens_keep_their_one_issue() {
    let log = "2026-11-29T10:00:00Z make: *** [all] Error 2\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 2.";
    for (branch, head_repository) in [
        ("rnd_pricing_page", "acme/shop"),
        ("ghp_feature0123456789", "acme/shop"),
        ("main", "acme/rnd_platform_api"),
    ] {
        let (p, _) = project();
        let run = |id: u64, conclusion: &str| Run {
            head_branch: branch.into(),
            head_repository: head_repository.into(),
            conclusion: conclusion.into(),
            ..Run::failed(id, &p.head, log)
        };
        for id in [701, 702] {
            p.run_with(run(id, "failure"));
            p.recover().input("fixes", "rerun").run().assert_code(1);
            let issues = p.sim.issues();
            assert_eq!(issues.len(), 1, "{branch} {head_repository}: {issues:#?}");
            assert_eq!(
                issues[0].title,
                format!("render-pilot: CI failed on {branch}")
            );
            let marker = issues[0].body.trim_end().lines().last().unwrap_or_default();
            assert!(
                marker.starts_with("<!-- render-pilot:recover:")
                    && marker.contains(&format!(":{head_repository}:{branch} state=unknown")),
                "{}",
                issues[0].body
            );
        }
        p.run_with(run(703, "success"));
        p.recover().run().assert_code(0);
        let issues = p.sim.issues();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].state, "closed", "{branch} {head_repository}");
    }
}

/// A 200,000-character `packageManager` version and workflow name: the
/// issue's title and body stay within GitHub's limits, cut with a note,
/// and its marker still finds it on the next failure.
#[test]
fn huge_outside_text_keeps_the_issue_within_github_s_limits() {
    let (p, log) = project();
    let manifest = std::fs::read_to_string(p.clone.join("package.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["packageManager"] = format!("pnpm@1.2.3-{}", "x".repeat(200_000)).into();
    std::fs::write(p.clone.join("package.json"), manifest.to_string()).unwrap();
    git(&p.clone, &["commit", "-q", "-am", "pin pnpm"]);
    git(&p.clone, &["push", "-q", "origin", "main"]);
    let head = p.remote.tip();
    for id in [541, 542] {
        let run = Run {
            name: format!("CI {}", "w".repeat(200_000)),
            ..Run::failed(id, &head, &log)
        };
        p.run_with(run);
        p.recover().run().assert_code(1);
    }
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 1, "found again by its marker");
    let issue = &issues[0];
    assert!(issue.title.chars().count() <= 256, "{}", issue.title.len());
    assert!(issue.body.len() <= 65_536, "{} bytes", issue.body.len());
    assert!(issue.body.contains("… (cut"), "no note");
    let last = issue.body.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("<!-- render-pilot:recover:") && last.contains(" state=lockfile"),
        "{last}"
    );
}

const HOOK_LOG: &str = "2026-11-29T10:00:00Z Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\n2026-11-29T10:00:00Z curl: (22) The requested URL returned error: 502\n2026-11-29T10:00:00Z ##[error]Process completed with exit code 22.";

/// A project whose deploy step failed to call the hook, its service and
/// the service's live deploy of an hour ago.
fn failed_hook_call(run_id: u64) -> (Project, String, String) {
    let (p, _) = project();
    let service = p.sim.add_service(ServiceSpec::web("shop-web"));
    let live = p
        .sim
        .add_history(&service, "live", Duration::from_secs(3600));
    p.run_with(Run::failed(run_id, &p.head, HOOK_LOG));
    (p, service, live)
}

impl Project {
    /// Recover with the hook and the API key of `service`, webhook fix on.
    fn recover_hook(&self, service: &str) -> Rp {
        self.recover_on_render("webhook,redeploy", service)
            .input("deploy-hook-url", &self.sim.hook_url(service))
    }

    /// Deploys Render started for `service` after the test set it up.
    fn new_deploys(&self, service: &str) -> usize {
        self.sim
            .deploys(service)
            .iter()
            .filter(|(_, _, trigger)| trigger != "new_commit")
            .count()
    }
}

fn short(sha: &str) -> &str {
    &sha[..7]
}

#[test]
fn a_fix_deploys_the_branch_tip_only_when_what_is_live_is_older() {
    // The live deploy runs the head's parent: an ancestor, so the head goes.
    let (p, service, live) = failed_hook_call(720);
    let parent = git(&p.clone, &["rev-parse", "HEAD~1"]).trim().to_string();
    p.sim.set_deploy_commit(&service, &live, &parent);
    let dry = p.recover_hook(&service).input("dry-run", "true").run();
    dry.assert_code(0);
    let checked = format!(
        "checked: {} is the tip of main; the live deploy {live} runs {}, an ancestor of the head",
        short(&p.head),
        short(&parent)
    );
    assert!(dry.output("actions").contains(&checked), "{}", dry.log());
    assert_eq!(p.new_deploys(&service), 0, "a dry run deploys nothing");
    let out = p.recover_hook(&service).run();
    out.assert_code(0);
    assert!(out.output("actions").contains(&checked), "{}", out.log());
    let hook = p
        .sim
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/deploy/"))
        .unwrap();
    assert!(
        hook.query.contains(&format!("ref={}", p.head)),
        "{}",
        hook.query
    );
    p.no_leak(&out, &[&p.sim.hook_url(&service)]);

    // Without an API key what is live cannot be read: the fix says so.
    let (p, service, _) = failed_hook_call(721);
    let out = p
        .recover()
        .input("fixes", "webhook")
        .input("deploy-hook-url", &p.sim.hook_url(&service))
        .run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .contains("what Render serves was not checked (no render-api-key)"),
        "{}",
        out.log()
    );
    assert_eq!(p.new_deploys(&service), 1);
}

#[test]
fn a_fix_never_deploys_a_head_the_branch_has_moved_past() {
    let (p, service, _) = failed_hook_call(722);
    crate::repo::push_change(&p.clone, "NEWS.md", "newer\n", "a newer commit");
    let tip = p.remote.tip();
    let refusal = format!(
        "not fixed: main moved on to {} after the failed run's head {}",
        short(&tip),
        short(&p.head)
    );
    for dry_run in ["true", "false"] {
        let out = p.recover_hook(&service).input("dry-run", dry_run).run();
        assert!(out.output("actions").starts_with(&refusal), "{}", out.log());
    }
    assert_eq!(p.new_deploys(&service), 0, "nothing deployed");
    // The same for a redeploy after a failed build of the old head.
    p.sim
        .add_history(&service, "build_failed", Duration::from_secs(30));
    p.run_with(Run::failed(
        723,
        &p.head,
        "::error title=Deploy failed::deploy dep-x ended build_failed",
    ));
    let out = p.recover_on_render("redeploy", &service).run();
    out.assert_code(1);
    assert!(out.output("actions").starts_with(&refusal), "{}", out.log());
    assert_eq!(p.new_deploys(&service), 0, "nothing redeployed");
}

#[test]
fn a_fix_never_deploys_over_a_newer_or_unrelated_live_commit() {
    // Live runs a commit the checkout lacks, committed after the head (a
    // deploy of another branch, say).
    let (p, service, _) = failed_hook_call(724);
    let newer = p.sim.add_history(&service, "live", Duration::ZERO);
    p.sim.set_deploy_commit(&service, &newer, &"f".repeat(40));
    let out = p.recover_hook(&service).run();
    out.assert_code(1);
    assert!(
        out.output("actions")
            .contains("runs fffffff, not in the checkout and not committed before the head"),
        "{}",
        out.log()
    );
    assert_eq!(p.new_deploys(&service), 0);

    // Live runs a commit of the checkout that the head does not descend
    // from: a side branch.
    let (p, service, live) = failed_hook_call(725);
    git(&p.clone, &["checkout", "-q", "-b", "side", "HEAD~1"]);
    std::fs::write(p.clone.join("side.txt"), "side\n").unwrap();
    git(&p.clone, &["add", "side.txt"]);
    git(&p.clone, &["commit", "-q", "-m", "side"]);
    let side = git(&p.clone, &["rev-parse", "HEAD"]).trim().to_string();
    p.sim.set_deploy_commit(&service, &live, &side);
    for dry_run in ["true", "false"] {
        let out = p.recover_hook(&service).input("dry-run", dry_run).run();
        assert!(
            out.output("actions").contains(&format!(
                "not fixed: the live deploy {live} runs {}, not an ancestor of the head {}",
                short(&side),
                short(&p.head)
            )),
            "{}",
            out.log()
        );
    }
    assert_eq!(p.new_deploys(&service), 0);
    assert_eq!(
        p.sim.issues().len(),
        1,
        "one issue for the refused fix, updated, never two"
    );
}

#[test]
fn a_head_that_is_already_live_needs_no_deploy_and_closes_the_issue() {
    let (p, service, live) = failed_hook_call(726);
    // A first attempt fails (no API key, hook refused): an issue is filed.
    let out = p
        .recover()
        .input("fixes", "webhook")
        .input(
            "deploy-hook-url",
            &format!("{}/deploy/{service}?key=wrongkey123", p.sim.url),
        )
        .run();
    out.assert_code(1);
    assert_eq!(open_issues(&p), 1);
    // Render deployed the head by itself since: nothing to deploy.
    p.sim.set_deploy_commit(&service, &live, &p.head);
    let out = p.recover_hook(&service).run();
    out.assert_code(0);
    assert_eq!(
        out.output("actions"),
        format!(
            "nothing to deploy: {} is already live ({live})",
            short(&p.head)
        )
    );
    assert_eq!(p.new_deploys(&service), 0);
    assert_eq!(open_issues(&p), 0, "nothing is left to fix: closed");
}

#[test]
fn redeploy_pins_the_checked_head() {
    let (p, _) = project();
    let (service, _, broken) = p.failed_deploy(727, "build_failed", ServiceSpec::web("shop-api"));
    let out = p.recover_on_render("redeploy", &service).run();
    out.assert_code(0);
    assert!(
        out.output("actions")
            .starts_with(&format!("deploy {broken} build_failed; started dep-"))
            && out.output("actions").contains(&format!(
                "of {} with a cleared build cache (checked: {} is the tip of main; the live deploy",
                short(&p.head),
                short(&p.head)
            )),
        "{}",
        out.log()
    );
    let trigger = p
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/deploys"))
        .unwrap();
    assert!(
        trigger
            .body
            .contains(&format!(r#""commitId":"{}""#, p.head)),
        "{}",
        trigger.body
    );
}

/// A run of `workflow` (CI or Deploy) on main started by `event`.
fn run_of(workflow: &str, id: u64, head: &str, event: &str, conclusion: &str, log: &str) -> Run {
    let mut run = Run::failed(id, head, log);
    run.event = event.into();
    run.conclusion = conclusion.into();
    if workflow == "Deploy" {
        run.name = "Deploy".into();
        run.workflow_id = 7002;
        run.path = ".github/workflows/deploy.yml".into();
    }
    run
}

/// Escalation: the run recover dispatched after its fix fails again, and
/// again; each failure updates the one issue of its workflow and branch,
/// and a later passing run, however started, closes it. A failed manual
/// run of another workflow has its own issue.
#[test]
fn failed_fix_attempts_update_one_issue_and_a_passing_run_closes_it() {
    let (p, log) = project();
    p.run_with(run_of("CI", 830, &p.head, "push", "failure", &log));
    p.recover().run().assert_code(0);
    let fix = p.remote.tip();
    let message = git(&p.remote.bare(), &["log", "-1", "--format=%B", "main"]);
    for id in [831, 832] {
        let mut again = run_of("CI", id, &fix, "workflow_dispatch", "failure", &log);
        again.head_message = message.clone();
        p.run_with(again);
        p.recover().run().assert_code(1);
        let issues = p.sim.issues();
        assert_eq!(issues.len(), 1, "one issue, updated");
        assert_eq!(issues[0].title, "render-pilot: CI failed on main");
    }
    assert!(
        !p.sim.issues()[0].comments.is_empty(),
        "the second failure is noted"
    );

    let manual = "2026-11-29T10:00:00Z ##[error]Process completed with exit code 1.";
    p.run_with(run_of(
        "Deploy",
        833,
        &fix,
        "workflow_dispatch",
        "failure",
        manual,
    ));
    p.recover().run().assert_code(1);
    assert_eq!(open_issues(&p), 2, "Deploy's own issue");

    p.run_with(run_of("CI", 834, &fix, "workflow_dispatch", "success", ""));
    let out = p.recover().run();
    out.assert_code(0);
    out.assert_says("Closed the recovery issue for main.");
    let open: Vec<String> = p
        .sim
        .issues()
        .into_iter()
        .filter(|i| i.state == "open")
        .map(|i| i.title)
        .collect();
    assert_eq!(open, ["render-pilot: Deploy failed on main"]);
    p.run_with(run_of("Deploy", 835, &fix, "push", "success", ""));
    p.recover().run().assert_code(0);
    assert_eq!(open_issues(&p), 0);
}
