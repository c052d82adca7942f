//! Someone else's code: a run from a fork, a pull request event, or a
//! payload that names no head repository. Recover only reads and reports on
//! it: no push, no re-run, no deploy of its head, not one write to Render.

use render_sim::Run;

use super::{from_fork, Project};
use crate::support::assert_contains;

/// Changes a `workflow_run` payload before it is written.
type Edit = fn(&mut serde_json::Value);

/// Every way a run can be someone else's code: a fork's head, a pull
/// request event from this repository, and a head repository the event
/// does not name.
fn untrusted_runs(p: &Project, id: u64, log: &str) -> Vec<(&'static str, Run, Edit)> {
    let event = |id: u64, event: &str| Run {
        event: event.into(),
        ..p.failed_run(id, log)
    };
    vec![
        ("fork", from_fork(p.failed_run(id, log)), |_| {}),
        ("pull_request", event(id + 1, "pull_request"), |_| {}),
        (
            "pull_request_target",
            event(id + 2, "pull_request_target"),
            |_| {},
        ),
        ("head_repository null", p.failed_run(id + 3, log), |run| {
            run["head_repository"] = serde_json::Value::Null
        }),
    ]
}

#[test]
fn a_fork_run_gets_no_push() {
    let p = Project::new();
    p.ran(from_fork(p.failed_run(513, &p.log)));
    let out = p.recover().failure();
    assert_eq!(p.remote.tip(), p.head);
    assert_contains(&out.summary, "only reads and reports");
}

#[test]
fn a_fork_run_never_deploys_its_head_through_the_hook() {
    let p = Project::new();
    let service = p.service("shop-web");
    let log = "Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\ncurl: (22) The requested URL returned error: 404";
    p.ran(Run {
        event: "pull_request".into(),
        ..p.failed_run(515, log)
    });
    p.recover()
        .hook(&service)
        .actions_contain("render-pilot does not deploy this run's head (a pull_request run")
        .failure();
    assert!(p.sim.deploys(&service).is_empty(), "nothing deployed");
}

#[test]
fn an_untrusted_run_only_reports_whatever_its_log_says() {
    let p = Project::new();
    let (service, old) = p.live_again();
    let log = format!(
        "{}deploy {old} is live but /healthz did not answer 2xx: healthy=false ({old})\n\
         ::error title=Deploy failed::deploy {old} ended update_failed\n\
         npm ERR! network ECONNRESET\n ! [rejected]        main -> main (fetch first)\n\
         Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\ncurl: (22) The requested URL returned error: 404\n",
        p.log
    );
    for (variant, run, edit) in untrusted_runs(&p, 601, &log) {
        p.ran_with_event(run, edit);
        let out = p
            .recover_on_render("lockfile,rerun,webhook,rollback,redeploy", &service)
            .hook(&service)
            .diagnosis("lockfile,deploy-unhealthy,deploy-failed,transient,push-race,deploy-hook")
            .fixed(false)
            .failure();
        assert_eq!(
            p.sim.deploys(&service).len(),
            2,
            "{variant}: no rollback, redeploy or hook deploy"
        );
        assert!(p.sim.reruns().is_empty(), "{variant}: no re-run");
        assert!(p.sim.dispatches().is_empty(), "{variant}: no dispatch");
        assert_eq!(p.remote.tip(), p.head, "{variant}: no push");
        assert_eq!(out.output("commit-sha"), "", "{variant}");
        assert!(
            out.summary.contains("only reads and reports"),
            "{variant}: {}",
            out.summary
        );
        let actions = out.output("actions");
        let refusals = actions
            .matches("render-pilot only reports on this run (")
            .count()
            + actions
                .matches("render-pilot does not deploy this run's head (")
                .count();
        assert_eq!(refusals, 6, "{variant}: {actions}");
    }
    let writes = p
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.contains("/services/"))
        .count();
    assert_eq!(writes, 0, "not one write reached Render");
}

#[test]
fn a_dry_run_of_an_untrusted_run_says_it_would_not_fix() {
    let p = Project::new();
    for (variant, run, edit) in untrusted_runs(&p, 611, &p.log) {
        p.ran_with_event(run, edit);
        let out = p
            .recover()
            .dry_run()
            .actions_start("not fixed: render-pilot only reports on this run (")
            .success();
        assert!(
            !out.output("actions").contains("would regenerate"),
            "{variant}"
        );
    }

    let p = Project::new();
    p.fails_on_the_lockfile(615);
    p.recover()
        .dry_run()
        .actions_start("dry run: would regenerate pnpm-lock.yaml")
        .success();
    assert_eq!(p.remote.tip(), p.head, "a dry run pushes nothing");
    assert!(p.sim.dispatches().is_empty() && p.sim.issues().is_empty());
}
