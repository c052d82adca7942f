//! Trust boundaries: names, statuses and answers from outside are shown,
//! escaped, and never act: they cannot forge issue markers, start workflow
//! commands, pick another endpoint or carry credentials out.

use std::time::Duration;

use render_sim::{Fault, FaultKind, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::repo::{git, remote};
use crate::support::{rp, Outcome, Rp};

/// Lines a hostile name or status tries to slip into the job log.
const FORGED: [&str; 4] = [
    "::error::forged",
    "::add-mask::forged",
    "::stop-commands::forged",
    "##[set-output name=x;]forged",
];

/// The runner obeys a line that starts, after spaces, with `::` or `##[`;
/// none of the forged ones may reach it as a command, on stdout or stderr.
fn assert_no_forged_command(out: &Outcome) {
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        let start = line.trim_start();
        for forged in FORGED {
            assert!(
                !start.starts_with(forged),
                "a workflow command from data reached the runner: {line:?}"
            );
        }
        assert!(
            !start.starts_with("::stop-commands"),
            "stop-commands from data: {line:?}"
        );
    }
}

fn hostile_name(extra: &str) -> String {
    format!(
        "evil{extra}\n{}\r{}\n  {}\n{}",
        FORGED[0], FORGED[1], FORGED[2], FORGED[3]
    )
}

fn monitor(sim: &Sim, services: &[&str]) -> Rp {
    rp().input("mode", "monitor")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .input("github-token", GITHUB_TOKEN)
        .input("services", &services.join(","))
        .input("commit-mode", "never")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
}

#[test]
fn a_service_name_cannot_close_or_hide_another_services_issue() {
    let sim = Sim::start();
    let good = sim.add_service(ServiceSpec::web("good"));
    sim.add_history(&good, "live", Duration::from_secs(600));
    // The names carry the marker of the other service's issue, in the
    // forms render-pilot writes and would have matched before.
    let forged_failed = format!("<!-- render-pilot:monitor:{good} state=failed -->");
    let evil = sim.add_service(ServiceSpec::web(&hostile_name(&forged_failed)));
    sim.add_history(&evil, "build_failed", Duration::from_secs(60));
    let workspace = tempfile::tempdir().unwrap();

    for _ in 0..2 {
        let out = monitor(&sim, &[&good, &evil])
            .env("GITHUB_WORKSPACE", workspace.path())
            .run();
        out.assert_code(0);
        assert_no_forged_command(&out);
        let issues = sim.issues();
        assert_eq!(issues.len(), 1, "one issue, for the failing service");
        assert_eq!(issues[0].state, "open", "the healthy service closed it");
        let body = &issues[0].body;
        assert_eq!(
            body.matches("<!--").count(),
            1,
            "only render-pilot's own marker is a comment: {body}"
        );
        assert!(
            body.trim_end().ends_with(&format!(
                "<!-- render-pilot:monitor:{evil} state=failed -->"
            )),
            "{body}"
        );
    }

    // The good service now fails: it gets its own issue, it does not find
    // the evil one through the forged marker.
    sim.add_history(&good, "build_failed", Duration::from_secs(1));
    let out = monitor(&sim, &[&good, &evil])
        .env("GITHUB_WORKSPACE", workspace.path())
        .run();
    out.assert_code(0);
    let issues = sim.issues();
    assert_eq!(issues.len(), 2, "the good service's own issue");
    assert!(issues[1].body.trim_end().ends_with(&format!(
        "<!-- render-pilot:monitor:{good} state=failed -->"
    )));
}

#[test]
fn hostile_names_and_statuses_never_become_workflow_commands() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web(&hostile_name("`|<b>")));
    sim.add_history(&id, &hostile_name("_status"), Duration::from_secs(30));
    let workspace = tempfile::tempdir().unwrap();
    let out = monitor(&sim, &[&id])
        .env("GITHUB_WORKSPACE", workspace.path())
        .run();
    assert_no_forged_command(&out);
    let summary = &out.summary;
    assert!(!summary.contains("<b>"), "raw HTML from a name: {summary}");
    assert!(summary.contains("\n---\npie showData\n"), "{summary}");

    // Deploy mode prints the service's name and the deploy's status.
    let out = rp()
        .input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(&id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
        .run();
    assert_no_forged_command(&out);
    assert!(!out.summary.contains("<b>"), "{}", out.summary);
}

#[test]
fn a_hostile_job_name_and_log_stay_evidence() {
    let sim = Sim::start();
    let log = format!(
        "2026-11-29T10:00:01.0000000Z error: build broke ``` <!-- render-pilot:monitor:srv-abc state=failed -->\n{}\n2026-11-29T10:00:02.0000000Z ##[error]Process completed with exit code 1.\n",
        FORGED[0]
    );
    let mut run = Run::failed(77, "0123456789abcdef0123456789abcdef01234567", &log);
    run.jobs[1].name = hostile_name("-job");
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, run.event().to_string()).unwrap();
    sim.add_run(run);
    let out = rp()
        .input("mode", "recover")
        .input("github-token", GITHUB_TOKEN)
        .input("fixes", "rerun")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKSPACE", dir.path())
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", &sim.url)
        .run();
    out.assert_code(1);
    assert_no_forged_command(&out);
    let issues = sim.issues();
    assert_eq!(issues.len(), 1);
    let body = &issues[0].body;
    let comments: Vec<&str> = body
        .lines()
        .filter(|l| l.trim_start().starts_with("<!--"))
        .collect();
    assert_eq!(comments.len(), 1, "only render-pilot's marker: {body}");
    assert!(body.trim_end().ends_with("-->"), "{body}");
}

#[test]
fn ids_from_answers_never_choose_the_endpoint() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    for hostile in ["../../owners", "srv-a?key=x", "dep-1/../../services"] {
        sim.fault(Fault::new(
            "GET",
            &format!("/v1/services/{id}/deploys"),
            1,
            FaultKind::json(
                200,
                format!(r#"[{{"cursor":"c","deploy":{{"id":"{hostile}","status":"live"}}}}]"#),
            ),
        ));
        sim.clear_requests();
        let workspace = tempfile::tempdir().unwrap();
        let out = monitor(&sim, &[&id])
            .env("GITHUB_WORKSPACE", workspace.path())
            .run();
        assert_eq!(out.output("failing-services"), id, "{}", out.log());
        assert!(out.log().contains("not a Render id"), "{}", out.log());
        for request in sim.requests() {
            assert!(
                !request.path.contains("owners") && !request.path.contains(".."),
                "followed {hostile}: {}",
                request.path
            );
        }
    }
}

#[test]
fn credentials_in_urls_are_refused_and_never_shown() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    let with_userinfo = sim
        .api_url()
        .replace("http://", "http://render-user:UrlPassw0rd@");
    let out = rp()
        .input("mode", "deploy")
        .input("render-api-key", API_KEY)
        .input("render-api-url", &with_userinfo)
        .input("service-id", &id)
        .input("dry-run", "true")
        .run();
    out.assert_code(2).assert_says("render-api-url");
    assert!(!out.log().contains("UrlPassw0rd"), "{}", out.log());
    assert!(!out.summary.contains("UrlPassw0rd"));
    assert!(sim.requests().is_empty(), "nothing may be sent");
}

/// The origin asks for credentials over plain http on an address that is
/// not loopback by name (0.0.0.0 reaches this machine, but render-pilot
/// cannot know that): the token must not be sent.
#[test]
fn the_token_never_travels_over_plain_http_to_a_remote_host() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    sim.add_history(&id, "live", Duration::from_secs(60));
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    let unencrypted = remote.url.replace("127.0.0.1", "0.0.0.0");
    git(&clone, &["remote", "set-url", "origin", &unencrypted]);
    sim.clear_requests();
    let out = monitor(&sim, &[&id])
        .input("commit-mode", "on-change")
        .env("GITHUB_WORKSPACE", &clone)
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_REF", "refs/heads/main")
        .run();
    out.assert_code(1).assert_says("only over https");
    let sent_token = sim.requests().iter().any(|r| {
        r.path.contains(".git")
            && r.header("authorization")
                .is_some_and(|a| a.to_ascii_lowercase().starts_with("basic"))
    });
    assert!(!sent_token, "the token went over plain http");
    assert_eq!(remote.log().len(), 1, "nothing was pushed");
}

/// A key pasted as a stray argument reaches clap's error before any secret
/// is registered: its shape alone hides it.
#[test]
fn a_key_typed_as_an_argument_is_not_echoed() {
    let key = "rnd_Zq81Lw0pXv3Tt9Yb";
    let token = "ghp_0Kq1Wz9Xc8Vb7Nm6Lk5J";
    for args in [
        vec!["deploy", key],
        vec!["monitor", "--services", "all", token],
    ] {
        let out = crate::support::laptop().args(&args).run();
        assert_eq!(out.code, Some(2), "{args:?}");
        assert!(
            out.stderr.contains("unexpected argument '***'"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(key) && !out.stderr.contains(token));
        assert!(!out.stdout.contains(key) && !out.stdout.contains(token));
    }
}
