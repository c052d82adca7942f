//! `trigger: none`: following the deploys Render starts itself, against
//! the simulator's Auto-Deploy of real pushes and its pull-request
//! previews.

use std::path::{Path, PathBuf};
use std::time::Duration;

use render_sim::{AutoDeploy, Outcome, Plan, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, push_change, remote, Remote};
use crate::support::{rp, Outcome as Run, Rp};

/// A repository served by the simulator, a clone of it, and a service that
/// deploys its `main`.
struct Setup {
    sim: Sim,
    remote: Remote,
    clone: PathBuf,
    service: String,
    _dir: tempfile::TempDir,
}

fn setup(spec: ServiceSpec) -> Setup {
    let sim = Sim::start();
    sim.set_auto_deploy_delay(Duration::from_millis(300));
    sim.set_preview_delay(Duration::from_millis(800));
    let remote = remote(&sim);
    let service = sim.add_service(ServiceSpec {
        repo: Some("shop.git".into()),
        ..spec
    });
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    Setup {
        sim,
        remote,
        clone,
        service,
        _dir: dir,
    }
}

fn web(plan: Plan) -> ServiceSpec {
    ServiceSpec {
        plan,
        ..ServiceSpec::web("web")
    }
}

impl Setup {
    /// Pushes a change to main; returns the new tip.
    fn push(&self, file: &str, message: &str) -> String {
        push_change(&self.clone, file, &format!("{message}\n"), message);
        self.remote.tip()
    }

    /// Deploy mode following `service`'s deploy of `commit`.
    fn follow(&self, service: &str, commit: &str) -> Rp {
        rp().input("mode", "deploy")
            .input("trigger", "none")
            .input("render-api-key", API_KEY)
            .input("render-api-url", &self.sim.api_url())
            .input("service-id", service)
            .input("commit", commit)
            .input("timeout", "30s")
    }

    fn triggers(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && (r.path.starts_with("/deploy/") || r.path.ends_with("/deploys"))
            })
            .count()
    }

    /// An event payload file, as the runner writes it.
    fn event(&self, payload: serde_json::Value) -> PathBuf {
        let path = self._dir.path().join("event.json");
        std::fs::write(&path, payload.to_string()).unwrap();
        path
    }
}

fn said(out: &Run, text: &str) {
    assert!(
        out.stdout.contains(text) || out.summary.contains(text),
        "expected {text:?}\n{}",
        out.log()
    );
}

#[test]
fn a_live_deploy_render_started_is_followed_without_a_second_deploy() {
    let s = setup(web(Plan::live(Duration::from_millis(900))));
    let tip = s.push("a.txt", "change a");
    let out = s
        .follow(&s.service, &tip)
        .input("health-path", "/healthz")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    assert_eq!(out.output("healthy"), "true");
    let deploys = s.sim.deploys(&s.service);
    assert_eq!(deploys.len(), 1, "{deploys:?}");
    assert_eq!(out.output("deploy-id"), deploys[0].0);
    assert_eq!(deploys[0].2, "new_commit");
    assert_eq!(s.triggers(), 0, "render-pilot triggered nothing");
    assert_eq!(out.output("http-status"), "");
    said(&out, "Render (followed)");
    said(&out, &format!("`{}`", &tip[..7]));
    out.assert_no_secret(&[API_KEY]);

    // The commit can also come from GITHUB_SHA, abbreviated or not.
    let out = s.follow(&s.service, &tip[..7]).run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-id"), deploys[0].0);
}

#[test]
fn a_failed_deploy_render_started_fails_the_step() {
    let s = setup(web(Plan::ending(
        Outcome::BuildFailed,
        Duration::from_millis(600),
    )));
    let tip = s.push("a.txt", "break the build");
    let out = s.follow(&s.service, &tip).run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "build_failed");
    assert_eq!(s.triggers(), 0);
}

#[test]
fn a_deploy_canceled_by_a_newer_commit_is_named_never_followed_instead() {
    let s = setup(web(Plan::live(Duration::from_secs(4))));
    let first = s.push("a.txt", "first");
    let wait_for = |n: usize| {
        for _ in 0..100 {
            if s.sim.deploys(&s.service).len() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("Render started no deploy");
    };
    wait_for(1);
    let second = s.push("b.txt", "second");
    wait_for(2);
    let out = s.follow(&s.service, &first).run();
    out.assert_code(1);
    let deploys = s.sim.deploys(&s.service);
    let newer = deploys.iter().find(|d| d.1 != "canceled").unwrap();
    said(
        &out,
        &format!(
            "a newer commit ({}) started deploy {}. render-pilot follows only {}'s deploy",
            &second[..7],
            newer.0,
            &first[..7]
        ),
    );
    assert_eq!(out.output("deploy-status"), "canceled");
}

#[test]
fn when_no_deploy_comes_the_likely_reason_is_named() {
    let cases: [(&str, ServiceSpec, &str, &str); 4] = [
        (
            "skip phrase",
            web(Plan::live(Duration::from_millis(500))),
            "docs: typo [skip render]",
            "the commit message carries [skip render]",
        ),
        (
            "Auto-Deploy off",
            ServiceSpec {
                auto_deploy: AutoDeploy::Off,
                ..web(Plan::live(Duration::from_millis(500)))
            },
            "change",
            "its Auto-Deploy is Off",
        ),
        (
            "after checks",
            ServiceSpec {
                auto_deploy: AutoDeploy::ChecksPass,
                ..web(Plan::live(Duration::from_millis(500)))
            },
            "change",
            "After CI Checks Pass",
        ),
        (
            "root directory",
            ServiceSpec {
                root_dir: "apps/web".into(),
                ..web(Plan::live(Duration::from_millis(500)))
            },
            "change outside",
            "outside its root directory apps/web",
        ),
    ];
    for (case, spec, message, reason) in cases {
        let s = setup(spec);
        let tip = s.push("a.txt", message);
        let event = s.event(serde_json::json!({"head_commit": {"id": tip, "message": message}}));
        let out = s
            .follow(&s.service, &tip)
            .input("timeout", "3s")
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_EVENT_PATH", &event)
            .run();
        out.assert_code(1);
        said(
            &out,
            &format!("Render started no deploy of {} on web", &tip[..7]),
        );
        said(&out, reason);
        assert!(s.sim.deploys(&s.service).is_empty(), "{case}");
        assert_eq!(s.triggers(), 0, "{case}");
    }
}

/// A pull_request event's payload and the variables the runner sets.
fn on_pull_request(s: &Setup, rp: Rp, number: u64, head: &str) -> Rp {
    let event = s.event(serde_json::json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "head": {"sha": head, "ref": "feature"}}
    }));
    rp.env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_SHA", "f".repeat(40))
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &s.sim.url)
}

/// A branch pushed for a pull request; returns its head.
fn feature_branch(s: &Setup, file: &str) -> String {
    git(&s.clone, &["checkout", "-q", "-B", "feature"]);
    std::fs::write(s.clone.join(file), "feature\n").unwrap();
    git(&s.clone, &["add", file]);
    git(&s.clone, &["commit", "-q", "-m", file]);
    git(&s.clone, &["push", "-q", "origin", "feature"]);
    git(&s.clone, &["rev-parse", "HEAD"]).trim().to_string()
}

fn follow_preview(s: &Setup, number: u64, head: &str) -> Rp {
    let rp = rp()
        .input("mode", "deploy")
        .input("trigger", "none")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &s.sim.api_url())
        .input("service-id", &s.service)
        .input("timeout", "30s");
    on_pull_request(s, rp, number, head)
}

#[test]
fn a_preview_that_appears_late_is_followed_and_a_look_alike_never() {
    let s = setup(ServiceSpec {
        previews: true,
        ..web(Plan::live(Duration::from_millis(700)))
    });
    // Same name, no parent: a service someone made by hand.
    let look_alike = s.sim.add_service(ServiceSpec::web("web PR #41"));
    let head = feature_branch(&s, "f.txt");
    s.sim.open_pull_request(&s.service, 41, &head);
    let out = follow_preview(&s, 41, &head).run();
    out.assert_code(0);
    let preview = s.sim.preview_of(&s.service, 41).unwrap();
    assert_ne!(preview, look_alike);
    assert_eq!(out.output("service-id"), preview);
    assert_eq!(out.output("service-name"), "web PR #41");
    assert!(out
        .output("service-url")
        .ends_with(&format!("/_svc/{preview}")));
    assert_eq!(out.output("deploy-status"), "live");
    assert!(s.sim.deploys(&look_alike).is_empty());

    // Without previews on the service, only the look-alike exists: it is
    // never taken, and the step says previews are off.
    let s = setup(web(Plan::live(Duration::from_millis(500))));
    s.sim.add_service(ServiceSpec::web("web PR #7"));
    let head = feature_branch(&s, "g.txt");
    s.sim.open_pull_request(&s.service, 7, &head);
    let out = follow_preview(&s, 7, &head).input("timeout", "3s").run();
    out.assert_code(1);
    said(&out, "for pull request #7 appeared within 3s");
    said(&out, "Turn on pull-request previews");
}

#[test]
fn the_preview_comment_is_kept_in_place_and_the_github_deployment_set() {
    let s = setup(ServiceSpec {
        previews: true,
        ..web(Plan::live(Duration::from_millis(600)))
    });
    let head = feature_branch(&s, "f.txt");
    s.sim.open_pull_request(&s.service, 12, &head);
    let run = |head: &str| {
        follow_preview(&s, 12, head)
            .input("pr-comment", "true")
            .input("github-deployment", "true")
            .input("github-token", GITHUB_TOKEN)
            .run()
    };
    let out = run(&head);
    out.assert_code(0);
    let comments = s.sim.comments(12);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let preview = s.sim.preview_of(&s.service, 12).unwrap();
    assert!(
        comments[0]
            .1
            .starts_with(&format!("<!-- render-pilot preview of {} -->\n", s.service)),
        "{}",
        comments[0].1
    );
    assert!(
        comments[0].1.contains("The preview of #12 is live"),
        "{}",
        comments[0].1
    );
    assert!(
        comments[0].1.contains(&format!("/_svc/{preview}")),
        "{}",
        comments[0].1
    );

    // A second push to the pull request: the same comment, edited.
    let next = {
        std::fs::write(s.clone.join("f.txt"), "second\n").unwrap();
        git(&s.clone, &["commit", "-q", "-am", "second"]);
        git(&s.clone, &["push", "-q", "origin", "feature"]);
        git(&s.clone, &["rev-parse", "HEAD"]).trim().to_string()
    };
    s.sim.push_pull_request(12, &next);
    let out = run(&next);
    out.assert_code(0);
    let comments = s.sim.comments(12);
    assert_eq!(comments.len(), 1, "edited, not added: {comments:?}");
    assert!(
        comments[0].1.contains(&format!("`{}`", &next[..7])),
        "{}",
        comments[0].1
    );

    let deployments = s.sim.deployments();
    assert_eq!(deployments.len(), 2);
    for (deployment, sha) in deployments.iter().zip([&head, &next]) {
        assert_eq!(&deployment.git_ref, sha);
        assert_eq!(deployment.environment, "pr-12");
        assert!(deployment.transient_environment);
        assert!(!deployment.production_environment);
        let states: Vec<&str> = deployment
            .statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect();
        assert_eq!(states, ["in_progress", "success"]);
        let last = deployment.statuses.last().unwrap();
        assert!(
            last.environment_url.ends_with(&format!("/_svc/{preview}")),
            "{last:?}"
        );
        assert!(last.log_url.contains("/deploys/dep-"), "{last:?}");
    }
    out.assert_no_secret(&[API_KEY, GITHUB_TOKEN]);
}

#[test]
fn a_failed_deploy_sets_the_github_deployment_to_failure() {
    let s = setup(web(Plan::ending(
        Outcome::UpdateFailed,
        Duration::from_millis(600),
    )));
    let tip = s.push("a.txt", "change");
    let out = s
        .follow(&s.service, &tip)
        .input("github-deployment", "true")
        .input("github-token", GITHUB_TOKEN)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &s.sim.url)
        .run();
    out.assert_code(1);
    let deployments = s.sim.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].environment, "production");
    assert!(deployments[0].production_environment);
    let states: Vec<&str> = deployments[0]
        .statuses
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["in_progress", "failure"]);
}

#[test]
fn service_url_is_the_verified_custom_domain() {
    let s = setup(web(Plan::live(Duration::from_millis(500))));
    let own = format!("{}/_svc/{}", s.sim.url, s.service);
    s.sim
        .add_custom_domain(&s.service, "staging.shop.example", false);
    let tip = s.push("a.txt", "change");
    let out = s.follow(&s.service, &tip).run();
    out.assert_code(0);
    assert_eq!(
        out.output("service-url"),
        own,
        "an unverified domain is not used"
    );
    assert_eq!(out.output("onrender-url"), own);

    s.sim
        .add_custom_domain(&s.service, "www.shop.example", true);
    let out = s.follow(&s.service, &tip).run();
    out.assert_code(0);
    assert_eq!(out.output("service-url"), "https://www.shop.example");
    assert_eq!(out.output("onrender-url"), own);
}

/// Monitor with `services: all` leaves previews out, unless asked.
#[test]
fn monitor_sees_previews_only_when_asked() {
    let s = setup(ServiceSpec {
        previews: true,
        ..web(Plan::live(Duration::from_millis(300)))
    });
    s.sim
        .add_history(&s.service, "live", Duration::from_secs(600));
    let head = feature_branch(&s, "f.txt");
    s.sim.open_pull_request(&s.service, 5, &head);
    for _ in 0..100 {
        if s.sim.preview_of(&s.service, 5).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let preview = s.sim.preview_of(&s.service, 5).unwrap();
    let monitor = |previews: &str| {
        rp().input("mode", "monitor")
            .input("render-api-key", API_KEY)
            .input("render-api-url", &s.sim.api_url())
            .input("services", "all")
            .input("previews", previews)
            .input("issues", "false")
            .input("status-file", "PIPELINE.md")
            .input("commit-mode", "never")
            .env("GITHUB_WORKSPACE", Path::new(&s.clone))
            .run()
    };
    let out = monitor("false");
    out.assert_code(0);
    let page = std::fs::read_to_string(s.clone.join("PIPELINE.md")).unwrap();
    assert!(!page.contains(&preview), "{page}");
    let listed = s
        .sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/services")
        .unwrap();
    assert!(
        listed.query.contains("includePreviews=false"),
        "{}",
        listed.query
    );

    let out = monitor("true");
    out.assert_code(0);
    let page = std::fs::read_to_string(s.clone.join("PIPELINE.md")).unwrap();
    assert!(page.contains(&preview), "{page}");
    assert!(page.contains("web PR #5"), "{page}");
}
