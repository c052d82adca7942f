//! The lockfile fix: pnpm-lock.yaml regenerated, pushed, and CI started on
//! the fix; never twice, never over someone else's lockfile.

use render_sim::Run;

use super::{dispatched_on_main, Project, PNPM_10};
use crate::repo::git;
use crate::support::{assert_contains, assert_summary};

/// pnpm 12's error, in its new format.
const PNPM_12_LOG: &str = "2026-11-29T10:00:00.0000000Z ##[group]Run pnpm install --frozen-lockfile
2026-11-29T10:00:01.0000000Z Error: ERR_PNPM_OUTDATED_LOCKFILE
2026-11-29T10:00:01.0000000Z   × installing dependencies
2026-11-29T10:00:01.0000000Z   ╰─▶ Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up
2026-11-29T10:00:01.0000000Z       to date with package.json.
2026-11-29T10:00:01.0000000Z ##[error]Process completed with exit code 1.";

#[test]
fn an_outdated_lockfile_is_regenerated_pushed_and_ci_dispatched() {
    let p = Project::new();
    p.fails_on_the_lockfile(501);
    let out = p
        .recover()
        .diagnosis("lockfile")
        .fixed(true)
        .actions_contain("regenerated pnpm-lock.yaml and pushed")
        .success();
    assert_summary!("recover_fixed", &out.summary);
    assert_eq!(out.output("commit-sha"), p.remote.tip());
    let message = p.last_message();
    assert!(
        message.starts_with("fix(ci): regenerate pnpm-lock.yaml"),
        "{message}"
    );
    assert_contains(&message, &format!("Render-Pilot-Fix: lockfile {}", p.head));
    assert!(
        !crate::monitor::render_skips(&message),
        "the fix must deploy: {message}"
    );
    let changed = git(&p.remote.bare(), &["diff", "--name-only", &p.head, "main"]);
    assert_eq!(changed.trim(), "pnpm-lock.yaml");
    assert_eq!(p.sim.dispatches(), dispatched_on_main());
    assert!(
        p.sim.log_downloads().iter().all(Option::is_none),
        "the log redirect carried no Authorization"
    );
    p.assert_frozen_install(PNPM_10);
}

#[test]
fn pnpm_12_error_format_is_recognised_and_fixed() {
    let p = Project::new();
    p.fails(502, PNPM_12_LOG);
    let out = p.recover().diagnosis("lockfile").success();
    assert_contains(&out.summary, "Error: ERR_PNPM_OUTDATED_LOCKFILE");
}

#[test]
fn a_failure_after_our_own_fix_files_an_issue_instead_of_fixing_again() {
    let p = Project::new();
    p.fails_on_the_lockfile(503);
    p.recover().success();
    let fix = p.remote.tip();
    p.ran(p.failed_run_on_the_fix(504, &p.log));
    let out = p.recover().fixed(false).failure();
    assert_eq!(p.remote.tip(), fix, "no second fix");
    assert_contains(&p.the_issue().body, "render-pilot's own lockfile fix");
    let port = p.sim.url.rsplit(':').next().unwrap();
    assert_eq!(
        out.output("issue-url"),
        format!("http://127.0.0.1:{port}/acme/shop/issues/1")
    );
}

#[test]
fn a_branch_that_moved_and_changed_the_lockfile_is_not_overwritten() {
    let p = Project::new();
    p.fails_on_the_lockfile(505);
    let lockfile = "lockfileVersion: '9.0'\n# someone else\n";
    let tip = p.someone_pushes("pnpm-lock.yaml", lockfile, "hand-edited lockfile");
    p.recover()
        .actions_contain("changed pnpm-lock.yaml; not overwriting")
        .failure();
    assert_eq!(p.remote.tip(), tip);
}

/// Without a `workflow_dispatch` trigger CI cannot be started on the fix:
/// said in the outputs, a warning annotation and the summary.
#[test]
fn a_fix_in_a_workflow_without_dispatch_says_ci_was_not_re_run() {
    let p = Project::new();
    p.ran(Run {
        dispatchable: false,
        ..p.failed_run(517, &p.log)
    });
    let out = p.recover().success();
    let said = "CI was not re-run on the fix: CI has no workflow_dispatch trigger";
    for text in [out.output("actions"), &out.stdout, &out.summary] {
        assert_contains(text, said);
    }
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::warning::CI was not re-run")),
        "{}",
        out.stdout
    );
    assert!(p.sim.dispatches().is_empty());
}
