//! Fault injection through the simulator, for every endpoint render-pilot
//! calls: each fault must end in bounded retries, bounded time, the right
//! exit code, a deploy trigger sent at most once (twice only after a 429,
//! which starts nothing), and nothing half-written.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use render_sim::{Fault, FaultKind, Plan, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::remote;
use crate::support::{rp, Outcome, Rp};

fn kinds() -> Vec<(&'static str, FaultKind)> {
    let status = |code: u16| FaultKind::json(code, format!(r#"{{"message":"simulated {code}"}}"#));
    vec![
        (
            "429 Retry-After",
            FaultKind::Status {
                status: 429,
                headers: vec![
                    ("Retry-After".into(), "1".into()),
                    ("Ratelimit-Remaining".into(), "\"0\",\"12\"".into()),
                    ("Ratelimit-Reset".into(), "1".into()),
                ],
                body: r#"{"message":"rate limit exceeded"}"#.into(),
            },
        ),
        ("GitHub's 403, rate limit spent", github_spent(1)),
        (
            "GitHub's 403, secondary limit",
            FaultKind::Status {
                status: 403,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Retry-After".into(), "1".into()),
                ],
                body: r#"{"message":"You have exceeded a secondary rate limit"}"#.into(),
            },
        ),
        ("500", status(500)),
        ("502 HTML page", FaultKind::Html(502)),
        ("503", status(503)),
        ("504", status(504)),
        (
            "slow reply past the timeout",
            FaultKind::Slow(Duration::from_millis(2500)),
        ),
        ("reset mid-body", FaultKind::ShortBody),
        ("connection reset", FaultKind::Reset),
        ("truncated JSON", FaultKind::TruncatedJson),
        ("10 MiB body", FaultKind::Huge(10 * 1024 * 1024)),
    ]
}

/// GitHub's answer when a token's budget is spent until `reset_in`
/// seconds from now (its reset is a Unix time).
fn github_spent(reset_in: u64) -> FaultKind {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    FaultKind::Status {
        status: 403,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-RateLimit-Remaining".into(), "0".into()),
            ("X-RateLimit-Reset".into(), (now + reset_in).to_string()),
        ],
        body: r#"{"message":"API rate limit exceeded"}"#.into(),
    }
}

/// A refusal for the rate limit: it starts nothing, so every request may
/// be sent once more.
fn rate_limited(kind: &FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Status {
            status: 429 | 403,
            ..
        }
    )
}

/// Faults a retry of an idempotent request gets past.
fn transient(kind: &FaultKind) -> bool {
    match kind {
        FaultKind::Status { status, .. } => matches!(status, 403 | 429 | 502..=504),
        FaultKind::Html(code) => (502..=504).contains(code),
        FaultKind::Slow(_) | FaultKind::ShortBody | FaultKind::Reset => true,
        _ => false,
    }
}

struct Scenario {
    sim: Sim,
    method: &'static str,
    path: String,
    /// When set, only requests whose query contains it are faulted.
    query: Option<&'static str>,
    idempotent: bool,
    /// A 2xx is all that counts; the body is not needed (re-run).
    body_optional: bool,
    /// The client checks afterwards whether the change landed (git push
    /// fetches again), so a broken answer to a handled request is recovered.
    verified: bool,
    /// The answer is 204 No Content: a cut-short body does not exist.
    no_content: bool,
    /// The request only adds detail (Render's events for the deploy's
    /// chart): whatever its answer, the run ends as without a fault.
    optional: bool,
    run: Box<dyn Fn() -> Rp>,
    ok: Box<dyn Fn(&Outcome) -> bool>,
    _keep: Vec<tempfile::TempDir>,
}

fn check(name: &str, make: impl Fn() -> Scenario) {
    for (label, kind) in kinds() {
        let s = make();
        // GitHub's 403 rate-limit answers belong to its REST API; a git
        // server's 403 is a refusal (tested in monitor.rs).
        if s.verified && matches!(kind, FaultKind::Status { status: 403, .. }) {
            continue;
        }
        let baseline = (s.run)().env("RENDER_PILOT_HTTP_TIMEOUT_MS", "1000").run();
        assert!(
            (s.ok)(&baseline),
            "{name}: works without a fault\n{}",
            baseline.log()
        );
        let s = make();
        let fault = Fault::new(s.method, &s.path, 1, kind.clone());
        s.sim.fault(match s.query {
            Some(part) => fault.when_query(part),
            None => fault,
        });
        let started = Instant::now();
        let out = (s.run)().env("RENDER_PILOT_HTTP_TIMEOUT_MS", "1000").run();
        let took = started.elapsed();
        let what = format!("{name} / {label}");
        assert!(took < Duration::from_secs(20), "{what}: took {took:?}");
        assert!(
            matches!(out.code, Some(0 | 1)),
            "{what}: exit {:?}\n{}",
            out.code,
            out.log()
        );
        let recoverable = s.optional
            || rate_limited(&kind)
            || (s.idempotent && transient(&kind))
            || (s.body_optional && matches!(kind, FaultKind::TruncatedJson))
            || (s.no_content && matches!(kind, FaultKind::ShortBody))
            || (s.verified
                && matches!(
                    kind,
                    FaultKind::TruncatedJson | FaultKind::ShortBody | FaultKind::Huge(_)
                ));
        assert_eq!(
            (s.ok)(&out),
            recoverable,
            "{what}: expected {}\n{}",
            if recoverable {
                "success after a retry"
            } else {
                "a failure"
            },
            out.log()
        );
        if !s.idempotent {
            let sent = s
                .sim
                .requests()
                .iter()
                .filter(|r| r.method == s.method && r.path.starts_with(&s.path))
                .count();
            let allowed = if rate_limited(&kind) { 2 } else { 1 };
            assert_eq!(
                sent, allowed,
                "{what}: a request that changes state was sent {sent} times"
            );
        }
        if let Ok(page) = std::fs::read_to_string(out.dir.path().join("docs/PIPELINE.md")) {
            assert!(page.ends_with("-->\n"), "{what}: half-written status page");
        }
    }
}

fn web(sim: &Sim) -> String {
    let id = sim.add_service(ServiceSpec {
        plan: Plan::live(Duration::from_millis(300)),
        ..ServiceSpec::web("web")
    });
    sim.add_history(&id, "live", Duration::from_secs(600));
    id
}

fn deploy_scenario(
    method: &'static str,
    path: impl Fn(&str) -> String,
    idempotent: bool,
    api_trigger: bool,
    queued: bool,
) -> Scenario {
    let sim = Sim::start();
    let id = web(&sim);
    if queued {
        sim.set_plan(
            &id,
            Plan {
                queued: true,
                ..Plan::live(Duration::from_millis(300))
            },
        );
    }
    let (hook, api, service) = (sim.hook_url(&id), sim.api_url(), id.clone());
    Scenario {
        path: path(&id),
        // The search for the queued deploy, not the read of recent deploys.
        query: queued.then_some("createdAfter"),
        method,
        idempotent,
        // A hook's answer must be Render's: a broken one fails the step.
        body_optional: false,
        verified: false,
        no_content: false,
        optional: false,
        run: Box::new(move || {
            let run = rp()
                .input("mode", "deploy")
                .input("render-api-key", API_KEY)
                .input("render-api-url", &api);
            if api_trigger {
                run.input("service-id", &service)
            } else {
                run.input("deploy-hook-url", &hook)
            }
        }),
        ok: Box::new(|out| {
            out.code == Some(0)
                && out.outputs.get("deploy-status").map(String::as_str) == Some("live")
        }),
        sim,
        _keep: Vec::new(),
    }
}

#[test]
fn deploy_get_service() {
    check("deploy: GET service", || {
        deploy_scenario("GET", |id| format!("/v1/services/{id}"), true, false, false)
    });
}

#[test]
fn deploy_get_deploy() {
    check("deploy: GET deploy", || {
        deploy_scenario(
            "GET",
            |id| format!("/v1/services/{id}/deploys/"),
            true,
            false,
            false,
        )
    });
}

#[test]
fn deploy_find_queued_deploy() {
    check("deploy: GET queued deploys", || {
        deploy_scenario(
            "GET",
            |id| format!("/v1/services/{id}/deploys"),
            true,
            true,
            true,
        )
    });
}

/// Render's events draw the deploy's phases; a fault there leaves the
/// phases render-pilot saw, and the deploy's result as it was.
#[test]
fn deploy_get_events() {
    check("deploy: GET events", || Scenario {
        optional: true,
        ..deploy_scenario(
            "GET",
            |id| format!("/v1/services/{id}/events"),
            true,
            false,
            false,
        )
    });
}

/// Render's build log: a subscription refused, slow, cut or answered
/// with anything but a stream leaves one notice and a wait that polls, and
/// the deploy's result as it was.
#[test]
fn deploy_subscribe_to_the_build_log() {
    check("deploy: GET logs/subscribe", || Scenario {
        optional: true,
        ..deploy_scenario("GET", |_| "/v1/logs/subscribe".into(), true, false, false)
    });
}

/// The read of a failed deploy's build log, for the summary's quote (the
/// stream is refused with a 503, so its lines are read once the deploy
/// ended): a fault leaves the quote out, and the result as it was.
#[test]
fn deploy_read_the_build_log() {
    check("deploy: GET logs", || {
        let sim = Sim::start();
        let id = sim.add_service(ServiceSpec {
            plan: Plan::ending(render_sim::Outcome::BuildFailed, Duration::from_millis(300)),
            ..ServiceSpec::web("web")
        });
        sim.fault(Fault::status("GET", "/v1/logs/subscribe", 1000, 503));
        let (hook, api) = (sim.hook_url(&id), sim.api_url());
        Scenario {
            method: "GET",
            path: "/v1/logs".into(),
            query: Some("direction=backward"),
            idempotent: true,
            body_optional: false,
            verified: false,
            no_content: false,
            optional: true,
            run: Box::new(move || {
                rp().input("mode", "deploy")
                    .input("render-api-key", API_KEY)
                    .input("render-api-url", &api)
                    .input("deploy-hook-url", &hook)
            }),
            ok: Box::new(|out| {
                out.code == Some(1)
                    && out.outputs.get("deploy-status").map(String::as_str) == Some("build_failed")
            }),
            sim,
            _keep: Vec::new(),
        }
    });
}

#[test]
fn deploy_hook_trigger() {
    check("deploy: POST hook", || {
        deploy_scenario("POST", |_| "/deploy/".into(), false, false, false)
    });
}

#[test]
fn deploy_api_trigger() {
    check("deploy: POST API trigger", || {
        deploy_scenario(
            "POST",
            |id| format!("/v1/services/{id}/deploys"),
            false,
            true,
            false,
        )
    });
}

fn monitor_scenario(
    method: &'static str,
    path: impl Fn(&str) -> String,
    idempotent: bool,
    failing: bool,
    all: bool,
    push: bool,
) -> Scenario {
    let sim = Sim::start();
    let id = web(&sim);
    if failing {
        sim.add_history(&id, "build_failed", Duration::from_secs(30));
    }
    let mut keep = Vec::new();
    let workspace: Option<PathBuf> = push.then(|| {
        let remote = remote(&sim);
        let dir = tempfile::tempdir().unwrap();
        let clone = remote.clone_into(dir.path());
        keep.push(dir);
        keep.push(remote.root);
        clone
    });
    let (api, url, services) = (
        sim.api_url(),
        sim.url.clone(),
        if all { "all".to_string() } else { id.clone() },
    );
    Scenario {
        path: path(&id),
        query: None,
        method,
        idempotent,
        body_optional: false,
        verified: push,
        no_content: false,
        optional: false,
        run: Box::new(move || {
            let run = rp()
                .input("mode", "monitor")
                .input("render-api-key", API_KEY)
                .input("render-api-url", &api)
                .input("github-token", GITHUB_TOKEN)
                .input("services", &services)
                .env("GITHUB_REPOSITORY", "acme/shop")
                .env("GITHUB_API_URL", &url)
                .env("GITHUB_REF", "refs/heads/main")
                .env("GITHUB_REF_NAME", "main");
            match &workspace {
                Some(ws) => run.env("GITHUB_WORKSPACE", ws).input("issues", "false"),
                None => run.input("commit-mode", "never"),
            }
        }),
        ok: Box::new(move |out| {
            out.code == Some(0)
                && match (failing, push) {
                    (true, _) => out.outputs.get("issues-opened").map(String::as_str) == Some("1"),
                    (false, true) => out.outputs.get("commit-sha").is_some_and(|c| c.len() == 40),
                    (false, false) => {
                        out.outputs.get("healthy").map(String::as_str) == Some("true")
                    }
                }
        }),
        sim,
        _keep: keep,
    }
}

#[test]
fn monitor_list_services() {
    check("monitor: GET services", || {
        monitor_scenario("GET", |_| "/v1/services".into(), true, false, true, false)
    });
}

#[test]
fn monitor_list_deploys() {
    check("monitor: GET deploys", || {
        monitor_scenario(
            "GET",
            |id| format!("/v1/services/{id}/deploys"),
            true,
            false,
            false,
            false,
        )
    });
}

#[test]
fn monitor_list_issues() {
    check("monitor: GitHub GET issues", || {
        monitor_scenario(
            "GET",
            |_| "/repos/acme/shop/issues".into(),
            true,
            true,
            false,
            false,
        )
    });
}

#[test]
fn monitor_create_issue() {
    check("monitor: GitHub POST issue", || {
        monitor_scenario(
            "POST",
            |_| "/repos/acme/shop/issues".into(),
            false,
            true,
            false,
            false,
        )
    });
}

#[test]
fn monitor_git_push() {
    // Pushing the same commit again is idempotent, so transient failures
    // are retried like reads.
    check("monitor: git push", || {
        monitor_scenario(
            "POST",
            |_| "/git/shop.git/git-receive-pack".into(),
            true,
            false,
            false,
            true,
        )
    });
}

/// What recover is asked to fix: a rollback, a re-run (transient) or a
/// fresh run (push race).
#[derive(Clone, Copy, PartialEq)]
enum RecoverFix {
    Rollback,
    Rerun,
    Dispatch,
}

fn recover_scenario(
    method: &'static str,
    path: impl Fn(&str) -> String,
    idempotent: bool,
    fix: RecoverFix,
) -> Scenario {
    let sim = Sim::start();
    let id = web(&sim);
    let rollback = fix == RecoverFix::Rollback;
    let log = match fix {
        RecoverFix::Rollback => {
            let unhealthy = sim.add_history(&id, "live", Duration::from_secs(60));
            sim.set_deploy_health(&id, &unhealthy, 503);
            "::error title=Deploy unhealthy::deploy is live but /healthz did not answer 2xx within 2m (last: HTTP 503)"
        }
        RecoverFix::Rerun => "npm ERR! code ECONNRESET",
        RecoverFix::Dispatch => " ! [rejected]        main -> main (fetch first)",
    }
    .to_string();
    sim.add_run(Run::failed(
        77,
        "0123456789abcdef0123456789abcdef01234567",
        &log,
    ));
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        Run::failed(77, "0123456789abcdef0123456789abcdef01234567", &log)
            .event()
            .to_string(),
    )
    .unwrap();
    let (api, url, service) = (sim.api_url(), sim.url.clone(), id.clone());
    Scenario {
        path: path(&id),
        query: None,
        method,
        idempotent,
        body_optional: method == "POST" && !rollback,
        verified: false,
        no_content: fix == RecoverFix::Dispatch && method == "POST",
        optional: false,
        run: Box::new(move || {
            rp().input("mode", "recover")
                .input("github-token", GITHUB_TOKEN)
                .input("fixes", if rollback { "rollback" } else { "rerun" })
                .input("render-api-key", API_KEY)
                .input("render-api-url", &api)
                .input("service-id", &service)
                .env("GITHUB_EVENT_PATH", &event)
                .env("GITHUB_REPOSITORY", "acme/shop")
                .env("GITHUB_API_URL", &url)
        }),
        ok: Box::new(|out| {
            out.code == Some(0) && out.outputs.get("fixed").map(String::as_str) == Some("true")
        }),
        sim,
        _keep: vec![dir],
    }
}

#[test]
fn recover_list_jobs() {
    check("recover: GET jobs", || {
        recover_scenario(
            "GET",
            |_| "/repos/acme/shop/actions/runs/77/attempts".into(),
            true,
            RecoverFix::Rerun,
        )
    });
}

#[test]
fn recover_job_log() {
    check("recover: GET job log", || {
        recover_scenario(
            "GET",
            |_| "/repos/acme/shop/actions/jobs/".into(),
            true,
            RecoverFix::Rerun,
        )
    });
}

#[test]
fn recover_rerun() {
    check("recover: POST rerun", || {
        recover_scenario(
            "POST",
            |_| "/repos/acme/shop/actions/runs/77/rerun-failed-jobs".into(),
            false,
            RecoverFix::Rerun,
        )
    });
}

#[test]
fn recover_dispatch() {
    check("recover: POST dispatch", || {
        recover_scenario(
            "POST",
            |_| "/repos/acme/shop/actions/workflows/7001/dispatches".into(),
            false,
            RecoverFix::Dispatch,
        )
    });
}

#[test]
fn recover_rollback() {
    check("recover: POST rollback", || {
        recover_scenario(
            "POST",
            |id| format!("/v1/services/{id}/rollback"),
            false,
            RecoverFix::Rollback,
        )
    });
}

#[test]
fn unknown_fields_and_enum_values_are_tolerated() {
    let sim = Sim::start();
    let id = web(&sim);
    let service = format!(
        r#"{{"id":"{id}","name":"web","type":"quantum_service","suspended":"partially","suspenders":["new_reason"],
        "brandNewField":{{"nested":[1,2,3]}},"serviceDetails":{{"url":null,"regionV2":"mars"}},"dashboardUrl":"https://dashboard.render.com/web/{id}"}}"#
    );
    sim.fault(Fault::new(
        "GET",
        &format!("/v1/services/{id}"),
        1,
        FaultKind::json(200, service),
    ));
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    assert_eq!(out.output("service-url"), "");
}

/// A server that sends its answer a byte at a time: every read succeeds, so
/// only a total deadline ends the request. Hook, API and health check each
/// end within it (1 s here), with a clear error.
#[test]
fn a_dripping_server_is_cut_off_at_the_deadline() {
    let drip = || FaultKind::Drip(Duration::from_millis(700));
    let deploy = |sim: &Sim, id: &str| {
        rp().input("mode", "deploy")
            .input("deploy-hook-url", &sim.hook_url(id))
            .input("render-api-key", API_KEY)
            .input("render-api-url", &sim.api_url())
            .env("RENDER_PILOT_HTTP_TIMEOUT_MS", "1000")
    };
    let timed = |run: Rp| {
        let started = Instant::now();
        let out = run.run();
        (out, started.elapsed())
    };

    // The hook: sent once, cut off after 1 s, and the user is told the
    // deploy may have started.
    let sim = Sim::start();
    let id = web(&sim);
    sim.fault(Fault::new("POST", "/deploy/", 1, drip()));
    let (out, took) = timed(deploy(&sim, &id));
    out.assert_code(1)
        .assert_says("did not arrive within the request's deadline")
        .assert_says("may have received the request");
    assert_eq!(out.output("http-status"), "000");
    assert!(took < Duration::from_secs(3), "hook: took {took:?}");
    let posts = sim.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the hook is never sent twice");

    // An API read: each of the four attempts is cut off at 1 s.
    let sim = Sim::start();
    let id = web(&sim);
    sim.fault(Fault::new("GET", &format!("/v1/services/{id}"), 10, drip()));
    let (out, took) = timed(deploy(&sim, &id));
    out.assert_code(1)
        .assert_says("did not arrive within the request's deadline");
    assert!(took < Duration::from_secs(6), "API: took {took:?}");
    let gets = sim
        .requests()
        .iter()
        .filter(|r| r.path == format!("/v1/services/{id}"))
        .count();
    assert_eq!(gets, 4, "bounded retries");

    // The health check of the live deploy: each check ends at 1 s, and the
    // health timeout ends the run.
    let sim = Sim::start();
    let id = web(&sim);
    sim.fault(Fault::new("GET", "/_svc/", 100, drip()));
    let (out, took) = timed(
        deploy(&sim, &id)
            .input("health-path", "/healthz")
            .input("health-timeout", "2s"),
    );
    out.assert_code(1)
        .assert_says("did not answer 2xx within 2s")
        .assert_says("did not arrive within the request's deadline");
    assert_eq!(out.output("healthy"), "false");
    assert!(took < Duration::from_secs(6), "health: took {took:?}");
}

/// A GitHub budget spent for an hour is not waited out, and the error says
/// so instead of blaming the token's permissions.
#[test]
fn a_spent_github_rate_limit_is_named_not_a_permission() {
    let s = monitor_scenario(
        "GET",
        |_| "/repos/acme/shop/issues".into(),
        true,
        true,
        false,
        false,
    );
    s.sim
        .fault(Fault::new("GET", &s.path, 10, github_spent(3600)));
    let started = Instant::now();
    let out = (s.run)().run();
    assert!(started.elapsed() < Duration::from_secs(20), "{}", out.log());
    out.assert_code(1);
    out.assert_says("rate limit for this token is spent");
    assert!(!out.log().contains("lacks a permission"), "{}", out.log());
}

/// Monitor of `count` healthy services whose every Render answer carries
/// `fault`'s headers, with the run's rate-limit budget cut to `budget_ms`.
fn rate_limited_monitor(
    count: usize,
    fault: FaultKind,
    budget_ms: &str,
) -> (Sim, Outcome, Duration) {
    let sim = Sim::start();
    let ids: Vec<String> = (0..count)
        .map(|i| {
            let id = sim.add_service(ServiceSpec::web(&format!("svc-{i}")));
            sim.add_history(&id, "live", Duration::from_secs(60));
            id
        })
        .collect();
    sim.fault(Fault::new("GET", "/v1/", 10_000, fault));
    let started = Instant::now();
    let out = rp()
        .input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &ids.join(","))
        .input("commit-mode", "never")
        .input("issues", "false")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .env("RENDER_PILOT_RATE_WAIT_MS", budget_ms)
        .run();
    (sim, out, started.elapsed())
}

/// Render answering every request, served, with "nothing left for an
/// hour": each wait is paced at most 5 s apart (the documented cap), never
/// the whole hour or the 2 minutes a refusal may hold, and all waits
/// together stop at the run's budget, which the run names.
#[test]
fn a_budget_that_is_always_spent_holds_the_run_no_longer_than_its_deadline() {
    let spent = FaultKind::Headers(vec![
        ("Ratelimit-Limit".into(), "400".into()),
        ("Ratelimit-Remaining".into(), "0".into()),
        ("Ratelimit-Reset".into(), "3600".into()),
    ]);
    let (sim, out, took) = rate_limited_monitor(4, spent, "7000");
    out.assert_code(0)
        .assert_says("Rate-limited: Render's rate limit for reads held this run for 7s");
    assert_eq!(out.output("healthy"), "true", "{}", out.log());
    assert!(
        took < Duration::from_secs(20),
        "took {took:?}\n{}",
        out.log()
    );
    let reads: Vec<Instant> = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/"))
        .map(|r| r.at)
        .collect();
    assert!(reads.len() >= 8, "{} reads", reads.len());
    for pair in reads.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap < Duration::from_millis(5_500),
            "{gap:?} between two reads"
        );
    }
    let paced = reads
        .windows(2)
        .filter(|p| p[1].duration_since(p[0]) > Duration::from_secs(4));
    assert!(paced.count() >= 1, "the first waits are paced by the cap");
}

/// Every read refused with a `Retry-After` within the 2 minutes honoured:
/// the refusals are waited out only while the run's budget lasts, then
/// each one stands, named, and the run ends in bounded time.
#[test]
fn refusals_past_the_run_s_budget_stand_and_are_named() {
    let refused = FaultKind::Status {
        status: 429,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Retry-After".into(), "100".into()),
        ],
        body: r#"{"message":"rate limit exceeded"}"#.into(),
    };
    let (_sim, out, took) = rate_limited_monitor(3, refused, "1500");
    assert!(
        took < Duration::from_secs(15),
        "took {took:?}\n{}",
        out.log()
    );
    out.assert_says("Rate-limited: Render's rate limit for reads held this run for 2s");
    assert_eq!(out.output("healthy"), "false", "{}", out.log());
    assert!(out.summary.contains("unknown"), "{}", out.summary);
}
