//! The fixes on Render: a deploy hook called wrong, a rollback of an
//! unhealthy or failed deploy, a redeploy with a cleared build cache. Each
//! acts on Render's own deploy list, never on an id a log names, and deploys
//! the failed run's head only when it is the branch's tip and what is live
//! is older.

use render_sim::ServiceSpec;

use super::{short, Project, Recover};
use crate::repo::{commit_change, git, push_change};
use crate::support::assert_contains;

/// The deploy step's `curl` to the hook failed.
const HOOK_LOG: &str = "2026-11-29T10:00:00Z Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\n2026-11-29T10:00:00Z curl: (22) The requested URL returned error: 502\n2026-11-29T10:00:00Z ##[error]Process completed with exit code 22.";

/// `curl` could not even parse the hook's URL.
const MALFORMED_HOOK_LOG: &str = "2026-11-29T10:00:00Z Run curl -fsS -X POST \"$RENDER_DEPLOY_HOOK\"\n2026-11-29T10:00:00Z curl: (3) URL using bad/illegal format or missing URL\n2026-11-29T10:00:00Z ##[error]Process completed with exit code 3.";

/// A project whose deploy step failed to call the hook, its service and
/// the service's live deploy of an hour ago.
fn failed_hook_call(run_id: u64) -> (Project, String, String) {
    let p = Project::new();
    let service = p.service("shop-web");
    let live = p.deployed(&service, "live", 3600);
    p.fails(run_id, HOOK_LOG);
    (p, service, live)
}

/// Recover with the hook and the API key of `service`, the webhook fix on.
fn webhook<'p>(p: &'p Project, service: &str) -> Recover<'p> {
    p.recover_on_render("webhook,redeploy", service)
        .hook(service)
}

/// The webhook fix's actions start with `refusal`, in a dry run (which
/// says what the real run would refuse, and succeeds) and in a real run
/// (which fails).
fn refused_with_or_without_dry_run(p: &Project, service: &str, refusal: &str) {
    for (dry_run, code) in [("true", 0), ("false", 1)] {
        webhook(p, service)
            .input("dry-run", dry_run)
            .actions_start(refusal)
            .status(code);
    }
}

/// The rollback fix on `service` rolls back from deploy `from` to `to`.
fn rolls_back(p: &Project, service: &str, from: &str, to: &str) {
    p.recover_on_render("rollback", service)
        .rolled_back(from, to)
        .success();
}

#[test]
fn a_hook_with_a_trailing_newline_is_named_and_the_deploy_triggered() {
    let p = Project::new();
    let service = p.service("shop-web");
    let hook = format!("{}\n", p.sim.hook_url(&service));
    p.fails(508, MALFORMED_HOOK_LOG);
    p.recover()
        .input("deploy-hook-url", &hook)
        .diagnosis("deploy-hook")
        .actions_contain("has a trailing newline")
        .success();
    let deploys = p.sim.deploys(&service);
    assert_eq!(deploys.len(), 1, "deployed through the hook");
    assert_eq!(deploys[0].2, "deploy_hook");

    let out = p
        .recover()
        .input(
            "deploy-hook-url",
            "https://api.render.com/deploy/srv-abc?key=Bad Key",
        )
        .actions_contain("a space inside the key")
        .failure();
    p.assert_no_leak(&out, &["Bad Key"]);
}

#[test]
fn a_live_but_unhealthy_deploy_is_rolled_back_and_a_build_failure_is_not() {
    let p = Project::new();
    let service = p.service("shop-web");
    let good = p.deployed(&service, "live", 3600);
    let deploy = p.unhealthy_deploy(&service);
    let bad = deploy.output("deploy-id");
    p.fails(
        509,
        &format!(
            "{}##[error]Process completed with exit code 1.",
            deploy.stdout
        ),
    );
    p.recover_on_render("rollback", &service)
        .diagnosis("deploy-unhealthy")
        .rolled_back(bad, &good)
        .success();
    let deploys = p.sim.deploys(&service);
    let last = deploys.last().unwrap();
    assert_eq!((last.1.as_str(), last.2.as_str()), ("live", "rollback"));

    let (failed, _, _) = p.failed_deploy(510, "build_failed", ServiceSpec::web("shop-api"));
    let out = p.recover_on_render("rollback", &failed).failure();
    assert_contains(&out.summary, "Render keeps the previous deploy serving");
    assert_eq!(p.sim.deploys(&failed).len(), 2, "no rollback");
}

#[test]
fn an_unhealthy_newest_deploy_is_rolled_back_whatever_id_the_log_names() {
    let p = Project::new();
    let service = p.service("shop-web");
    let oldest = p.deployed(&service, "live", 7200);
    let good = p.deployed(&service, "live", 3600);
    let bad = p.unhealthy_deploy(&service).output("deploy-id").to_string();
    p.fails(
        630,
        &format!("deploy {oldest} is live but unhealthy: healthy=false ({oldest})"),
    );
    rolls_back(&p, &service, &bad, &good);
}

#[test]
fn an_update_failure_on_a_service_with_a_disk_is_rolled_back() {
    let p = Project::new();
    let spec = ServiceSpec {
        disk: true,
        ..ServiceSpec::web("shop-db-admin")
    };
    let (service, good, broken) = p.failed_deploy(518, "update_failed", spec);
    rolls_back(&p, &service, &broken, &good);
}

#[test]
fn redeploy_clears_the_build_cache() {
    let p = Project::new();
    let (service, _, _) = p.failed_deploy(516, "build_failed", ServiceSpec::web("shop-api"));
    p.recover_on_render("redeploy", &service)
        .actions_contain("with a cleared build cache")
        .success();
    let trigger = p.request(|r| r.method == "POST" && r.path.ends_with("/deploys"));
    assert_contains(&trigger.body, r#""clearCache":"clear""#);
}

#[test]
fn redeploy_pins_the_checked_head() {
    let p = Project::new();
    let (service, _, broken) = p.failed_deploy(727, "build_failed", ServiceSpec::web("shop-api"));
    let head = short(&p.head);
    p.recover_on_render("redeploy", &service)
        .actions_start(&format!("deploy {broken} build_failed; started dep-"))
        .actions_contain(&format!("of {head} with a cleared build cache (checked: {head} is the tip of main; the live deploy"))
        .success();
    let trigger = p.request(|r| r.method == "POST" && r.path.ends_with("/deploys"));
    assert_contains(&trigger.body, &format!(r#""commitId":"{}""#, p.head));
}

#[test]
fn rollback_and_redeploy_act_on_render_s_deploy_list_never_on_a_logged_id() {
    let p = Project::new();
    // The newest deploy is live and healthy; the log blames an old one.
    let (service, old) = p.live_again();
    p.fails(
        620,
        &format!("deploy {old} is live but unhealthy: healthy=false ({old})"),
    );
    p.recover_on_render("rollback,redeploy", &service)
        .actions_contain("not rolling back a healthy service")
        .failure();
    assert_eq!(p.sim.deploys(&service).len(), 2, "no rollback");

    // A later deploy made the service live again: nothing to fix, and the
    // recovery issue the first run filed is closed.
    p.fails(
        621,
        &format!("::error title=Deploy failed::deploy {old} ended update_failed"),
    );
    assert_eq!(p.open_issues(), 1);
    p.recover_on_render("rollback,redeploy", &service)
        .actions_start("nothing to fix: Render's newest deploy")
        .actions_end("is live again")
        .fixed(true)
        .success();
    assert_eq!(p.sim.deploys(&service).len(), 2, "no redeploy");
    assert_eq!(p.open_issues(), 0, "the issue is closed");

    // The newest deploy failed to build: the log's id is ignored, Render's
    // own failed deploy is redeployed.
    let broken = p.deployed(&service, "build_failed", 30);
    p.fails(
        622,
        "::error title=Deploy failed::deploy dep-notoursatall ended build_failed",
    );
    p.recover_on_render("redeploy", &service)
        .actions_contain(&format!("deploy {broken} build_failed; started"))
        .success();
}

#[test]
fn a_fix_deploys_the_branch_tip_only_when_what_is_live_is_older() {
    // The live deploy runs the head's parent: an ancestor, so the head goes.
    let (p, service, live) = failed_hook_call(720);
    let parent = p.head_parent();
    p.sim.set_deploy_commit(&service, &live, &parent);
    let checked = format!(
        "checked: {} is the tip of main; the live deploy {live} runs {}, an ancestor of the head",
        short(&p.head),
        short(&parent)
    );
    webhook(&p, &service)
        .dry_run()
        .actions_contain(&checked)
        .success();
    assert_eq!(p.new_deploys(&service), 0, "a dry run deploys nothing");
    webhook(&p, &service).actions_contain(&checked).success();
    let hook = p.request(|r| r.path.starts_with("/deploy/"));
    assert_contains(&hook.query, &format!("ref={}", p.head));

    // Without an API key what is live cannot be read: the fix says so.
    let (p, service, _) = failed_hook_call(721);
    p.recover()
        .fixes("webhook")
        .hook(&service)
        .actions_contain("what Render serves was not checked (no render-api-key)")
        .success();
    assert_eq!(p.new_deploys(&service), 1);
}

#[test]
fn a_fix_never_deploys_a_head_the_branch_has_moved_past() {
    let (p, service, _) = failed_hook_call(722);
    push_change(&p.clone, "NEWS.md", "newer\n", "a newer commit");
    let refusal = format!(
        "not fixed: main moved on to {} after the failed run's head {}",
        short(&p.remote.tip()),
        short(&p.head)
    );
    refused_with_or_without_dry_run(&p, &service, &refusal);
    assert_eq!(p.new_deploys(&service), 0, "nothing deployed");
    // The same for a redeploy after a failed build of the old head.
    p.deployed(&service, "build_failed", 30);
    p.fails(
        723,
        "::error title=Deploy failed::deploy dep-x ended build_failed",
    );
    p.recover_on_render("redeploy", &service)
        .actions_start(&refusal)
        .failure();
    assert_eq!(p.new_deploys(&service), 0, "nothing redeployed");
}

#[test]
fn a_fix_never_deploys_over_a_newer_or_unrelated_live_commit() {
    // Live runs a commit the checkout lacks, committed after the head (a
    // deploy of another branch, say).
    let (p, service, _) = failed_hook_call(724);
    let newer = p.deployed(&service, "live", 0);
    p.sim.set_deploy_commit(&service, &newer, &"f".repeat(40));
    webhook(&p, &service)
        .actions_contain("runs fffffff, not in the checkout and not committed before the head")
        .failure();
    assert_eq!(p.new_deploys(&service), 0);

    // Live runs a commit of the checkout that the head does not descend
    // from: a side branch.
    let (p, service, live) = failed_hook_call(725);
    git(&p.clone, &["checkout", "-q", "-b", "side", "HEAD~1"]);
    commit_change(&p.clone, "side.txt", "side\n", "side");
    let side = git(&p.clone, &["rev-parse", "HEAD"]).trim().to_string();
    p.sim.set_deploy_commit(&service, &live, &side);
    let refusal = format!(
        "not fixed: the live deploy {live} runs {}, not an ancestor of the head {}",
        short(&side),
        short(&p.head)
    );
    refused_with_or_without_dry_run(&p, &service, &refusal);
    assert_eq!(p.new_deploys(&service), 0);
    assert_eq!(
        p.sim.issues().len(),
        1,
        "one issue for the refused fix, updated, never two"
    );
}

#[test]
fn a_head_that_is_already_live_needs_no_deploy_and_closes_the_issue() {
    let (p, service, live) = failed_hook_call(726);
    // A first attempt fails (no API key, hook refused): an issue is filed.
    let refused_hook = format!("{}/deploy/{service}?key=wrongkey123", p.sim.url);
    p.recover()
        .fixes("webhook")
        .input("deploy-hook-url", &refused_hook)
        .failure();
    assert_eq!(p.open_issues(), 1);
    // Render deployed the head by itself since: nothing to deploy.
    p.sim.set_deploy_commit(&service, &live, &p.head);
    let head = short(&p.head);
    webhook(&p, &service)
        .actions(&format!(
            "nothing to deploy: {head} is already live ({live})"
        ))
        .success();
    assert_eq!(p.new_deploys(&service), 0);
    assert_eq!(p.open_issues(), 0, "nothing is left to fix: closed");
}
