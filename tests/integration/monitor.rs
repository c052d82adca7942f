use std::path::Path;
use std::time::Duration;

use render_sim::{Fault, Plan, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{assert_no_secret_published, git, push_change, remote, Remote};
use crate::support::{assert_summary, rp, Outcome as RunOutcome, Rp};

const SECRETS: [&str; 2] = [API_KEY, GITHUB_TOKEN];

struct Fleet {
    sim: Sim,
    remote: Remote,
    web: String,
    api: String,
}

fn fleet() -> Fleet {
    let sim = Sim::start();
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    sim.add_history(&web, "live", Duration::from_secs(600));
    let api = sim.add_service(ServiceSpec::web("shop-api"));
    sim.add_history(&api, "live", Duration::from_secs(900));
    let remote = remote(&sim);
    Fleet {
        sim,
        remote,
        web,
        api,
    }
}

/// Whether Render skips the auto-deploy of a commit with this message: one
/// of its skip phrases, in either order, with render, deploy or cd.
pub fn render_skips(message: &str) -> bool {
    let message = message.to_lowercase();
    ["render", "deploy", "cd"].iter().any(|word| {
        message.contains(&format!("[skip {word}]")) || message.contains(&format!("[{word} skip]"))
    })
}

fn monitor(f: &Fleet, workspace: &Path) -> Rp {
    rp().input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &f.sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &format!("{},{}", f.web, f.api))
        .input("status-file", "docs/PIPELINE.md")
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &f.sim.url)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_REF_NAME", "main")
}

fn checkout(f: &Fleet) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let clone = f.remote.clone_into(dir.path());
    (dir, clone)
}

fn no_leak(f: &Fleet, out: &RunOutcome) {
    out.assert_no_secret(&SECRETS);
    assert_no_secret_published(&f.sim, &f.remote, &SECRETS);
}

#[test]
fn a_healthy_fleet_is_written_and_pushed_without_issues() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let out = monitor(&f, &clone).input("health-path", "/healthz").run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true");
    assert_eq!(out.output("failing-services"), "");
    assert_eq!(out.output("status-changed"), "true");
    assert_eq!(out.output("commit-sha"), f.remote.tip());
    let log = f.remote.log();
    assert!(
        render_skips(&log[0].0),
        "Render must not redeploy: {}",
        log[0].0
    );
    assert_eq!(
        log[0].0,
        "docs: update pipeline status (all healthy) [skip render] [skip ci]"
    );
    assert_eq!(log[0].1, "render-pilot[bot]");
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(page.contains("🟢 **All 2 services operational**"), "{page}");
    assert!(page.contains("200 · < 300 ms"), "{page}");
    assert_eq!(
        std::fs::read_to_string(clone.join("docs/PIPELINE.md")).unwrap(),
        page,
        "the checkout moved forward"
    );
    assert!(f.sim.issues().is_empty());
    no_leak(&f, &out);
}

#[test]
fn a_failed_deploy_opens_one_issue_and_recovery_closes_it() {
    let f = fleet();
    f.sim
        .add_history(&f.api, "build_failed", Duration::from_secs(60));
    let (_dir, clone) = checkout(&f);
    let out = monitor(&f, &clone).input("health-path", "/healthz").run();
    out.assert_code(0);
    // The snapshot holds the table, the failure, the commit and the issue.
    assert_summary!("monitor_failed_deploy", &out.summary);
    assert_eq!(out.output("healthy"), "false");
    assert_eq!(out.output("failing-services"), f.api);
    assert_eq!(out.output("issues-opened"), "1");
    let issues = f.sim.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].title, "render-pilot: shop-api failed");
    assert_eq!(issues[0].labels, vec!["render-pilot".to_string()]);
    assert!(
        issues[0].body.contains("build_failed")
            && issues[0]
                .body
                .contains("Render keeps the previous deploy serving")
    );
    // The issue says why, in the build log's own lines.
    assert!(
        issues[0]
            .body
            .contains("**Why it failed**: pnpm-lock.yaml is out of date with package.json")
            && issues[0].body.contains(
                "```text\n ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\""
            ),
        "{}",
        issues[0].body
    );
    assert!(f.remote.log()[0].0.contains("(shop-api failed)"));
    no_leak(&f, &out);

    // Still failing: no duplicate, nothing to commit.
    let tip = f.remote.tip();
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    assert_eq!(f.sim.issues().len(), 1);
    assert_eq!(out.output("issues-opened"), "");
    assert_eq!(out.output("commit-sha"), "");
    assert_eq!(out.output("status-changed"), "false");
    assert_eq!(f.remote.tip(), tip, "nothing changed, no commit");

    // With fail-on-unhealthy the same state fails the step.
    monitor(&f, &clone)
        .input("fail-on-unhealthy", "true")
        .run()
        .assert_code(1);

    // Recovered.
    f.sim.add_history(&f.api, "live", Duration::from_secs(1));
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true");
    assert_eq!(out.output("issues-closed"), "1");
    let issue = &f.sim.issues()[0];
    assert_eq!(issue.state, "closed");
    assert!(
        issue
            .comments
            .last()
            .unwrap()
            .starts_with("✅ Resolved after"),
        "{:?}",
        issue.comments
    );
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(page.contains("✅ **shop-api** failed from"), "{page}");
    no_leak(&f, &out);
}

#[test]
fn a_degraded_service_changes_its_issue_with_a_comment() {
    let f = fleet();
    f.sim
        .add_history(&f.api, "build_failed", Duration::from_secs(60));
    let (_dir, clone) = checkout(&f);
    monitor(&f, &clone).run().assert_code(0);
    let api = f.api.clone();
    f.sim.set_plan(
        &api,
        Plan {
            health: 503,
            ..Plan::live(Duration::from_millis(300))
        },
    );
    let hook = f.sim.hook_url(&api);
    rp().input("mode", "deploy")
        .input("deploy-hook-url", &hook)
        .run()
        .assert_code(0);
    std::thread::sleep(Duration::from_millis(600));
    let out = monitor(&f, &clone).input("health-path", "/healthz").run();
    out.assert_code(0);
    let issues = f.sim.issues();
    assert_eq!(issues.len(), 1, "the same issue");
    assert!(
        issues[0].comments[0].contains("is now **degraded**"),
        "{:?}",
        issues[0].comments
    );
    assert!(issues[0].body.contains("state=degraded"));
}

#[test]
fn a_push_race_keeps_both_commits() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let other_dir = tempfile::tempdir().unwrap();
    let other = f.remote.clone_into(other_dir.path());
    let other_path = other.clone();
    f.sim.before_next_push(move || {
        push_change(&other_path, "NOTES.md", "someone else\n", "docs: notes")
    });
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    out.assert_says("after 2 attempts");
    let log: Vec<String> = f.remote.log().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        log,
        [
            "docs: update pipeline status (all healthy) [skip render] [skip ci]",
            "docs: notes",
            "initial"
        ]
    );
    f.remote.fsck();
}

/// Four monitors started at once, each writing its own status file
/// (`docs/PIPELINE-{prefix}{i}.md`), pushing to `remote` when given instead
/// of the fleet's HTTP remote. Returns what each run reported.
fn race(f: &Fleet, prefix: &str, remote: Option<&Path>) -> Vec<RunOutcome> {
    let dirs: Vec<_> = (0..4).map(|_| checkout(f)).collect();
    let handles: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, (_, clone))| {
            if let Some(remote) = remote {
                git(
                    clone,
                    &["remote", "set-url", "origin", remote.to_str().unwrap()],
                );
            }
            let run = monitor(f, clone)
                .input("status-file", &format!("docs/PIPELINE-{prefix}{i}.md"))
                .input("issues", "false");
            std::thread::spawn(move || run.run())
        })
        .collect();
    let outcomes: Vec<RunOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for out in &outcomes {
        out.assert_code(0);
    }
    for i in 0..4 {
        assert!(f
            .remote
            .show(&format!("docs/PIPELINE-{prefix}{i}.md"))
            .contains("# Pipeline status"));
    }
    outcomes
}

#[test]
fn four_monitors_racing_on_one_remote_lose_nothing() {
    let f = fleet();
    race(&f, "", None);
    let log = f.remote.log();
    assert_eq!(log.len(), 5, "{log:?}");
    f.remote.fsck();
}

#[test]
fn a_protected_branch_is_reported_not_retried() {
    let f = fleet();
    let hook = f.remote.bare().join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n").unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .unwrap();
    let (_dir, clone) = checkout(&f);
    let tip = f.remote.tip();
    f.sim.clear_requests();
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(1);
    out.assert_says("rejected by the server");
    out.assert_says("does not retry");
    let pushes = f
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("git-receive-pack") && r.method == "POST")
        .count();
    assert_eq!(pushes, 1);
    assert_eq!(f.remote.tip(), tip);
    assert_eq!(out.output("healthy"), "true", "outputs are still set");
    no_leak(&f, &out);
}

#[test]
fn a_corrupted_status_file_is_rewritten_with_a_warning() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    push_change(&clone, "docs/PIPELINE.md", "# notes\n<!-- render-pilot:start -->\n<!-- render-pilot history v1: read back by the next run; keep it as it is.\n{not json\n{\"at\":\"2026-01-01T00:00:00Z\",\"services\":{}}\n-->\n<!-- render-pilot:end -->\n", "hand edit");
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    out.assert_says("dropped line 1 of the history block");
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(
        page.contains("{\"at\":\"2026-01-01T00:00:00Z\",\"services\":{}}"),
        "kept what parsed:\n{page}"
    );
    assert!(!page.contains("{not json"));
    assert!(
        page.starts_with("# notes\n<!-- render-pilot:start -->\n"),
        "{page}"
    );
}

#[test]
fn all_services_over_several_pages() {
    let sim = Sim::start();
    for i in 0..250 {
        let id = sim.add_service(ServiceSpec::web(&format!("svc-{i:03}")));
        sim.add_history(&id, "live", Duration::from_secs(60));
    }
    let out = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("services", "all")
        .input("issues", "false")
        .input("commit-mode", "never")
        .input("concurrency", "16")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true");
    let requests = sim.requests();
    let pages: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/v1/services")
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(pages[1].query.contains("cursor="));
    assert_eq!(
        requests.len(),
        3 + 250,
        "one deploy list per service, no per-service GET"
    );
    let page = std::fs::read_to_string(out.dir.path().join("docs/PIPELINE.md")).unwrap();
    assert_eq!(page.matches("| 🟢 healthy |").count(), 250);
}

#[test]
fn a_429_storm_slows_every_worker() {
    let f = fleet();
    f.sim
        .fault(Fault::rate_limited("GET", "/v1/services", 3, 1));
    let out = monitor(&f, Path::new("/nonexistent"))
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true");
    let requests: Vec<_> = f
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .collect();
    let first = requests.first().unwrap().at;
    let last = requests.last().unwrap().at;
    assert!(
        last - first >= Duration::from_millis(950),
        "waited for Retry-After: {:?}",
        last - first
    );
    let seen: Vec<_> = requests
        .iter()
        .map(|r| (r.path.clone(), r.at - first))
        .collect();
    assert!(requests.len() <= 4 + 3, "no storm: {seen:?}");
}

#[test]
fn deploy_with_a_health_path_fails_when_the_live_service_answers_503() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec {
        plan: Plan {
            health: 503,
            ..Plan::live(Duration::from_millis(400))
        },
        ..ServiceSpec::web("web")
    });
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("health-path", "/healthz")
        .input("health-timeout", "1s")
        .run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "live");
    assert_eq!(out.output("healthy"), "false");
    assert!(
        out.summary.contains("deploy live but unhealthy"),
        "{}",
        out.summary
    );

    sim.set_plan(&id, Plan::live(Duration::from_millis(400)));
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("health-path", "/healthz")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true");
}

#[test]
fn a_workspace_that_is_not_a_repository_is_bad_input() {
    let f = fleet();
    let empty = tempfile::tempdir().unwrap();
    let out = monitor(&f, empty.path()).input("issues", "false").run();
    out.assert_code(2);
    assert!(
        f.sim.requests().iter().all(|r| !r.path.starts_with("/v1/")),
        "nothing happened"
    );
    out.assert_says("is not a git repository");
}

#[test]
fn a_detached_head_without_a_branch_is_bad_input() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    git(&clone, &["checkout", "-q", "--detach"]);
    let out = monitor(&f, &clone)
        .env("GITHUB_REF", "refs/tags/v1")
        .env("GITHUB_REF_NAME", "v1")
        .input("issues", "false")
        .run();
    out.assert_code(2);
    out.assert_says("branch: is not known");
    let out = monitor(&f, &clone)
        .env("GITHUB_REF", "refs/tags/v1")
        .input("branch", "main")
        .input("issues", "false")
        .run();
    out.assert_code(0);
}

#[test]
fn a_local_path_remote_works_too() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    git(
        &clone,
        &[
            "remote",
            "set-url",
            "origin",
            f.remote.bare().to_str().unwrap(),
        ],
    );
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(0);
    assert_eq!(out.output("commit-sha"), f.remote.tip());
}

#[test]
fn an_unreadable_service_is_unknown_not_a_crash() {
    let f = fleet();
    f.sim.fault(Fault::new(
        "GET",
        &format!("/v1/services/{}", f.web),
        1,
        render_sim::FaultKind::TruncatedJson,
    ));
    let out = monitor(&f, Path::new("/nonexistent"))
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "false");
    assert_eq!(out.output("failing-services"), f.web);
}

/// A refused key, an id Render does not know, or a key that sees no
/// service at all is a mistake in the inputs, never a state to publish:
/// exit 1, the input named, nothing committed and no issue.
#[test]
fn a_refused_key_or_an_unknown_id_fails_and_commits_nothing() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let tip = f.remote.tip();
    let refused = |out: &RunOutcome, said: &str| {
        out.assert_code(1);
        out.assert_says(said);
        out.assert_says("Nothing was committed");
        assert_eq!(f.remote.tip(), tip, "nothing pushed");
        assert!(!clone.join("docs/PIPELINE.md").exists(), "nothing written");
        assert!(f.sim.issues().is_empty(), "no issue");
        no_leak(&f, out);
    };
    let out = monitor(&f, &clone)
        .input("services", &format!("{},srv-doesnotexist", f.web))
        .run();
    refused(
        &out,
        "services: Render knows no service srv-doesnotexist (HTTP 404)",
    );

    let out = monitor(&f, &clone)
        .input("render-api-key", "rnd_SomeOtherWorkspaceKey0123456789")
        .run();
    refused(&out, "render-api-key: Render refused it for srv-");
    out.assert_says("(HTTP 401)");

    for path in [
        format!("/v1/services/{}", f.api),
        format!("/v1/services/{}/deploys", f.web),
    ] {
        f.sim.fault(Fault::new(
            "GET",
            &path,
            1,
            render_sim::FaultKind::Status {
                status: 403,
                headers: Vec::new(),
                body: r#"{"message":"forbidden"}"#.into(),
            },
        ));
        let out = monitor(&f, &clone).run();
        refused(&out, "render-api-key: Render refused it for srv-");
        out.assert_says("(HTTP 403)");
    }

    let empty = Sim::start();
    let out = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &empty.api_url())
        .input("services", "all")
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(1);
    out.assert_says("render-api-key sees no service");
}

/// Names that try to forge or wipe the history, break the table or the
/// commit message: shown escaped, never read back as state.
#[test]
fn hostile_service_names_cannot_forge_the_history() {
    let sim = Sim::start();
    let names = [
        "a\n<!-- render-pilot history v1: read back by the next run; keep it as it is.\n{\"at\":\"2020-01-01T00:00:00Z\",\"services\":{}}",
        "<!-- render-pilot history v1",
        "b -->\n# pwned",
        "c | d | e",
        "`f` **g** [h](https://evil.example)\nCo-authored-by: Mallory <m@evil.example>",
    ];
    let mut ids = Vec::new();
    for name in names {
        let id = sim.add_service(ServiceSpec::web(name));
        sim.add_history(&id, "build_failed", Duration::from_secs(60));
        ids.push(id);
    }
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let run = || {
        rp().input("mode", "monitor")
            .input("render-api-key", API_KEY)
            .input("render-api-url", &sim.api_url())
            .input("services", &ids.join(","))
            .input("github-token", GITHUB_TOKEN)
            .input("issues", "false")
            .env("GITHUB_WORKSPACE", &clone)
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_REF_NAME", "main")
            .run()
    };
    let out = run();
    out.assert_code(0);
    let page = remote.show("docs/PIPELINE.md");
    assert_eq!(
        page.matches("<!-- render-pilot history v1").count(),
        1,
        "{page}"
    );
    assert_eq!(page.matches("-->").count(), 3, "{page}");
    assert!(!page.contains("\n# pwned"), "{page}");
    assert!(
        page.lines().all(|l| !l.starts_with("{\"at\":\"2020")),
        "{page}"
    );
    let message = git(&remote.bare(), &["log", "-1", "--format=%B", "main"]);
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(render_skips(&message), "{message}");
    assert!(!out.summary.contains("<!--"), "{}", out.summary);
    assert!(!out.summary.contains("\n# pwned"), "{}", out.summary);

    // The second run reads its own history back: same states, no commit.
    let tip = remote.tip();
    let out = run();
    out.assert_code(0);
    assert!(!out.stdout.contains("history block"), "{}", out.log());
    assert_eq!(out.output("status-changed"), "false");
    assert_eq!(remote.tip(), tip);

    // A state change appends to that history rather than starting anew.
    sim.add_history(&ids[0], "live", Duration::from_secs(1));
    run().assert_code(0);
    let page = remote.show("docs/PIPELINE.md");
    let entries = page.lines().filter(|l| l.starts_with("{\"at\":")).count();
    assert_eq!(entries, 2, "{page}");
}

/// Commits a symbolic link in a clone and pushes it.
fn push_symlink(clone: &Path, link: &str, target: &Path) {
    let at = clone.join(link);
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, &at).unwrap();
    git(clone, &["add", link]);
    git(clone, &["commit", "-q", "-m", "a link"]);
    git(clone, &["push", "-q", "origin", "HEAD:main"]);
}

/// The status page is never written through a link, into .git or outside
/// the workspace, whether it is committed or only written.
#[test]
fn the_status_file_never_writes_outside_the_workspace() {
    let f = fleet();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    let victim_text = "precious\n";
    for mode in ["never", "on-change"] {
        // (setup, status-file, what the message names)
        type Setup = fn(&Path, &Path);
        let cases: [(&str, Setup, &str, &str); 9] = [
            (
                "committed file link",
                |clone, victim| push_symlink(clone, "docs/PIPELINE.md", victim),
                "docs/PIPELINE.md",
                "is a symbolic link",
            ),
            (
                "committed directory link",
                |clone, victim| push_symlink(clone, "docs", victim.parent().unwrap()),
                "docs/victim.txt",
                "docs is a symbolic link",
            ),
            (
                "uncommitted directory link",
                |clone, victim| {
                    std::os::unix::fs::symlink(victim.parent().unwrap(), clone.join("docs"))
                        .unwrap()
                },
                "docs/victim.txt",
                "docs is a symbolic link",
            ),
            ("git config", |_, _| {}, ".git/config", "inside .git"),
            ("git HEAD", |_, _| {}, ".git/HEAD", "inside .git"),
            ("git by case", |_, _| {}, ".GIT/config", "inside .git"),
            ("parent", |_, _| {}, "../x", "relative path inside"),
            (
                "sneaky parent",
                |_, _| {},
                "docs/../../x",
                "relative path inside",
            ),
            (
                "absolute",
                |_, _| {},
                "/tmp/render-pilot-x.md",
                "relative path inside",
            ),
        ];
        for (name, setup, status_file, says) in cases {
            std::fs::write(&victim, victim_text).unwrap();
            let (_dir, clone) = checkout(&f);
            setup(&clone, &victim);
            let git_config = std::fs::read(clone.join(".git/config")).unwrap();
            let head = std::fs::read(clone.join(".git/HEAD")).unwrap();
            let tip = f.remote.tip();
            let out = monitor(&f, &clone)
                .input("status-file", status_file)
                .input("commit-mode", mode)
                .input("issues", "false")
                .run();
            out.assert_code(2);
            out.assert_says("status-file");
            out.assert_says(says);
            assert_eq!(
                std::fs::read_to_string(&victim).unwrap(),
                victim_text,
                "{mode} {name}: written through"
            );
            assert_eq!(
                std::fs::read(clone.join(".git/config")).unwrap(),
                git_config
            );
            assert_eq!(std::fs::read(clone.join(".git/HEAD")).unwrap(), head);
            assert_eq!(f.remote.tip(), tip, "{mode} {name}: nothing pushed");
            assert!(!Path::new("/tmp/render-pilot-x.md").exists());
            if name.starts_with("committed") {
                // The link is reset for the next case.
                let (_d, c) = checkout(&f);
                git(&c, &["rm", "-q", "-r", "docs"]);
                git(&c, &["commit", "-q", "-m", "no link"]);
                git(&c, &["push", "-q", "origin", "HEAD:main"]);
            }
        }
    }
    let _ = std::fs::remove_file("/tmp/render-pilot-x.md");
}

/// A link pushed by someone else after the checkout is seen on the fetched
/// branch, before anything is committed or checked out.
#[test]
fn a_link_pushed_after_the_checkout_is_refused() {
    let f = fleet();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let (_dir, clone) = checkout(&f);
    let (_other_dir, other) = checkout(&f);
    push_symlink(&other, "docs/PIPELINE.md", &victim);
    let tip = f.remote.tip();
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(2);
    out.assert_says("status-file");
    out.assert_says("on the branch");
    // The services were checked: their outputs and summary are kept.
    assert!(!out.output("healthy").is_empty(), "{}", out.log());
    assert!(
        out.summary.contains("### Render services"),
        "{}",
        out.summary
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(f.remote.tip(), tip);
    assert!(!clone.join("docs/PIPELINE.md").exists());
}

/// A planted link where a fixed temporary name would be is ignored: the
/// temporary file gets a fresh name, created exclusively.
#[test]
fn a_planted_temporary_file_link_is_not_followed() {
    let f = fleet();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    for planted in ["docs/PIPELINE.render-pilot.tmp", "docs/.PIPELINE.md.tmp"] {
        std::os::unix::fs::symlink(&victim, clone.join(planted)).unwrap();
    }
    let out = monitor(&f, &clone)
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let page = std::fs::read_to_string(clone.join("docs/PIPELINE.md")).unwrap();
    assert!(page.contains("# Pipeline status"));
    let leftovers: Vec<_> = std::fs::read_dir(clone.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".render-pilot-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// libgit2's local transport moves the ref without a compare-and-swap, so
/// concurrent pushes can replace each other. Every commit a monitor reports
/// must still be on main: each push is confirmed by a fetch.
#[test]
fn every_reported_push_is_on_main_with_a_local_path_remote() {
    let f = fleet();
    let bare = f.remote.bare();
    for round in 0..5 {
        let shas: Vec<String> = race(&f, &format!("{round}-"), Some(&bare))
            .iter()
            .map(|out| out.output("commit-sha").to_string())
            .collect();
        for sha in &shas {
            assert_eq!(sha.len(), 40, "round {round}: a commit was reported");
            let on_main = std::process::Command::new("git")
                .args(["merge-base", "--is-ancestor", sha, "main"])
                .current_dir(&bare)
                .status()
                .unwrap()
                .success();
            assert!(
                on_main,
                "round {round}: {sha} was reported but is not on main"
            );
        }
    }
    f.remote.fsck();
}

/// The seed's teams keep hand-written documentation in docs/PIPELINE.md:
/// render-pilot owns only its block, over any number of runs.
#[test]
fn a_hand_written_pipeline_page_is_kept_over_two_runs() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    let notes = "# How we ship\n\nMerges to `main` deploy **shop-web** and shop-api.\n\n| owner | pager |\n|---|---|\n| ana | yes |\n";
    push_change(&clone, "docs/PIPELINE.md", notes, "docs: pipeline notes");

    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(0);
    out.assert_says("kept the rest of the file");
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(page.starts_with(notes), "{page}");
    assert!(page.contains("<!-- render-pilot:start -->\n# Pipeline status"));
    assert!(page.ends_with("<!-- render-pilot:end -->\n"));

    // The team edits around the block; a state changes; the next run
    // replaces only the block.
    git(&clone, &["pull", "-q", "--ff-only"]);
    let edited = format!(
        "{notes}\nAdded later, above the block.\n\n{}\n## Runbook\n\nCall ana.   \n",
        page.strip_prefix(notes).unwrap()
    );
    push_change(&clone, "docs/PIPELINE.md", &edited, "docs: runbook");
    f.sim
        .add_history(&f.api, "build_failed", Duration::from_secs(1));
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(0);
    assert!(
        !out.stdout.contains("kept the rest"),
        "no notice the second time"
    );
    assert_eq!(out.output("status-changed"), "true");
    let page = f.remote.show("docs/PIPELINE.md");
    let parts = |text: &str| {
        let (before, rest) = text.split_once("<!-- render-pilot:start -->\n").unwrap();
        let (_, after) = rest.split_once("<!-- render-pilot:end -->\n").unwrap();
        (before.to_string(), after.to_string())
    };
    let (before, after) = parts(&page);
    assert_eq!(
        (&before, &after),
        (&parts(&edited).0, &parts(&edited).1),
        "byte for byte"
    );
    assert!(before.contains("Added later") && after == "\n## Runbook\n\nCall ana.   \n");
    assert_eq!(page.matches("<!-- render-pilot:start -->").count(), 1);
    assert!(page.contains("shop-api (failed)"), "{page}");

    // The same with commit-mode never, on the checkout's file.
    git(&clone, &["pull", "-q", "--ff-only"]);
    f.sim.add_history(&f.api, "live", Duration::from_secs(1));
    let out = monitor(&f, &clone)
        .input("issues", "false")
        .input("commit-mode", "never")
        .run();
    out.assert_code(0);
    let local = std::fs::read_to_string(clone.join("docs/PIPELINE.md")).unwrap();
    assert!(
        local.starts_with(&before) && local.ends_with(&after),
        "{local}"
    );
    assert!(local.contains("All 2 services operational"), "{local}");
}

/// A start marker with no end marker: which text is the team's is not
/// known, so nothing is written and the run says how to fix the file.
#[test]
fn a_page_with_a_broken_block_is_left_alone() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    let text = "# Notes\n<!-- render-pilot:start -->\nours? theirs?\n";
    push_change(&clone, "docs/PIPELINE.md", text, "docs: broken");
    let tip = f.remote.tip();
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(1);
    out.assert_says("no <!-- render-pilot:end --> line after it");
    assert_eq!(f.remote.tip(), tip);
    assert_eq!(out.output("healthy"), "true", "outputs are still set");
}

fn summary_uptime<'a>(out: &'a RunOutcome, name: &str) -> &'a str {
    let line = out
        .summary
        .lines()
        .find(|l| l.starts_with('|') && l.contains(&format!("[{name}]")))
        .unwrap_or_else(|| panic!("{name} in the summary:\n{}", out.summary));
    line.trim_end_matches(" |").rsplit(" | ").next().unwrap()
}

/// A run that checks health and leaves issues alone.
fn checked(f: &Fleet, workspace: &Path) -> RunOutcome {
    monitor(f, workspace)
        .input("issues", "false")
        .input("health-path", "/healthz")
        .run()
}

/// Uptime counts the ongoing state up to now, counts a failed deploy that
/// still serves as up, needs a window, and moving figures make no commit.
#[test]
fn uptime_tells_the_truth_and_only_states_make_commits() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let run = || checked(&f, &clone);
    let out = run();
    out.assert_code(0);
    assert_eq!(summary_uptime(&out, "shop-web"), "—", "no window yet");
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(page.contains("Uptime appears once a later run"), "{page}");
    assert!(page.contains("Figures as of 20"), "{page}");

    // shop-web goes down; shop-api's newest build fails while the previous
    // deploy still serves.
    std::thread::sleep(Duration::from_millis(1100));
    f.sim.set_health(&f.web, 503);
    f.sim
        .add_history(&f.api, "build_failed", Duration::from_secs(1));
    let out = run();
    out.assert_code(0);
    assert_eq!(out.output("status-changed"), "true");
    let changed_at = f.remote.tip();

    // Still down two seconds later: the figures moved, the states did not.
    std::thread::sleep(Duration::from_millis(2100));
    let out = run();
    out.assert_code(0);
    assert_eq!(out.output("status-changed"), "false");
    assert_eq!(out.output("commit-sha"), "");
    assert_eq!(f.remote.tip(), changed_at, "no commit for a moving figure");
    let web: f64 = summary_uptime(&out, "shop-web")
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(web < 100.0 && web > 0.0, "down in the last runs: {web}");
    let api = summary_uptime(&out, "shop-api");
    assert_eq!(api, "100%", "a failed build that still serves is up");
    assert!(
        out.summary.contains("🔴 failed | [shop-api]"),
        "the failed deploy is still reported: {}",
        out.summary
    );
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(page.contains("the previous deploy still serves"), "{page}");
}

/// The main table fits a screen: at most six columns, on the page and in
/// the summary; the rest is per service below it.
#[test]
fn the_status_table_has_at_most_six_columns() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let out = monitor(&f, &clone)
        .input("issues", "false")
        .input("health-path", "/healthz")
        .run();
    out.assert_code(0);
    let page = f.remote.show("docs/PIPELINE.md");
    for text in [&page, &out.summary] {
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 4, "{text}");
        for row in rows {
            let cells = row.replace("\\|", "").matches('|').count() - 1;
            assert!(cells <= 6, "{cells} columns: {row}");
        }
    }
    assert!(page.contains("## Services\n\n- 🟢 **shop-api**"), "{page}");
    assert!(page.contains("built from"), "{page}");
}

fn health_requests(sim: &Sim, id: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with(&format!("/_svc/{id}/")))
        .count()
}

/// A free instance that spun down answers its first request after a long
/// delay; a network drops one request. Both are healthy, with no issue.
#[test]
fn cold_starts_and_blips_are_not_outages() {
    let sim = Sim::start();
    let cold = sim.add_service(ServiceSpec {
        cold_start: Some(Duration::from_secs(12)),
        ..ServiceSpec::web("free-web")
    });
    sim.add_history(&cold, "live", Duration::from_secs(600));
    let blip = sim.add_service(ServiceSpec::web("blippy"));
    sim.add_history(&blip, "live", Duration::from_secs(600));
    sim.fault(Fault::new(
        "GET",
        &format!("/_svc/{blip}/"),
        1,
        render_sim::FaultKind::Reset,
    ));
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let out = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &format!("{cold},{blip}"))
        .input("health-path", "/healthz")
        .env("GITHUB_WORKSPACE", &clone)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_REF_NAME", "main")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "true", "{}", out.summary);
    assert!(
        sim.issues().is_empty(),
        "no issue for a cold start or a blip"
    );
    assert_eq!(
        health_requests(&sim, &cold),
        1,
        "the slow answer was waited for"
    );
    assert_eq!(
        health_requests(&sim, &blip),
        2,
        "the dropped request was retried"
    );
    let cold_line = out
        .summary
        .lines()
        .find(|l| l.starts_with("- free-web:"))
        .unwrap_or_else(|| panic!("{}", out.summary));
    let ms: u64 = cold_line
        .split("answered in ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{cold_line}"));
    assert!(
        ms >= 11_000,
        "the late answer's latency is reported: {cold_line}"
    );
    assert!(
        out.summary.contains("on try 2"),
        "the retry is reported: {}",
        out.summary
    );
    let page = remote.show("docs/PIPELINE.md");
    assert!(page.contains("200 · ≥ 3 s"), "{page}");
}

/// A service that keeps failing is degraded after its retries, within the
/// budget; one that answers only after the budget is degraded too.
#[test]
fn a_real_outage_is_degraded_after_bounded_retries() {
    let f = fleet();
    f.sim.set_health(&f.web, 503);
    let out = monitor(&f, Path::new("/nonexistent"))
        .input("commit-mode", "never")
        .input("health-path", "/healthz")
        .input("health-retries", "2")
        .input("status-file", "")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("failing-services"), f.web);
    assert_eq!(
        health_requests(&f.sim, &f.web),
        3,
        "one try and two retries"
    );
    assert_eq!(health_requests(&f.sim, &f.api), 1);
    let issues = f.sim.issues();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].body.contains("HTTP 503, 3 tries"),
        "{}",
        issues[0].body
    );

    let sim = Sim::start();
    let asleep = sim.add_service(ServiceSpec {
        cold_start: Some(Duration::from_secs(6)),
        ..ServiceSpec::web("asleep")
    });
    sim.add_history(&asleep, "live", Duration::from_secs(60));
    let started = std::time::Instant::now();
    let out = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("services", &asleep)
        .input("health-path", "/healthz")
        .input("health-timeout", "2s")
        .input("issues", "false")
        .input("commit-mode", "never")
        .input("status-file", "")
        .run();
    out.assert_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the budget holds"
    );
    assert_eq!(out.output("healthy"), "false");
    assert!(out.summary.contains("no answer"), "{}", out.summary);
}

/// Four monitors started at once each find no issue and open one: the
/// lowest number is kept and the others close themselves as duplicates.
#[test]
fn four_monitors_at_once_leave_one_issue() {
    for round in 0..3 {
        let f = fleet();
        f.sim
            .add_history(&f.api, "build_failed", Duration::from_secs(60));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let run = monitor(&f, Path::new("/nonexistent"))
                    .input("commit-mode", "never")
                    .input("status-file", "");
                std::thread::spawn(move || run.run())
            })
            .collect();
        let outs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for out in &outs {
            out.assert_code(0);
        }
        let issues = f.sim.issues();
        let open: Vec<_> = issues.iter().filter(|i| i.state == "open").collect();
        assert_eq!(open.len(), 1, "round {round}: {issues:#?}");
        let lowest = issues.iter().map(|i| i.number).min().unwrap();
        assert_eq!(open[0].number, lowest, "round {round}: the first is kept");
        for closed in issues.iter().filter(|i| i.state == "closed") {
            assert!(
                closed.comments[0].contains(&format!("Duplicate of #{lowest}")),
                "{closed:?}"
            );
        }
        let opened: Vec<&str> = outs
            .iter()
            .map(|o| o.output("issues-opened"))
            .filter(|o| !o.is_empty())
            .collect();
        assert_eq!(opened, [lowest.to_string()], "round {round}");
    }
}

/// A status file far bigger than any page is not read into memory: it is
/// left alone, the run says why, and the rest of the run goes on.
#[test]
fn a_huge_status_file_is_not_read() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    let huge = clone.join("docs/PIPELINE.md");
    let sparse = std::fs::File::create(&huge).unwrap();
    sparse.set_len(300 * 1024 * 1024).unwrap();
    drop(sparse);
    let started = std::time::Instant::now();
    let out = monitor(&f, &clone)
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(1);
    out.assert_says("docs/PIPELINE.md is 300 MiB, more than the 8 MiB render-pilot reads");
    assert_eq!(out.output("healthy"), "true", "the rest of the run went on");
    assert_eq!(std::fs::metadata(&huge).unwrap().len(), 300 * 1024 * 1024);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Committed on the branch: the blob's size is read from its header.
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("docs")).unwrap();
    let big = "x".repeat(9 * 1024 * 1024);
    push_change(&clone, "docs/PIPELINE.md", &big, "docs: a big page");
    let tip = f.remote.tip();
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(1);
    out.assert_says("docs/PIPELINE.md is 9 MiB, more than the 8 MiB");
    assert_eq!(f.remote.tip(), tip, "nothing committed");
}

/// A server that acknowledges a push and then loses it (here a hook moves
/// the branch back once): the confirming fetch sees the commit missing, and
/// the page is rebuilt and pushed again.
#[test]
fn a_push_the_server_lost_is_made_again() {
    let f = fleet();
    let hook = f.remote.bare().join("hooks/post-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do\n  if [ ! -e lost-once ]; then touch lost-once; git update-ref \"$ref\" \"$old\"; fi\ndone\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .unwrap();
    let (_dir, clone) = checkout(&f);
    let out = monitor(&f, &clone).input("issues", "false").run();
    out.assert_code(0);
    out.assert_says("after 2 attempts");
    assert!(f.remote.bare().join("lost-once").exists(), "the hook ran");
    assert_eq!(out.output("commit-sha"), f.remote.tip());
    assert_eq!(f.remote.log().len(), 2, "one status commit on main");
    f.remote.fsck();
}

/// The page's state timeline comes from the recorded history alone: one
/// section per service in the table's order (by name), one bar per stretch
/// in a state starting at the entry that recorded it, degraded in amber
/// (`crit, active`, which the chart's theme colours). A
/// later run with the same states leaves the page's bytes and the branch
/// as they were.
#[test]
fn the_state_timeline_changes_only_with_a_state() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    let run = || checked(&f, &clone);
    run().assert_code(0);
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(!page.contains("```mermaid"), "no window yet: {page}");

    std::thread::sleep(Duration::from_millis(1100));
    f.sim.set_health(&f.web, 503);
    let out = run();
    out.assert_code(0);
    assert_eq!(out.output("status-changed"), "true");
    let page = f.remote.show("docs/PIPELINE.md");
    let tip = f.remote.tip();
    let chart = page
        .split("## State timeline\n\n```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("a state timeline: {page}"));
    let at: Vec<i64> = page
        .lines()
        .filter(|l| l.starts_with("{\"at\":\""))
        .map(|l| {
            let at = &l[7..l[7..].find('"').unwrap() + 7];
            at.parse::<jiff::Timestamp>().unwrap().as_millisecond()
        })
        .collect();
    assert_eq!(at.len(), 2, "{page}");
    let bars: Vec<String> = chart
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("section") || l.contains(" :"))
        .map(|l| {
            // ":healthy0, 1764400000000" from "healthy :healthy0,
            // 1764400000000, 2000ms": without the label, which a bar too
            // narrow for it lacks, and the length, which depends on how
            // far apart the runs were.
            let bar = l.split_once(" :").map_or(l, |(_, bar)| bar);
            bar.rsplit_once(", ")
                .map_or(l, |(head, _)| head)
                .to_string()
        })
        .collect();
    assert_eq!(
        bars,
        [
            "section shop-api".to_string(),
            format!("healthy0, {}", at[0]),
            "section shop-web".to_string(),
            format!("healthy1, {}", at[0]),
            format!("crit, active, degraded2, {}", at[1]),
        ],
        "{chart}"
    );

    std::thread::sleep(Duration::from_millis(1100));
    let out = run();
    out.assert_code(0);
    assert_eq!(out.output("status-changed"), "false");
    assert_eq!(out.output("commit-sha"), "");
    assert_eq!(f.remote.tip(), tip, "same states: no second commit");
    assert_eq!(f.remote.show("docs/PIPELINE.md"), page, "same bytes");
    assert_eq!(
        std::fs::read_to_string(clone.join("docs/PIPELINE.md")).unwrap(),
        page
    );
    assert!(!out.stdout.contains("mermaid") && !out.stderr.contains("mermaid"));
    no_leak(&f, &out);
}

/// A status-file that names a folder, or has an empty part, is bad input
/// (exit 2) naming status-file, before or after the branch is fetched;
/// nothing is written anywhere else.
#[test]
fn a_status_file_that_names_a_folder_is_bad_input() {
    let f = fleet();
    let (_dir, clone) = checkout(&f);
    std::fs::create_dir_all(clone.join("site")).unwrap();
    let tip = f.remote.tip();
    for (path, said) in [
        ("docs/", "names a folder or has an empty or '.' part"),
        (
            "docs//PIPELINE.md",
            "names a folder or has an empty or '.' part",
        ),
        ("site", "'site' is a folder in the workspace"),
    ] {
        let out = monitor(&f, &clone).input("status-file", path).run();
        out.assert_code(2);
        out.assert_says("status-file: ");
        out.assert_says(said);
        assert!(!clone.join("docs").exists(), "{path}: nothing written");
        assert_eq!(f.remote.tip(), tip);
    }
    // A folder that exists only on the branch's newer tip.
    let other = tempfile::tempdir().unwrap();
    let pusher = f.remote.clone_into(other.path());
    std::fs::create_dir_all(pusher.join("notes")).unwrap();
    push_change(&pusher, "notes/a.md", "a\n", "notes");
    let tip = f.remote.tip();
    let out = monitor(&f, &clone).input("status-file", "notes").run();
    out.assert_code(2);
    out.assert_says("status-file: 'notes' is a folder on the branch");
    assert_eq!(f.remote.tip(), tip, "nothing pushed");
}
