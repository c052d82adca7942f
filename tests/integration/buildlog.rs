//! Render's build log in a deploy: streamed into the job log while
//! waiting, quoted when the deploy failed, and never what decides it.

use render_sim::{BuildError, Fault, Outcome, Plan, Sim, API_KEY};

use crate::deploy::{secs, service};
use crate::support::{rp, Outcome as Run, Rp};

fn failing(error: BuildError) -> Plan {
    Plan {
        fails_with: error,
        ..Plan::ending(Outcome::BuildFailed, secs(0.9))
    }
}

fn deploy(sim: &Sim, id: &str) -> Rp {
    rp().input("mode", "deploy")
        .input("deploy-hook-url", &sim.hook_url(id))
        .input("render-api-key", API_KEY)
        .input("render-api-url", &sim.api_url())
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
    let out = deploy(&sim, &id).run();
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
    let out = deploy(&sim, &id).run();
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
        let out = deploy(&sim, &id).run();
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
    let out = deploy(&sim, &id).run();
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
    let out = deploy(&sim, &id).input("build-log", "never").run();
    out.assert_code(1);
    assert_eq!(log_reads(&sim), 0);
    assert!(!out.summary.contains("Why it failed"), "{}", out.summary);
}
