//! The simulated Render: services, deploys that move through their
//! statuses on a timeline, the service events they leave (`events.rs`),
//! deploy hooks, rollback, cancel, and each service's own health endpoint.

mod events;
pub(crate) mod logs;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use crate::wire::{Request, Response};
use crate::{make_id, now_rfc3339, Sim, State, API_KEY};

mod domains;
pub(crate) mod follow;

use follow::CommitDetail;
pub use logs::BuildError;

/// How a triggered deploy ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Live,
    BuildFailed,
    UpdateFailed,
    PreDeployFailed,
    Canceled,
    /// Stays in this status (an unknown value, or a deploy that never ends).
    Stuck(String),
}

/// The timeline of the next deploys of a service.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Answer triggers with 202 "Queued" and no body.
    pub queued: bool,
    pub build: Duration,
    pub update: Duration,
    pub outcome: Outcome,
    /// What the service's health endpoint answers once this deploy is live.
    pub health: u16,
    /// What a failing build prints before Render says it failed.
    pub fails_with: BuildError,
    /// Lines the build prints among its own (a script's output).
    pub log: Vec<String>,
    /// How many more lines of bundler output the build prints.
    pub log_filler: usize,
}

impl Plan {
    /// Goes live after `total`, healthy.
    pub fn live(total: Duration) -> Plan {
        Plan {
            queued: false,
            build: total * 2 / 3,
            update: total / 3,
            outcome: Outcome::Live,
            health: 200,
            fails_with: BuildError::default(),
            log: Vec::new(),
            log_filler: 0,
        }
    }

    pub fn ending(outcome: Outcome, total: Duration) -> Plan {
        Plan {
            outcome,
            ..Plan::live(total)
        }
    }

    fn timeline(&self) -> Vec<(Duration, String)> {
        let q = if self.queued {
            Duration::from_millis(300)
        } else {
            Duration::ZERO
        };
        let built = q + self.build;
        let done = built + self.update;
        let mut steps = vec![(
            Duration::ZERO,
            if self.queued { "queued" } else { "created" },
        )];
        if self.queued {
            steps.push((q, "created"));
        }
        steps.push((
            q + (self.build / 5).min(Duration::from_millis(100)),
            "build_in_progress",
        ));
        let stuck;
        match &self.outcome {
            Outcome::BuildFailed => steps.push((built, "build_failed")),
            Outcome::Canceled => steps.push((built, "canceled")),
            Outcome::PreDeployFailed => {
                steps.push((built, "pre_deploy_in_progress"));
                steps.push((done, "pre_deploy_failed"));
            }
            Outcome::UpdateFailed => {
                steps.push((built, "update_in_progress"));
                steps.push((done, "update_failed"));
            }
            Outcome::Live => {
                steps.push((built, "pre_deploy_in_progress"));
                steps.push((built + self.update / 3, "update_in_progress"));
                steps.push((done, "live"));
            }
            Outcome::Stuck(status) => {
                stuck = status.clone();
                steps.push((built, stuck.as_str()));
            }
        }
        steps.into_iter().map(|(t, s)| (t, s.to_string())).collect()
    }
}

/// A service to add to the simulator.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    /// `web_service`, `private_service`, `static_site`, `background_worker`, `cron_job`.
    pub kind: String,
    pub suspended: bool,
    /// Image-backed: deploys carry an image and no commit.
    pub image: bool,
    pub disk: bool,
    pub plan: Plan,
    /// A free instance that spun down after idling: the first request to
    /// its URL is held this long while it spins up, then answered; later
    /// requests are fast until [`Sim::spin_down`].
    pub cold_start: Option<Duration>,
    /// The repository served by [`Sim::serve_git`] (`shop.git`) whose
    /// `main` branch the service deploys.
    pub repo: Option<String>,
    pub auto_deploy: AutoDeploy,
    /// Render's root directory: with one, Auto-Deploy ignores pushes that
    /// change nothing under it.
    pub root_dir: String,
    /// Pull-request previews (`previews.generation`: `automatic`, else
    /// `off`).
    pub previews: bool,
}

/// When Render deploys a push to the service's branch by itself
/// (`autoDeployTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoDeploy {
    /// On every push.
    Commit,
    /// Once the pushed commit's checks pass ([`Sim::checks_passed`]).
    ChecksPass,
    Off,
}

impl ServiceSpec {
    pub fn web(name: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            kind: "web_service".into(),
            suspended: false,
            image: false,
            disk: false,
            plan: Plan::live(Duration::from_secs(3)),
            cold_start: None,
            repo: None,
            auto_deploy: AutoDeploy::Commit,
            root_dir: String::new(),
            previews: false,
        }
    }
}

pub(crate) struct Render {
    services: Vec<Svc>,
    counter: u64,
    base_url: String,
    /// What Render does by itself: Auto-Deploy and previews.
    follow: follow::Follow,
}

struct Svc {
    id: String,
    spec: ServiceSpec,
    hook_key: String,
    created_at: String,
    deploys: Vec<Dep>,
    /// When a cold-start instance is (or will be) up; `None` while spun
    /// down.
    awake_at: Option<Instant>,
    /// For a pull-request preview, the service it previews: (id, name).
    parent: Option<(String, String)>,
    domains: Vec<domains::Domain>,
}

struct Dep {
    id: String,
    created: Instant,
    created_at: Timestamp,
    commit: Option<String>,
    /// The commit's message and time, when read from a served repository;
    /// otherwise the simulator makes them up from the SHA.
    commit_detail: Option<CommitDetail>,
    image: Option<String>,
    trigger: String,
    timeline: Vec<(Duration, String)>,
    ended: Option<(Instant, String)>,
    health: u16,
}

const TERMINAL: [&str; 6] = [
    "live",
    "deactivated",
    "build_failed",
    "update_failed",
    "canceled",
    "pre_deploy_failed",
];
const CANCELLABLE: [&str; 5] = [
    "queued",
    "created",
    "build_in_progress",
    "update_in_progress",
    "pre_deploy_in_progress",
];

impl Dep {
    /// The status by the timeline alone, ignoring later deploys.
    fn raw_status(&self, now: Instant) -> (String, Option<Duration>) {
        if let Some((at, status)) = &self.ended {
            if now >= *at {
                return (status.clone(), Some(at.duration_since(self.created)));
            }
        }
        let elapsed = now.saturating_duration_since(self.created);
        let (offset, status) = self
            .timeline
            .iter()
            .rev()
            .find(|(t, _)| *t <= elapsed)
            .unwrap_or(&self.timeline[0]);
        let finished = TERMINAL.contains(&status.as_str()).then_some(*offset);
        (status.clone(), finished)
    }

    fn live_since(&self, now: Instant) -> Option<Instant> {
        match self.raw_status(now) {
            (s, Some(offset)) if s == "live" => Some(self.created + offset),
            _ => None,
        }
    }
}

impl Svc {
    /// A live deploy turns `deactivated` once a newer one is live.
    fn status(&self, index: usize, now: Instant) -> (String, Option<Duration>) {
        let dep = &self.deploys[index];
        let (status, finished) = dep.raw_status(now);
        if status == "live" {
            let superseded = self.deploys[index + 1..]
                .iter()
                .any(|d| d.live_since(now).is_some());
            if superseded {
                return ("deactivated".into(), finished);
            }
        }
        (status, finished)
    }

    fn deploy_json(&self, index: usize, now: Instant) -> Value {
        let dep = &self.deploys[index];
        let (status, finished) = self.status(index, now);
        // Render's timestamps carry fractions of a second.
        let at = |d: Duration| {
            (dep.created_at + SignedDuration::try_from(d).unwrap_or_default())
                .round(jiff::Unit::Millisecond)
                .unwrap_or(dep.created_at)
                .to_string()
        };
        let commit = dep.commit.as_ref().map(|sha| match &dep.commit_detail {
            Some(detail) => json!({"id": sha, "message": detail.message, "createdAt": detail.created_at.to_string()}),
            None => json!({"id": sha, "message": format!("Change {}", &sha[..7.min(sha.len())]), "createdAt": at(Duration::ZERO)}),
        });
        let image = dep
            .image
            .as_ref()
            .map(|r| json!({"ref": r, "sha": format!("sha256:{}", "ab12".repeat(16))}));
        // Render sends `"commit": null` for an image deploy (johnbeynon#13),
        // though its schema does not declare it nullable, and leaves out
        // `image` for a git one.
        let mut value = json!({
            "id": dep.id,
            "status": status,
            "trigger": dep.trigger,
            "createdAt": at(Duration::ZERO),
            "updatedAt": at(now.saturating_duration_since(dep.created)),
            "startedAt": at(Duration::ZERO),
        });
        value["commit"] = commit.unwrap_or(serde_json::Value::Null);
        if let Some(image) = image {
            value["image"] = image;
        }
        if let Some(f) = finished {
            value["finishedAt"] = json!(at(f));
        }
        value
    }

    /// The workspace that owns the service (`ownerId`): one for all.
    fn owner(&self) -> &'static str {
        "tea-simulator"
    }

    fn json(&self, base_url: &str) -> Value {
        let spec = &self.spec;
        let mut value = json!({
            "id": self.id,
            "name": spec.name,
            "ownerId": self.owner(),
            "type": spec.kind,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "dashboardUrl": format!("https://dashboard.render.com/web/{}", self.id),
            "suspended": if spec.suspended { "suspended" } else { "not_suspended" },
            "suspenders": if spec.suspended { json!(["user"]) } else { json!([]) },
            "autoDeploy": if spec.auto_deploy == AutoDeploy::Off { "no" } else { "yes" },
            // What starts an Auto-Deploy: in Render's answers
            // (shared/reference/render-api.md §5), not in the copy of its
            // description the tests hold.
            "autoDeployTrigger": match spec.auto_deploy {
                AutoDeploy::Commit => "commit",
                AutoDeploy::ChecksPass => "checksPass",
                AutoDeploy::Off => "off",
            },
            "notifyOnFail": "default",
            "slug": spec.name,
            "rootDir": spec.root_dir,
            "serviceDetails": self.details(format!("{base_url}/_svc/{}", self.id)),
        });
        // An image-backed service has an image path instead of a repository.
        if spec.image {
            value["imagePath"] = json!(format!("docker.io/acme/{}:latest", spec.name));
        } else {
            let repo = spec.repo.as_deref().map(|r| r.trim_end_matches(".git"));
            value["repo"] = json!(format!(
                "https://github.com/acme/{}",
                repo.unwrap_or(&spec.name)
            ));
            // A preview builds its pull request's branch, whose name the
            // simulator does not know.
            if self.parent.is_none() {
                value["branch"] = json!("main");
            }
        }
        value
    }

    /// `previews` and `pullRequestPreviewsEnabled` (its deprecated twin),
    /// and `parentServer` on a preview.
    fn preview_details(&self, details: &mut Value) {
        let (generation, enabled) = if self.spec.previews {
            ("automatic", "yes")
        } else {
            ("off", "no")
        };
        details["pullRequestPreviewsEnabled"] = json!(enabled);
        details["previews"] = json!({ "generation": generation });
        if let Some((id, name)) = &self.parent {
            details["parentServer"] = json!({"id": id, "name": name});
        }
    }

    /// `serviceDetails`, with the fields Render's schema gives this type.
    fn details(&self, url: String) -> Value {
        let spec = &self.spec;
        if spec.kind == "static_site" {
            let mut details = json!({
                "buildCommand": "pnpm install --frozen-lockfile && pnpm build",
                "publishPath": "dist",
                "url": url,
                "buildPlan": "starter",
            });
            self.preview_details(&mut details);
            return details;
        }
        let (runtime, environment) = if spec.image {
            (
                "image",
                json!({"dockerCommand": "", "dockerContext": "", "dockerfilePath": ""}),
            )
        } else {
            (
                "node",
                json!({"buildCommand": "pnpm install --frozen-lockfile && pnpm build", "startCommand": "pnpm start"}),
            )
        };
        let mut details = json!({
            "env": runtime,
            "runtime": runtime,
            "envSpecificDetails": environment,
            "plan": "starter",
            "region": "oregon",
            "buildPlan": "starter",
        });
        if spec.kind == "cron_job" {
            details["schedule"] = json!("*/15 * * * *");
            return details;
        }
        details["numInstances"] = json!(1);
        details["maxShutdownDelaySeconds"] = json!(30);
        self.preview_details(&mut details);
        if spec.kind != "background_worker" {
            details["openPorts"] = json!([{"port": 10000, "protocol": "TCP"}]);
            details["url"] = json!(url);
        }
        if spec.kind == "web_service" {
            details["healthCheckPath"] = json!("/healthz");
        }
        if spec.disk {
            details["disk"] = json!({"id": format!("dsk-{}", &self.id[4..]), "name": "data", "mountPath": "/data", "sizeGB": 1});
        }
        details
    }
}

impl Render {
    pub fn new(base_url: &str) -> Render {
        Render {
            services: Vec::new(),
            counter: 0,
            base_url: base_url.to_string(),
            follow: follow::Follow::default(),
        }
    }

    /// Adds a service (a preview when it has a parent); returns its id.
    fn add(&mut self, spec: ServiceSpec, parent: Option<(String, String)>) -> String {
        let id = self.next_id("srv");
        let hook_key = format!("hk{}", &make_id("k", self.counter + 1000)[3..]);
        self.services.push(Svc {
            id: id.clone(),
            spec,
            hook_key,
            created_at: now_rfc3339(),
            deploys: Vec::new(),
            awake_at: None,
            parent,
            domains: Vec::new(),
        });
        id
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        make_id(prefix, self.counter)
    }

    fn find(&mut self, id: &str) -> Option<&mut Svc> {
        self.services.iter_mut().find(|s| s.id == id)
    }

    /// Starts a deploy on the service's plan at `now` (in the past, for
    /// one Render started while nobody looked); earlier running deploys
    /// are canceled (Render's default "Override" policy) unless it queues.
    fn start_deploy(
        &mut self,
        index: usize,
        commit: Option<String>,
        image: Option<String>,
        trigger: &str,
        now: Instant,
    ) -> usize {
        let id = self.next_id("dep");
        let svc = &mut self.services[index];
        let plan = svc.spec.plan.clone();
        if !plan.queued {
            for dep in svc.deploys.iter_mut() {
                if CANCELLABLE.contains(&dep.raw_status(now).0.as_str()) {
                    dep.ended = Some((now, "canceled".into()));
                }
            }
        }
        let commit = match (commit, svc.spec.image) {
            (Some(c), _) => Some(c),
            (None, false) => Some(fake_sha(self.counter)),
            (None, true) => None,
        };
        let image = image.or_else(|| {
            svc.spec
                .image
                .then(|| format!("docker.io/acme/{}:latest", svc.spec.name))
        });
        svc.deploys.push(Dep {
            id,
            created: now,
            created_at: timestamp_of(now),
            commit: if svc.spec.image { None } else { commit },
            commit_detail: None,
            image,
            trigger: trigger.into(),
            timeline: plan.timeline(),
            ended: None,
            health: plan.health,
        });
        svc.deploys.len() - 1
    }
}

impl Sim {
    pub fn add_service(&self, spec: ServiceSpec) -> String {
        self.lock().render.add(spec, None)
    }

    /// Spins a cold-start instance down, as idling does on Render.
    pub fn spin_down(&self, service: &str) {
        if let Some(svc) = self.lock().render.find(service) {
            svc.awake_at = None;
        }
    }

    /// The live deploy starts answering its health check with `code` (a
    /// crash, a failing dependency) until the next deploy.
    pub fn set_health(&self, service: &str, code: u16) {
        let now = Instant::now();
        if let Some(svc) = self.lock().render.find(service) {
            if let Some(i) = (0..svc.deploys.len())
                .rev()
                .find(|&i| svc.status(i, now).0 == "live")
            {
                svc.deploys[i].health = code;
            }
        }
    }

    pub fn hook_url(&self, service: &str) -> String {
        let state = self.lock();
        let key = state
            .render
            .services
            .iter()
            .find(|s| s.id == service)
            .map(|s| s.hook_key.clone())
            .unwrap_or_default();
        format!("{}/deploy/{service}?key={key}", self.url)
    }

    pub fn set_plan(&self, service: &str, plan: Plan) {
        if let Some(svc) = self.lock().render.find(service) {
            svc.spec.plan = plan;
        }
    }

    pub fn set_suspended(&self, service: &str, suspended: bool) {
        if let Some(svc) = self.lock().render.find(service) {
            svc.spec.suspended = suspended;
        }
    }

    /// Adds a finished deploy from `ago` in the past with a fixed status.
    pub fn add_history(&self, service: &str, status: &str, ago: Duration) -> String {
        self.add_finished(service, status, ago, Duration::ZERO)
    }

    /// Adds a deploy created `ago` in the past that reached `status` after
    /// building for `took`, as a service's recent deploys look.
    pub fn add_finished(
        &self,
        service: &str,
        status: &str,
        ago: Duration,
        took: Duration,
    ) -> String {
        let mut state = self.lock();
        let render = &mut state.render;
        let id = render.next_id("dep");
        let counter = render.counter;
        let Some(svc) = render.find(service) else {
            return id;
        };
        let now = Instant::now();
        let image = svc.spec.image;
        svc.deploys.push(Dep {
            id: id.clone(),
            created: now.checked_sub(ago).unwrap_or(now),
            created_at: Timestamp::now() - SignedDuration::try_from(ago).unwrap_or_default(),
            commit: (!image).then(|| fake_sha(counter)),
            commit_detail: None,
            image: image.then(|| format!("docker.io/acme/{}:v{counter}", svc.spec.name)),
            trigger: "new_commit".into(),
            timeline: vec![
                (Duration::ZERO, "build_in_progress".to_string()),
                (took, status.to_string()),
            ],
            ended: None,
            health: 200,
        });
        svc.deploys.sort_by_key(|d| d.created_at);
        id
    }

    /// Makes `deploy` one of `commit`, committed when it was created: a
    /// deploy of a real commit of the test's repository.
    pub fn set_deploy_commit(&self, service: &str, deploy: &str, commit: &str) {
        let mut state = self.lock();
        if let Some(dep) = state
            .render
            .find(service)
            .and_then(|svc| svc.deploys.iter_mut().find(|d| d.id == deploy))
        {
            dep.commit = Some(commit.to_string());
        }
    }

    /// What the service's health endpoint answers while `deploy` is live.
    pub fn set_deploy_health(&self, service: &str, deploy: &str, code: u16) {
        let mut state = self.lock();
        if let Some(dep) = state
            .render
            .find(service)
            .and_then(|svc| svc.deploys.iter_mut().find(|d| d.id == deploy))
        {
            dep.health = code;
        }
    }

    /// The status of a deploy now, as the API would report it.
    pub fn deploy_status(&self, service: &str, deploy: &str) -> Option<String> {
        let state = self.lock();
        let svc = state.render.services.iter().find(|s| s.id == service)?;
        let index = svc.deploys.iter().position(|d| d.id == deploy)?;
        Some(svc.status(index, Instant::now()).0)
    }

    /// When a deploy reached its terminal status, if it has.
    pub fn ended_at(&self, service: &str, deploy: &str) -> Option<Instant> {
        let state = self.lock();
        let svc = state.render.services.iter().find(|s| s.id == service)?;
        let dep = svc.deploys.iter().find(|d| d.id == deploy)?;
        let (_, finished) = dep.raw_status(Instant::now());
        Some(dep.created + finished?)
    }

    /// Every deploy of a service, oldest first: (id, status, trigger).
    pub fn deploys(&self, service: &str) -> Vec<(String, String, String)> {
        let state = self.lock();
        let Some(svc) = state.render.services.iter().find(|s| s.id == service) else {
            return Vec::new();
        };
        let now = Instant::now();
        (0..svc.deploys.len())
            .map(|i| {
                (
                    svc.deploys[i].id.clone(),
                    svc.status(i, now).0,
                    svc.deploys[i].trigger.clone(),
                )
            })
            .collect()
    }

    /// A small fleet for the demo and the README: one healthy web service,
    /// one whose last build failed, one image-backed service, one worker and
    /// one suspended site.
    pub fn demo_fleet(&self) -> Vec<String> {
        let mins = |m: u64| Duration::from_secs(m * 60);
        let web = self.add_service(ServiceSpec::web("shop-web"));
        self.add_history(&web, "live", mins(90));
        let api = self.add_service(ServiceSpec::web("shop-api"));
        self.add_history(&api, "live", mins(300));
        self.add_history(&api, "build_failed", mins(20));
        let image = self.add_service(ServiceSpec {
            image: true,
            ..ServiceSpec::web("shop-proxy")
        });
        self.add_history(&image, "live", mins(45));
        let worker = self.add_service(ServiceSpec {
            kind: "background_worker".into(),
            ..ServiceSpec::web("shop-worker")
        });
        self.add_history(&worker, "live", mins(600));
        let docs = self.add_service(ServiceSpec {
            kind: "static_site".into(),
            suspended: true,
            ..ServiceSpec::web("shop-docs")
        });
        self.add_history(&docs, "live", mins(2000));
        vec![web, api, image, worker, docs]
    }
}

/// The wall-clock time of a past instant.
fn timestamp_of(at: Instant) -> Timestamp {
    let ago = Instant::now().saturating_duration_since(at);
    Timestamp::now() - SignedDuration::try_from(ago).unwrap_or_default()
}

/// A commit SHA that looks real and is the same for the same counter.
fn fake_sha(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..5)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:08x}", x as u32)
        })
        .collect()
}

pub(crate) fn authorized(request: &Request) -> bool {
    request.header("authorization") == Some(&format!("Bearer {API_KEY}"))
}

fn not_found() -> Response {
    Response::error(404, "not_found", "Unable to find the requested resource.")
}

fn bad_request(message: &str) -> Response {
    Response::error(400, "invalid_input", message)
}

/// `/v1/...`
pub(crate) fn api(state: &mut State, request: &Request) -> Response {
    if !authorized(request) {
        return Response::error(401, "unauthorized", "Unauthorized");
    }
    let parts: Vec<&str> = request.path.trim_start_matches("/v1/").split('/').collect();
    let method = request.method.as_str();
    if (method, parts.as_slice()) == ("GET", ["logs"].as_slice()) {
        return logs::list(state, request);
    }
    let render = &mut state.render;
    let now = Instant::now();
    match (method, parts.as_slice()) {
        ("GET", ["services"]) => list_services(render, request),
        ("GET", ["services", id]) => match render.find(id) {
            Some(_) => {
                let base = render.base_url.clone();
                Response::json(
                    200,
                    &render.find(id).map(|s| s.json(&base)).unwrap_or_default(),
                )
            }
            None => not_found(),
        },
        ("GET", ["services", id, "events"]) => match render.find(id) {
            Some(svc) => events::list(svc, request, now),
            None => not_found(),
        },
        ("GET", ["services", id, "deploys"]) => match render.find(id) {
            Some(svc) => list_deploys(svc, request, now),
            None => not_found(),
        },
        ("GET", ["services", id, "deploys", dep]) => {
            let Some(svc) = render.find(id) else {
                return not_found();
            };
            match svc.deploys.iter().position(|d| d.id == *dep) {
                Some(i) => Response::json(200, &svc.deploy_json(i, now)),
                None => not_found(),
            }
        }
        ("POST", ["services", id, "deploys"]) => trigger(render, id, request),
        ("POST", ["services", id, "deploys", dep, "cancel"]) => {
            let Some(svc) = render.find(id) else {
                return not_found();
            };
            let Some(i) = svc.deploys.iter().position(|d| d.id == *dep) else {
                return not_found();
            };
            if !CANCELLABLE.contains(&svc.status(i, now).0.as_str()) {
                // The schema declares no 409 for cancel; 400 is its answer.
                return bad_request("deploy is not in a cancellable state");
            }
            svc.deploys[i].ended = Some((now, "canceled".into()));
            Response::json(200, &svc.deploy_json(i, now))
        }
        ("POST", ["services", id, "rollback"]) => rollback(render, id, request),
        ("GET", ["services", id, "custom-domains"]) => match render.find(id) {
            Some(svc) => domains::list(svc, request),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// One page of `[{cursor, <key>: item}]`, as Render's lists answer.
fn page(items: Vec<(String, Value)>, request: &Request, key: &str) -> Response {
    let limit = match request.param("limit").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => return bad_request("limit must be between 1 and 100"),
    };
    let start = match request.param("cursor") {
        Some(c) => items
            .iter()
            .position(|(id, _)| id == c)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|(cursor, item)| json!({"cursor": cursor, key: item}))
        .collect();
    Response::json(200, &Value::Array(page))
}

fn list_services(render: &Render, request: &Request) -> Response {
    // The description declares no 400 here: anything but `false` keeps
    // the default, previews included.
    let previews = request.param("includePreviews") != Some("false");
    let items = render
        .services
        .iter()
        .filter(|s| previews || s.parent.is_none())
        .map(|s| (s.id.clone(), s.json(&render.base_url)))
        .collect();
    page(items, request, "service")
}

fn list_deploys(svc: &Svc, request: &Request, now: Instant) -> Response {
    let statuses = request.params("status");
    let after = request
        .param("createdAfter")
        .and_then(|t| t.parse::<Timestamp>().ok());
    let before = request
        .param("createdBefore")
        .and_then(|t| t.parse::<Timestamp>().ok());
    let mut items = Vec::new();
    for i in (0..svc.deploys.len()).rev() {
        let dep = &svc.deploys[i];
        if after.is_some_and(|t| dep.created_at < t) || before.is_some_and(|t| dep.created_at > t) {
            continue;
        }
        if !statuses.is_empty() && !statuses.contains(&svc.status(i, now).0.as_str()) {
            continue;
        }
        items.push((dep.id.clone(), svc.deploy_json(i, now)));
    }
    page(items, request, "deploy")
}

fn trigger(render: &mut Render, id: &str, request: &Request) -> Response {
    let Some(index) = render.services.iter().position(|s| s.id == id) else {
        return not_found();
    };
    let body = request.json();
    let svc = &render.services[index];
    if svc.spec.suspended {
        return bad_request("service is suspended");
    }
    let clear = body.get("clearCache").and_then(Value::as_str);
    if clear.is_some_and(|c| c != "clear" && c != "do_not_clear") {
        return bad_request("clearCache must be clear or do_not_clear");
    }
    let commit = body
        .get("commitId")
        .and_then(Value::as_str)
        .map(String::from);
    let image = body
        .get("imageUrl")
        .and_then(Value::as_str)
        .map(String::from);
    if commit.is_some() && image.is_some() {
        return bad_request("commitId and imageUrl cannot be combined");
    }
    if image.is_some() && !svc.spec.image {
        return bad_request("imageUrl is only for image-backed services");
    }
    let queued = svc.spec.plan.queued;
    let i = render.start_deploy(index, commit, image, "api", Instant::now());
    if queued {
        return Response::empty(202);
    }
    Response::json(201, &render.services[index].deploy_json(i, Instant::now()))
}

fn rollback(render: &mut Render, id: &str, request: &Request) -> Response {
    let Some(index) = render.services.iter().position(|s| s.id == id) else {
        return not_found();
    };
    let target = request
        .json()
        .get("deployId")
        .and_then(Value::as_str)
        .map(String::from);
    let Some(target) = target else {
        return bad_request("deployId is required");
    };
    let now = Instant::now();
    let svc = &render.services[index];
    let Some(t) = svc.deploys.iter().position(|d| d.id == target) else {
        return not_found();
    };
    if !["live", "deactivated"].contains(&svc.status(t, now).0.as_str()) {
        return bad_request("can only roll back to a deploy that was live");
    }
    let (commit, commit_detail, image, health) = (
        svc.deploys[t].commit.clone(),
        svc.deploys[t].commit_detail.clone(),
        svc.deploys[t].image.clone(),
        svc.deploys[t].health,
    );
    let new_id = render.next_id("dep");
    let svc = &mut render.services[index];
    svc.deploys.push(Dep {
        id: new_id,
        created: now,
        created_at: Timestamp::now(),
        commit,
        commit_detail,
        image,
        trigger: "rollback".into(),
        timeline: vec![
            (Duration::ZERO, "created".into()),
            (Duration::from_millis(100), "update_in_progress".into()),
            (Duration::from_millis(600), "live".into()),
        ],
        ended: None,
        health,
    });
    let i = svc.deploys.len() - 1;
    Response::json(201, &svc.deploy_json(i, now))
}

/// `/_sim/deploys`: every deploy with its status and, once it ended, when
/// (Unix epoch milliseconds), for benchmarks that measure lag from another
/// process.
pub(crate) fn deploys_json(state: &State) -> Response {
    let now = Instant::now();
    let epoch = |at: Instant| {
        let ago = now.saturating_duration_since(at).as_secs_f64() * 1000.0;
        jiff::Timestamp::now().as_millisecond() as f64 - ago
    };
    let mut items = Vec::new();
    for svc in &state.render.services {
        for (i, dep) in svc.deploys.iter().enumerate() {
            let (status, finished) = svc.status(i, now);
            items.push(json!({
                "service": svc.id,
                "id": dep.id,
                "status": status,
                "trigger": dep.trigger,
                "created_ms": epoch(dep.created),
                "ended_ms": finished.map(|f| epoch(dep.created + f)),
            }));
        }
    }
    Response::json(200, &Value::Array(items))
}

/// `/deploy/{srv|exs}-…?key=…`, as Render's deploy hooks answer.
pub(crate) fn hook(state: &mut State, request: &Request) -> Response {
    let id = request.path.trim_start_matches("/deploy/");
    if let Some(blueprint) = id.strip_prefix("exs-") {
        return Response::text(
            200,
            &format!("sync started, https://dashboard.render.com/blueprint/exs-{blueprint}/sync/"),
        );
    }
    let render = &mut state.render;
    let Some(index) = render.services.iter().position(|s| s.id == id) else {
        return Response::text(404, "Not Found");
    };
    if request.param("key") != Some(render.services[index].hook_key.as_str()) {
        // A regenerated hook leaves the old key unknown: Render answers 404.
        return Response::text(404, "Not Found");
    }
    if render.services[index].spec.suspended {
        return Response::text(400, "service is suspended");
    }
    let commit = request.param("ref").map(String::from);
    let image = request.param("imgURL").map(String::from);
    let queued = render.services[index].spec.plan.queued;
    let i = render.start_deploy(index, commit, image, "deploy_hook", Instant::now());
    if queued {
        return Response::empty(202);
    }
    let id = render.services[index].deploys[i].id.clone();
    Response::json(200, &json!({"deploy": {"id": id}}))
}

/// How long a request to a service's own URL is held while a spun-down
/// instance starts; the caller waits without holding the state.
pub(crate) fn spin_up_wait(state: &mut State, request: &Request) -> Duration {
    let Some(rest) = request.path.strip_prefix("/_svc/") else {
        return Duration::ZERO;
    };
    let id = rest.split('/').next().unwrap_or_default();
    let Some(svc) = state.render.find(id) else {
        return Duration::ZERO;
    };
    let Some(delay) = svc.spec.cold_start else {
        return Duration::ZERO;
    };
    let now = Instant::now();
    svc.awake_at
        .get_or_insert(now + delay)
        .saturating_duration_since(now)
}

/// `/_svc/{srv}/…`: the service itself, answering with the health of its
/// live deploy.
pub(crate) fn health(state: &mut State, request: &Request) -> Response {
    let rest = request.path.trim_start_matches("/_svc/");
    let id = rest.split('/').next().unwrap_or_default();
    let Some(svc) = state.render.services.iter().find(|s| s.id == id) else {
        return Response::text(404, "no such service");
    };
    if svc.spec.suspended {
        return Response::text(503, "Service Suspended");
    }
    let now = Instant::now();
    let live = (0..svc.deploys.len())
        .rev()
        .find(|&i| svc.status(i, now).0 == "live");
    match live {
        Some(i) => {
            let code = svc.deploys[i].health;
            Response::text(code, if code < 400 { "ok" } else { "unhealthy" })
        }
        None => Response::text(503, "no live deploy"),
    }
}
