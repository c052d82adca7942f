//! A stateful simulator of the parts of the Render REST API (v1) and of the
//! GitHub REST API that render-pilot uses, served over real HTTP on
//! loopback. Paths, shapes and status codes follow Render's published
//! OpenAPI description (`shared/specs/render-api-subset.json`). Render
//! also acts by itself, as the real one does: Auto-Deploy of pushes to a
//! repository the simulator serves, and pull-request previews.
//!
//! Tests start one in-process with [`Sim::start`]; `render-sim` serves one
//! with a demo fleet for the README's end-to-end command and the benchmarks.

mod github;
mod render;
pub mod wire;

use std::collections::VecDeque;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use github::{git_auth_header, Deployment, DeploymentStatus, Issue, Job, Run};
pub use render::{AutoDeploy, BuildError, Outcome, Plan, ServiceSpec};
use wire::{Request, Response};

/// The API key the simulated Render accepts.
pub const API_KEY: &str = "rnd_SimulatorKey0123456789abcdef";
/// The token the simulated GitHub accepts.
pub const GITHUB_TOKEN: &str = "ghs_SimulatorToken0123456789abcdef";

/// A request as the simulator received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A fault served instead of (or before) the normal answer.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// This status, headers and body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// An HTML error page, as a proxy would send.
    Html(u16),
    /// Handles the request, then answers 200 with JSON cut off in the middle.
    TruncatedJson,
    /// Handles the request, then announces a longer body than it sends and
    /// closes the connection.
    ShortBody,
    /// Closes the connection without answering.
    Reset,
    /// Waits, then answers normally.
    Slow(Duration),
    /// Handles the request, sends the head at once, then the body one byte
    /// per interval: every single read succeeds, the whole never arrives in
    /// time.
    Drip(Duration),
    /// Handles the request, then answers normally with these headers
    /// instead of its own of the same names (a rate-limit budget that says
    /// it is spent in every answer, say).
    Headers(Vec<(String, String)>),
    /// Handles the request, then answers 200 with a body of this many bytes.
    Huge(usize),
    /// A log subscription answers 101, sends this many lines, then drops
    /// the connection without a close frame; any other request is closed
    /// without an answer.
    Cut(usize),
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    /// Matched against the start of the path.
    pub path: String,
    /// When set, the query must contain it.
    pub query: Option<String>,
    pub times: usize,
    pub kind: FaultKind,
}

impl FaultKind {
    /// An answer with a JSON body, as an API sends it.
    pub fn json(status: u16, body: impl Into<String>) -> FaultKind {
        FaultKind::Status {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }
}

impl Fault {
    pub fn new(method: &str, path: &str, times: usize, kind: FaultKind) -> Fault {
        Fault {
            method: (!method.is_empty()).then(|| method.to_string()),
            path: path.to_string(),
            query: None,
            times,
            kind,
        }
    }

    /// Only for requests whose query contains `part`.
    pub fn when_query(mut self, part: &str) -> Fault {
        self.query = Some(part.to_string());
        self
    }

    /// A 429 as Render sends it.
    pub fn rate_limited(method: &str, path: &str, times: usize, retry_after: u64) -> Fault {
        Fault::new(
            method,
            path,
            times,
            FaultKind::Status {
                status: 429,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Retry-After".into(), retry_after.to_string()),
                    ("Ratelimit-Limit".into(), "400".into()),
                    ("Ratelimit-Remaining".into(), "0".into()),
                    ("Ratelimit-Reset".into(), retry_after.to_string()),
                ],
                body: r#"{"message":"rate limit exceeded"}"#.into(),
            },
        )
    }

    pub fn status(method: &str, path: &str, times: usize, status: u16) -> Fault {
        Fault::new(
            method,
            path,
            times,
            FaultKind::json(
                status,
                format!(r#"{{"id":"error","message":"simulated {status}"}}"#),
            ),
        )
    }
}

/// Render's per-user GET budget, when a test or benchmark wants one. With
/// it, every bucket is enforced (429 with `Retry-After` once spent).
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// Render's budgets a minute for deploy triggers (per service, hooks
/// included) and for other writes.
const DEPLOY_LIMIT: u32 = 10;
const WRITE_LIMIT: u32 = 30;
const WINDOW: Duration = Duration::from_secs(60);

pub(crate) struct State {
    pub render: render::Render,
    pub github: github::GitHub,
    pub faults: VecDeque<Fault>,
    pub requests: Vec<Recorded>,
    pub latency: Duration,
    pub rate_limit: Option<RateLimit>,
    /// Each bucket's window start and the requests counted in it.
    windows: std::collections::HashMap<String, (Instant, u32)>,
    pub base_url: String,
}

#[derive(Clone)]
pub struct Sim {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Sim {
    /// Starts a simulator on a free loopback port.
    pub fn start() -> Sim {
        Sim::start_on("127.0.0.1:0").expect("binding a loopback port")
    }

    pub fn start_on(address: &str) -> std::io::Result<Sim> {
        let listener = TcpListener::bind(address)?;
        let port = listener.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            render: render::Render::new(&url),
            github: github::GitHub::default(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            latency: Duration::ZERO,
            rate_limit: None,
            windows: Default::default(),
            base_url: url.clone(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Ok(Sim { url, state })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The Render API base, as `render-api-url` takes it.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    pub fn fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut state = self.lock();
        state.rate_limit = limit;
        state.windows.clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }
}

/// Locks the state, first doing what Render had scheduled for by now
/// (Auto-Deploys, previews): every reader sees it on time.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    state.render.catch_up(Instant::now());
    state
}

fn serve(mut stream: TcpStream, state: &Arc<Mutex<State>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = wire::read_request(&stream) else {
        return;
    };
    // The simulator's own control endpoint is neither recorded nor delayed.
    if request.path.starts_with("/_sim/") {
        let _ = wire::write_response(&mut stream, &route(state, &request));
        return;
    }
    let (fault, latency) = {
        let mut state = lock(state);
        state.requests.push(Recorded {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.raw_query.clone(),
            headers: request.headers.clone(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            at: Instant::now(),
        });
        let spin_up = render::spin_up_wait(&mut state, &request);
        (
            take_fault(&mut state.faults, &request),
            state.latency + spin_up,
        )
    };
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    if is_subscription(&request)
        && matches!(fault, None | Some(FaultKind::Cut(_) | FaultKind::Slow(_)))
    {
        if let Some(FaultKind::Slow(delay)) = fault {
            std::thread::sleep(delay);
        }
        let cut = match fault {
            Some(FaultKind::Cut(n)) => Some(n),
            _ => None,
        };
        match refuse_subscription(state, &request) {
            Some(refused) => drop(wire::write_response(&mut stream, &refused)),
            None => render::logs::subscribe(stream, state, &request, cut),
        }
        return;
    }
    let response = match fault {
        None => None,
        Some(FaultKind::Slow(delay)) => {
            std::thread::sleep(delay);
            None
        }
        Some(FaultKind::Reset | FaultKind::Cut(_)) => return,
        Some(FaultKind::Drip(every)) => {
            let response = route(state, &request);
            let _ = wire::write_head(&mut stream, &response, response.body.len());
            for byte in &response.body {
                std::thread::sleep(every);
                let sent = std::io::Write::write_all(&mut stream, std::slice::from_ref(byte))
                    .and_then(|()| std::io::Write::flush(&mut stream));
                if sent.is_err() {
                    return;
                }
            }
            return;
        }
        Some(FaultKind::ShortBody) => {
            // The server did the work; the answer breaks off on the way.
            let response = route(state, &request);
            let _ = wire::write_head(&mut stream, &response, response.body.len() + 500);
            let _ = std::io::Write::write_all(&mut stream, &response.body[..response.body.len() / 2]);
            return;
        }
        Some(FaultKind::Status {
            status,
            headers,
            body,
        }) => Some(Response {
            status,
            headers,
            body: body.into_bytes(),
        }),
        Some(FaultKind::Html(status)) => Some(Response {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("<!DOCTYPE html><html><head><title>{status} Error</title></head><body><h1>{status}</h1><p>Upstream error from the proxy.</p></body></html>").into_bytes(),
        }),
        Some(FaultKind::TruncatedJson) => {
            let mut response = route(state, &request);
            response.status = 200;
            response.body = br#"[{"cursor":"c1","service":{"id":"srv-tr","name":"trunc"#.to_vec();
            Some(response)
        }
        Some(FaultKind::Headers(headers)) => {
            let mut response = route(state, &request);
            response
                .headers
                .retain(|(name, _)| !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
            response.headers.extend(headers);
            Some(response)
        }
        Some(FaultKind::Huge(size)) => {
            let mut response = route(state, &request);
            response.status = 200;
            response.body = b"[".to_vec();
            response.body.resize(size, b' ');
            Some(response)
        }
    };
    let response = response.unwrap_or_else(|| route(state, &request));
    let _ = wire::write_response(&mut stream, &response);
}

fn is_subscription(request: &Request) -> bool {
    request.method == "GET" && request.path == "/v1/logs/subscribe"
}

/// A log subscription's answer when it is refused: its GET spent, the key,
/// the filters checked.
fn refuse_subscription(shared: &Arc<Mutex<State>>, request: &Request) -> Option<Response> {
    let mut state = lock(shared);
    let headers = match state.spend(request) {
        Ok(headers) => headers,
        Err(limited) => return Some(limited),
    };
    render::logs::refuse_subscription(&state, request).map(|mut refused| {
        refused.headers.extend(headers);
        refused
    })
}

fn take_fault(faults: &mut VecDeque<Fault>, request: &Request) -> Option<FaultKind> {
    let index = faults.iter().position(|f| {
        f.times > 0
            && f.method.as_deref().is_none_or(|m| m == request.method)
            && request.path.starts_with(&f.path)
            && f.query
                .as_deref()
                .is_none_or(|q| request.raw_query.contains(q))
    })?;
    let fault = &mut faults[index];
    fault.times -= 1;
    let kind = fault.kind.clone();
    if fault.times == 0 {
        faults.remove(index);
    }
    Some(kind)
}

fn route(shared: &Arc<Mutex<State>>, request: &Request) -> Response {
    let mut state = lock(shared);
    let path = request.path.clone();
    if path.starts_with("/git/") {
        let call = github::prepare_git(&mut state, request);
        drop(state);
        let mut call = match call {
            Ok(call) => call,
            Err(response) => return response,
        };
        // Someone else's push (a test's hook) lands first, so `main` is
        // read after it.
        call.run_push_hook();
        let push = call.pushed_repository(request);
        let push = push.map(|(name, dir)| render::follow::Push::begin(&name, dir));
        let response = github::serve_git(call, request);
        if let Some(push) = push {
            push.finish(shared);
        }
        return response;
    }
    if path.starts_with("/v1/") || path.starts_with("/deploy/") {
        let headers = match state.spend(request) {
            Ok(headers) => headers,
            Err(limited) => return limited,
        };
        let mut response = if path.starts_with("/v1/") {
            render::api(&mut state, request)
        } else {
            render::hook(&mut state, request)
        };
        response.headers.extend(headers);
        response.headers.push((
            "Render-Request-Id".into(),
            format!("req-{}", state.requests.len()),
        ));
        response
    } else if path.starts_with("/_svc/") {
        render::health(&mut state, request)
    } else if path == "/_sim/requests" {
        sim_requests(&state)
    } else if path == "/_sim/deploys" {
        render::deploys_json(&state)
    } else if path.starts_with("/repos/") || path.starts_with("/_logs/") {
        github::api(&mut state, request)
    } else {
        Response::error(404, "not_found", "Unable to find the requested resource.")
    }
}

/// `/_sim/requests`: what the simulator received, for benchmarks run from
/// another process. Times are Unix epoch milliseconds.
fn sim_requests(state: &State) -> Response {
    let now = Instant::now();
    let epoch_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let items: Vec<serde_json::Value> = state
        .requests
        .iter()
        .map(|r| {
            let ago = now.duration_since(r.at).as_secs_f64() * 1000.0;
            serde_json::json!({"method": r.method, "path": r.path, "at_ms": epoch_now - ago})
        })
        .collect();
    Response::json(200, &serde_json::Value::Array(items))
}

/// Render's rate-limit bucket of a request and its budget a minute:
/// triggers (API or hook) spend the service's deploy budget, other writes
/// the write budget, reads the GET budget (`None`: unlimited unless a test
/// sets one).
fn bucket(request: &Request) -> (String, Option<u32>) {
    let path = request.path.as_str();
    if let Some(id) = path.strip_prefix("/deploy/") {
        return (format!("deploy:{id}"), Some(DEPLOY_LIMIT));
    }
    let rest = path.trim_start_matches("/v1/");
    match request.method.as_str() {
        "GET" => ("get".into(), None),
        "POST" if rest.ends_with("/deploys") => {
            let id = rest.split('/').nth(1).unwrap_or_default();
            (format!("deploy:{id}"), Some(DEPLOY_LIMIT))
        }
        _ => ("write".into(), Some(WRITE_LIMIT)),
    }
}

impl State {
    /// Counts a request against its bucket. Returns the bucket's
    /// `Ratelimit-*` headers, or the 429 when the budget is spent and
    /// limits are enforced.
    fn spend(&mut self, request: &Request) -> Result<Vec<(String, String)>, Response> {
        let (key, limit) = bucket(request);
        let (limit, window) = match (limit, self.rate_limit) {
            (Some(limit), rate) => (limit, rate.map_or(WINDOW, |r| r.window)),
            (None, Some(rate)) => (rate.limit, rate.window),
            // No GET budget set: a generous, constant answer.
            (None, None) => return Ok(rate_headers(400, 399, 60)),
        };
        let now = Instant::now();
        let counted = self.windows.entry(key).or_insert((now, 0));
        if now.duration_since(counted.0) >= window {
            *counted = (now, 0);
        }
        let left = window.saturating_sub(now.duration_since(counted.0));
        let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if counted.1 >= limit && self.rate_limit.is_some() {
            let mut response =
                Response::json(429, &serde_json::json!({"message": "rate limit exceeded"}))
                    .with_header("Retry-After", reset.to_string());
            response.headers.extend(rate_headers(limit, 0, reset));
            return Err(response);
        }
        counted.1 += 1;
        Ok(rate_headers(limit, limit.saturating_sub(counted.1), reset))
    }
}

fn rate_headers(limit: u32, remaining: u32, reset: u64) -> Vec<(String, String)> {
    vec![
        ("Ratelimit-Limit".into(), limit.to_string()),
        ("Ratelimit-Remaining".into(), remaining.to_string()),
        ("Ratelimit-Reset".into(), reset.to_string()),
    ]
}

/// Ids shaped like Render's: a prefix and 20 lower-case letters and digits,
/// deterministic for a given counter so runs are reproducible.
pub(crate) fn make_id(prefix: &str, n: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut id = format!("{prefix}-d");
    for _ in 0..19 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        id.push(ALPHABET[(x % 36) as usize] as char);
    }
    id
}

pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or(jiff::Timestamp::now())
        .to_string()
}
