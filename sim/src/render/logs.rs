//! Render's logs (`GET /logs`, and `GET /logs/subscribe` as a WebSocket),
//! as the published description declares them (`render-logs-subset.json`):
//! entries `{id, timestamp, message, labels}`, paged by time windows
//! (`hasMore`, `nextStartTime`, `nextEndTime`), filtered by owner,
//! resource, type and time. There is no deploy label: one deploy's build
//! log is its service's `type=build` lines within the deploy's window.
//!
//! Each deploy writes a realistic build log as its timeline runs: Render's
//! own `==> ` lines (cloning, the build command, build successful or
//! failed, deploying, your service is live) around pnpm's and the build
//! tool's output, a failure's own lines (pnpm's `ERR_PNPM_OUTDATED_LOCKFILE`
//! by default), then the app's first lines (`type=app`). Render's lines
//! that end a phase are written the instant the deploy's status changes. A
//! read sees only the lines written by then; the stream sends each one as
//! it is written. Which lines are `build` and which `app` the description
//! does not say: here Render's `==> ` lines are `build` all through the
//! deploy, the service's own output `app`.

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use super::{bad_request, not_found, Dep, Svc};
use crate::wire::{Request, Response};
use crate::{lock, State};

/// What a failing build prints before Render says it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildError {
    /// pnpm refuses a lockfile that does not match package.json.
    #[default]
    Lockfile,
    /// The bundler cannot resolve an import.
    MissingModule,
    /// Node runs out of heap.
    OutOfMemory,
    /// A type error: no failure signature knows it.
    Unexplained,
}

/// One line of a deploy's log, `after` its creation.
#[derive(Debug, Clone)]
struct Line {
    after: Duration,
    id: String,
    message: String,
    kind: &'static str,
}

/// The lines a deploy writes over its whole timeline, oldest first; a
/// canceled deploy writes none after it was canceled.
fn deploy_lines(svc: &Svc, dep: &Dep) -> Vec<Line> {
    let Some(index) = dep
        .timeline
        .iter()
        .position(|(_, s)| s == "build_in_progress")
    else {
        return Vec::new();
    };
    let building = dep.timeline[index].0;
    // A build still running writes its lines over the next hour.
    let (built, status_at_build_end) = dep.timeline.get(index + 1).map_or(
        (building + Duration::from_secs(3600), "build_in_progress"),
        |(t, s)| (*t, s.as_str()),
    );
    let (done, last) = dep
        .timeline
        .last()
        .map_or((built, ""), |(t, s)| (*t, s.as_str()));
    let mut timed: Vec<(Duration, &'static str, String)> = Vec::new();
    let build = build_output(svc, dep, status_at_build_end == "build_failed");
    spread(&mut timed, build, building, built);
    match status_at_build_end {
        "build_failed" => {
            timed.push((built, "build", "==> Build failed 😞".into()));
            timed.push((built, "build", TROUBLESHOOT.into()));
        }
        "pre_deploy_in_progress" | "update_in_progress" | "live" | "deactivated" => {
            timed.push((built, "build", "==> Build successful 🎉".into()));
            timed.push((built, "build", "==> Deploying...".into()));
            let start = built + Duration::from_millis(1);
            spread(&mut timed, app_output(svc, last), start, done);
            match last {
                "live" | "deactivated" => {
                    timed.push((done, "build", "==> Your service is live 🎉".into()))
                }
                "update_failed" => {
                    timed.push((done, "build", "==> Exited with status 1".into()));
                    timed.push((done, "build", TROUBLESHOOT.into()));
                }
                "pre_deploy_failed" => {
                    timed.push((done, "build", "==> Pre-deploy failed".into()));
                    timed.push((done, "build", TROUBLESHOOT.into()));
                }
                _ => {}
            }
        }
        _ => {}
    }
    let cut = dep
        .ended
        .as_ref()
        .map(|(at, _)| at.saturating_duration_since(dep.created));
    timed
        .into_iter()
        .enumerate()
        .filter(|(_, (after, _, _))| cut.is_none_or(|c| *after <= c))
        .map(|(i, (after, kind, message))| Line {
            // Lines written in the same instant keep their order.
            after: after + Duration::from_nanos(i as u64),
            id: crate::make_id("log", line_number(&dep.id, i)),
            message,
            kind,
        })
        .collect()
}

const TROUBLESHOOT: &str =
    "==> Common ways to troubleshoot your deploy: https://render.com/docs/troubleshooting-deploys";

/// `lines` spread evenly over `from..to`, the first at `from`.
fn spread(
    timed: &mut Vec<(Duration, &'static str, String)>,
    lines: Vec<(&'static str, String)>,
    from: Duration,
    to: Duration,
) {
    let span = to
        .saturating_sub(from)
        .saturating_sub(Duration::from_millis(2));
    let count = lines.len().max(1) as u32;
    for (i, (kind, line)) in lines.into_iter().enumerate() {
        timed.push((from + span * i as u32 / count, kind, line));
    }
}

/// A stable number per deploy and line, for ids that do not change from
/// one read to the next.
fn line_number(deploy: &str, index: usize) -> u64 {
    deploy
        .bytes()
        .fold(0x811c_9dc5_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0193)
        })
        .wrapping_mul(1_000_003)
        .wrapping_add(index as u64)
}

/// What the build writes: Render's own lines, pnpm's and the bundler's
/// output, the plan's extra lines, and when it fails, the failure's.
fn build_output(svc: &Svc, dep: &Dep, fails: bool) -> Vec<(&'static str, String)> {
    let spec = &svc.spec;
    let repo = spec
        .repo
        .as_deref()
        .map(|r| r.trim_end_matches(".git"))
        .unwrap_or(&spec.name);
    let mut lines: Vec<String> = match (&dep.image, &dep.commit) {
        (Some(image), _) => vec![
            format!("==> Pulling image {image}"),
            "==> Pulled image in 2.1s".into(),
        ],
        (None, commit) => vec![
            format!("==> Cloning from https://github.com/acme/{repo}"),
            format!(
                "==> Checking out commit {} in branch main",
                commit.as_deref().unwrap_or("HEAD")
            ),
            "==> Using Node.js version 22.12.0 (default)".into(),
            "==> Docs on specifying a Node.js version: https://render.com/docs/node-version".into(),
            "==> Running build command 'pnpm install --frozen-lockfile && pnpm build'...".into(),
            "Scope: all 1 workspace projects".into(),
        ],
    };
    let plan = &spec.plan;
    let install_fails = fails && plan.fails_with == BuildError::Lockfile;
    if !install_fails && dep.image.is_none() {
        lines.extend(
            [
                "Lockfile is up to date, resolution step is skipped",
                "Packages: +212",
                "Progress: resolved 212, reused 198, downloaded 14, added 212, done",
                "dependencies:",
                "+ express 4.21.2",
                "Done in 3.4s",
                &format!("> {}@1.0.0 build /opt/render/project/src", spec.name),
                "> vite build",
                "vite v6.0.7 building for production...",
            ]
            .map(String::from),
        );
    }
    lines.extend(plan.log.iter().cloned());
    lines.extend((0..plan.log_filler).map(|i| format!("transforming (module {i})")));
    if fails {
        lines.extend(failure_output(plan.fails_with).map(String::from));
    } else if dep.image.is_none() {
        lines.extend(
            [
                "✓ 48 modules transformed.",
                "dist/index.html   0.46 kB │ gzip: 0.30 kB",
                "✓ built in 1.21s",
                "==> Uploading build...",
                "==> Uploaded in 4.1s. Compression took 1.2s",
            ]
            .map(String::from),
        );
    }
    lines.into_iter().map(|l| ("build", l)).collect()
}

fn failure_output(error: BuildError) -> [&'static str; 6] {
    match error {
        BuildError::Lockfile => [
            " ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json",
            "",
            "Note that in CI environments this setting is true by default. If you still need to run install in such cases, use \"pnpm install --no-frozen-lockfile\"",
            "  Failure reason:",
            "  specifiers in the lockfile don't match specifiers in package.json:",
            "* 1 dependencies were added: zod@^3.24.1",
        ],
        BuildError::MissingModule => [
            "x Build failed in 812ms",
            "error during build:",
            "[vite]: Rollup failed to resolve import \"zod\" from \"/opt/render/project/src/src/schema.ts\".",
            "Error: Cannot find module 'zod'",
            "Require stack:",
            " ELIFECYCLE  Command failed with exit code 1.",
        ],
        BuildError::OutOfMemory => [
            "<--- Last few GCs --->",
            "[93:0x6a3c000]    41112 ms: Mark-Compact 2036.1 (2083.4) -> 2031.6 (2084.9) MB, 1510.2 / 0.0 ms  allocation failure",
            "<--- JS stacktrace --->",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            "Aborted (core dumped)",
            " ELIFECYCLE  Command failed with exit code 134.",
        ],
        BuildError::Unexplained => [
            "src/cart.ts(12,5): type mismatch in total",
            "  Type 'string' is not assignable to type 'number'.",
            "src/cart.ts(19,9): unused variable",
            "Found 2 problems in 1 file.",
            "",
            " ELIFECYCLE  Command failed with exit code 2.",
        ],
    }
}

/// What the service prints once deployed, up to its end.
fn app_output(svc: &Svc, end: &str) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("build", "==> Running 'pnpm start'".to_string()),
        (
            "app",
            format!("> {}@1.0.0 start /opt/render/project/src", svc.spec.name),
        ),
        ("app", "> node server.js".to_string()),
    ];
    if end == "update_failed" {
        lines.push(("app", "Error: DATABASE_URL is not defined".into()));
        lines.push((
            "app",
            "    at validateConfig (/opt/render/project/src/config.js:12:9)".into(),
        ));
    } else {
        lines.push(("app", "Listening on port 10000".into()));
    }
    lines
}

/// The filters of a log query, checked as the description declares them.
struct Query {
    resources: Vec<String>,
    types: Vec<String>,
    from: Timestamp,
    to: Timestamp,
    forward: bool,
    limit: usize,
}

fn query(state: &State, request: &Request) -> Result<Query, Response> {
    let Some(owner) = request.param("ownerId") else {
        return Err(bad_request("ownerId is required"));
    };
    let resources: Vec<String> = request
        .params("resource")
        .into_iter()
        .map(String::from)
        .collect();
    if resources.is_empty() {
        return Err(bad_request("resource is required"));
    }
    for id in &resources {
        let Some(svc) = state.render.services.iter().find(|s| s.id == *id) else {
            return Err(not_found());
        };
        if svc.owner() != owner {
            return Err(Response::error(
                403,
                "forbidden",
                "the owner does not own this resource",
            ));
        }
    }
    let time = |name: &str| match request.param(name) {
        None => Ok(None),
        Some(t) => t
            .parse::<Timestamp>()
            .map(Some)
            .map_err(|_| bad_request(&format!("{name} must be a date-time"))),
    };
    let to = time("endTime")?.unwrap_or_else(Timestamp::now);
    let from = time("startTime")?.unwrap_or(to - SignedDuration::from_hours(1));
    let forward = match request.param("direction") {
        None | Some("backward") => false,
        Some("forward") => true,
        Some(_) => return Err(bad_request("direction must be forward or backward")),
    };
    let limit = match request.param("limit").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => return Err(bad_request("limit must be between 1 and 100")),
    };
    Ok(Query {
        resources,
        types: request
            .params("type")
            .into_iter()
            .map(String::from)
            .collect(),
        from,
        to,
        forward,
        limit,
    })
}

/// A line as the API serves it.
fn entry(service: &str, at: Timestamp, line: &Line) -> Value {
    let level = if line.message.contains("ERR") || line.message.contains("rror") {
        "error"
    } else {
        "info"
    };
    json!({
        "id": line.id,
        "timestamp": at.to_string(),
        "message": line.message,
        "labels": [
            {"name": "resource", "value": service},
            {"name": "type", "value": line.kind},
            {"name": "level", "value": level},
        ],
    })
}

impl Query {
    /// The query's services.
    fn services<'a>(&'a self, state: &'a State) -> impl Iterator<Item = &'a Svc> {
        let services = state.render.services.iter();
        services.filter(|s| self.resources.contains(&s.id))
    }

    /// Whether a line written at `at` is in the window and of a type asked.
    fn wants(&self, at: Timestamp, line: &Line) -> bool {
        let typed = self.types.is_empty() || self.types.iter().any(|t| t == line.kind);
        typed && at >= self.from && at <= self.to
    }
}

/// Every line of the query's services written by `now`, in its window
/// and of its types, oldest first.
fn matching(state: &State, q: &Query, now: Instant) -> Vec<(Timestamp, String, Line)> {
    let mut found = Vec::new();
    for svc in q.services(state) {
        for dep in &svc.deploys {
            for line in deploy_lines(svc, dep) {
                let at = stamp(dep, line.after);
                if dep.created + line.after <= now && q.wants(at, &line) {
                    found.push((at, svc.id.clone(), line));
                }
            }
        }
    }
    found.sort_by_key(|(at, _, _)| *at);
    found
}

fn stamp(dep: &Dep, after: Duration) -> Timestamp {
    dep.created_at + SignedDuration::try_from(after).unwrap_or_default()
}

/// `GET /logs`: one page of the window, newest first (`backward`, the
/// default) or oldest first; the next page is the rest of the window,
/// named by `nextStartTime` and `nextEndTime`.
pub(crate) fn list(state: &State, request: &Request) -> Response {
    let q = match query(state, request) {
        Ok(q) => q,
        Err(refused) => return refused,
    };
    let mut lines = matching(state, &q, Instant::now());
    if !q.forward {
        lines.reverse();
    }
    let has_more = lines.len() > q.limit;
    lines.truncate(q.limit);
    let nanosecond = SignedDuration::from_nanos(1);
    let (next_start, next_end) = match (lines.last(), q.forward) {
        (Some((at, _, _)), true) => (*at + nanosecond, q.to),
        (Some((at, _, _)), false) => (q.from, *at - nanosecond),
        (None, _) => (q.from, q.to),
    };
    let logs: Vec<Value> = lines
        .iter()
        .map(|(at, id, line)| entry(id, *at, line))
        .collect();
    Response::json(
        200,
        &json!({
            "hasMore": has_more,
            "nextStartTime": next_start.to_string(),
            "nextEndTime": next_end.to_string(),
            "logs": logs,
        }),
    )
}

/// A subscription's checks, before the upgrade: its answer when refused.
pub(crate) fn refuse_subscription(state: &State, request: &Request) -> Option<Response> {
    if !super::authorized(request) {
        return Some(Response::error(401, "unauthorized", "Unauthorized"));
    }
    if !request
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        || request.header("sec-websocket-key").is_none()
    {
        return Some(bad_request(
            "logs/subscribe is a WebSocket: send Upgrade: websocket",
        ));
    }
    query(state, request).err()
}

/// How often the stream looks for new lines.
const TICK: Duration = Duration::from_millis(5);
/// The longest a subscription stays open.
const LIFETIME: Duration = Duration::from_secs(600);

/// `GET /logs/subscribe`, upgraded: sends every matching line from
/// `startTime` (default an hour ago) as it is written, one JSON entry per
/// text message, until `endTime`, the client leaves, or, with `cut_after`,
/// that many lines were sent and the connection drops without a close.
pub(crate) fn subscribe(
    mut stream: TcpStream,
    shared: &Arc<Mutex<State>>,
    request: &Request,
    cut_after: Option<usize>,
) {
    let key = request.header("sec-websocket-key").unwrap_or_default();
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        tungstenite::handshake::derive_accept_key(key.as_bytes())
    );
    if std::io::Write::write_all(&mut stream, head.as_bytes()).is_err() {
        return;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_millis(1)));
    let config = WebSocketConfig::default().max_message_size(Some(1 << 20));
    let mut socket = WebSocket::from_raw_socket(stream, Role::Server, Some(config));
    let opened = Instant::now();
    let mut feed = Feed::default();
    let mut sent = 0usize;
    while opened.elapsed() < LIFETIME {
        let (due, done) = {
            let state = lock(shared);
            let Ok(q) = query(&state, request) else {
                return;
            };
            let done = request.param("endTime").is_some() && Timestamp::now() > q.to;
            (feed.due(&state, &q, Instant::now()), done)
        };
        for entry in due {
            if cut_after.is_some_and(|n| sent >= n) {
                return;
            }
            if socket.send(Message::text(entry.to_string())).is_err() {
                return;
            }
            sent += 1;
        }
        if done {
            let _ = socket.close(None);
            let _ = socket.flush();
            return;
        }
        if !still_open(&mut socket) {
            return;
        }
        std::thread::sleep(TICK);
    }
}

/// Reads what the client sent (a close, a ping); false once it left.
fn still_open(socket: &mut WebSocket<TcpStream>) -> bool {
    use std::io::ErrorKind::{TimedOut, WouldBlock};
    match socket.read() {
        Ok(Message::Close(_)) => false,
        Ok(_) => true,
        Err(tungstenite::Error::Io(e)) => matches!(e.kind(), WouldBlock | TimedOut),
        Err(_) => false,
    }
}

/// Each deploy's lines, made once, and how many of them were sent.
#[derive(Default)]
struct Feed {
    deploys: std::collections::HashMap<String, (Vec<Line>, usize)>,
}

impl Feed {
    /// The lines written since the last call, in the query's window and
    /// of its types, oldest first, as entries.
    fn due(&mut self, state: &State, q: &Query, now: Instant) -> Vec<Value> {
        let mut due = Vec::new();
        for svc in q.services(state) {
            for dep in &svc.deploys {
                let (lines, next) = self
                    .deploys
                    .entry(dep.id.clone())
                    .or_insert_with(|| (deploy_lines(svc, dep), 0));
                let cut = dep.ended.as_ref().map(|(at, _)| *at);
                while let Some(line) = lines.get(*next) {
                    let written = dep.created + line.after;
                    if written > now || cut.is_some_and(|c| written > c) {
                        break;
                    }
                    *next += 1;
                    let at = stamp(dep, line.after);
                    if q.wants(at, line) {
                        due.push((at, entry(&svc.id, at, line)));
                    }
                }
            }
        }
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, entry)| entry).collect()
    }
}
