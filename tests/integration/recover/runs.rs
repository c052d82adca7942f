//! Runs of CI that recover starts itself: a re-run of the same commit after
//! a transient failure, a fresh run on the branch's head after a lost push
//! race, each up to max-attempts; and what recover leaves alone.

use render_sim::Run;

use super::{dispatched_on_main, short, Project, PUSH_RACE_LOG};
use crate::support::assert_contains;

/// The npm registry dropped the connection.
const TRANSIENT_LOG: &str = "2026-11-29T10:00:00Z npm ERR! code ECONNRESET\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 1.";

#[test]
fn a_lost_push_race_starts_a_fresh_run_on_the_branch_head_then_files_an_issue() {
    let p = Project::new();
    p.fails(506, PUSH_RACE_LOG);
    p.recover()
        .diagnosis("push-race")
        .actions_contain("started a fresh run of CI on the head of main")
        .success();
    assert_eq!(p.sim.dispatches(), dispatched_on_main());
    assert!(
        p.sim.reruns().is_empty(),
        "a re-run would lose the race again"
    );

    // The fresh run lost again: two failures in a row, max-attempts 2.
    p.ran(Run {
        event: "workflow_dispatch".into(),
        ..p.failed_run(507, PUSH_RACE_LOG)
    });
    p.recover()
        .actions_contain("2 runs of CI on main failed in a row and max-attempts is 2")
        .failure();
    assert_eq!(p.sim.dispatches().len(), 1, "no third run");
    p.the_issue();

    // A higher max-attempts allows one more.
    p.recover().input("max-attempts", "3").success();
    assert_eq!(p.sim.dispatches().len(), 2);
}

#[test]
fn a_push_race_in_a_workflow_without_dispatch_says_what_to_add() {
    let p = Project::new();
    p.ran(Run {
        dispatchable: false,
        ..p.failed_run(530, PUSH_RACE_LOG)
    });
    p.recover()
        .actions_contain("add `workflow_dispatch:` under `on:` in .github/workflows/ci.yml")
        .failure();
    assert!(p.sim.dispatches().is_empty() && p.sim.reruns().is_empty());
    // Escaped Markdown: it renders as "add `workflow_dispatch:` under `on:`".
    assert_contains(
        &p.the_issue().body,
        "add \\`workflow_dispatch:\\` under \\`on:\\` in .github/workflows/ci.yml",
    );
}

#[test]
fn a_transient_failure_reruns_the_same_commit_up_to_max_attempts() {
    let p = Project::new();
    p.fails(531, TRANSIENT_LOG);
    p.recover().diagnosis("transient").success();
    assert_eq!(p.sim.reruns(), [531]);
    assert!(p.sim.dispatches().is_empty());

    p.ran(Run {
        attempt: 2,
        ..p.failed_run(532, TRANSIENT_LOG)
    });
    p.recover().failure();
    assert_eq!(p.sim.reruns(), [531], "max-attempts 2: no third attempt");
}

#[test]
fn a_cancelled_run_does_nothing() {
    let p = Project::new();
    p.ran(Run {
        conclusion: "cancelled".into(),
        ..p.failed_run(514, &p.log)
    });
    p.recover()
        .says("ended `cancelled`: nothing to recover")
        .success();
    assert_eq!(p.remote.tip(), p.head);
    assert!(p.sim.issues().is_empty() && p.sim.reruns().is_empty());
}

#[test]
fn a_dry_run_says_what_the_real_run_would_do_and_does_nothing() {
    let p = Project::new();
    let service = p.service("shop-web");
    let live = p.deployed(&service, "live", 3600);
    let parent = p.head_parent();
    p.sim.set_deploy_commit(&service, &live, &parent);
    let broken = p.deployed(&service, "build_failed", 60);
    p.fails(680, &format!("::error title=Deploy failed::deploy {broken} ended build_failed\n{PUSH_RACE_LOG}\nnpm ERR! code ECONNRESET"));
    let (head, parent) = (short(&p.head), short(&parent));
    p.recover_on_render("rerun,redeploy", &service)
        .dry_run()
        .fixed(false)
        .actions(&format!("dry run: would start a deploy of {head} with a cleared build cache after {broken} (build_failed; checked: {head} is the tip of main; the live deploy {live} runs {parent}, an ancestor of the head); dry run: would start a fresh run of CI on the head of main (run 2 of 2); nothing more to start: dry run: would start a fresh run of CI on the head of main (run 2 of 2)"))
        .success();
    assert_eq!(p.sim.deploys(&service).len(), 2, "nothing deployed");
    assert!(p.sim.dispatches().is_empty() && p.sim.reruns().is_empty());
    assert!(p.sim.issues().is_empty());

    // What the real run refuses, the dry run refuses the same way.
    p.recover_on_render("rollback", &service)
        .dry_run()
        .actions_start("not fixed: deploy ")
        .actions_contain("not rolled back")
        .success();
}
