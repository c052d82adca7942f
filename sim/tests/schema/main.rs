//! Every kind of JSON answer the simulator serves, fetched over real HTTP and
//! validated against the published API descriptions in `shared/specs`:
//! Render's OpenAPI 3.0.2 subset and GitHub's OpenAPI 3.0.3 subset (see
//! `contract.rs` for how OpenAPI maps to JSON Schema). The schema of an
//! answer is the one its path, method and status declare; a status the
//! operation does not declare is a failure too.

mod contract;
#[path = "../common/repo.rs"]
mod repo;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use render_sim::{AutoDeploy, Outcome, Plan, RateLimit, Run, ServiceSpec, Sim, API_KEY};
use serde_json::{json, Value};

use contract::{details_schema, event_details_schema, Contract};

/// An HTTP answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// One request on its own connection; the simulator closes each one.
fn send(sim: &Sim, method: &str, target: &str, auth: &str, body: Option<&Value>) -> Answer {
    let address = sim.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connecting to the simulator");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("setting a read timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {auth}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sending");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    Answer {
        status,
        body: raw[split + 4..].to_vec(),
    }
}

/// Drives the simulator and validates each answer, counting what it
/// validated per kind (`render GET /services/{serviceId} 200`) and keeping
/// every failure to report them all at once.
struct Checker {
    sim: Sim,
    render: Contract,
    github: Contract,
    seen: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Checker {
    fn render(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, template, value) = self.call(true, method, path, body);
        if status == 200 && method == "GET" {
            let services: Vec<&Value> = match template.as_str() {
                "/services" => value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| &i["service"])
                    .collect(),
                "/services/{serviceId}" => vec![&value],
                _ => Vec::new(),
            };
            for service in services {
                self.check_details(service, path);
            }
        }
        if status == 200 && template == "/services/{serviceId}/events" {
            for item in value.as_array().into_iter().flatten() {
                self.check_event_details(&item["event"], path);
            }
        }
        value
    }

    /// An event's `details` against the schema of its type: `oneOf`
    /// became `anyOf` (see `contract.rs`), so this is what keeps a
    /// `build_ended` from passing with a `deploy_started`'s fields.
    fn check_event_details(&mut self, event: &Value, path: &str) {
        let kind = event["type"].as_str().unwrap_or_default();
        let Some(schema) = event_details_schema(&self.render, kind) else {
            self.failures
                .push(format!("GET {path}: no details schema for a {kind} event"));
            return;
        };
        let errors = self.render.errors(&schema, &event["details"]);
        let what = format!("GET {path}: details of a {kind} event, against {schema}");
        self.tally(format!("render event details {kind}"), what, errors);
    }

    /// Counts a valid part under `kind`, or keeps why it is not.
    fn tally(&mut self, kind: String, what: String, errors: Vec<String>) {
        if errors.is_empty() {
            *self.seen.entry(kind).or_default() += 1;
        } else {
            self.failures
                .push(format!("{what}:\n{}", errors.join("\n")));
        }
    }

    fn github(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(false, method, path, body).2
    }

    /// Sends one request and validates the answer against the schema its
    /// path, method and status declare: (status, path template, body as
    /// JSON or null).
    fn call(
        &mut self,
        render: bool,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String, Value) {
        let contract = if render {
            &mut self.render
        } else {
            &mut self.github
        };
        let target = format!("{}{path}", contract.prefix);
        let answer = send(
            &self.sim,
            method,
            &target,
            &contract.authorization,
            body.as_ref(),
        );
        let status = answer.status;
        let what = format!("{method} {target} answered {status}");
        let bare = path.split('?').next().unwrap_or_default();
        let Some(template) = contract.template(bare) else {
            self.failures.push(format!(
                "{what}: no such path in the {} spec",
                contract.name
            ));
            return (status, String::new(), Value::Null);
        };
        let kind = format!("{} {method} {template} {status}", contract.name);
        let (value, errors) = match contract.response_schema(&template, method, status) {
            Ok(Some(pointer)) => match serde_json::from_slice::<Value>(&answer.body) {
                Ok(value) => {
                    let errors = contract.errors(&pointer, &value);
                    let errors = (!errors.is_empty())
                        .then(|| format!(", against {pointer}:\n{}", errors.join("\n")));
                    (value, errors)
                }
                Err(e) => (Value::Null, Some(format!(": not JSON ({e})"))),
            },
            Ok(None) => {
                let errors = (!answer.body.is_empty())
                    .then(|| ": the spec declares no body, yet one came".to_string());
                (Value::Null, errors)
            }
            Err(e) => (Value::Null, Some(format!(": {e}"))),
        };
        match errors {
            None => *self.seen.entry(kind).or_default() += 1,
            Some(errors) => self.failures.push(format!("{what}{errors}")),
        }
        (status, template, value)
    }

    /// Subscribes to logs over a WebSocket and validates each message
    /// against the schema the 101 answer declares, until `at_most`
    /// messages came or none came for a while.
    fn subscribe(&mut self, query: &str, at_most: usize) -> Vec<Value> {
        use tungstenite::client::IntoClientRequest;
        let address = self.sim.url.trim_start_matches("http://").to_string();
        let url = format!("ws://{address}/v1/logs/subscribe?{query}");
        let mut request = url.as_str().into_client_request().expect("a request");
        let auth = self.render.authorization.parse().expect("a header value");
        request.headers_mut().insert("authorization", auth);
        let stream = TcpStream::connect(&address).expect("connecting to the simulator");
        stream
            .set_read_timeout(Some(Duration::from_millis(400)))
            .expect("setting a read timeout");
        let (mut socket, _) = tungstenite::client(request, stream).expect("a WebSocket");
        let pointer = self
            .render
            .response_schema("/logs/subscribe", "GET", 101)
            .expect("the 101 answer is declared")
            .expect("with a body");
        let mut messages = Vec::new();
        while messages.len() < at_most {
            let Ok(tungstenite::Message::Text(text)) = socket.read() else {
                break;
            };
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let errors = self.render.errors(&pointer, &value);
            let what = format!("a message of GET /v1/logs/subscribe?{query}, against {pointer}");
            self.tally(
                "render GET /logs/subscribe 101 message".into(),
                what,
                errors,
            );
            messages.push(value);
        }
        messages
    }

    /// `serviceDetails` against the details schema of the service's type.
    fn check_details(&mut self, service: &Value, path: &str) {
        let kind = service["type"].as_str().unwrap_or_default();
        let schema = details_schema(kind);
        let errors = self.render.errors(
            &format!("/components/schemas/{schema}"),
            &service["serviceDetails"],
        );
        let what = format!("GET {path}: serviceDetails of a {kind}, against {schema}");
        self.tally(format!("render serviceDetails {schema}"), what, errors);
    }
}

/// A fleet with every service type and deploys in every phase.
struct Fleet {
    web: String,
    private: String,
    worker: String,
    cron: String,
    site: String,
    image: String,
    queued: String,
    slow: String,
}

fn fleet(sim: &Sim) -> Fleet {
    let kind = |name: &str, kind: &str| ServiceSpec {
        kind: kind.into(),
        ..ServiceSpec::web(name)
    };
    let web = sim.add_service(ServiceSpec {
        disk: true,
        ..ServiceSpec::web("shop-web")
    });
    let private = sim.add_service(kind("shop-internal", "private_service"));
    let worker = sim.add_service(ServiceSpec {
        disk: true,
        ..kind("shop-worker", "background_worker")
    });
    let cron = sim.add_service(kind("shop-nightly", "cron_job"));
    let site = sim.add_service(ServiceSpec {
        suspended: true,
        ..kind("shop-docs", "static_site")
    });
    let image = sim.add_service(ServiceSpec {
        image: true,
        ..ServiceSpec::web("shop-proxy")
    });
    let queued = sim.add_service(ServiceSpec {
        plan: Plan {
            queued: true,
            ..Plan::live(Duration::from_secs(60))
        },
        ..ServiceSpec::web("shop-queue")
    });
    let slow = sim.add_service(ServiceSpec {
        plan: Plan::ending(Outcome::Live, Duration::from_secs(600)),
        ..ServiceSpec::web("shop-slow")
    });
    let minutes = |m: u64| Duration::from_secs(m * 60);
    for service in [&web, &private, &worker, &cron, &site, &image] {
        sim.add_history(service, "live", minutes(300));
        sim.add_history(service, "live", minutes(90));
    }
    sim.add_history(&web, "build_failed", minutes(20));
    sim.add_history(&private, "update_failed", minutes(10));
    sim.add_history(&image, "pre_deploy_failed", minutes(5));
    Fleet {
        web,
        private,
        worker,
        cron,
        site,
        image,
        queued,
        slow,
    }
}

/// Each kind of answer and how many of it the run below must validate.
const EXPECTED: &[(&str, usize)] = &[
    ("render GET /services 200", 4),
    ("render GET /services 401", 1),
    ("render GET /services 429", 1),
    ("render GET /services/{serviceId} 200", 10),
    ("render GET /services/{serviceId} 404", 1),
    ("render GET /services/{serviceId}/deploys 200", 9),
    ("render GET /services/{serviceId}/deploys 404", 1),
    ("render GET /services/{serviceId}/deploys/{deployId} 200", 4),
    ("render GET /services/{serviceId}/events 200", 10),
    ("render GET /services/{serviceId}/events 400", 2),
    ("render GET /services/{serviceId}/events 404", 1),
    ("render event details build_started", 8),
    ("render event details build_ended", 8),
    ("render event details deploy_started", 8),
    ("render event details deploy_ended", 8),
    ("render event details pre_deploy_started", 1),
    ("render event details pre_deploy_ended", 1),
    ("render GET /services/{serviceId}/deploys/{deployId} 404", 1),
    ("render POST /services/{serviceId}/deploys 201", 3),
    ("render POST /services/{serviceId}/deploys 202", 1),
    ("render POST /services/{serviceId}/deploys 400", 3),
    ("render POST /services/{serviceId}/deploys 404", 1),
    (
        "render POST /services/{serviceId}/deploys/{deployId}/cancel 200",
        1,
    ),
    (
        "render POST /services/{serviceId}/deploys/{deployId}/cancel 400",
        1,
    ),
    (
        "render POST /services/{serviceId}/deploys/{deployId}/cancel 404",
        1,
    ),
    ("render POST /services/{serviceId}/rollback 201", 2),
    ("render POST /services/{serviceId}/rollback 400", 2),
    ("render POST /services/{serviceId}/rollback 404", 1),
    ("render GET /logs 200", 5),
    ("render GET /logs 400", 3),
    ("render GET /logs 401", 1),
    ("render GET /logs 403", 1),
    ("render GET /logs 404", 1),
    ("render GET /logs/subscribe 101 message", 30),
    ("render GET /logs/subscribe 400", 1),
    ("render serviceDetails webServiceDetails", 6),
    ("render serviceDetails privateServiceDetails", 2),
    ("render serviceDetails backgroundWorkerDetails", 2),
    ("render serviceDetails cronJobDetails", 2),
    ("render serviceDetails staticSiteDetails", 2),
    ("github GET /issues 200", 3),
    ("github POST /issues 201", 3),
    ("github POST /issues 422", 1),
    ("github GET /issues/{issue_number} 200", 2),
    ("github GET /issues/{issue_number} 404", 1),
    ("github PATCH /issues/{issue_number} 200", 3),
    ("github PATCH /issues/{issue_number} 404", 1),
    ("github POST /issues/{issue_number}/comments 201", 2),
    ("github POST /issues/{issue_number}/comments 404", 1),
    ("github GET /actions/runs/{run_id} 200", 3),
    (
        "github GET /actions/runs/{run_id}/attempts/{attempt_number}/jobs 200",
        3,
    ),
    (
        "github GET /actions/runs/{run_id}/attempts/{attempt_number}/jobs 404",
        1,
    ),
    ("github GET /actions/jobs/{job_id}/logs 302", 1),
    (
        "github POST /actions/runs/{run_id}/rerun-failed-jobs 201",
        1,
    ),
    (
        "github POST /actions/workflows/{workflow_id}/dispatches 204",
        1,
    ),
    ("render GET /services/{serviceId}/custom-domains 200", 3),
    ("render GET /services/{serviceId}/custom-domains 400", 1),
    ("render GET /services/{serviceId}/custom-domains 404", 1),
    ("github POST /deployments 201", 2),
    ("github POST /deployments 422", 2),
    ("github POST /deployments/{deployment_id}/statuses 201", 3),
    ("github POST /deployments/{deployment_id}/statuses 422", 1),
    ("github GET /deployments/{deployment_id}/statuses 200", 1),
    ("github GET /deployments/{deployment_id}/statuses 404", 1),
    ("github GET /issues/{issue_number}/comments 200", 2),
    ("github PATCH /issues/comments/{comment_id} 200", 1),
    ("github PATCH /issues/comments/{comment_id} 422", 1),
];

const NO_SERVICE: &str = "srv-d000000000000000000";
const NO_DEPLOY: &str = "dep-d000000000000000000";

#[test]
fn every_answer_matches_the_published_schemas() {
    let sim = Sim::start();
    let f = fleet(&sim);
    let mut c = Checker {
        sim: sim.clone(),
        render: Contract::render(),
        github: Contract::github(),
        seen: BTreeMap::new(),
        failures: Vec::new(),
    };
    let id = |value: &Value| value["id"].as_str().unwrap_or_default().to_string();
    let all = [&f.web, &f.private, &f.worker, &f.cron, &f.site, &f.image];

    // Services: all, one page, each type, an unknown one.
    c.render("GET", "/services?limit=100", None);
    c.render("GET", "/services?limit=3", None);
    for service in all {
        c.render("GET", &format!("/services/{service}"), None);
    }
    c.render("GET", &format!("/services/{NO_SERVICE}"), None);

    // Triggers: running (git and image), a chosen commit, queued, refused.
    let empty = || Some(json!({}));
    let running = id(&c.render("POST", &format!("/services/{}/deploys", f.slow), empty()));
    let image = json!({"imageUrl": "docker.io/acme/shop-proxy:v9"});
    let image = id(&c.render(
        "POST",
        &format!("/services/{}/deploys", f.image),
        Some(image),
    ));
    let web = format!("/services/{}/deploys", f.web);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    c.render(
        "POST",
        &web,
        Some(json!({"clearCache": "clear", "commitId": commit})),
    );
    c.render("POST", &format!("/services/{}/deploys", f.queued), empty());
    c.render("POST", &format!("/services/{}/deploys", f.site), empty());
    c.render("POST", &web, Some(json!({"clearCache": "sometimes"})));
    c.render(
        "POST",
        &web,
        Some(json!({"imageUrl": "docker.io/acme/web:1"})),
    );
    c.render("POST", &format!("/services/{NO_SERVICE}/deploys"), empty());

    // Deploy lists of every service, filtered and paged, and single deploys.
    for service in all.into_iter().chain([&f.slow]) {
        c.render("GET", &format!("/services/{service}/deploys"), None);
    }
    c.render(
        "GET",
        &format!("{web}?status=live,deactivated&limit=1"),
        None,
    );
    c.render("GET", &format!("/services/{NO_SERVICE}/deploys"), None);
    c.render(
        "GET",
        &format!("/services/{}/deploys/{running}", f.slow),
        None,
    );
    c.render(
        "GET",
        &format!("/services/{}/deploys/{image}", f.image),
        None,
    );
    let listed = c.render("GET", &web, None);
    for item in listed.as_array().into_iter().flatten().take(2) {
        c.render("GET", &format!("{web}/{}", id(&item["deploy"])), None);
    }
    c.render("GET", &format!("{web}/{NO_DEPLOY}"), None);

    // Events of every service over the last day (every history deploy's
    // build and deploy, failures named; a deploy through its pre-deploy to
    // live), of the running deploy, one type,
    // a page after a cursor, a bad time, a bad limit, an unknown service.
    sim.set_plan(&f.private, Plan::live(Duration::from_millis(300)));
    c.render("POST", &format!("/services/{}/deploys", f.private), empty());
    std::thread::sleep(Duration::from_millis(500));
    let day_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    let since = format!("startTime={}", day_ago.round(jiff::Unit::Second).unwrap());
    for service in all.into_iter().chain([&f.slow, &f.queued]) {
        c.render("GET", &format!("/services/{service}/events?{since}"), None);
    }
    let events = format!("/services/{}/events", f.web);
    c.render("GET", &format!("{events}?{since}&type=deploy_ended"), None);
    let first = c.render("GET", &format!("{events}?{since}&limit=2"), None);
    let cursor = first[1]["cursor"].as_str().unwrap_or_default().to_string();
    c.render(
        "GET",
        &format!("{events}?{since}&limit=2&cursor={cursor}"),
        None,
    );
    c.render("GET", &format!("{events}?startTime=yesterday"), None);
    c.render("GET", &format!("{events}?limit=500"), None);
    c.render("GET", &format!("/services/{NO_SERVICE}/events"), None);

    // Logs: the build logs of a failed and a live deploy, paged both ways
    // in time windows, of one type; refused filters, a wrong owner, an
    // unknown service, a wrong key; streamed over a WebSocket, and a
    // subscription without one.
    let logs = |service: &str| format!("/logs?ownerId=tea-simulator&resource={service}&{since}");
    let page = c.render("GET", &format!("{}&type=build&limit=5", logs(&f.web)), None);
    let window = |page: &Value| {
        let at = |name: &str| page[name].as_str().unwrap_or_default().replace('+', "%2B");
        format!(
            "startTime={}&endTime={}",
            at("nextStartTime"),
            at("nextEndTime")
        )
    };
    let rest = format!(
        "/logs?ownerId=tea-simulator&resource={}&type=build&limit=5",
        f.web
    );
    c.render("GET", &format!("{rest}&{}", window(&page)), None);
    let forward = c.render(
        "GET",
        &format!("{}&direction=forward&limit=100", logs(&f.private)),
        None,
    );
    assert!(
        forward["logs"].as_array().is_some_and(|l| l
            .iter()
            .any(|e| e["message"] == "==> Your service is live 🎉")),
        "a live deploy's log: {forward:#}"
    );
    c.render("GET", &format!("{}&type=app", logs(&f.private)), None);
    c.render(
        "GET",
        &format!("/logs?ownerId=tea-simulator&resource={}", f.slow),
        None,
    );
    c.render("GET", &format!("/logs?resource={}", f.web), None);
    c.render("GET", &format!("{}&limit=500", logs(&f.web)), None);
    c.render("GET", &format!("{}&direction=sideways", logs(&f.web)), None);
    c.render(
        "GET",
        &format!("/logs?ownerId=tea-other&resource={}", f.web),
        None,
    );
    c.render(
        "GET",
        &format!("/logs?ownerId=tea-simulator&resource={NO_SERVICE}"),
        None,
    );
    c.render.authorization = "Bearer rnd_wrong".into();
    c.render("GET", &logs(&f.web), None);
    c.render.authorization = format!("Bearer {API_KEY}");
    let streamed = c.subscribe(
        &format!(
            "ownerId=tea-simulator&resource={}&type=build&{since}",
            f.web
        ),
        200,
    );
    assert!(
        streamed.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("ERR_PNPM_OUTDATED_LOCKFILE"))),
        "the failed build's log: {streamed:#?}"
    );
    c.subscribe(
        &format!("ownerId=tea-simulator&resource={}&{since}", f.private),
        40,
    );
    c.render(
        "GET",
        &format!("/logs/subscribe?ownerId=tea-simulator&resource={}", f.web),
        None,
    );

    // Cancel, cancel again (no longer cancellable), an unknown deploy.
    let cancel = format!("/services/{}/deploys/{running}/cancel", f.slow);
    c.render("POST", &cancel, None);
    c.render("POST", &cancel, None);
    let unknown = format!("/services/{}/deploys/{NO_DEPLOY}/cancel", f.slow);
    c.render("POST", &unknown, None);

    // Rollback to a deploy that was live (git and image), to a failed one,
    // without a target, to an unknown one.
    let with_status = |service: &str, wanted: &[&str]| {
        let deploys = sim.deploys(service).into_iter();
        let mut found = deploys.filter(|(_, status, _)| wanted.contains(&status.as_str()));
        found.next().map(|(id, _, _)| id).unwrap_or_default()
    };
    for service in [&f.private, &f.image] {
        let target = with_status(service, &["live", "deactivated"]);
        let body = Some(json!({ "deployId": target }));
        c.render("POST", &format!("/services/{service}/rollback"), body);
    }
    let rollback = format!("/services/{}/rollback", f.private);
    let failed = with_status(&f.private, &["update_failed"]);
    c.render("POST", &rollback, Some(json!({ "deployId": failed })));
    c.render("POST", &rollback, empty());
    c.render("POST", &rollback, Some(json!({ "deployId": NO_DEPLOY })));

    // A wrong key, and a spent GET budget.
    c.render.authorization = "Bearer rnd_wrong".into();
    c.render("GET", "/services", None);
    c.render.authorization = format!("Bearer {API_KEY}");
    let window = Duration::from_secs(60);
    sim.set_rate_limit(Some(RateLimit { limit: 1, window }));
    c.render("GET", "/services", None);
    c.render("GET", "/services", None);
    sim.set_rate_limit(None);

    // Issues with and without a body and labels, commented, closed, edited,
    // reopened, and unknown ones.
    c.github("GET", "/issues?state=open&per_page=100", None);
    let labels = json!(["render-pilot", "deploy"]);
    let first = json!({"title": "Deploy failed", "body": "build_failed", "labels": labels});
    c.github("POST", "/issues", Some(first));
    c.github("POST", "/issues", Some(json!({"title": "No body"})));
    c.github(
        "POST",
        "/issues",
        Some(json!({"title": "Empty body", "body": ""})),
    );
    c.github("POST", "/issues", Some(json!({"body": "no title"})));
    for (number, text) in [(1, "still failing"), (2, "first on #2"), (99, "lost")] {
        let body = Some(json!({ "body": text }));
        c.github("POST", &format!("/issues/{number}/comments"), body);
    }
    c.github("PATCH", "/issues/1", Some(json!({"state": "closed"})));
    c.github("PATCH", "/issues/2", Some(json!({"body": "edited"})));
    c.github("PATCH", "/issues/1", Some(json!({"state": "open"})));
    c.github("PATCH", "/issues/99", Some(json!({"state": "closed"})));
    for number in [1, 2, 99] {
        c.github("GET", &format!("/issues/{number}"), None);
    }
    c.github("GET", "/issues?state=all&labels=render-pilot", None);
    c.github("GET", "/issues?state=closed", None);

    // Workflow runs: a failed push, a second attempt, a fork's pull request.
    let sha = |n: u8| format!("{n}1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    sim.add_run(Run::failed(501, &sha(1), "ERR_PNPM_OUTDATED_LOCKFILE\n"));
    sim.add_run(Run {
        attempt: 2,
        ..Run::failed(502, &sha(2), "error\n")
    });
    sim.add_run(Run {
        head_repository: "someone/shop".into(),
        event: "pull_request".into(),
        head_branch: "patch-1".into(),
        ..Run::failed(503, &sha(3), "error\n")
    });
    for (run, attempt) in [(501, 1), (502, 2), (503, 1)] {
        c.github("GET", &format!("/actions/runs/{run}"), None);
        let jobs = format!("/actions/runs/{run}/attempts/{attempt}/jobs?per_page=100");
        c.github("GET", &jobs, None);
    }
    c.github("GET", "/actions/runs/502/attempts/1/jobs", None);
    c.github("GET", "/actions/jobs/5011/logs", None);
    c.github("POST", "/actions/runs/501/rerun-failed-jobs", None);
    let dispatch = Some(json!({"ref": "main"}));
    c.github("POST", "/actions/workflows/ci.yml/dispatches", dispatch);

    // What Render does by itself: pushes deploy the real commit (at once,
    // after checks), pull requests get previews of a web service and a
    // static site, listed with and without previews; custom domains.
    sim.set_auto_deploy_delay(Duration::ZERO);
    sim.set_preview_delay(Duration::ZERO);
    let repo = repo::Repo::new(&sim);
    let follows = |name: &str, kind: &str| ServiceSpec {
        kind: kind.into(),
        repo: Some("shop.git".into()),
        previews: true,
        ..ServiceSpec::web(name)
    };
    let shop = sim.add_service(follows("shop-front", "web_service"));
    let guide = sim.add_service(ServiceSpec {
        auto_deploy: AutoDeploy::ChecksPass,
        root_dir: "docs".into(),
        ..follows("shop-guide", "static_site")
    });
    let sha = repo.push("docs/index.md", "Document the cart");
    sim.checks_passed(&sha);
    let head = repo.push_to("feature", "src/cart.js", "Try a new cart");
    for (service, number) in [(&shop, 41), (&guide, 42)] {
        sim.open_pull_request(service, number, &head);
        let preview = sim.preview_of(service, number).unwrap_or_default();
        for target in [&preview, service] {
            c.render("GET", &format!("/services/{target}"), None);
            let deploys = format!("/services/{target}/deploys");
            let listed = c.render("GET", &deploys, None);
            let newest = id(&listed[0]["deploy"]);
            c.render("GET", &format!("{deploys}/{newest}"), None);
        }
    }
    c.render("GET", "/services?includePreviews=false", None);
    c.render("GET", "/services?includePreviews=true&limit=100", None);
    c.render("GET", "/services?includePreviews=maybe", None);
    sim.add_custom_domain(&shop, "example.com", true);
    sim.add_custom_domain(&shop, "shop.example.com", false);
    let domains = format!("/services/{shop}/custom-domains");
    for query in [
        "",
        "?verificationStatus=verified",
        "?verificationStatus=unverified&limit=1",
        "?verificationStatus=pending",
    ] {
        c.render("GET", &format!("{domains}{query}"), None);
    }
    c.render(
        "GET",
        &format!("/services/{NO_SERVICE}/custom-domains"),
        None,
    );

    // GitHub deployments with their statuses, refused ones; the pull
    // request's comments, one edited; pull requests listed as issues.
    let preview = json!({"ref": head, "environment": "pr-41", "transient_environment": true, "production_environment": false, "description": "Preview of #41"});
    let deployment = c.github("POST", "/deployments", Some(preview));
    c.github("POST", "/deployments", Some(json!({"ref": "main"})));
    c.github("POST", "/deployments", Some(json!({"environment": "x"})));
    let wrong = json!({"ref": "main", "transient_environment": "yes"});
    c.github("POST", "/deployments", Some(wrong));
    let statuses = format!("/deployments/{}/statuses", deployment["id"]);
    let log_url = "https://dashboard.render.com/web/srv-x/deploys/dep-y";
    for body in [
        json!({"state": "in_progress"}),
        json!({"state": "in_progress", "log_url": log_url}),
        json!({"state": "success", "log_url": log_url, "environment_url": "https://shop-front-pr-41.onrender.com", "description": "Live"}),
        json!({"state": "exploded"}),
    ] {
        c.github("POST", &statuses, Some(body));
    }
    c.github("GET", &statuses, None);
    c.github("GET", "/deployments/9/statuses", None);
    let comment = c.github(
        "POST",
        "/issues/41/comments",
        Some(json!({"body": "Building"})),
    );
    let edit = format!("/issues/comments/{}", comment["id"]);
    c.github("PATCH", &edit, Some(json!({"body": "Live"})));
    c.github("PATCH", &edit, Some(json!({})));
    c.github("GET", "/issues/41/comments", None);
    c.github("GET", "/issues/2/comments?per_page=1&page=2", None);
    c.github("GET", "/issues/41", None);
    c.github("GET", "/issues?state=all", None);

    let too_few: Vec<String> = EXPECTED
        .iter()
        .filter_map(|(kind, at_least)| {
            let seen = c.seen.get(*kind).copied().unwrap_or(0);
            (seen < *at_least)
                .then(|| format!("{kind}: {seen} valid, at least {at_least} expected"))
        })
        .collect();
    let unlisted: Vec<&String> = c
        .seen
        .keys()
        .filter(|k| !EXPECTED.iter().any(|(e, _)| e == k))
        .collect();
    assert!(
        c.failures.is_empty() && too_few.is_empty() && unlisted.is_empty(),
        "{} answers broke the contract:\n{}\n\nkinds validated too few times:\n{}\n\nkinds missing from EXPECTED: {unlisted:?}",
        c.failures.len(),
        c.failures.join("\n"),
        too_few.join("\n"),
    );
}

/// The mapped schemas reject what the real APIs never send, so a pass
/// above means something.
#[test]
fn the_contracts_reject_what_the_apis_never_send() {
    let sim = Sim::start();
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    let deploy = sim.add_history(&web, "live", Duration::from_secs(60));
    let mut render = Contract::render();
    let mut github = Contract::github();
    let fetch = |contract: &Contract, method: &str, path: &str, body: Option<Value>| -> Value {
        let target = format!("{}{path}", contract.prefix);
        let answer = send(
            &sim,
            method,
            &target,
            &contract.authorization,
            body.as_ref(),
        );
        assert!(answer.status < 300, "{method} {target}: {}", answer.status);
        serde_json::from_slice(&answer.body).expect("JSON")
    };
    // Each case: a field set to a value (or removed, with None), and
    // whether the schema must still accept it.
    let judge = |contract: &mut Contract,
                 pointer: &str,
                 good: &Value,
                 cases: &[(&str, Option<Value>, bool)]| {
        assert!(
            contract.errors(pointer, good).is_empty(),
            "{good:#}\n{:?}",
            contract.errors(pointer, good)
        );
        for (field, replacement, accepted) in cases {
            let mut changed = good.clone();
            match replacement {
                Some(value) => changed[*field] = value.clone(),
                None => drop(changed.as_object_mut().and_then(|o| o.remove(*field))),
            }
            let errors = contract.errors(pointer, &changed);
            assert_eq!(
                errors.is_empty(),
                *accepted,
                "{pointer} with {field} = {replacement:?}: {errors:?}"
            );
        }
    };

    let pointer = render
        .response_schema("/services/{serviceId}/deploys/{deployId}", "GET", 200)
        .unwrap()
        .expect("a deploy body");
    let good = fetch(
        &render,
        "GET",
        &format!("/services/{web}/deploys/{deploy}"),
        None,
    );
    let cases = [
        ("id", None, false),
        ("commit", Some(Value::Null), true),
        ("commit", Some(json!("abc")), false),
        ("commit", None, true),
        ("status", Some(json!("exploded")), false),
        ("finishedAt", Some(json!("yesterday")), false),
        ("trigger", Some(json!("deploy_hook")), true),
    ];
    judge(&mut render, &pointer, &good, &cases);

    let service = fetch(&render, "GET", &format!("/services/{web}"), None);
    let pointer = render
        .response_schema("/services/{serviceId}", "GET", 200)
        .unwrap()
        .unwrap();
    let cases = [
        ("rootDir", None, false),
        ("suspended", Some(json!("maybe")), false),
    ];
    judge(&mut render, &pointer, &service, &cases);
    let cases = [
        ("runtime", None, false),
        ("openPorts", None, false),
        ("openPorts", Some(json!([{"port": 10000}])), false),
        ("disk", Some(Value::Null), false),
    ];
    judge(
        &mut render,
        "/components/schemas/webServiceDetails",
        &service["serviceDetails"],
        &cases,
    );

    let events = fetch(&render, "GET", &format!("/services/{web}/events"), None);
    let event = &events[0]["event"];
    assert_eq!(event["type"], "deploy_ended", "newest first: {events:#}");
    judge(
        &mut render,
        "/components/schemas/serviceEventWithCursor/properties/event",
        event,
        &[
            ("type", Some(json!("exploded")), false),
            ("timestamp", Some(json!("yesterday")), false),
            ("details", None, false),
            ("serviceId", None, false),
        ],
    );
    let schema = event_details_schema(&render, "deploy_ended").unwrap();
    let cases = [
        ("deployStatus", Some(json!("live")), false),
        ("deployStatus", None, false),
        ("reason", None, false),
        ("deployId", Some(json!(7)), false),
    ];
    judge(&mut render, &schema, &event["details"], &cases);

    // A log entry: its labels are named from a fixed set.
    let logs = fetch(
        &render,
        "GET",
        &format!("/logs?ownerId=tea-simulator&resource={web}&startTime=2000-01-01T00:00:00Z"),
        None,
    );
    let entry = &logs["logs"][0];
    let pointer = "/paths/~1logs~1subscribe/get/responses/101/content/application~1json/schema";
    let cases = [
        ("id", None, false),
        ("timestamp", Some(json!("yesterday")), false),
        (
            "labels",
            Some(json!([{"name": "deploy", "value": "dep-1"}])),
            false,
        ),
        (
            "labels",
            Some(json!([{"name": "type", "value": "build"}])),
            true,
        ),
        ("message", Some(json!(7)), false),
    ];
    judge(&mut render, pointer, entry, &cases);
    let page_pointer = render
        .response_schema("/logs", "GET", 200)
        .unwrap()
        .unwrap();
    let cases = [
        ("hasMore", None, false),
        ("nextStartTime", Some(json!("soon")), false),
        ("logs", Some(json!({})), false),
    ];
    judge(&mut render, &page_pointer, &logs, &cases);

    let issue = fetch(&github, "POST", "/issues", Some(json!({"title": "t"})));
    assert!(
        issue["body"].is_null(),
        "an issue created without a body has a null body"
    );
    let pointer = github
        .response_schema("/issues", "POST", 201)
        .unwrap()
        .unwrap();
    let cases = [
        ("user", None, false),
        ("closed_at", None, false),
        ("closed_at", Some(json!("2026-01-01T00:00:00Z")), true),
        ("node_id", None, false),
        ("locked", Some(Value::Null), false),
        ("body", Some(json!(5)), false),
        ("body", Some(json!("text")), true),
        ("state_reason", Some(json!("completed")), true),
        ("state_reason", Some(json!("forgotten")), false),
    ];
    judge(&mut github, &pointer, &issue, &cases);

    sim.add_run(Run::failed(
        601,
        "d1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "error\n",
    ));
    let run = fetch(&github, "GET", "/actions/runs/601", None);
    let pointer = github
        .response_schema("/actions/runs/{run_id}", "GET", 200)
        .unwrap()
        .unwrap();
    let cases = [
        ("head_branch", Some(Value::Null), true),
        ("pull_requests", Some(Value::Null), true),
        ("conclusion", Some(Value::Null), true),
        ("head_commit", Some(Value::Null), true),
        (
            "head_commit",
            Some(json!({"id": "x", "message": "m"})),
            false,
        ),
        (
            "repository",
            Some(json!({"id": 1, "full_name": "acme/shop"})),
            false,
        ),
        ("display_title", None, false),
    ];
    judge(&mut github, &pointer, &run, &cases);

    // A preview's parent, a custom domain, a deployment status.
    let parent = json!({"id": web, "name": "shop-web"});
    let cases = [
        ("parentServer", Some(parent), true),
        ("parentServer", Some(json!({"name": "shop-web"})), false),
        ("previews", Some(json!({"generation": "automatic"})), true),
        ("previews", Some(json!({"generation": "sometimes"})), false),
    ];
    judge(
        &mut render,
        "/components/schemas/webServiceDetails",
        &service["serviceDetails"],
        &cases,
    );
    sim.add_custom_domain(&web, "example.com", true);
    let domains = fetch(
        &render,
        "GET",
        &format!("/services/{web}/custom-domains"),
        None,
    );
    let cases = [
        ("verificationStatus", Some(json!("pending")), false),
        ("domainType", Some(json!("apex")), true),
        ("domainType", None, false),
        ("redirectForName", None, false),
    ];
    let pointer = "/components/schemas/customDomain";
    judge(&mut render, pointer, &domains[0]["customDomain"], &cases);

    let deployment = fetch(
        &github,
        "POST",
        "/deployments",
        Some(json!({"ref": "main"})),
    );
    let statuses = format!("/deployments/{}/statuses", deployment["id"]);
    let status = fetch(&github, "POST", &statuses, Some(json!({"state": "queued"})));
    let cases = [
        ("target_url", Some(json!("https://example.com/log")), true),
        ("target_url", Some(json!("a log")), false),
        ("environment_url", Some(json!(" ")), false),
        ("state", Some(json!("exploded")), false),
        ("creator", None, false),
    ];
    let pointer = "/components/schemas/deployment-status";
    judge(&mut github, pointer, &status, &cases);

    assert_eq!(
        render.response_schema("/services/{serviceId}/deploys", "POST", 202),
        Ok(None)
    );
    let cancel = "/services/{serviceId}/deploys/{deployId}/cancel";
    assert!(render.response_schema(cancel, "POST", 409).is_err());
    assert_eq!(
        render
            .template("/services/srv-x/deploys/dep-y/cancel")
            .as_deref(),
        Some(cancel)
    );
    assert_eq!(
        github.template("/issues/7/comments").as_deref(),
        Some("/issues/{issue_number}/comments")
    );
    assert_eq!(render.template("/services/srv-x/unknown"), None);
}
