//! Every kind of JSON answer the simulator serves, fetched over real HTTP and
//! validated against the published API descriptions in `shared/specs`:
//! Render's OpenAPI 3.0.2 subset and GitHub's OpenAPI 3.0.3 subset. The
//! schema of an answer is the one its path, method and status declare; a
//! status the operation does not declare is a failure too.
//!
//! OpenAPI 3.0 schemas are mapped to JSON Schema (draft 4, which shares
//! their `$ref` and `exclusiveMinimum` rules): `nullable: true` adds
//! `"null"` to the type (and enum), or becomes `anyOf: [null, <schema>]`
//! next to a `$ref` or `allOf`; and `oneOf` becomes `anyOf`, because OpenAPI
//! objects are open and, without a discriminator, a web service's details
//! also match the private service branch. What `oneOf` would have caught is
//! checked directly: a service's details must match the schema of its type.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use jsonschema::Validator;
use render_sim::{Outcome, Plan, RateLimit, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};
use serde_json::{json, Value};

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/specs");

/// One API description, mapped to JSON Schema.
struct Contract {
    name: &'static str,
    document: Value,
    validators: HashMap<String, Validator>,
}

impl Contract {
    fn load(name: &'static str, file: &str) -> Contract {
        let path = format!("{SPECS}/{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut document: Value = serde_json::from_str(&text).expect("the spec is JSON");
        to_json_schema(&mut document);
        Contract {
            name,
            document,
            validators: HashMap::new(),
        }
    }

    /// A validator for the schema at `pointer` (a JSON pointer into the
    /// spec). The root is the whole spec, so every `#/components/…` and
    /// `#/paths/…` reference resolves as written; its other keys are not
    /// JSON Schema keywords and are ignored.
    fn validator(&mut self, pointer: &str) -> &Validator {
        let document = &self.document;
        self.validators
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let mut root = document.clone();
                let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
                root["$ref"] = json!(format!("#{fragment}"));
                jsonschema::draft4::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"))
            })
    }

    /// The pointer to the JSON schema of `method path` answering `status`;
    /// `Ok(None)` when that answer has no body.
    fn response_schema(
        &self,
        path: &str,
        method: &str,
        status: u16,
    ) -> Result<Option<String>, String> {
        let operation = format!("/paths/{}/{}", escape(path), method.to_lowercase());
        let responses = self
            .document
            .pointer(&format!("{operation}/responses"))
            .ok_or_else(|| format!("{method} {path} is not in the {} spec", self.name))?;
        let (key, response) = match responses.get(status.to_string()) {
            Some(r) => (format!("{operation}/responses/{status}"), r),
            None => return Err(format!("{method} {path} declares no {status} answer")),
        };
        let key = match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference.trim_start_matches('#').to_string(),
            None => key,
        };
        let json = self
            .document
            .pointer(&format!("{key}/content/application~1json/schema"));
        Ok(json.map(|_| format!("{key}/content/application~1json/schema")))
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0 to JSON Schema, everywhere in the document (examples
/// included, which no validation reads).
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        Value::Object(map) => {
            map.values_mut().for_each(to_json_schema);
            if let Some(branches) = map.remove("oneOf") {
                map.insert("anyOf".into(), branches);
            }
            if !map.get("nullable").is_some_and(Value::is_boolean) {
                return;
            }
            if map.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            // With a type, null joins it (and the enum), so errors inside
            // an object still name the field; otherwise null is a branch.
            match map.get("type").and_then(Value::as_str).map(String::from) {
                Some(kind) => {
                    map.insert("type".into(), json!([kind, "null"]));
                    if let Some(Value::Array(values)) = map.get_mut("enum") {
                        values.push(Value::Null);
                    }
                }
                None => {
                    let schema = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([{"type": "null"}, schema]));
                }
            }
        }
        _ => {}
    }
}

/// The details schema of each service type.
fn details_schema(kind: &str) -> &'static str {
    match kind {
        "web_service" => "webServiceDetails",
        "private_service" => "privateServiceDetails",
        "background_worker" => "backgroundWorkerDetails",
        "cron_job" => "cronJobDetails",
        "static_site" => "staticSiteDetails",
        _ => panic!("unknown service type {kind}"),
    }
}

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
    fn new(sim: Sim) -> Checker {
        Checker {
            sim,
            render: Contract::load("render", "render-api-subset.json"),
            github: Contract::load("github", "github-api-subset.json"),
            seen: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// A Render call: `template` is the spec's path, `path` the one sent
    /// (both under `/v1`).
    fn render(&mut self, method: &str, template: &str, path: &str, body: Option<Value>) -> Value {
        let answer = send(
            &self.sim,
            method,
            &format!("/v1{path}"),
            &format!("Bearer {API_KEY}"),
            body.as_ref(),
        );
        let ok = answer.status == 200;
        let value = self.check(true, method, template, path, answer);
        for service in services_in(template, method, &value)
            .into_iter()
            .filter(|_| ok)
        {
            self.check_details(&service, path);
        }
        value
    }

    /// A GitHub call under `/repos/acme/shop`.
    fn github(&mut self, method: &str, template: &str, path: &str, body: Option<Value>) -> Value {
        let answer = send(
            &self.sim,
            method,
            &format!("/repos/acme/shop{path}"),
            &format!("Bearer {GITHUB_TOKEN}"),
            body.as_ref(),
        );
        self.check(
            false,
            method,
            &format!("/repos/{{owner}}/{{repo}}{template}"),
            path,
            answer,
        )
    }

    fn check(
        &mut self,
        render: bool,
        method: &str,
        template: &str,
        path: &str,
        answer: Answer,
    ) -> Value {
        let contract = if render {
            &mut self.render
        } else {
            &mut self.github
        };
        let kind = format!("{} {method} {template} {}", contract.name, answer.status);
        let what = format!("{method} {path} answered {}", answer.status);
        let schema = match contract.response_schema(template, method, answer.status) {
            Ok(schema) => schema,
            Err(e) => {
                self.failures.push(format!("{what}: {e}"));
                return Value::Null;
            }
        };
        let Some(pointer) = schema else {
            if !answer.body.is_empty() {
                self.failures
                    .push(format!("{what}: the spec declares no body, yet one came"));
            }
            *self.seen.entry(kind).or_default() += 1;
            return Value::Null;
        };
        let value: Value = match serde_json::from_slice(&answer.body) {
            Ok(v) => v,
            Err(e) => {
                self.failures.push(format!("{what}: not JSON ({e})"));
                return Value::Null;
            }
        };
        let errors: Vec<String> = contract
            .validator(&pointer)
            .iter_errors(&value)
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            *self.seen.entry(kind).or_default() += 1;
        } else {
            self.failures
                .push(format!("{what}, against {pointer}:\n{}", errors.join("\n")));
        }
        value
    }

    /// `serviceDetails` against the details schema of the service's type.
    fn check_details(&mut self, service: &Value, path: &str) {
        let kind = service["type"].as_str().unwrap_or_default();
        let schema = details_schema(kind);
        let pointer = format!("/components/schemas/{schema}");
        let errors: Vec<String> = self
            .render
            .validator(&pointer)
            .iter_errors(&service["serviceDetails"])
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            *self
                .seen
                .entry(format!("render serviceDetails {schema}"))
                .or_default() += 1;
        } else {
            self.failures.push(format!(
                "GET {path}: serviceDetails of a {kind}, against {schema}:\n{}",
                errors.join("\n")
            ));
        }
    }
}

/// The services in an answer about services.
fn services_in(template: &str, method: &str, value: &Value) -> Vec<Value> {
    match (method, template) {
        ("GET", "/services") => value
            .as_array()
            .map(|items| items.iter().map(|i| i["service"].clone()).collect())
            .unwrap_or_default(),
        ("GET", "/services/{serviceId}") => vec![value.clone()],
        _ => Vec::new(),
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
    ("render GET /services 200", 2),
    ("render GET /services/{serviceId} 200", 6),
    ("render GET /services/{serviceId} 404", 1),
    ("render GET /services/{serviceId}/deploys 200", 8),
    ("render GET /services/{serviceId}/deploys 404", 1),
    ("render GET /services/{serviceId}/deploys/{deployId} 200", 4),
    ("render GET /services/{serviceId}/deploys/{deployId} 404", 1),
    ("render GET /services 401", 1),
    ("render GET /services 429", 1),
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
    ("render serviceDetails webServiceDetails", 6),
    ("render serviceDetails privateServiceDetails", 2),
    ("render serviceDetails backgroundWorkerDetails", 2),
    ("render serviceDetails cronJobDetails", 2),
    ("render serviceDetails staticSiteDetails", 2),
    ("github GET /repos/{owner}/{repo}/issues 200", 3),
    ("github POST /repos/{owner}/{repo}/issues 201", 3),
    ("github POST /repos/{owner}/{repo}/issues 422", 1),
    (
        "github GET /repos/{owner}/{repo}/issues/{issue_number} 200",
        2,
    ),
    (
        "github GET /repos/{owner}/{repo}/issues/{issue_number} 404",
        1,
    ),
    (
        "github PATCH /repos/{owner}/{repo}/issues/{issue_number} 200",
        3,
    ),
    (
        "github PATCH /repos/{owner}/{repo}/issues/{issue_number} 404",
        1,
    ),
    (
        "github POST /repos/{owner}/{repo}/issues/{issue_number}/comments 201",
        2,
    ),
    (
        "github POST /repos/{owner}/{repo}/issues/{issue_number}/comments 404",
        1,
    ),
    (
        "github GET /repos/{owner}/{repo}/actions/runs/{run_id} 200",
        3,
    ),
    (
        "github GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs 200",
        3,
    ),
    (
        "github GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs 404",
        1,
    ),
    (
        "github GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs 302",
        1,
    ),
    (
        "github POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs 201",
        1,
    ),
    (
        "github POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches 204",
        1,
    ),
];

#[test]
fn every_answer_matches_the_published_schemas() {
    let sim = Sim::start();
    let f = fleet(&sim);
    let mut c = Checker::new(sim.clone());
    let (services, deploys) = ("/services/{serviceId}", "/services/{serviceId}/deploys");
    let deploy = "/services/{serviceId}/deploys/{deployId}";

    // Render: services, one page and two.
    c.render("GET", "/services", "/services?limit=100", None);
    let first = c.render("GET", "/services", "/services?limit=3", None);
    for id in [&f.web, &f.private, &f.worker, &f.cron, &f.site, &f.image] {
        c.render("GET", services, &format!("/services/{id}"), None);
    }
    c.render("GET", services, "/services/srv-d000000000000000000", None);
    let _ = first;

    // Deploys: history, running, queued, image-backed, filtered, paged.
    let created = c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.slow),
        Some(json!({})),
    );
    let running = created["id"].as_str().unwrap_or_default().to_string();
    let image = c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.image),
        Some(json!({"imageUrl": "docker.io/acme/shop-proxy:v9"})),
    );
    c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.web),
        Some(
            json!({"clearCache": "clear", "commitId": "0123456789abcdef0123456789abcdef01234567"}),
        ),
    );
    c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.queued),
        Some(json!({})),
    );
    c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.site),
        Some(json!({})),
    );
    c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.web),
        Some(json!({"clearCache": "sometimes"})),
    );
    c.render(
        "POST",
        deploys,
        &format!("/services/{}/deploys", f.web),
        Some(json!({"imageUrl": "docker.io/acme/web:1"})),
    );
    c.render(
        "POST",
        deploys,
        "/services/srv-d000000000000000000/deploys",
        Some(json!({})),
    );
    for id in [
        &f.web, &f.private, &f.worker, &f.cron, &f.site, &f.image, &f.slow,
    ] {
        c.render("GET", deploys, &format!("/services/{id}/deploys"), None);
    }
    c.render(
        "GET",
        deploys,
        &format!(
            "/services/{}/deploys?status=live,deactivated&limit=1",
            f.web
        ),
        None,
    );
    c.render(
        "GET",
        deploys,
        "/services/srv-d000000000000000000/deploys",
        None,
    );
    c.render(
        "GET",
        deploy,
        &format!("/services/{}/deploys/{running}", f.slow),
        None,
    );
    let image_id = image["id"].as_str().unwrap_or_default();
    c.render(
        "GET",
        deploy,
        &format!("/services/{}/deploys/{image_id}", f.image),
        None,
    );
    let web_deploys = c.render(
        "GET",
        deploys,
        &format!("/services/{}/deploys", f.web),
        None,
    );
    let ids: Vec<String> = web_deploys
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["deploy"]["id"].as_str().map(String::from))
        .collect();
    for id in ids.iter().take(2) {
        c.render(
            "GET",
            deploy,
            &format!("/services/{}/deploys/{id}", f.web),
            None,
        );
    }
    c.render(
        "GET",
        deploy,
        &format!("/services/{}/deploys/dep-d000000000000000000", f.web),
        None,
    );

    // Cancel, then cancel again (no longer cancellable), and an unknown one.
    let cancel = "/services/{serviceId}/deploys/{deployId}/cancel";
    let path = format!("/services/{}/deploys/{running}/cancel", f.slow);
    c.render("POST", cancel, &path, None);
    c.render("POST", cancel, &path, None);
    c.render(
        "POST",
        cancel,
        &format!(
            "/services/{}/deploys/dep-d000000000000000000/cancel",
            f.slow
        ),
        None,
    );

    // Rollback to a live deploy (git and image), to a failed one, without
    // a target, to an unknown one.
    let rollback = "/services/{serviceId}/rollback";
    let live = |sim: &Sim, service: &str| {
        sim.deploys(service)
            .into_iter()
            .find(|(_, status, _)| status == "deactivated" || status == "live")
            .map(|(id, _, _)| id)
            .unwrap_or_default()
    };
    for service in [&f.private, &f.image] {
        let target = live(&sim, service);
        c.render(
            "POST",
            rollback,
            &format!("/services/{service}/rollback"),
            Some(json!({"deployId": target})),
        );
    }
    let failed = sim
        .deploys(&f.private)
        .into_iter()
        .find(|(_, status, _)| status == "update_failed")
        .map(|(id, _, _)| id)
        .unwrap_or_default();
    c.render(
        "POST",
        rollback,
        &format!("/services/{}/rollback", f.private),
        Some(json!({"deployId": failed})),
    );
    c.render(
        "POST",
        rollback,
        &format!("/services/{}/rollback", f.private),
        Some(json!({})),
    );
    c.render(
        "POST",
        rollback,
        &format!("/services/{}/rollback", f.private),
        Some(json!({"deployId": "dep-d000000000000000000"})),
    );

    // A wrong key, and a spent GET budget.
    let answer = send(&sim, "GET", "/v1/services", "Bearer rnd_wrong", None);
    c.check(true, "GET", "/services", "/services", answer);
    sim.set_rate_limit(Some(RateLimit {
        limit: 1,
        window: Duration::from_secs(60),
    }));
    c.render("GET", "/services", "/services", None);
    c.render("GET", "/services", "/services", None);
    sim.set_rate_limit(None);

    // GitHub: issues with and without a body and labels, closed, commented.
    let (issues, issue) = ("/issues", "/issues/{issue_number}");
    let comments = "/issues/{issue_number}/comments";
    c.github("GET", issues, "/issues?state=open&per_page=100", None);
    c.github("POST", issues, "/issues", Some(json!({"title": "Deploy failed", "body": "<!-- render-pilot:key -->\nbuild_failed", "labels": ["render-pilot", "deploy"]})));
    c.github("POST", issues, "/issues", Some(json!({"title": "No body"})));
    c.github(
        "POST",
        issues,
        "/issues",
        Some(json!({"title": "Empty body", "body": ""})),
    );
    c.github("POST", issues, "/issues", Some(json!({"body": "no title"})));
    c.github(
        "POST",
        comments,
        "/issues/1/comments",
        Some(json!({"body": "still failing"})),
    );
    c.github(
        "POST",
        comments,
        "/issues/2/comments",
        Some(json!({"body": "first on #2"})),
    );
    c.github(
        "POST",
        comments,
        "/issues/99/comments",
        Some(json!({"body": "x"})),
    );
    c.github(
        "PATCH",
        issue,
        "/issues/1",
        Some(json!({"state": "closed"})),
    );
    c.github("PATCH", issue, "/issues/2", Some(json!({"body": "edited"})));
    c.github("PATCH", issue, "/issues/1", Some(json!({"state": "open"})));
    c.github(
        "PATCH",
        issue,
        "/issues/99",
        Some(json!({"state": "closed"})),
    );
    c.github("GET", issue, "/issues/1", None);
    c.github("GET", issue, "/issues/2", None);
    c.github("GET", issue, "/issues/99", None);
    c.github("GET", issues, "/issues?state=all&labels=render-pilot", None);
    c.github("GET", issues, "/issues?state=closed", None);

    // Workflow runs: a failed push, a second attempt, a fork's run.
    sim.add_run(Run::failed(
        501,
        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "ERR_PNPM_OUTDATED_LOCKFILE\n",
    ));
    sim.add_run(Run {
        attempt: 2,
        ..Run::failed(502, "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "error\n")
    });
    sim.add_run(Run {
        head_repository: "someone/shop".into(),
        event: "pull_request".into(),
        head_branch: "patch-1".into(),
        ..Run::failed(503, "c1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "error\n")
    });
    let (run, jobs) = (
        "/actions/runs/{run_id}",
        "/actions/runs/{run_id}/attempts/{attempt_number}/jobs",
    );
    for (id, attempt) in [(501, 1), (502, 2), (503, 1)] {
        c.github("GET", run, &format!("/actions/runs/{id}"), None);
        c.github(
            "GET",
            jobs,
            &format!("/actions/runs/{id}/attempts/{attempt}/jobs?per_page=100"),
            None,
        );
    }
    c.github("GET", jobs, "/actions/runs/502/attempts/1/jobs", None);
    c.github(
        "GET",
        "/actions/jobs/{job_id}/logs",
        "/actions/jobs/5011/logs",
        None,
    );
    c.github(
        "POST",
        "/actions/runs/{run_id}/rerun-failed-jobs",
        "/actions/runs/501/rerun-failed-jobs",
        None,
    );
    c.github(
        "POST",
        "/actions/workflows/{workflow_id}/dispatches",
        "/actions/workflows/ci.yml/dispatches",
        Some(json!({"ref": "main"})),
    );

    let mut missing = Vec::new();
    for (kind, at_least) in EXPECTED {
        let seen = c.seen.get(*kind).copied().unwrap_or(0);
        if seen < *at_least {
            missing.push(format!(
                "{kind}: {seen} valid, expected at least {at_least}"
            ));
        }
    }
    let unexpected: Vec<&String> = c
        .seen
        .keys()
        .filter(|k| !EXPECTED.iter().any(|(e, _)| e == k))
        .collect();
    assert!(
        c.failures.is_empty() && missing.is_empty() && unexpected.is_empty(),
        "{} answers broke the contract:\n{}\n\nkinds validated too few times:\n{}\n\nkinds not in EXPECTED: {unexpected:?}",
        c.failures.len(),
        c.failures.join("\n"),
        missing.join("\n"),
    );
}

/// The mapping rejects what the real APIs never send, so a pass above
/// means something.
#[test]
fn the_contracts_reject_what_the_apis_never_send() {
    let sim = Sim::start();
    let web = sim.add_service(ServiceSpec::web("shop-web"));
    let deploy = sim.add_history(&web, "live", Duration::from_secs(60));
    let mut render = Contract::load("render", "render-api-subset.json");
    let mut github = Contract::load("github", "github-api-subset.json");
    let auth = format!("Bearer {API_KEY}");
    let get = |path: &str| -> Value {
        let answer = send(&sim, "GET", path, &auth, None);
        assert_eq!(answer.status, 200, "GET {path}");
        serde_json::from_slice(&answer.body).expect("JSON")
    };

    let deploy_schema = render
        .response_schema("/services/{serviceId}/deploys/{deployId}", "GET", 200)
        .unwrap()
        .unwrap();
    let good = get(&format!("/v1/services/{web}/deploys/{deploy}"));
    assert_valid(render.validator(&deploy_schema), &good);
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("id");
    assert!(
        !render.validator(&deploy_schema).is_valid(&bad),
        "a deploy without an id"
    );
    let mut bad = good.clone();
    bad["commit"] = Value::Null;
    assert!(
        !render.validator(&deploy_schema).is_valid(&bad),
        "commit is not nullable"
    );
    let mut bad = good.clone();
    bad["status"] = json!("exploded");
    assert!(
        !render.validator(&deploy_schema).is_valid(&bad),
        "a status outside the enum"
    );
    let mut bad = good;
    bad["finishedAt"] = json!("yesterday");
    assert!(
        !render.validator(&deploy_schema).is_valid(&bad),
        "a date-time that is not one"
    );

    let service = get(&format!("/v1/services/{web}"));
    let details = "/components/schemas/webServiceDetails";
    assert_valid(render.validator(details), &service["serviceDetails"]);
    let mut bad = service["serviceDetails"].clone();
    bad.as_object_mut().unwrap().remove("runtime");
    assert!(
        !render.validator(details).is_valid(&bad),
        "web details without runtime"
    );
    let service_schema = render
        .response_schema("/services/{serviceId}", "GET", 200)
        .unwrap()
        .unwrap();
    let mut bad = service;
    bad.as_object_mut().unwrap().remove("rootDir");
    assert!(
        !render.validator(&service_schema).is_valid(&bad),
        "a service without rootDir"
    );

    let auth = format!("Bearer {GITHUB_TOKEN}");
    let created = send(
        &sim,
        "POST",
        "/repos/acme/shop/issues",
        &auth,
        Some(&json!({"title": "t"})),
    );
    let issue: Value = serde_json::from_slice(&created.body).expect("JSON");
    let issue_schema = github
        .response_schema("/repos/{owner}/{repo}/issues", "POST", 201)
        .unwrap()
        .unwrap();
    assert!(
        issue["body"].is_null(),
        "an issue created without a body has a null body"
    );
    assert_valid(github.validator(&issue_schema), &issue);
    for field in ["user", "closed_at", "node_id"] {
        let mut bad = issue.clone();
        bad.as_object_mut().unwrap().remove(field);
        assert!(
            !github.validator(&issue_schema).is_valid(&bad),
            "an issue without {field}"
        );
    }
    let mut bad = issue.clone();
    bad["locked"] = Value::Null;
    assert!(
        !github.validator(&issue_schema).is_valid(&bad),
        "locked is not nullable"
    );
    let mut bad = issue;
    bad["body"] = json!(5);
    assert!(
        !github.validator(&issue_schema).is_valid(&bad),
        "a body that is a number"
    );

    assert_eq!(
        render.response_schema("/services/{serviceId}/deploys", "POST", 202),
        Ok(None),
        "202 Queued has no body"
    );
    assert!(render
        .response_schema(
            "/services/{serviceId}/deploys/{deployId}/cancel",
            "POST",
            409
        )
        .is_err());
}

fn assert_valid(validator: &Validator, value: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{value:#}\n{}", errors.join("\n"));
}
