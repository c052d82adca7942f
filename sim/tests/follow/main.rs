//! What Render does by itself, driven the way the real thing is: git
//! pushes to a bare repository the simulator serves over smart HTTP, and
//! pull requests opened on the simulated GitHub. Answers are read over
//! real HTTP.

#[path = "../common/repo.rs"]
mod repo;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::sleep;
use std::time::Duration;

use render_sim::{AutoDeploy, Plan, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};
use serde_json::{json, Value};

use repo::{git, Repo};

/// One request to the simulator: (status, body as JSON or null).
fn call(sim: &Sim, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
    let address = sim.url.trim_start_matches("http://");
    let token = if target.starts_with("/v1/") {
        API_KEY
    } else {
        GITHUB_TOKEN
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(address).expect("connecting");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .expect("sending");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reading");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    (
        status.expect("a status"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn get(sim: &Sim, target: &str) -> Value {
    let (status, body) = call(sim, "GET", target, None);
    assert_eq!(status, 200, "GET {target}: {body}");
    body
}

/// A service that deploys `shop.git`'s main, on a plan that takes `took`.
fn follower(sim: &Sim, name: &str, auto_deploy: AutoDeploy, took: Duration) -> String {
    sim.add_service(ServiceSpec {
        repo: Some("shop.git".into()),
        auto_deploy,
        plan: Plan::live(took),
        ..ServiceSpec::web(name)
    })
}

/// A simulator whose Render deploys pushes at once, its repository, and a
/// service that follows main.
fn following(auto_deploy: AutoDeploy, took: Duration) -> (Sim, Repo, String) {
    let sim = Sim::start();
    sim.set_auto_deploy_delay(Duration::ZERO);
    let repo = Repo::new(&sim);
    let web = follower(&sim, "shop-web", auto_deploy, took);
    (sim, repo, web)
}

/// The service's deploys' (status, trigger), oldest first.
fn deploys(sim: &Sim, service: &str) -> Vec<(String, String)> {
    let all = sim.deploys(service).into_iter();
    all.map(|(_, status, trigger)| (status, trigger)).collect()
}

/// The commit id of each deploy of the service, newest first, as the API
/// lists them.
fn deployed_commits(sim: &Sim, service: &str) -> Vec<String> {
    let list = get(sim, &format!("/v1/services/{service}/deploys"));
    let items = list.as_array().expect("a list").iter();
    items
        .map(|i| {
            i["deploy"]["commit"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn a_push_to_main_deploys_its_tip_after_the_delay_without_being_asked() {
    let sim = Sim::start();
    let delay = Duration::from_millis(800);
    sim.set_auto_deploy_delay(delay);
    let repo = Repo::new(&sim);
    let web = follower(&sim, "shop-web", AutoDeploy::Commit, Duration::from_secs(1));
    let elsewhere = sim.add_service(ServiceSpec::web("shop-other"));

    let pushed_at = jiff::Timestamp::now();
    let sha = repo.push("src/app.js", "Add the cart\n\nWith a longer body.");
    assert!(deploys(&sim, &web).is_empty(), "not before the delay");
    // Nobody looks while Render starts the deploy; it still starts on time.
    sleep(delay + Duration::from_millis(400));
    assert_eq!(deploys(&sim, &web)[0].1, "new_commit");
    assert!(deploys(&sim, &elsewhere).is_empty());

    let list = get(&sim, &format!("/v1/services/{web}/deploys"));
    let deploy = &list[0]["deploy"];
    assert_eq!(deploy["commit"]["id"], json!(sha));
    assert_eq!(deploy["commit"]["message"], json!("Add the cart"));
    let committed: jiff::Timestamp = deploy["commit"]["createdAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let time = git(&repo.clone, &["log", "-1", "--format=%cI", &sha]);
    assert_eq!(committed, time.trim().parse().unwrap());
    let created: jiff::Timestamp = deploy["createdAt"].as_str().unwrap().parse().unwrap();
    let after_push = created.duration_since(pushed_at);
    assert!(
        after_push >= jiff::SignedDuration::try_from(delay).unwrap()
            && after_push < jiff::SignedDuration::from_millis(1100),
        "created {after_push:?} after the push"
    );
    sleep(Duration::from_millis(1200));
    assert_eq!(deploys(&sim, &web)[0].0, "live");
}

#[test]
fn each_skip_phrase_keeps_a_push_from_deploying() {
    let (sim, repo, web) = following(AutoDeploy::Commit, Duration::from_secs(1));
    for phrase in [
        "[skip render]",
        "[Render Skip]",
        "[SKIP DEPLOY]",
        "[deploy skip]",
        "[skip cd]",
        "[cd skip]",
    ] {
        repo.push(
            "a.txt",
            &format!("Fix a typo\n\nNot worth a deploy {phrase}"),
        );
        assert!(deploys(&sim, &web).is_empty(), "{phrase} skipped nothing");
    }
    let sha = repo.push("a.txt", "Fix a typo [skip ci]");
    assert_eq!(deployed_commits(&sim, &web), [sha]);
}

#[test]
fn a_root_directory_deploys_only_pushes_that_change_it() {
    let sim = Sim::start();
    sim.set_auto_deploy_delay(Duration::ZERO);
    let repo = Repo::new(&sim);
    let spec = |name: &str, root: &str| ServiceSpec {
        repo: Some("shop.git".into()),
        root_dir: root.into(),
        ..ServiceSpec::web(name)
    };
    let web = sim.add_service(spec("shop-web", "./web/"));
    let api = sim.add_service(spec("shop-api", "api"));

    let outside = repo.push("web/index.html", "Restyle the shop");
    repo.push("apiary/notes.md", "Notes on bees");
    assert!(deploys(&sim, &api).is_empty(), "nothing under api/ changed");
    let inside = repo.push("api/src/main.rs", "Faster checkout");
    assert_eq!(deployed_commits(&sim, &api), [inside]);
    assert_eq!(deployed_commits(&sim, &web), [outside]);
}

#[test]
fn auto_deploy_off_deploys_nothing() {
    let (sim, repo, web) = following(AutoDeploy::Off, Duration::from_secs(1));
    let service = get(&sim, &format!("/v1/services/{web}"));
    assert_eq!(service["autoDeploy"], "no");
    assert_eq!(service["autoDeployTrigger"], "off");
    let sha = repo.push("a.txt", "A change");
    sim.checks_passed(&sha);
    assert!(deploys(&sim, &web).is_empty());
}

#[test]
fn after_checks_pass_only_the_newest_push_deploys() {
    let (sim, repo, web) = following(AutoDeploy::ChecksPass, Duration::from_secs(1));
    let service = get(&sim, &format!("/v1/services/{web}"));
    assert_eq!(service["autoDeploy"], "yes");
    assert_eq!(service["autoDeployTrigger"], "checksPass");

    let first = repo.push("a.txt", "First");
    assert!(deploys(&sim, &web).is_empty(), "checks are still running");
    sim.checks_passed(&first);
    assert_eq!(deployed_commits(&sim, &web), [first.as_str()]);

    let second = repo.push("a.txt", "Second");
    let third = repo.push("a.txt", "Third");
    sim.checks_passed(&second);
    assert_eq!(
        deployed_commits(&sim, &web),
        [first.as_str()],
        "second is no longer the tip"
    );
    sim.checks_passed(&third);
    assert_eq!(deployed_commits(&sim, &web), [third, first]);
}

#[test]
fn a_newer_push_cancels_the_running_deploy() {
    let (sim, repo, web) = following(AutoDeploy::Commit, Duration::from_secs(30));
    let first = repo.push("a.txt", "First");
    assert_eq!(
        deploys(&sim, &web),
        [("created".into(), "new_commit".into())]
    );
    let second = repo.push("a.txt", "Second");
    let ids: Vec<String> = sim.deploys(&web).into_iter().map(|d| d.0).collect();
    assert_eq!(deployed_commits(&sim, &web), [second, first]);
    assert_eq!(
        sim.deploy_status(&web, &ids[0]).as_deref(),
        Some("canceled")
    );
    assert_eq!(sim.deploy_status(&web, &ids[1]).as_deref(), Some("created"));
}

#[test]
fn a_push_to_another_branch_deploys_nothing() {
    let (sim, repo, web) = following(AutoDeploy::Commit, Duration::from_secs(1));
    repo.push_to("feature", "a.txt", "Work in progress");
    assert!(deploys(&sim, &web).is_empty());
}

/// A parent with previews, a pull request whose head is a real commit on
/// its branch.
fn previewed(sim: &Sim, repo: &Repo) -> (String, String) {
    let web = sim.add_service(ServiceSpec {
        repo: Some("shop.git".into()),
        previews: true,
        plan: Plan::live(Duration::from_secs(30)),
        ..ServiceSpec::web("shop-web")
    });
    let head = repo.push_to("feature", "a.txt", "Try a new checkout");
    (web, head)
}

#[test]
fn a_preview_appears_late_with_a_deploy_of_the_head() {
    let sim = Sim::start();
    let delay = Duration::from_millis(800);
    sim.set_preview_delay(delay);
    sim.set_auto_deploy_delay(Duration::ZERO);
    let repo = Repo::new(&sim);
    let (web, head) = previewed(&sim, &repo);

    sim.open_pull_request(&web, 41, &head);
    assert_eq!(sim.preview_of(&web, 41), None, "not before the delay");
    let listed = get(&sim, "/v1/services");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    sleep(delay + Duration::from_millis(300));
    let preview = sim.preview_of(&web, 41).expect("a preview");
    assert_eq!(sim.preview_of(&web, 42), None);
    assert_eq!(sim.preview_of(&preview, 41), None);

    let service = get(&sim, &format!("/v1/services/{preview}"));
    let parent = get(&sim, &format!("/v1/services/{web}"));
    assert_eq!(service["name"], "shop-web PR #41");
    assert_eq!(service["type"], "web_service");
    let details = &service["serviceDetails"];
    assert_eq!(
        details["parentServer"],
        json!({"id": web, "name": "shop-web"})
    );
    assert_ne!(details["url"], parent["serviceDetails"]["url"]);
    assert_eq!(
        parent["serviceDetails"]["previews"]["generation"],
        "automatic"
    );
    assert_eq!(parent["serviceDetails"].get("parentServer"), None);

    let list = get(&sim, &format!("/v1/services/{preview}/deploys"));
    let deploy = &list[0]["deploy"];
    assert_eq!(deploy["trigger"], "new_commit");
    assert_eq!(deploy["commit"]["id"], json!(head));
    assert_eq!(deploy["commit"]["message"], "Try a new checkout");
    assert!(
        deploys(&sim, &web).is_empty(),
        "a pull request's branch is not main"
    );

    // A push to the pull request deploys anew and cancels the running one.
    let newer = repo.push_to("feature", "a.txt", "Fix the new checkout");
    sim.push_pull_request(41, &newer);
    assert_eq!(deployed_commits(&sim, &preview), [newer, head]);
    let statuses: Vec<String> = deploys(&sim, &preview).into_iter().map(|d| d.0).collect();
    assert_eq!(statuses, ["canceled", "created"]);
}

#[test]
fn no_preview_without_previews_yet_the_pull_request_takes_comments() {
    let sim = Sim::start();
    sim.set_preview_delay(Duration::ZERO);
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    sim.open_pull_request(&web, 7, "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(sim.preview_of(&web, 7), None);
    assert_eq!(get(&sim, "/v1/services").as_array().unwrap().len(), 1);

    let comments = "/repos/acme/shop/issues/7/comments";
    let (status, posted) = call(
        &sim,
        "POST",
        comments,
        Some(json!({"body": "Preview: none"})),
    );
    assert_eq!(status, 201);
    let id = posted["id"].as_u64().expect("a comment id");
    let edit = format!("/repos/acme/shop/issues/comments/{id}");
    let (status, edited) = call(&sim, "PATCH", &edit, Some(json!({"body": "Preview: live"})));
    assert_eq!((status, &edited["body"]), (200, &json!("Preview: live")));
    let listed = get(&sim, comments);
    assert_eq!(listed[0]["id"], json!(id));
    assert_eq!(listed[0]["body"], "Preview: live");
    assert_eq!(sim.comments(7), [(id, "Preview: live".to_string())]);
    assert!(sim.issues().is_empty(), "a pull request is no issue");

    let unknown = "/repos/acme/shop/issues/comments/1";
    let (status, _) = call(&sim, "PATCH", unknown, Some(json!({"body": "x"})));
    assert_eq!(status, 404);
    let (status, _) = call(&sim, "PATCH", &edit, Some(json!({"text": "x"})));
    assert_eq!(status, 422);
    // Issues and pull requests share numbers.
    let (_, issue) = call(
        &sim,
        "POST",
        "/repos/acme/shop/issues",
        Some(json!({"title": "t"})),
    );
    assert_eq!(issue["number"], 8);
}

#[test]
fn include_previews_false_leaves_previews_out() {
    let sim = Sim::start();
    sim.set_preview_delay(Duration::ZERO);
    sim.set_auto_deploy_delay(Duration::ZERO);
    let repo = Repo::new(&sim);
    let (web, head) = previewed(&sim, &repo);
    // A look-alike is no preview: it has no parent.
    let lookalike = sim.add_service(ServiceSpec::web("shop-web PR #41"));
    sim.open_pull_request(&web, 41, &head);
    let preview = sim.preview_of(&web, 41).expect("a preview");

    let ids = |target: &str| -> Vec<String> {
        let list = get(&sim, target);
        let items = list.as_array().expect("a list").iter();
        items
            .map(|i| i["service"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = [web.clone(), lookalike.clone(), preview];
    assert_eq!(ids("/v1/services"), all);
    assert_eq!(ids("/v1/services?includePreviews=true"), all);
    assert_eq!(ids("/v1/services?includePreviews=false"), [web, lookalike]);
    // No 400 is declared: what is not `false` keeps the default.
    assert_eq!(ids("/v1/services?includePreviews=maybe"), all);
}

#[test]
fn custom_domains_filter_by_verification_and_page() {
    let sim = Sim::start();
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    let bare = sim.add_service(ServiceSpec::web("shop-api"));
    sim.add_custom_domain(&web, "shop.example.com", false);
    sim.add_custom_domain(&web, "example.com", true);
    sim.add_custom_domain(&web, "www.example.com", true);

    let names = |target: &str| -> Vec<String> {
        let list = get(&sim, &format!("/v1/services/{web}/custom-domains{target}"));
        let items = list.as_array().expect("a list").iter();
        items
            .map(|i| i["customDomain"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(""),
        ["shop.example.com", "example.com", "www.example.com"]
    );
    let verified = names("?verificationStatus=verified");
    assert_eq!(verified, ["example.com", "www.example.com"]);
    assert_eq!(
        names("?verificationStatus=unverified"),
        ["shop.example.com"]
    );
    let first = get(&sim, &format!("/v1/services/{web}/custom-domains?limit=1"));
    assert_eq!(first[0]["customDomain"]["domainType"], "subdomain");
    let cursor = first[0]["cursor"].as_str().unwrap();
    let next = names(&format!("?limit=1&cursor={cursor}"));
    assert_eq!(next, ["example.com"]);

    assert_eq!(
        get(&sim, &format!("/v1/services/{bare}/custom-domains")),
        json!([])
    );
    let bad = format!("/v1/services/{web}/custom-domains?verificationStatus=pending");
    assert_eq!(call(&sim, "GET", &bad, None).0, 400);
    let unknown = "/v1/services/srv-d000000000000000000/custom-domains";
    assert_eq!(call(&sim, "GET", unknown, None).0, 404);
}

#[test]
fn github_deployments_keep_their_statuses() {
    let sim = Sim::start();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let body = json!({"ref": sha, "environment": "pr-41", "transient_environment": true, "auto_merge": false, "required_contexts": []});
    let (status, created) = call(&sim, "POST", "/repos/acme/shop/deployments", Some(body));
    assert_eq!(status, 201);
    assert_eq!(created["sha"], sha);
    assert_eq!(created["production_environment"], false);
    let statuses = format!("/repos/acme/shop/deployments/{}/statuses", created["id"]);
    let running = json!({"state": "in_progress", "log_url": "https://dashboard.render.com/web/srv-x/deploys/dep-y"});
    assert_eq!(call(&sim, "POST", &statuses, Some(running)).0, 201);
    let done = json!({"state": "success", "environment_url": "https://shop-web-pr-41.onrender.com", "log_url": "https://dashboard.render.com/web/srv-x/deploys/dep-y"});
    let (status, answer) = call(&sim, "POST", &statuses, Some(done));
    assert_eq!((status, &answer["environment"]), (201, &json!("pr-41")));
    let listed = get(&sim, &statuses);
    let states: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["state"])
        .collect();
    assert_eq!(states, ["success", "in_progress"], "newest first");

    let deployments = sim.deployments();
    assert_eq!(deployments.len(), 1);
    let deployment = &deployments[0];
    assert_eq!(deployment.git_ref, sha);
    assert_eq!(deployment.environment, "pr-41");
    assert!(deployment.transient_environment && !deployment.production_environment);
    let last = deployment.statuses.last().unwrap();
    assert_eq!(last.state, "success");
    assert_eq!(last.environment_url, "https://shop-web-pr-41.onrender.com");
    assert!(last.log_url.ends_with("/deploys/dep-y"));

    let production = json!({"ref": "main"});
    let (_, main) = call(
        &sim,
        "POST",
        "/repos/acme/shop/deployments",
        Some(production),
    );
    assert_eq!(
        (&main["environment"], &main["production_environment"]),
        (&json!("production"), &json!(true))
    );
    for (target, body, expected) in [
        (
            "/repos/acme/shop/deployments",
            json!({"environment": "x"}),
            422,
        ),
        (
            "/repos/acme/shop/deployments",
            json!({"ref": "main", "transient_environment": "yes"}),
            422,
        ),
        (statuses.as_str(), json!({"state": "exploded"}), 422),
        (
            statuses.as_str(),
            json!({"state": "success", "description": "x".repeat(141)}),
            422,
        ),
        (
            "/repos/acme/shop/deployments/9/statuses",
            json!({"state": "success"}),
            404,
        ),
    ] {
        assert_eq!(
            call(&sim, "POST", target, Some(body)).0,
            expected,
            "{target}"
        );
    }
    assert_eq!(
        call(&sim, "GET", "/repos/acme/shop/deployments/9/statuses", None).0,
        404
    );
}
