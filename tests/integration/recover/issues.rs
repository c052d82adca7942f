//! The recovery issue: one per workflow and branch, filed with the failed
//! steps' own error lines when recover cannot fix, updated while the
//! failures go on, closed by a passing run. Outside text (names, logs,
//! branches) stays text inside it, within GitHub's limits.

use render_sim::{Job, Run};

use super::{from_fork, passed, Project, MAKE_LOG, PUSH_RACE_LOG};
use crate::support::{assert_contains, assert_summary};

/// A failure no fix knows: the compiler's.
const RUSTC_LOG: &str = "2026-11-29T10:00:00Z error[E0308]: mismatched types\n2026-11-29T10:00:01Z ##[error]Process completed with exit code 101.";

#[test]
fn an_unknown_failure_files_an_issue_with_evidence_and_success_closes_it() {
    let p = Project::new();
    p.fails(511, RUSTC_LOG);
    let out = p.recover().diagnosis("unknown").failure();
    assert_summary!("recover_not_fixed", &out.summary);
    let issue = p.the_issue();
    assert_eq!(issue.title, "render-pilot: CI failed on main");
    assert_contains(
        &issue.body,
        "##[error]Process completed with exit code 101.",
    );
    // Failing again: the same issue.
    p.recover().failure();
    p.the_issue();

    p.ran(passed(p.failed_run(512, "")));
    p.recover().success();
    let issue = p.the_issue();
    assert_eq!(issue.state, "closed");
    assert_contains(issue.comments.last().unwrap(), "passed on main");
}

/// A run of `workflow` (CI or Deploy) on `head`, main, started by `event`.
fn run_of(workflow: &str, run: Run, event: &str, conclusion: &str) -> Run {
    let mut run = Run {
        event: event.into(),
        conclusion: conclusion.into(),
        ..run
    };
    if workflow == "Deploy" {
        run.name = "Deploy".into();
        run.workflow_id = 7002;
        run.path = ".github/workflows/deploy.yml".into();
    }
    run
}

/// Escalation: the run recover dispatched after its fix fails again, and
/// again; each failure updates the one issue of its workflow and branch,
/// and a later passing run, however started, closes it. A failed manual
/// run of another workflow has its own issue.
#[test]
fn failed_fix_attempts_update_one_issue_and_a_passing_run_closes_it() {
    let p = Project::new();
    p.fails_on_the_lockfile(830);
    p.recover().success();
    for id in [831, 832] {
        let again = p.failed_run_on_the_fix(id, &p.log);
        p.ran(run_of("CI", again, "workflow_dispatch", "failure"));
        p.recover().failure();
        assert_eq!(p.the_issue().title, "render-pilot: CI failed on main");
    }
    assert!(
        !p.the_issue().comments.is_empty(),
        "the second failure is noted"
    );
    let fix = p.remote.tip();
    let on_fix = |id: u64, log: &str| Run::failed(id, &fix, log);

    let manual = "2026-11-29T10:00:00Z ##[error]Process completed with exit code 1.";
    p.ran(run_of(
        "Deploy",
        on_fix(833, manual),
        "workflow_dispatch",
        "failure",
    ));
    p.recover().failure();
    assert_eq!(p.open_issues(), 2, "Deploy's own issue");

    p.ran(run_of(
        "CI",
        on_fix(834, ""),
        "workflow_dispatch",
        "success",
    ));
    p.recover()
        .says("Closed the recovery issue for main.")
        .success();
    let open: Vec<String> = p
        .sim
        .issues()
        .into_iter()
        .filter(|i| i.state == "open")
        .map(|i| i.title)
        .collect();
    assert_eq!(open, ["render-pilot: Deploy failed on main"]);
    p.ran(run_of("Deploy", on_fix(835, ""), "push", "success"));
    p.recover().success();
    assert_eq!(p.open_issues(), 0);
}

/// Branches and repositories named like tokens (`rnd_…`, `ghp_…`) are
/// names, not secrets: the issue's hidden marker keeps them, so each
/// failure finds the one issue (whose title names the branch) and a
/// passing run closes it.
#[test]
fn names_shaped_like_tokens_keep_their_one_issue() {
    for (branch, head_repository) in [
        ("rnd_pricing_page", "acme/shop"),
        ("ghp_feature0123456789", "acme/shop"),
        ("main", "acme/rnd_platform_api"),
    ] {
        let p = Project::new();
        let run = |id: u64, conclusion: &str| Run {
            head_branch: branch.into(),
            head_repository: head_repository.into(),
            conclusion: conclusion.into(),
            ..p.failed_run(id, MAKE_LOG)
        };
        for id in [701, 702] {
            p.ran(run(id, "failure"));
            p.recover().fixes("rerun").failure();
            let issue = p.the_issue();
            assert_eq!(issue.title, format!("render-pilot: CI failed on {branch}"));
            let marker = issue.body.trim_end().lines().last().unwrap_or_default();
            assert!(
                marker.starts_with("<!-- render-pilot:recover:")
                    && marker.contains(&format!(":{head_repository}:{branch} state=unknown")),
                "{branch} {head_repository}: {}",
                issue.body
            );
        }
        p.ran(run(703, "success"));
        p.recover().success();
        assert_eq!(p.the_issue().state, "closed", "{branch} {head_repository}");
    }
}

/// A 200,000-character `packageManager` version and workflow name: the
/// issue's title and body stay within GitHub's limits, cut with a note,
/// and its marker still finds it on the next failure.
#[test]
fn huge_outside_text_keeps_the_issue_within_github_s_limits() {
    let p = Project::new();
    let head = p.commit_manifest("pin pnpm", |manifest| {
        manifest["packageManager"] = format!("pnpm@1.2.3-{}", "x".repeat(200_000)).into();
    });
    for id in [541, 542] {
        p.ran(Run {
            name: format!("CI {}", "w".repeat(200_000)),
            ..Run::failed(id, &head, &p.log)
        });
        p.recover().failure();
    }
    let issue = p.the_issue();
    assert!(issue.title.chars().count() <= 256, "{}", issue.title.len());
    assert!(issue.body.len() <= 65_536, "{} bytes", issue.body.len());
    assert!(issue.body.contains("… (cut"), "no note");
    let last = issue.body.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("<!-- render-pilot:recover:") && last.contains(" state=lockfile"),
        "{last}"
    );
}

/// A job log as `GET …/actions/jobs/{id}/logs` serves it: a checkout step,
/// then `command` printing `output` and exiting `code`, then cleanup.
fn job_log(command: &str, output: &str, code: u8) -> String {
    let mut lines = vec![
        "##[group]Run actions/checkout@v4".to_string(),
        "with:".into(),
        "  repository: acme/shop".into(),
        "##[endgroup]".into(),
        "Syncing repository: acme/shop".into(),
        format!("##[group]Run {command}"),
        command.into(),
        "shell: /usr/bin/bash -e {0}".into(),
        "env:".into(),
        "  NPM_TOKEN: ***".into(),
        "##[endgroup]".into(),
    ];
    lines.extend(output.lines().map(String::from));
    lines.push(format!("##[error]Process completed with exit code {code}."));
    lines.push("Post job cleanup.".into());
    lines.push("[command]/usr/bin/git version".into());
    lines
        .iter()
        .map(|l| format!("2026-11-29T10:00:01.1234567Z {l}\n"))
        .collect()
}

const CARGO: &str = "   Compiling shop v0.1.0 (/home/runner/work/shop/shop)
\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0308]\u{1b}[0m\u{1b}[0m\u{1b}[1m: mismatched types\u{1b}[0m
 --> src/main.rs:4:18
  |
4 |     let n: u32 = \"five\";
  |            ---   ^^^^^^ expected `u32`, found `&str`
  |            |
  |            expected due to this

For more information about this error, try `rustc --explain E0308`.
error: could not compile `shop` (bin \"shop\") due to 1 previous error";

const TSC: &str = "
> shop@1.0.0 typecheck /home/runner/work/shop/shop
> tsc --noEmit

src/cart.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.
 ELIFECYCLE  Command failed with exit code 2.";

const PYTEST: &str =
    "============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /home/runner/work/shop/shop
collected 3 items

tests/test_cart.py .F.                                                   [100%]

=================================== FAILURES ===================================
__________________________________ test_total __________________________________

    def test_total():
>       assert total([1, 2]) == 4
E       assert 3 == 4
E        +  where 3 = total([1, 2])

tests/test_cart.py:6: AssertionError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total - assert 3 == 4
========================= 1 failed, 2 passed in 0.02s ==========================";

const SHELL: &str = "Deploying to staging
Error: STAGING_URL is not set; add it to the repository's variables";

/// Jest names the failed file first, then every passing one: the FAIL line
/// is far above the last lines.
fn jest() -> String {
    let mut out = String::from(
        "FAIL src/sum.test.js\n  ● sum › adds numbers\n\n    expect(received).toBe(expected) // Object.is equality\n\n    Expected: 5\n    Received: 4\n",
    );
    for i in 0..40 {
        out.push_str(&format!("PASS src/part{i}.test.js\n"));
    }
    out.push_str("Test Suites: 1 failed, 40 passed, 41 total\nTests:       1 failed, 41 passed, 42 total\nSnapshots:   0 total\nTime:        3.2 s\nRan all test suites.");
    out
}

#[test]
fn the_issue_quotes_each_failed_step_s_own_error_lines() {
    let p = Project::new();
    let logs = [
        ("rust", job_log("cargo build --locked", CARGO, 101)),
        ("types", job_log("pnpm typecheck", TSC, 2)),
        ("unit", job_log("pnpm jest", &jest(), 1)),
        ("python", job_log("pytest -q", PYTEST, 1)),
        ("deploy", job_log("./scripts/deploy staging", SHELL, 1)),
    ];
    let jobs = logs
        .iter()
        .enumerate()
        .map(|(i, (name, log))| Job {
            id: 6500 + i as u64,
            name: name.to_string(),
            conclusion: "failure".into(),
            log: log.clone(),
        })
        .collect();
    p.ran(Run {
        jobs,
        ..p.failed_run(650, "")
    });
    let out = p.recover().failure();
    let issue = p.the_issue();
    for text in [&issue.body, &out.summary] {
        for expected in [
            "Job **rust**, step **Run cargo build --locked**",
            "error[E0308]: mismatched types",
            "4 |     let n: u32 = \"five\";",
            "error: could not compile `shop` (bin \"shop\") due to 1 previous error",
            "##[error]Process completed with exit code 101.",
            "Job **types**, step **Run pnpm typecheck**",
            "src/cart.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
            "Job **unit**, step **Run pnpm jest**",
            "FAIL src/sum.test.js",
            "Tests:       1 failed, 41 passed, 42 total",
            "Job **python**, step **Run pytest -q**",
            "E       assert 3 == 4",
            "FAILED tests/test_cart.py::test_total - assert 3 == 4",
            "Job **deploy**, step **Run ./scripts/deploy staging**",
            "Error: STAGING_URL is not set; add it to the repository's variables",
        ] {
            assert_contains(text, expected);
        }
        assert!(!text.contains("\u{1b}["), "colour codes are stripped");
        assert!(
            !text.contains("2026-11-29T10:00:01"),
            "timestamps are stripped"
        );
        assert!(!text.contains("Post job cleanup"), "{text}");
        assert!(
            !text.contains("shell: /usr/bin/bash"),
            "the step header is not output"
        );
        assert!(
            !text.contains("PASS src/part0.test.js"),
            "only the last lines"
        );
    }
    assert!(issue.body.len() < 65536);
}

#[test]
fn a_fork_s_main_never_closes_or_joins_main_s_recovery_issue() {
    let p = Project::new();
    let log = format!(
        "2026-11-29T10:00:00Z ##[group]Run make\n2026-11-29T10:00:00Z ##[endgroup]\n{MAKE_LOG}"
    );
    p.fails(660, &log);
    p.recover().failure();
    p.the_issue();
    // A fork's `main` passes: main's issue stays open.
    p.ran(from_fork(passed(p.failed_run(661, ""))));
    p.recover().success();
    let issue = p.the_issue();
    assert_eq!(issue.state, "open");
    assert!(issue.comments.is_empty());

    // A fork's `main` fails: its own issue, main's untouched.
    p.ran(from_fork(p.failed_run(662, PUSH_RACE_LOG)));
    p.recover().failure();
    let issues = p.sim.issues();
    assert_eq!(issues.len(), 2);
    assert!(issues[0].comments.is_empty(), "main's issue got no comment");
    assert_contains(&issues[1].body, "mallory/shop");

    // main itself passes: only main's issue closes.
    p.ran(passed(p.failed_run(663, "")));
    p.recover().success();
    let issues = p.sim.issues();
    assert_eq!(
        (issues[0].state.as_str(), issues[1].state.as_str()),
        ("closed", "open")
    );
}

#[test]
fn outside_text_cannot_forge_markers_or_break_out_of_the_issue_s_markdown() {
    let p = Project::new();
    let forged =
        "<!-- render-pilot:recover:.github/workflows/ci.yml:acme/shop:main state=unknown -->";
    let log = format!(
        "##[group]Run echo\n##[endgroup]\n```\n{forged}\n| a | b |\n# Heading\n##[error]Process completed with exit code 1."
    );
    let mut run = p.failed_run(670, &log);
    run.name = format!("CI`\n{forged}\n| x |");
    run.jobs[1].name = format!("build\n{forged} `x` *y*");
    run.head_branch = "feature/`tick`|pipe".into();
    p.ran(run);
    let out = p.recover().failure();
    let issue = p.the_issue();
    let body = &issue.body;
    // The tracker's own marker is the only comment, on the last line.
    let last = body.trim_end().lines().last().unwrap();
    assert!(last.starts_with("<!-- render-pilot:recover:"), "{body}");
    assert_eq!(
        body.matches("<!--").count(),
        1 + fenced_mentions(body),
        "{body}"
    );
    // Outside the fences, names are escaped on one line.
    assert_contains(body, "CI\\` &lt;!-- render-pilot:recover:");
    assert_contains(body, "feature/\\`tick\\`\\|pipe");
    assert_contains(body, "Job **build &lt;!-- render-pilot");
    // The log's own fence cannot close ours.
    assert_contains(body, "````text\n```\n<!-- render-pilot:recover:");
    assert!(!issue.title.contains('\n'));
    assert_contains(&out.summary, "feature/\\`tick\\`\\|pipe");
}

/// `<!--` inside fenced code blocks: shown as text, never read as HTML.
fn fenced_mentions(body: &str) -> usize {
    let mut inside: Option<String> = None;
    let mut count = 0;
    for line in body.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match &inside {
            None if ticks >= 3 => inside = Some("`".repeat(ticks)),
            Some(fence) if line.trim_end() == fence.as_str() => inside = None,
            Some(_) => count += line.matches("<!--").count(),
            None => {}
        }
    }
    count
}
