use std::path::Path;
use std::time::Duration;

use render_sim::{Fault, Plan, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, push_change, remote, Remote};
use crate::support::{assert_no_secret_in, rp, Outcome as RunOutcome, Rp};

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
    let sent: String = f
        .sim
        .issues()
        .iter()
        .map(|i| format!("{}\n{}\n{}", i.title, i.body, i.comments.join("\n")))
        .collect();
    assert_no_secret_in(&sent, &SECRETS);
    assert_no_secret_in(&git(&f.remote.bare(), &["log", "-p", "--all"]), &SECRETS);
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
    assert_eq!(
        log[0].0,
        "docs: update pipeline status (all healthy) [skip ci]"
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
    assert!(
        out.summary.contains("committed and pushed"),
        "{}",
        out.summary
    );
    no_leak(&f, &out);
}

#[test]
fn a_failed_deploy_opens_one_issue_and_recovery_closes_it() {
    let f = fleet();
    f.sim
        .add_history(&f.api, "build_failed", Duration::from_secs(60));
    let (_dir, clone) = checkout(&f);
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "false");
    assert_eq!(out.output("failing-services"), f.api);
    assert_eq!(out.output("issues-opened"), "1");
    let issues = f.sim.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].title, "render-pilot: shop-api is failed");
    assert_eq!(issues[0].labels, vec!["render-pilot".to_string()]);
    assert!(
        issues[0].body.contains("build_failed")
            && issues[0]
                .body
                .contains("Render keeps the previous deploy serving")
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
            "docs: update pipeline status (all healthy) [skip ci]",
            "docs: notes",
            "initial"
        ]
    );
    f.remote.fsck();
}

#[test]
fn four_monitors_racing_on_one_remote_lose_nothing() {
    let f = fleet();
    let dirs: Vec<_> = (0..4).map(|_| checkout(&f)).collect();
    let handles: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, (_, clone))| {
            let run = monitor(&f, clone)
                .input("status-file", &format!("docs/PIPELINE-{i}.md"))
                .input("issues", "false");
            std::thread::spawn(move || run.run())
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().assert_code(0);
    }
    let log = f.remote.log();
    assert_eq!(log.len(), 5, "{log:?}");
    for i in 0..4 {
        assert!(f
            .remote
            .show(&format!("docs/PIPELINE-{i}.md"))
            .contains("# Pipeline status"));
    }
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
    push_change(&clone, "docs/PIPELINE.md", "# notes\n<!-- render-pilot history v1: read back by the next run; keep it as it is.\n{not json\n{\"at\":\"2026-01-01T00:00:00Z\",\"services\":{}}\n", "hand edit");
    let out = monitor(&f, &clone).run();
    out.assert_code(0);
    out.assert_says("dropped line 1 of the history block");
    let page = f.remote.show("docs/PIPELINE.md");
    assert!(
        page.contains("{\"at\":\"2026-01-01T00:00:00Z\",\"services\":{}}"),
        "kept what parsed:\n{page}"
    );
    assert!(!page.contains("{not json"));
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
    assert_eq!(page.matches("| 🟢 |").count(), 250);
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
fn an_unknown_service_is_unknown_not_a_crash() {
    let f = fleet();
    f.sim.fault(Fault::new(
        "GET",
        &format!("/v1/services/{}", f.web),
        1,
        render_sim::FaultKind::TruncatedJson,
    ));
    let out = monitor(&f, Path::new("/nonexistent"))
        .input("services", &format!("{},srv-doesnotexist", f.web))
        .input("commit-mode", "never")
        .input("issues", "false")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("healthy"), "false");
    assert!(out.output("failing-services").contains("srv-doesnotexist"));
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
    assert_eq!(page.matches("-->").count(), 1, "{page}");
    assert!(!page.contains("\n# pwned"), "{page}");
    assert!(
        page.lines().all(|l| !l.starts_with("{\"at\":\"2020")),
        "{page}"
    );
    let message = git(&remote.bare(), &["log", "-1", "--format=%B", "main"]);
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(message.contains("[skip ci]"), "{message}");
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
        let dirs: Vec<_> = (0..4).map(|_| checkout(&f)).collect();
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, (_, clone))| {
                git(
                    clone,
                    &["remote", "set-url", "origin", bare.to_str().unwrap()],
                );
                let run = monitor(&f, clone)
                    .input("status-file", &format!("docs/PIPELINE-{round}-{i}.md"))
                    .input("issues", "false");
                std::thread::spawn(move || run.run())
            })
            .collect();
        let shas: Vec<String> = handles
            .into_iter()
            .map(|h| {
                let out = h.join().unwrap();
                out.assert_code(0);
                out.output("commit-sha").to_string()
            })
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
        for i in 0..4 {
            assert!(f
                .remote
                .show(&format!("docs/PIPELINE-{round}-{i}.md"))
                .contains("# Pipeline status"));
        }
    }
    f.remote.fsck();
}
