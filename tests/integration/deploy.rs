use std::time::Duration;

use render_sim::{Fault, FaultKind, Outcome, Plan, ServiceSpec, Sim, API_KEY};

use crate::support::{assert_summary, laptop, rp, Rp};

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A simulator with one web service that goes live in `total`.
pub fn service(plan: Plan) -> (Sim, String) {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec {
        plan,
        ..ServiceSpec::web("web")
    });
    (sim, id)
}

fn hook_key(sim: &Sim, id: &str) -> String {
    sim.hook_url(id).split("key=").nth(1).unwrap().to_string()
}

pub fn deploy_with_hook(sim: &Sim, id: &str) -> Rp {
    rp().input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
}

fn posts(sim: &Sim, prefix: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(prefix))
        .count()
}

#[test]
fn hook_deploy_waits_until_live() {
    let (sim, id) = service(Plan::live(secs(0.8)));
    let out = deploy_with_hook(&sim, &id)
        .input("commit", "0123456789abcdef")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    assert_eq!(out.output("service-id"), id);
    assert_eq!(out.output("service-name"), "web");
    assert_eq!(out.output("http-status"), "200");
    assert!(out.output("deploy-id").starts_with("dep-"));
    assert!(out.output("service-url").ends_with(&format!("/_svc/{id}")));
    assert!(out.output("dashboard-url").contains(&id));
    assert!(out.output("duration-seconds").parse::<u64>().is_ok());
    // The summary names the commit it was given (the deploy_live snapshot
    // holds the rest).
    assert!(out.summary.contains("`0123456`"), "{}", out.summary);
    assert_eq!(posts(&sim, "/deploy/"), 1);
    let hook = sim
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/deploy/"))
        .unwrap();
    assert!(
        hook.query.contains("ref=0123456789abcdef"),
        "{}",
        hook.query
    );
    assert!(
        out.stdout.contains("::add-mask::"),
        "secrets are masked first"
    );
    out.assert_no_secret(&[&sim.hook_url(&id), &hook_key(&sim, &id), API_KEY]);
}

#[test]
fn hook_without_api_key_triggers_and_returns() {
    let (sim, id) = service(Plan::live(secs(5.0)));
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "triggered");
    assert!(out.output("deploy-id").starts_with("dep-"));
    assert!(
        sim.requests().iter().all(|r| !r.path.starts_with("/v1/")),
        "no API call without a key"
    );
    out.assert_no_secret(&[&sim.hook_url(&id), &hook_key(&sim, &id)]);
}

#[test]
fn api_trigger_201_for_an_image_backed_service() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec {
        image: true,
        plan: Plan::live(secs(0.6)),
        ..ServiceSpec::web("proxy")
    });
    let out = rp()
        .input("mode", "deploy")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("service-id", &id)
        .input("image", "docker.io/acme/proxy:1.2")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    assert_eq!(out.output("http-status"), "201");
    assert!(
        out.summary.contains("docker.io/acme/proxy:1.2@sha256"),
        "{}",
        out.summary
    );
    let trigger = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(
        trigger
            .body
            .contains(r#""imageUrl":"docker.io/acme/proxy:1.2""#),
        "{}",
        trigger.body
    );
    out.assert_no_secret(&[API_KEY]);
}

#[test]
fn api_trigger_202_queued_finds_the_queued_deploy() {
    let (sim, id) = service(Plan {
        queued: true,
        ..Plan::live(secs(0.6))
    });
    let out = rp()
        .input("mode", "deploy")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("service-id", &id)
        .input("clear-cache", "TRUE")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("http-status"), "202");
    assert_eq!(out.output("deploy-status"), "live");
    let deploys = sim.deploys(&id);
    assert_eq!(deploys.len(), 1);
    assert_eq!(out.output("deploy-id"), deploys[0].0);
    // After the trigger: before it, the service's recent deploys are read.
    let find = sim
        .requests()
        .into_iter()
        .skip_while(|r| r.method != "POST")
        .find(|r| r.path.ends_with("/deploys") && r.method == "GET")
        .unwrap();
    assert!(find.query.contains("createdAfter="), "{}", find.query);
    let trigger = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(trigger.body.contains(r#""clearCache":"clear""#));
}

#[test]
fn build_failed_exits_1_with_next_steps() {
    let (sim, id) = service(Plan::ending(Outcome::BuildFailed, secs(0.6)));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    // The snapshot holds the next steps: Render keeps the previous deploy.
    assert_summary!("deploy_build_failed", &out.summary);
    assert_eq!(out.output("deploy-status"), "build_failed");
    // The runner shows an annotation as plain text: no Markdown in it, the
    // dashboard as a plain URL.
    let annotation = out
        .stdout
        .lines()
        .find(|l| l.starts_with("::error title=Deploy failed::"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        !annotation.contains("](") && !annotation.contains("**") && !annotation.contains('`'),
        "{annotation}"
    );
    assert!(
        annotation.contains("(https://dashboard.render.com/"),
        "{annotation}"
    );
    out.assert_no_secret(&[&sim.hook_url(&id), API_KEY]);
}

#[test]
fn canceled_fails_by_default_and_passes_when_allowed() {
    let (sim, id) = service(Plan::ending(Outcome::Canceled, secs(0.5)));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "canceled");
    let out = deploy_with_hook(&sim, &id)
        .input("canceled-is-failure", "false")
        .run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "canceled");
}

#[test]
fn timeout_exits_1_and_says_the_deploy_is_still_running() {
    let (sim, id) = service(Plan::ending(
        Outcome::Stuck("build_in_progress".into()),
        secs(0.2),
    ));
    let started = std::time::Instant::now();
    let out = deploy_with_hook(&sim, &id).input("timeout", "2s").run();
    out.assert_code(1);
    assert!(started.elapsed() < secs(8.0));
    assert_eq!(out.output("deploy-status"), "build_in_progress");
    out.assert_says("still build_in_progress");
    assert!(out.summary.contains("still deploying"), "{}", out.summary);
    let bars = phase_bars(&out.summary);
    let (phase, ms) = bars[bars.len() - 1];
    assert_eq!(phase, "build", "{}", out.summary);
    assert!(ms >= 1000, "drawn until the wait stopped: {}", out.summary);
    let deploy = out.output("deploy-id");
    assert_eq!(
        sim.deploy_status(&id, deploy).unwrap(),
        "build_in_progress",
        "not canceled"
    );
}

#[test]
fn cancel_on_timeout_cancels_the_deploy() {
    let (sim, id) = service(Plan::ending(
        Outcome::Stuck("build_in_progress".into()),
        secs(0.2),
    ));
    let out = deploy_with_hook(&sim, &id)
        .input("timeout", "1s")
        .input("cancel-on-timeout", "true")
        .run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "canceled");
    out.assert_says("render-pilot canceled it");
    let deploy = out.output("deploy-id");
    assert_eq!(sim.deploy_status(&id, deploy).unwrap(), "canceled");
}

#[test]
fn unknown_status_values_keep_polling_with_a_warning() {
    let (sim, id) = service(Plan::ending(Outcome::Stuck("warming_up".into()), secs(0.2)));
    let out = deploy_with_hook(&sim, &id).input("timeout", "1s").run();
    out.assert_code(1);
    out.assert_says("'warming_up', which render-pilot does not know");
}

#[test]
fn a_429_is_retried_after_retry_after() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::rate_limited(
        "GET",
        &format!("/v1/services/{id}"),
        1,
        1,
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    let gets: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("/v1/services/{id}"))
        .collect();
    assert_eq!(gets.len(), 2, "one 429, one retry");
    assert!(
        gets[1].at - gets[0].at >= secs(0.95),
        "waited {:?}",
        gets[1].at - gets[0].at
    );
}

#[test]
fn a_5xx_on_a_get_is_retried() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::status(
        "GET",
        &format!("/v1/services/{id}/deploys/"),
        2,
        503,
    ));
    sim.fault(Fault::new(
        "GET",
        &format!("/v1/services/{id}"),
        1,
        FaultKind::Html(502),
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
}

#[test]
fn the_trigger_is_never_sent_twice() {
    for kind in [FaultKind::Html(502), FaultKind::Reset, FaultKind::ShortBody] {
        let (sim, id) = service(Plan::live(secs(0.3)));
        sim.fault(Fault::new("POST", "/deploy/", 1, kind.clone()));
        let out = deploy_with_hook(&sim, &id).run();
        out.assert_code(1);
        assert_eq!(posts(&sim, "/deploy/"), 1, "{kind:?}");
        out.assert_no_secret(&[&sim.hook_url(&id), API_KEY]);
    }
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::status(
        "POST",
        &format!("/v1/services/{id}/deploys"),
        1,
        503,
    ));
    let out = rp()
        .input("mode", "deploy")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("service-id", &id)
        .run();
    out.assert_code(1);
    assert_eq!(out.output("http-status"), "503");
    assert_eq!(posts(&sim, "/v1/"), 1);
}

#[test]
fn a_429_on_the_trigger_is_retried_once_because_it_started_nothing() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::rate_limited("POST", "/deploy/", 1, 1));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    assert_eq!(posts(&sim, "/deploy/"), 2);
    assert_eq!(sim.deploys(&id).len(), 1, "one deploy");
}

#[test]
fn hook_404_and_401_name_the_fix() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    let stale = sim.hook_url(&id).replace("key=", "key=old");
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &stale)
        .run();
    out.assert_code(1);
    assert_eq!(out.output("http-status"), "404");
    out.assert_says("does not know this deploy hook (HTTP 404)");
    out.assert_says("Regenerate Hook");
    out.assert_no_secret(&[&stale, &hook_key(&sim, &id)]);

    sim.fault(Fault::status("POST", "/deploy/", 1, 401));
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .run();
    out.assert_code(1);
    assert_eq!(out.output("http-status"), "401");
    out.assert_says("refused the deploy hook (HTTP 401)");
    out.assert_no_secret(&[&sim.hook_url(&id)]);
}

#[test]
fn no_server_is_http_000_with_the_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = format!("http://127.0.0.1:{port}/deploy/srv-abc123?key=NoServerKey123");
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &hook)
        .run();
    out.assert_code(1);
    assert_eq!(out.output("http-status"), "000");
    out.assert_says("(HTTP 000): the connection was refused");
    out.assert_no_secret(&[&hook, "NoServerKey123"]);
}

#[test]
fn a_hook_secret_with_a_trailing_newline_is_named_and_still_deploys() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    let hook = format!("{}\n", sim.hook_url(&id));
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &hook)
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .run();
    out.assert_code(0);
    assert!(
        out.stdout
            .contains("::warning::deploy-hook-url has a trailing newline"),
        "{}",
        out.stdout
    );
    out.assert_no_secret(&[&hook, API_KEY]);
}

#[test]
fn a_non_https_hook_on_a_public_host_is_refused_before_any_request() {
    let out = rp()
        .input("mode", "deploy")
        .input(
            "deploy-hook-url",
            "http://api.render.com/deploy/srv-abc123?key=PlainHttpKey1",
        )
        .run();
    out.assert_code(2);
    out.assert_says("plain http://");
    assert!(out.outputs.is_empty(), "nothing written: {:?}", out.outputs);
    out.assert_no_secret(&["PlainHttpKey1"]);
}

#[test]
fn a_suspended_service_is_a_clear_error() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.set_suspended(&id, true);
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "suspended");
    out.assert_says("is suspended (by: user)");
    assert_eq!(
        posts(&sim, "/deploy/"),
        0,
        "no trigger for a suspended service"
    );
}

#[test]
fn malformed_json_from_the_api_is_reported() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::new(
        "GET",
        &format!("/v1/services/{id}"),
        1,
        FaultKind::TruncatedJson,
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    out.assert_says("not the expected JSON");
    assert_eq!(posts(&sim, "/deploy/"), 0);
    out.assert_no_secret(&[&sim.hook_url(&id), API_KEY]);
}

#[test]
fn every_input_empty_is_bad_input() {
    let names = [
        "mode",
        "deploy-hook-url",
        "render-api-key",
        "render-api-url",
        "service-id",
        "wait",
        "timeout",
        "commit",
        "image",
        "clear-cache",
        "canceled-is-failure",
        "github-token",
        "dry-run",
    ];
    let mut run = rp();
    for name in names {
        run = run.input(name, "");
    }
    let out = run.run();
    out.assert_code(2);
    out.assert_says("mode: is not set");
    let mut run = rp().args(&["deploy"]);
    for name in names {
        run = run.input(name, "");
    }
    let out = run.run();
    out.assert_code(2);
    out.assert_says("deploy-hook-url: is not set");
}

#[test]
fn dry_run_checks_the_service_and_sends_nothing() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    let out = deploy_with_hook(&sim, &id)
        .input("dry-run", "yes")
        .input("commit", "abcdef1")
        .run();
    out.assert_code(0);
    out.assert_says("would POST");
    out.assert_says("key=***&ref=abcdef1");
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "only reads"
    );
    assert_eq!(sim.deploys(&id).len(), 0);
    out.assert_no_secret(&[&sim.hook_url(&id), API_KEY]);
}

#[test]
fn the_command_line_works_without_a_runner() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    let out = laptop()
        .env("RENDER_DEPLOY_HOOK", sim.hook_url(&id))
        .env("RENDER_API_KEY", API_KEY)
        .args(&[
            "deploy",
            "--render-api-url",
            &sim.api_url(),
            "--summary-file",
            "summary",
        ])
        .run();
    out.assert_code(0);
    assert!(out.stdout.contains("deploy-status: live"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("::"),
        "no workflow commands on a laptop"
    );
    assert!(out.summary.contains("deploy succeeded"));
    out.assert_no_secret(&[&sim.hook_url(&id), API_KEY]);
}

#[test]
fn help_and_version() {
    // Help as an 80-column terminal shows it: wrapped between words, and
    // deploy's first option is the hook.
    for (mode, width) in [
        ("deploy", "80"),
        ("monitor", "80"),
        ("recover", "80"),
        ("deploy", "60"),
    ] {
        let out = laptop().env("COLUMNS", width).args(&[mode, "--help"]).run();
        out.assert_code(0);
        let width: usize = width.parse().unwrap();
        for line in out.stdout.lines() {
            assert!(line.chars().count() <= width, "{mode}: {line:?}");
        }
        let first = out
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("--"))
            .unwrap();
        if mode == "deploy" {
            assert!(first.contains("--deploy-hook-url"), "{}", out.stdout);
        }
        // Wrapped between words: no word is cut.
        assert!(out.stdout.contains("GITHUB_STEP_SUMMARY"), "{}", out.stdout);
    }
    let out = laptop().args(&["--version"]).run();
    out.assert_code(0);
    assert!(out.stdout.starts_with("render-pilot 1."), "{}", out.stdout);
    let out = laptop()
        .args(&[
            "deploy",
            "--no-such-flag",
            "https://x/deploy/srv-a?key=FlagKey99",
        ])
        .run();
    out.assert_code(2);
    out.assert_no_secret(&["FlagKey99"]);
}

#[test]
fn an_unwritable_output_file_is_bad_configuration() {
    let out = rp()
        .input("mode", "deploy")
        .input(
            "deploy-hook-url",
            "https://api.render.com/deploy/srv-abc?key=k1234",
        )
        .env("GITHUB_OUTPUT", "/nonexistent-dir/output")
        .run();
    out.assert_code(2);
    out.assert_says("GITHUB_OUTPUT: cannot write");
}

/// A 2xx from the hook URL is not enough: a proxy's or login page's 200 is
/// not Render accepting a deploy.
#[test]
fn a_hook_answer_that_is_not_renders_fails_and_says_to_check() {
    let status = |code: u16, kind: &str, body: &str| FaultKind::Status {
        status: code,
        headers: vec![("Content-Type".into(), kind.into())],
        body: body.into(),
    };
    let answers = [
        (FaultKind::Html(200), "200", "an HTML page"),
        (status(200, "text/plain", "OK"), "200", "text: OK"),
        (
            status(202, "application/json", r#"{"status":"ok"}"#),
            "202",
            "JSON without a deploy",
        ),
        (
            status(200, "application/json", r#"{"deploy":{"id":"srv-other"}}"#),
            "200",
            "not a Render deploy id",
        ),
    ];
    for (kind, code, want) in answers {
        let (sim, id) = service(Plan::live(secs(0.3)));
        sim.fault(Fault::new("POST", "/deploy/", 1, kind));
        let out = deploy_with_hook(&sim, &id).run();
        out.assert_code(1)
            .assert_says(want)
            .assert_says("may or may not have been triggered");
        assert_eq!(out.output("http-status"), code);
        assert!(!out.stdout.contains("Render accepted"), "{}", out.log());
        assert_eq!(posts(&sim, "/deploy/"), 1, "{want}: sent once");
        let polls = sim
            .requests()
            .iter()
            .skip_while(|r| r.method != "POST")
            .filter(|r| r.path.contains("/deploys"))
            .count();
        assert_eq!(polls, 0, "{want}: nothing to wait for");
    }
}

/// The GETs of a deploy's wait: status reads and log subscriptions after
/// the trigger (not Render's events, read once after the end).
pub fn wait_gets(sim: &Sim) -> (usize, std::time::Instant) {
    let post = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap()
        .at;
    let gets = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.at >= post && !r.path.ends_with("/events"))
        .count();
    (gets, post)
}

/// The GET polls of one deploy, after the trigger.
fn polls(sim: &Sim, id: &str) -> Vec<std::time::Instant> {
    sim.requests()
        .into_iter()
        .skip_while(|r| r.method != "POST")
        .filter(|r| r.method == "GET" && r.path.starts_with(&format!("/v1/services/{id}/deploys/")))
        .map(|r| r.at)
        .collect()
}

/// Render answers a trigger from the deploy bucket (10 a minute per
/// service): `Remaining: 9, Reset: 60` says nothing about the GET bucket,
/// so the status polls keep their pace (a poller's: without the build log,
/// whose stream would widen them).
#[test]
fn trigger_rate_limit_headers_do_not_slow_the_status_polls() {
    let (sim, id) = service(Plan::live(secs(1.5)));
    let other = sim.add_service(ServiceSpec::web("other"));
    let answer = reqwest::blocking::Client::new()
        .post(sim.hook_url(&other))
        .send()
        .unwrap();
    assert_eq!(answer.headers()["ratelimit-remaining"], "9");
    assert_eq!(answer.headers()["ratelimit-reset"], "60");

    let started = std::time::Instant::now();
    let out = deploy_with_hook(&sim, &id)
        .input("build-log", "never")
        .run();
    out.assert_code(0);
    assert!(
        started.elapsed() < secs(3.0),
        "took {:?}",
        started.elapsed()
    );
    let polls = polls(&sim, &id);
    assert!(polls.len() >= 3, "{} polls", polls.len());
    // The test period is 150 ms: no gap may be the trigger bucket's 6.7 s
    // (or the 5 s pacing cap).
    let widest = polls.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest < secs(0.4), "a {widest:?} gap between polls");
}

/// `Retry-After: 2` is honoured to within 10%: retried after 2 to 2.2 s.
#[test]
fn a_429_with_retry_after_2_is_retried_within_2_to_2_2_s() {
    let (sim, id) = service(Plan::live(secs(0.5)));
    sim.fault(Fault::rate_limited(
        "GET",
        &format!("/v1/services/{id}/deploys/"),
        1,
        2,
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    let polls = polls(&sim, &id);
    let gap = polls[1] - polls[0];
    assert!(
        gap >= secs(2.0) && gap <= secs(2.2),
        "retried after {gap:?}"
    );
}

/// A long deploy (40 s of build, 10 s of update) on a service whose recent
/// deploys took about as long, at the real 2 s period, polled (without the
/// build log, which `buildlog.rs` tests): at most 0.5 GET/s over the wait
/// plus 2 (and one read of Render's events after the end), the end seen
/// within 0.5 s, and a heartbeat line during the long build.
#[test]
fn a_long_deploy_is_watched_on_half_a_get_a_second_and_seen_within_half_a_second() {
    let (sim, id) = service(Plan {
        build: secs(40.0),
        update: secs(10.0),
        ..Plan::live(secs(50.0))
    });
    for (hours, took) in [(1, 49.6), (2, 50.0), (3, 50.5)] {
        sim.add_finished(
            &id,
            "deactivated",
            secs(3600.0 * f64::from(hours)),
            secs(took),
        );
    }
    let out = deploy_with_hook(&sim, &id)
        .env("RENDER_PILOT_POLL_MS", "2000")
        .input("build-log", "never")
        .run();
    let exited = std::time::Instant::now();
    out.assert_code(0);
    let deploy = out.output("deploy-id").to_string();
    let live = sim.ended_at(&id, &deploy).expect("the deploy ended");
    let lag = exited - live;
    let (gets, post) = wait_gets(&sim);
    let waited = (exited - post).as_secs_f64();
    assert!(lag <= secs(0.5), "lag {lag:?}");
    assert!(
        gets as f64 <= 0.5 * waited + 2.0,
        "{gets} GETs over {waited:.1} s"
    );
    let polls = polls(&sim, &id);
    let widest = polls.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest <= secs(2.05), "a {widest:?} gap between polls");
    out.assert_says("build_in_progress: still waiting (");
}

/// On a terminal (a pseudo-terminal from `script`), the spinner's elapsed
/// time ticks while the status stays the same, and a status is printed as a
/// line only once it is over, never both as a line and on the spinner
/// (polled: without the build log, which `buildlog.rs` tests).
#[test]
fn on_a_terminal_the_spinner_ticks_and_prints_each_status_once() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to give the run a terminal");
        return;
    }
    let (sim, id) = service(Plan {
        build: secs(2.5),
        update: secs(0.3),
        ..Plan::live(secs(2.8))
    });
    let command = format!(
        "stty cols 120 rows 30; {} deploy --build-log never --deploy-hook-url '{}' --render-api-url '{}'",
        crate::support::BIN,
        sim.hook_url(&id),
        sim.api_url()
    );
    let out = laptop()
        .env("TERM", "xterm")
        .env("RENDER_API_KEY", API_KEY)
        .run_program("script", &["-qfec", &command, "/dev/null"]);
    out.assert_code(0);
    let screen = out.stdout.clone();
    assert!(
        screen.contains("build_in_progress (1s)") && screen.contains("build_in_progress (2s)"),
        "the elapsed time does not tick:\n{screen:?}"
    );
    // A status printed as a line has no elapsed time after it; on the
    // spinner it has "(Ns)". Each finished status is printed once, the
    // current one only on the spinner.
    let deploy = screen
        .split("deploy-id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the deploy-id output");
    let printed = |status: &str| {
        let needle = format!("{deploy}: {status}");
        screen
            .match_indices(&needle)
            .filter(|(i, _)| !screen[i + needle.len()..].trim_start().starts_with('('))
            .count()
    };
    for status in [
        "build_in_progress",
        "pre_deploy_in_progress",
        "update_in_progress",
    ] {
        assert_eq!(printed(status), 1, "{status}:\n{screen:?}");
    }
    assert_eq!(printed("live"), 0, "{screen:?}");
}

/// A long rate-limit wait is announced, naming the budget, so a held run
/// never looks stuck.
#[test]
fn a_long_rate_limit_wait_is_announced() {
    let (sim, id) = service(Plan::live(secs(0.3)));
    sim.fault(Fault::rate_limited(
        "GET",
        &format!("/v1/services/{id}"),
        1,
        6,
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0)
        .assert_says("Waiting 6s for Render's rate limit for reads before the next request.");
}

/// The mermaid blocks of a Markdown text.
fn mermaid_blocks(markdown: &str) -> Vec<&str> {
    markdown
        .split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect()
}

/// The bars of the deploy chart in a summary: each phase's name and its
/// length in milliseconds.
fn phase_bars(summary: &str) -> Vec<(&str, u64)> {
    let chart = mermaid_blocks(summary)[0];
    chart
        .lines()
        .filter(|l| l.contains(" :"))
        .map(|bar| {
            let ms = bar.rsplit(", ").next().unwrap().trim_end_matches("ms");
            (bar.split_whitespace().next().unwrap(), ms.parse().unwrap())
        })
        .collect()
}

/// A queued deploy that never shows up in the deploy list is drawn queued
/// for as long as render-pilot looked for it.
#[test]
fn a_deploy_that_never_appears_is_drawn_queued_while_it_was_looked_for() {
    let (sim, id) = service(Plan {
        queued: true,
        ..Plan::live(secs(0.3))
    });
    let empty = FaultKind::json(200, "[]");
    sim.fault(
        Fault::new("GET", &format!("/v1/services/{id}/deploys"), 1000, empty)
            .when_query("createdAfter"),
    );
    let out = deploy_with_hook(&sim, &id).input("timeout", "2s").run();
    out.assert_code(1).assert_says("Deploy not found");
    let bars = phase_bars(&out.summary);
    let (phase, ms) = bars[bars.len() - 1];
    assert_eq!(phase, "queued", "{}", out.summary);
    assert!(
        (2000..=3500).contains(&ms),
        "the 2 s search: {}",
        out.summary
    );
}

/// The summary draws the phases as Render recorded them (queued, build,
/// pre-deploy, update, live, each with its length), from one read of its
/// events once the deploy ended, and compares the deploy with the
/// service's recent ones, oldest first, from the one deploy list read
/// before the trigger; the job log has the phases as a line of text, and
/// no charts.
#[test]
fn the_summary_draws_the_phases_and_compares_with_recent_deploys() {
    let (sim, id) = service(Plan {
        queued: true,
        build: secs(1.2),
        update: secs(0.9),
        ..Plan::live(secs(2.1))
    });
    let mut recent = Vec::new();
    for (hours, took) in [(3, 150.0), (2, 210.0), (1, 185.0)] {
        recent.push(sim.add_finished(
            &id,
            "deactivated",
            secs(3600.0 * f64::from(hours)),
            secs(took),
        ));
    }
    sim.add_finished(&id, "build_failed", secs(1800.0), secs(20.0));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    // The snapshot holds the phases in the table and the chart, none
    // failed; the comparison with the last 3 deploys that went live (not
    // the failed build), oldest first, then this one in the highlight
    // colour.
    assert_summary!("deploy_live", &out.summary);
    out.assert_says(
        "Phases, as Render recorded them: queued 0.4s · build 1.1s · pre-deploy 0.3s · update 0.6s · live",
    );
    assert_eq!(recent.len(), 3);
    let gets = |end: &str| {
        sim.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(end))
            .count()
    };
    assert_eq!(
        gets("/deploys"),
        2,
        "history once, then the queued deploy's lookup"
    );
    assert_eq!(gets("/events"), 1, "Render's events once, at the end");
    assert!(!out.stdout.contains("mermaid") && !out.stderr.contains("mermaid"));
}

/// A failed deploy ends its chart with a red marker, and is not compared
/// with deploys that went live.
#[test]
fn a_failed_deploy_ends_its_chart_in_red() {
    let (sim, id) = service(Plan::ending(Outcome::UpdateFailed, secs(0.9)));
    sim.add_finished(&id, "deactivated", secs(3600.0), secs(120.0));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    let charts = mermaid_blocks(&out.summary);
    assert_eq!(charts.len(), 1, "{}", out.summary);
    let last = charts[0].lines().last().unwrap();
    assert!(
        last.trim()
            .starts_with("update failed :crit, milestone, failed"),
        "{}",
        charts[0]
    );
    assert!(!out.summary.contains("This deploy took"), "{}", out.summary);
}

/// A hook of one service with the id of another: the hook would deploy the
/// first and render-pilot report the second. Refused before any request,
/// by the action's inputs and the command line's flags alike.
#[test]
fn a_hook_of_another_service_than_service_id_is_refused_before_any_request() {
    let sim = Sim::start();
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    let api = sim.add_service(ServiceSpec::web("shop-api"));
    let refused = |out: &crate::support::Outcome| {
        out.assert_code(2);
        out.assert_says(&format!(
            "service-id: is {api}, but deploy-hook-url deploys {web}"
        ));
        out.assert_no_secret(&[&sim.hook_url(&web)]);
    };
    for wait in ["true", "false"] {
        let out = deploy_with_hook(&sim, &web)
            .input("service-id", &api)
            .input("wait", wait)
            .run();
        refused(&out);
    }
    let out = laptop()
        .args(&["deploy", "--service-id", &api, "--deploy-hook-url"])
        .args(&[&sim.hook_url(&web)])
        .run();
    out.assert_code(2);
    out.assert_says(&format!(
        "--service-id: is {api}, but --deploy-hook-url deploys {web}"
    ));
    out.assert_no_secret(&[&sim.hook_url(&web)]);
    let out = rp()
        .input("mode", "recover")
        .input("github-token", render_sim::GITHUB_TOKEN)
        .input("deploy-hook-url", &sim.hook_url(&web))
        .input("service-id", &api)
        .input("run-id", "1")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .run();
    refused(&out);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());

    // The same service's id and hook deploy as before.
    let out = deploy_with_hook(&sim, &web).input("service-id", &web).run();
    out.assert_code(0);
    assert_eq!(out.output("service-name"), "shop-web");
}

/// Without waiting, a trigger answer that already names a failed status
/// fails as the wait would have.
#[test]
fn not_waiting_still_fails_on_a_failed_trigger_answer() {
    let api_trigger = |sim: &Sim, id: &str| {
        rp().input("mode", "deploy")
            .input("render-api-key", API_KEY)
            .input("render-api-url", &sim.api_url())
            .input("service-id", id)
            .input("wait", "false")
    };
    for (outcome, status) in [
        (Outcome::BuildFailed, "build_failed"),
        (Outcome::Canceled, "canceled"),
    ] {
        let (sim, id) = service(Plan::ending(outcome, Duration::ZERO));
        let out = api_trigger(&sim, &id).run();
        out.assert_code(1);
        assert_eq!(out.output("deploy-status"), status);
        assert!(
            out.stdout.contains("::error title=Deploy failed::"),
            "{}",
            out.stdout
        );
        assert!(out.summary.contains("❌"), "{}", out.summary);
    }
    let (sim, id) = service(Plan::ending(Outcome::Canceled, Duration::ZERO));
    let out = api_trigger(&sim, &id)
        .input("canceled-is-failure", "false")
        .run();
    out.assert_code(0);
    let (sim, id) = service(Plan::live(secs(5.0)));
    let out = api_trigger(&sim, &id).run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "created");
}

/// A terminal gives flags, the action inputs: each error names them so.
#[test]
fn errors_speak_flags_on_a_terminal_and_inputs_in_a_runner() {
    let (sim, id) = service(Plan::live(secs(1.0)));
    let out = laptop()
        .args(&["deploy", "--wait", "true", "--deploy-hook-url"])
        .args(&[&sim.hook_url(&id)])
        .run();
    out.assert_code(2);
    assert!(
        out.stderr
            .starts_with("error: --wait: needs --render-api-key: the deploy hook key")
            && out.stderr.contains("or set --wait false"),
        "{}",
        out.stderr
    );
    out.assert_no_secret(&[&sim.hook_url(&id)]);
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("wait", "true")
        .run();
    out.assert_code(2);
    out.assert_says("::error title=Invalid input::wait: needs render-api-key: ");
    out.assert_says("or set wait: false");
}

/// A build shorter than a poll period, which render-pilot never sees
/// between two reads, is in the chart from Render's events, to the
/// millisecond; its status never reached the log.
#[test]
fn a_build_shorter_than_a_poll_is_drawn_from_renders_events() {
    // The build runs from 0.1 s to 0.5 s; reads come at 0 s and 2 s.
    let (sim, id) = service(Plan {
        build: secs(0.5),
        update: secs(2.4),
        ..Plan::live(secs(2.9))
    });
    let out = deploy_with_hook(&sim, &id)
        .env("RENDER_PILOT_POLL_MS", "2000")
        .run();
    out.assert_code(0);
    assert!(
        !out.stdout.contains(": build_in_progress"),
        "render-pilot saw the build:\n{}",
        out.log()
    );
    let bars = phase_bars(&out.summary);
    let build = bars
        .iter()
        .find(|(name, _)| *name == "build")
        .expect("a build bar");
    assert!((300..=500).contains(&build.1), "{bars:?}");
    assert_eq!(
        bars.iter().map(|b| b.0).collect::<Vec<_>>(),
        ["queued", "build", "pre-deploy", "update", "live"]
    );
    out.assert_says(
        "Phases, as Render recorded them: queued 0.1s · build 0.4s · pre-deploy 0.8s · update 1.6s · live",
    );
}

/// When Render refuses its events (an error status, after the retries a
/// GET gets) or answers without this deploy's end, the chart is what
/// render-pilot saw, says why, and the deploy's result is unchanged.
#[test]
fn without_renders_events_the_chart_is_what_was_seen_and_says_why() {
    let cases = [
        (
            FaultKind::json(403, r#"{"message":"forbidden"}"#),
            "Render refused its events: HTTP 403",
        ),
        (
            FaultKind::json(404, r#"{"message":"not found"}"#),
            "Render refused its events: HTTP 404",
        ),
        (
            FaultKind::json(500, r#"{"message":"oops"}"#),
            "Render refused its events: HTTP 500",
        ),
        (
            FaultKind::json(200, "[]"),
            "Render's events did not cover this deploy",
        ),
        (FaultKind::Html(502), "Render refused its events: HTTP 502"),
    ];
    for (fault, why) in cases {
        let (sim, id) = service(Plan::live(secs(0.6)));
        sim.fault(Fault::new(
            "GET",
            &format!("/v1/services/{id}/events"),
            10,
            fault,
        ));
        let out = deploy_with_hook(&sim, &id).run();
        out.assert_code(0);
        assert_eq!(out.output("deploy-status"), "live");
        let told = format!("**Phases**, as render-pilot saw them ({why}): ");
        assert!(out.summary.contains(&told), "{why}:\n{}", out.summary);
        out.assert_says(&format!("Phases, as render-pilot saw them ({why}): "));
        let phases: Vec<&str> = phase_bars(&out.summary).iter().map(|b| b.0).collect();
        assert_eq!(phases.last(), Some(&"live"), "{why}: {phases:?}");
    }
}

/// A deploy list that ignores `limit` (2,700 deploys for 10 asked) is
/// read for the 10 newest: the comparison and its chart stay small.
#[test]
fn a_deploy_list_that_ignores_its_limit_is_cut_to_what_was_asked() {
    let (sim, id) = service(Plan::live(secs(0.5)));
    let deploy = |i: usize| {
        format!(
            r#"{{"cursor":"c{i}","deploy":{{"id":"dep-d{i:019}","status":"deactivated","trigger":"new_commit","createdAt":"2026-11-28T10:00:00Z","finishedAt":"2026-11-28T10:0{}:{:02}Z"}}}}"#,
            1 + i % 5,
            i % 60
        )
    };
    let body = format!("[{}]", (0..2700).map(deploy).collect::<Vec<_>>().join(","));
    sim.fault(
        Fault::new(
            "GET",
            &format!("/v1/services/{id}/deploys"),
            1,
            FaultKind::json(200, body),
        )
        .when_query("limit=10"),
    );
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    assert!(
        out.summary.contains("; the last 10 took "),
        "{}",
        out.summary
    );
    let chart = mermaid_blocks(&out.summary)[1];
    assert!(
        chart.contains(r#"["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "this"]"#),
        "{chart}"
    );
}
