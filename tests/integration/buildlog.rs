//! Render's build log in a deploy: streamed into the job log while
//! waiting, quoted when the deploy failed, and never what decides it.

use render_sim::{BuildError, Fault, FaultKind, Outcome, Plan, Sim, API_KEY};

use crate::deploy::{deploy_with_hook, secs, service, wait_gets};
use crate::support::Outcome as Run;

fn failing(error: BuildError) -> Plan {
    Plan {
        fails_with: error,
        ..Plan::ending(Outcome::BuildFailed, secs(0.9))
    }
}

/// The `::error` annotation's line.
fn annotation(out: &Run) -> &str {
    out.stdout
        .lines()
        .find(|l| l.starts_with("::error title=Deploy failed::"))
        .unwrap_or_else(|| panic!("no error annotation\n{}", out.log()))
}

fn log_reads(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/logs"))
        .count()
}

#[test]
fn a_failed_build_is_explained_by_the_lines_that_say_why() {
    let (sim, id) = service(failing(BuildError::Lockfile));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "build_failed");
    let deploy = out.output("deploy-id");
    let line = annotation(&out);
    assert!(
        line.contains(&format!("deploy {deploy} ended build_failed: pnpm-lock.yaml is out of date with package.json: run recover's lockfile fix, or pnpm install and commit")),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "(https://dashboard.render.com/web/{id}/deploys/{deploy})"
        )),
        "the annotation links the deploy: {line}"
    );
    let summary = &out.summary;
    assert!(
        summary.contains("**Why it failed**: pnpm-lock.yaml is out of date with package.json: run recover's lockfile fix, or `pnpm install` and commit (`lockfile`)."),
        "{summary}"
    );
    assert!(
        summary.contains("<details><summary>The build log's lines that say why</summary>"),
        "{summary}"
    );
    assert!(summary.contains("```text\n ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json\n```"), "{summary}");
}

#[test]
fn a_failure_no_signature_knows_quotes_the_last_lines() {
    let (sim, id) = service(failing(BuildError::Unexplained));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert!(
        annotation(&out).contains(
            "ended build_failed: the last lines of its build log are quoted in the step summary"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.summary.contains("**Why it failed**: no known failure signature in the build log; its last lines follow."),
        "{}",
        out.summary
    );
    assert!(
        out.summary
            .contains("src/cart.ts(12,5): type mismatch in total"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("==> Build failed 😞"),
        "{}",
        out.summary
    );
}

#[test]
fn other_failures_name_their_cause() {
    for (error, says) in [
        (
            BuildError::MissingModule,
            "the build cannot find module `zod`",
        ),
        (BuildError::OutOfMemory, "the build ran out of memory"),
    ] {
        let (sim, id) = service(failing(error));
        let out = deploy_with_hook(&sim, &id).run();
        out.assert_code(1);
        assert!(
            out.summary.contains(&format!("**Why it failed**: {says}")),
            "{error:?}\n{}",
            out.summary
        );
    }
}

#[test]
fn no_log_access_is_one_notice_and_the_outcome_stays() {
    let (sim, id) = service(failing(BuildError::Lockfile));
    sim.fault(Fault::status("GET", "/v1/logs", 100, 403));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert_eq!(out.output("deploy-status"), "build_failed");
    let notices: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::notice::") && l.contains("build log"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", out.stdout);
    assert!(notices[0].contains("HTTP 403"), "{}", notices[0]);
    assert!(!out.summary.contains("Why it failed"), "{}", out.summary);
    assert!(annotation(&out).contains("ended build_failed. Read the build output"));
}

#[test]
fn build_log_never_reads_no_log() {
    let (sim, id) = service(failing(BuildError::Lockfile));
    let out = deploy_with_hook(&sim, &id)
        .input("build-log", "never")
        .run();
    out.assert_code(1);
    assert_eq!(log_reads(&sim), 0);
    assert!(!out.summary.contains("Why it failed"), "{}", out.summary);
}

/// The lines of the job log inside `::group::Render build log` groups.
fn grouped(stdout: &str) -> Vec<&str> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in stdout.lines() {
        match line {
            "::group::Render build log" => inside = true,
            "::endgroup::" => inside = false,
            _ if inside => lines.push(line),
            _ => {}
        }
    }
    lines
}

fn subscriptions(sim: &Sim) -> Vec<render_sim::Recorded> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path == "/v1/logs/subscribe")
        .collect()
}

#[test]
fn the_build_log_streams_into_collapsed_groups_and_statuses_stay_outside() {
    let (sim, id) = service(Plan::live(secs(1.2)));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    let lines = grouped(&out.stdout);
    for expected in [
        "==> Cloning from https://github.com/acme/web",
        "==> Running build command 'pnpm install --frozen-lockfile && pnpm build'...",
        "==> Build successful 🎉",
        "==> Deploying...",
        "==> Your service is live 🎉",
    ] {
        assert_eq!(
            lines.iter().filter(|l| **l == expected).count(),
            1,
            "{expected} once, in a group\n{}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains("Listening on port"),
        "the app's own output is not the build log"
    );
    let deploy = out.output("deploy-id");
    let status = format!("Deploy {deploy}: live");
    assert!(
        out.stdout.lines().any(|l| l.starts_with(&status))
            && !lines.iter().any(|l| l.starts_with(&status)),
        "status lines stay outside the groups\n{}",
        out.stdout
    );
    assert_eq!(subscriptions(&sim).len(), 1, "one stream a deploy");
    let query = &subscriptions(&sim)[0].query;
    assert!(
        query.contains("ownerId=tea-simulator")
            && query.contains(&format!("resource={id}"))
            && query.contains("type=build"),
        "{query}"
    );
}

/// At the real 2 s period, without history to predict the end: Render's
/// own line says when a build failed or a deploy went live, and the status
/// read right then sees it, with no more GETs than a poller reading every
/// 2 s would have sent by then.
#[test]
fn the_end_is_seen_the_moment_render_says_it_within_a_pollers_gets() {
    for plan in [
        Plan {
            build: secs(3.3),
            ..Plan::ending(Outcome::BuildFailed, secs(5.0))
        },
        Plan {
            build: secs(3.3),
            update: secs(1.9),
            ..Plan::live(secs(5.2))
        },
    ] {
        let outcome = plan.outcome.clone();
        let (sim, id) = service(plan);
        let out = deploy_with_hook(&sim, &id)
            .env("RENDER_PILOT_POLL_MS", "2000")
            .run();
        let exited = std::time::Instant::now();
        let deploy = out.output("deploy-id").to_string();
        let ended = sim.ended_at(&id, &deploy).expect("the deploy ended");
        let lag = exited - ended;
        assert!(lag < secs(0.4), "{outcome:?}: lag {lag:?}\n{}", out.log());
        let (gets, post) = wait_gets(&sim);
        let poller = ((ended - post).as_secs_f64() / 2.0).ceil() as usize;
        assert!(
            gets <= poller,
            "{outcome:?}: {gets} GETs, a 2 s poller {poller}"
        );
    }
}

#[test]
fn ten_thousand_lines_are_capped_and_the_rest_left_to_the_dashboard() {
    let (sim, id) = service(Plan {
        log_filler: 10_000,
        build: secs(2.0),
        ..Plan::live(secs(2.5))
    });
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    let lines = grouped(&out.stdout);
    assert_eq!(lines.len(), 2_000, "the cap");
    let deploy = out.output("deploy-id");
    let more = out
        .stdout
        .lines()
        .find(|l| l.starts_with("… "))
        .unwrap_or_else(|| {
            panic!(
                "no line for the rest\n{}",
                &out.stdout[out.stdout.len() - 2000..]
            )
        });
    let rest: usize = more[4..].split(' ').next().unwrap().parse().unwrap();
    assert!(rest > 8_000, "{more}");
    assert!(
        more.ends_with(&format!(
            " more lines in the dashboard: https://dashboard.render.com/web/{id}/deploys/{deploy}"
        )),
        "{more}"
    );
}

#[test]
fn a_dropped_stream_is_picked_up_once_from_the_last_line_without_repeating_one() {
    let (sim, id) = service(Plan::live(secs(1.5)));
    sim.fault(Fault::new(
        "GET",
        "/v1/logs/subscribe",
        1,
        FaultKind::Cut(6),
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    let lines = grouped(&out.stdout);
    let mut unique = lines.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), lines.len(), "a line repeated\n{}", out.stdout);
    for expected in [
        "==> Cloning from https://github.com/acme/web",
        "==> Your service is live 🎉",
    ] {
        assert!(lines.contains(&expected), "{expected}\n{}", out.stdout);
    }
    let subscribed = subscriptions(&sim);
    assert_eq!(subscribed.len(), 2, "reconnected once");
    assert!(
        subscribed[1].query.contains("startTime="),
        "{}",
        subscribed[1].query
    );
    assert_ne!(
        subscribed[0].query, subscribed[1].query,
        "from the last line seen"
    );
    assert!(
        !out.stdout.contains("build log stream was lost"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_stream_cut_twice_is_one_notice_and_the_wait_polls_on() {
    let (sim, id) = service(Plan::live(secs(1.5)));
    sim.fault(Fault::new(
        "GET",
        "/v1/logs/subscribe",
        2,
        FaultKind::Cut(3),
    ));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(0);
    assert_eq!(out.output("deploy-status"), "live");
    let notices: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::notice::") && l.contains("build log"))
        .collect();
    assert!(
        notices.len() == 1 && notices[0].contains("Render's build log stream was lost"),
        "{notices:?}"
    );
    assert_eq!(subscriptions(&sim).len(), 2);
}

#[test]
fn a_refused_stream_is_not_asked_again_after_the_deploy() {
    let (sim, id) = service(failing(BuildError::Lockfile));
    sim.fault(Fault::status("GET", "/v1/logs", 10, 403));
    let out = deploy_with_hook(&sim, &id).run();
    out.assert_code(1);
    assert_eq!(
        log_reads(&sim),
        1,
        "the subscription, then no read of the log"
    );
}

#[test]
fn on_a_terminal_the_newest_lines_show_under_the_spinner() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to give the run a terminal");
        return;
    }
    let (sim, id) = service(Plan::live(secs(2.0)));
    let command = format!(
        "stty cols 120 rows 30; {} deploy --deploy-hook-url '{}' --render-api-url '{}'",
        crate::support::BIN,
        sim.hook_url(&id),
        sim.api_url()
    );
    let out = crate::support::laptop()
        .env("TERM", "xterm")
        .env("RENDER_API_KEY", API_KEY)
        .run_program("script", &["-qfec", &command, "/dev/null"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("│ ==> Running build command"),
        "no tail under the spinner:\n{:?}",
        out.stdout
    );
}
