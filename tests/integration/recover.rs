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

struct Project {
    sim: Sim,
    remote: Remote,
    head: String,
    _dir: tempfile::TempDir,
    clone: PathBuf,
    event: PathBuf,
}

fn pnpm(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("pnpm")
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .output()
        .expect("pnpm is installed (.ci/run installs it)");
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
    std::fs::write(
        clone.join("package.json"),
        r#"{"name":"shop","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    assert!(pnpm(&clone, &["install", "--lockfile-only"]).0);
    git(&clone, &["add", "."]);
    git(&clone, &["commit", "-q", "-m", "add pnpm project"]);
    std::fs::write(
        clone.join("package.json"),
        r#"{"name":"shop","version":"1.0.0","private":true,"dependencies":{"libb":"file:./libb"}}"#,
    )
    .unwrap();
    git(&clone, &["commit", "-q", "-am", "use libb"]);
    git(&clone, &["push", "-q", "origin", "main"]);
    let (ok, output) = pnpm(&clone, &["install", "--frozen-lockfile"]);
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
    fn run_with(&self, run: Run) -> &Self {
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

    let fresh = tempfile::tempdir().unwrap();
    let clone = p.remote.clone_into(fresh.path());
    let (ok, output) = pnpm(&clone, &["install", "--frozen-lockfile", "--offline"]);
    assert!(ok, "frozen install on a fresh clone: {output}");
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

#[test]
fn a_push_conflict_reruns_the_failed_jobs_once_then_files_an_issue() {
    let (p, _) = project();
    let log = "2026-11-29T10:00:00Z To https://github.com/acme/shop.git\n2026-11-29T10:00:00Z  ! [rejected]        main -> main (fetch first)\n2026-11-29T10:00:00Z error: failed to push some refs";
    p.run_with(Run::failed(506, &p.head, log));
    let out = p.recover().run();
    out.assert_code(0);
    assert_eq!(out.output("diagnosis"), "push-race");
    assert_eq!(p.sim.reruns(), [506]);

    let mut second = Run::failed(507, &p.head, log);
    second.attempt = 2;
    p.run_with(second);
    let out = p.recover().run();
    out.assert_code(1);
    assert_eq!(p.sim.reruns(), [506], "max-attempts 2: no third attempt");
    assert_eq!(p.sim.issues().len(), 1);
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
        out.summary.contains("never pushes for such runs"),
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
        out.output("actions").contains("does not deploy it"),
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
    assert!(
        out.output("actions")
            .contains("has no workflow_dispatch trigger"),
        "{}",
        out.output("actions")
    );
    assert!(p.sim.dispatches().is_empty());
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
