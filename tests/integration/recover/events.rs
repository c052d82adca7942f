//! The `workflow_run` event payload recover starts from: GitHub's own
//! examples, the fields it may send null or empty, and payloads that are
//! missing or malformed.

use render_sim::Run;

use super::Project;
use crate::support::assert_contains;

const OFFICIAL_EXAMPLES: &str = include_str!("../../fixtures/github-workflow-run-examples.json");

#[test]
fn a_missing_or_malformed_event_is_bad_input() {
    let p = Project::new();
    std::fs::write(&p.event, "{not json").unwrap();
    p.recover()
        .says("GITHUB_EVENT_PATH: does not hold valid JSON")
        .status(2);
    p.recover()
        .env("GITHUB_EVENT_PATH", "")
        .says("run-id: is not set")
        .status(2);
    p.recover()
        .fixes("lockfile,magic")
        .says("'magic' is not a fix")
        .status(2);
}

#[test]
fn github_s_official_example_payloads_are_read() {
    let p = Project::new();
    let write_event =
        |event: &serde_json::Value| std::fs::write(&p.event, event.to_string()).unwrap();
    let recover = || p.recover().env("GITHUB_REPOSITORY", "octo-org/octo-repo");
    let examples: serde_json::Value = serde_json::from_str(OFFICIAL_EXAMPLES).unwrap();
    let examples = examples["examples"].as_array().unwrap();
    for example in examples {
        write_event(example);
        let out = recover().says("nothing to recover").success();
        assert!(!out.stdout.contains(" of  ended"), "{}", out.log());
    }

    // The same payload as a failure, with every field the schema lets be
    // null or empty: an empty name, no branch, no pull requests.
    let mut failed = examples[2].clone();
    let run = &mut failed["workflow_run"];
    run["conclusion"] = "failure".into();
    run["head_branch"] = serde_json::Value::Null;
    run["pull_requests"] = serde_json::Value::Null;
    assert_eq!(run["name"], "");
    let id = run["id"].as_u64().unwrap();
    let sha = run["head_sha"].as_str().unwrap().to_string();
    let api_run = |branch: &str| Run {
        head_branch: branch.into(),
        ..Run::failed(
            id,
            &sha,
            "2026-11-29T10:00:00Z ##[error]Process completed with exit code 1.",
        )
    };
    p.sim.add_run(api_run(""));
    write_event(&failed);
    // Neither the event nor GitHub's API names the branch: a failure
    // cannot be fixed or filed without one.
    recover()
        .says("branch: is not set and run 289782451 names no head branch")
        .status(2);
    assert!(p.sim.issues().is_empty());

    // A run that did not fail needs no branch: its conclusion is read first.
    for conclusion in ["success", "cancelled", "skipped"] {
        let mut done = failed.clone();
        done["workflow_run"]["conclusion"] = conclusion.into();
        write_event(&done);
        recover()
            .says(&format!("ended `{conclusion}`: nothing to recover"))
            .success();
    }
    write_event(&failed);

    let out = recover().input("branch", "master").failure();
    assert_eq!(
        p.the_issue().title,
        "render-pilot: test.yml failed on master"
    );
    assert_contains(&out.summary, "test.yml on master failed");

    // The event names no branch but GitHub's API does: its branch is used.
    p.sim.add_run(api_run("release"));
    recover().failure();
    assert!(
        p.sim
            .issues()
            .iter()
            .any(|i| i.title == "render-pilot: test.yml failed on release"),
        "{:?}",
        p.sim.issues()
    );
}
