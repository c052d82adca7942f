//! A stateful simulator of the parts of the Render REST API (v1) and of the
//! GitHub REST API that render-pilot uses, served over real HTTP on
//! loopback. Paths, shapes and status codes follow Render's published
//! OpenAPI description (`shared/specs/render-api-subset.json`).
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

pub use github::{git_auth_header, Issue, Job, Run};
pub use render::{Outcome, Plan, ServiceSpec};
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
    /// Handles the request, then answers 200 with a body of this many bytes.
    Huge(usize),
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    /// Matched against the start of the path.
    pub path: String,
    pub times: usize,
    pub kind: FaultKind,
}

impl Fault {
    pub fn new(method: &str, path: &str, times: usize, kind: FaultKind) -> Fault {
        Fault {
            method: (!method.is_empty()).then(|| method.to_string()),
            path: path.to_string(),
            times,
            kind,
        }
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
            FaultKind::Status {
                status,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: format!(r#"{{"id":"error","message":"simulated {status}"}}"#),
            },
        )
    }
}

/// Render's per-user GET budget, when a test or benchmark wants one.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

pub(crate) struct State {
    pub render: render::Render,
    pub github: github::GitHub,
    pub faults: VecDeque<Fault>,
    pub requests: Vec<Recorded>,
    pub latency: Duration,
    pub rate_limit: Option<RateLimit>,
    window: (Instant, u32),
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
            window: (Instant::now(), 0),
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
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
        state.window = (Instant::now(), 0);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }
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
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
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
    let response = match fault {
        None => None,
        Some(FaultKind::Slow(delay)) => {
            std::thread::sleep(delay);
            None
        }
        Some(FaultKind::Reset) => return,
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

fn take_fault(faults: &mut VecDeque<Fault>, request: &Request) -> Option<FaultKind> {
    let index = faults.iter().position(|f| {
        f.times > 0
            && f.method.as_deref().is_none_or(|m| m == request.method)
            && request.path.starts_with(&f.path)
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
    let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
    let path = request.path.clone();
    if path.starts_with("/git/") {
        let call = github::prepare_git(&mut state, request);
        drop(state);
        return match call {
            Ok(call) => github::serve_git(call, request),
            Err(response) => response,
        };
    }
    if path.starts_with("/v1/") {
        if let Some(limited) = state.count_against_rate_limit(request) {
            return limited;
        }
        let headers = state.rate_headers();
        let mut response = render::api(&mut state, request);
        response.headers.extend(headers);
        response.headers.push((
            "Render-Request-Id".into(),
            format!("req-{}", state.requests.len()),
        ));
        response
    } else if path.starts_with("/deploy/") {
        render::hook(&mut state, request)
    } else if path.starts_with("/_svc/") {
        render::health(&mut state, request)
    } else if path == "/_sim/requests" {
        sim_requests(&state)
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

impl State {
    fn count_against_rate_limit(&mut self, request: &Request) -> Option<Response> {
        let limit = self.rate_limit?;
        if request.method != "GET" {
            return None;
        }
        let now = Instant::now();
        if now.duration_since(self.window.0) >= limit.window {
            self.window = (now, 0);
        }
        if self.window.1 >= limit.limit {
            let reset = self.reset_secs(now, limit);
            return Some(
                Response::json(429, &serde_json::json!({"message": "rate limit exceeded"}))
                    .with_header("Retry-After", reset.to_string())
                    .with_header("Ratelimit-Limit", limit.limit.to_string())
                    .with_header("Ratelimit-Remaining", "0")
                    .with_header("Ratelimit-Reset", reset.to_string()),
            );
        }
        self.window.1 += 1;
        None
    }

    fn reset_secs(&self, now: Instant, limit: RateLimit) -> u64 {
        let left = limit
            .window
            .saturating_sub(now.duration_since(self.window.0));
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    fn rate_headers(&self) -> Vec<(String, String)> {
        let (limit, remaining, reset) = match self.rate_limit {
            Some(l) => (
                l.limit,
                l.limit.saturating_sub(self.window.1),
                self.reset_secs(Instant::now(), l),
            ),
            None => (400, 399, 60),
        };
        vec![
            ("Ratelimit-Limit".into(), limit.to_string()),
            ("Ratelimit-Remaining".into(), remaining.to_string()),
            ("Ratelimit-Reset".into(), reset.to_string()),
        ]
    }
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
