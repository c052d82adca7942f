//! The one HTTP client: rustls, total deadlines, a body-size cap, retries
//! with backoff for requests that are safe to repeat, and one rate limiter
//! per API and per Render bucket, shared by every thread that spends it.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

pub const USER_AGENT: &str = concat!("render-pilot/", env!("CARGO_PKG_VERSION"));

/// API answers are small; anything bigger is a proxy or a fault.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
const MAX_ATTEMPTS: u32 = 4;
const BASE_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// The longest `Retry-After` we honour before giving up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Whether a request may be sent again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Retry {
    /// Reads: retried on 429, 502, 503, 504 and connection errors.
    Idempotent,
    /// Deploy triggers: retried only when the request cannot have reached
    /// the server (the connection was never made) or the server refused it
    /// with 429, which starts nothing. A retry must never start a second
    /// deploy.
    Unsent,
    /// Health checks: one honest reading.
    Never,
}

/// The rate-limit budget a request spends. Render keeps separate buckets
/// (GETs, deploy triggers, other writes) and says in each answer's headers
/// how much of *that* bucket is left; GitHub's limits are its own. Each
/// budget is paced only from the answers it got.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bucket {
    RenderRead,
    /// Deploy hooks and API triggers: about 10 a minute per service.
    RenderDeploy,
    RenderWrite,
    GitHub,
    /// A service's own URL (health checks): no API budget.
    Unlimited,
}

impl Bucket {
    const LIMITED: [Bucket; 4] = [
        Bucket::RenderRead,
        Bucket::RenderDeploy,
        Bucket::RenderWrite,
        Bucket::GitHub,
    ];

    fn name(self) -> &'static str {
        match self {
            Bucket::RenderRead => "Render's rate limit for reads",
            Bucket::RenderDeploy => "Render's rate limit for deploy triggers",
            Bucket::RenderWrite => "Render's rate limit for changes",
            Bucket::GitHub => "GitHub's rate limit",
            Bucket::Unlimited => "the rate limit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoResponseCause {
    MalformedUrl,
    Dns,
    Refused,
    Tls,
    Timeout,
    Broken,
    Other,
}

impl NoResponseCause {
    pub fn explain(self) -> &'static str {
        match self {
            NoResponseCause::MalformedUrl => "the URL is malformed; check the value for a missing scheme, spaces or newlines",
            NoResponseCause::Dns => "the host name did not resolve (DNS); check the host for typos and the runner's network",
            NoResponseCause::Refused => "the connection was refused; nothing listens at that address",
            NoResponseCause::Tls => "the TLS handshake failed; a proxy or a missing CA bundle may be in the way",
            NoResponseCause::Timeout => "the whole answer did not arrive within the request's deadline; the server or the network is slow, try again later",
            NoResponseCause::Broken => "the connection broke before the whole response arrived; try again later",
            NoResponseCause::Other => "the request failed before a response arrived",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no response from {url} (HTTP 000): {}", cause.explain())]
    NoResponse {
        url: String,
        cause: NoResponseCause,
        detail: String,
    },
    #[error("the response from {url} is larger than {limit} bytes; a proxy or error page may be in the way")]
    TooLarge { url: String, limit: usize },
    #[error("{url} answered HTTP {status} with a body that is not the expected JSON ({detail}); Render's side or a proxy may be failing, try again later")]
    BadBody {
        url: String,
        status: u16,
        detail: String,
    },
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: String,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::BadBody {
            url: self.url.clone(),
            status: self.status,
            detail: describe_body(&self.headers, &self.body, &e.to_string()),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first line of a text body, for error messages (never the whole
    /// page: HTML error pages are long).
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        crate::inputs::shorten(line)
    }
}

fn describe_body(headers: &HeaderMap, body: &[u8], error: &str) -> String {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    if body.is_empty() {
        format!("empty body, {kind}")
    } else if kind.contains("html") || body.trim_ascii_start().starts_with(b"<") {
        format!("an HTML page of {} bytes", body.len())
    } else {
        format!("{error}, {} bytes, {kind}", body.len())
    }
}

/// A URL as it may appear in messages: scheme, host and path, no query
/// (a deploy hook carries its secret in the query).
pub fn display_url(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        match url.port() {
            Some(p) => format!(":{p}{}", url.path()),
            None => url.path().to_string(),
        }
    )
}

/// A URL from an answer, as it may be shown, linked or requested: http(s)
/// only, no credentials, and the characters that end a Markdown link or
/// table cell percent-encoded.
pub fn web_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.host_str().is_some();
    plain.then(|| {
        url.as_str()
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('|', "%7C")
            .replace('`', "%60")
    })
}

pub struct Http {
    client: Client,
    /// The most one attempt of a request may take, body included.
    timeout: Duration,
    /// One per [`Bucket::LIMITED`], in that order.
    limiters: [RateLimiter; 4],
    delays: Delays,
    /// Hears long rate-limit waits, to show them.
    notify: Option<Box<Notify>>,
}

type Notify = dyn Fn(&str) + Send + Sync;

/// Backoff timings.
#[derive(Clone, Copy)]
struct Delays {
    base: Duration,
    max: Duration,
}

/// The run's timings. The test suite shortens them (see
/// [`crate::settings`]); users get the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// One API request, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// Short retry backoffs.
    pub fast: bool,
    /// The period of a deploy wait's reads: at most one read per period on
    /// average (30 of Render's 400 GETs a minute) and never a longer gap.
    pub poll: Duration,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            timeout: Duration::from_secs(30),
            fast: false,
            poll: Duration::from_secs(2),
        }
    }
}

impl Http {
    /// The API client.
    pub fn new(tuning: &Tuning) -> anyhow::Result<Http> {
        Http::with_timeout(tuning.timeout, tuning)
    }

    /// A client whose requests may take up to `timeout` each.
    pub fn with_timeout(timeout: Duration, tuning: &Tuning) -> anyhow::Result<Http> {
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .build()?;
        let delays = if tuning.fast {
            Delays {
                base: Duration::from_millis(20),
                max: Duration::from_millis(200),
            }
        } else {
            Delays {
                base: BASE_DELAY,
                max: MAX_DELAY,
            }
        };
        Ok(Http {
            client,
            timeout,
            limiters: Default::default(),
            delays,
            notify: None,
        })
    }

    /// Shows every long rate-limit wait through `notify`, so a held run
    /// never looks stuck.
    pub fn notify_waits(mut self, notify: impl Fn(&str) + Send + Sync + 'static) -> Http {
        self.notify = Some(Box::new(notify));
        self
    }

    fn announce(&self, bucket: Bucket, wait: Duration) {
        if let Some(notify) = &self.notify {
            notify(&format!(
                "Waiting {} for {} before the next request.",
                crate::inputs::human_duration(
                    Duration::from_secs(wait.as_secs_f64().ceil() as u64)
                ),
                bucket.name()
            ));
        }
    }

    fn limiter(&self, bucket: Bucket) -> Option<&RateLimiter> {
        let index = Bucket::LIMITED.iter().position(|b| *b == bucket)?;
        Some(&self.limiters[index])
    }

    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// One GET of a service's own URL: status code and latency.
    pub fn health_check(&self, url: &Url) -> crate::status::HealthCheck {
        self.health_check_within(url, None)
    }

    /// One GET of a service's own URL that gives up after `timeout` (else
    /// the client's timeout).
    pub fn health_check_within(
        &self,
        url: &Url,
        timeout: Option<Duration>,
    ) -> crate::status::HealthCheck {
        let started = Instant::now();
        let result = self.send(
            Bucket::Unlimited,
            || {
                let request = self.request(Method::GET, url.clone());
                match timeout {
                    Some(t) => request.timeout(t),
                    None => request,
                }
            },
            Retry::Never,
            64 * 1024,
        );
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(r) => crate::status::HealthCheck {
                code: Some(r.status),
                latency_ms,
                error: None,
                attempts: 1,
            },
            Err(e) => crate::status::HealthCheck {
                code: None,
                latency_ms,
                attempts: 1,
                error: Some(match e {
                    HttpError::NoResponse { cause, .. } => {
                        cause.explain().split(';').next().unwrap_or("").to_string()
                    }
                    other => other.to_string(),
                }),
            },
        }
    }

    /// Sends a request built by `build`, retrying as `retry` allows. Any
    /// HTTP status is returned as a [`Response`]; only a missing or broken
    /// response is an error.
    pub fn send(
        &self,
        bucket: Bucket,
        build: impl Fn() -> RequestBuilder,
        retry: Retry,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        let mut attempt = 1;
        let mut refused_429 = false;
        let limiter = self.limiter(bucket);
        loop {
            if let Some(limiter) = limiter {
                limiter.acquire(&|wait| self.announce(bucket, wait));
            }
            // reqwest's client timeout bounds each read, so a server that
            // drips a byte a second would never time out: the request gets
            // a total timeout, and the body is read against a deadline.
            let deadline = Instant::now() + self.timeout;
            let request =
                build()
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| HttpError::NoResponse {
                        url: String::new(),
                        cause: NoResponseCause::MalformedUrl,
                        detail: e.to_string(),
                    })?;
            let url = display_url(request.url());
            let last = attempt >= MAX_ATTEMPTS;
            let result = self
                .client
                .execute(request)
                .map_err(|e| Failure::NoResponse(classify(&e), e.to_string()))
                .and_then(|r| read_response(r, &url, max_body, deadline));
            match result {
                Err(Failure::TooLarge) => {
                    return Err(HttpError::TooLarge {
                        url,
                        limit: max_body,
                    })
                }
                Err(Failure::NoResponse(cause, detail)) => {
                    let never_sent = matches!(
                        cause,
                        NoResponseCause::Dns | NoResponseCause::Refused | NoResponseCause::Tls
                    );
                    let again = match retry {
                        Retry::Idempotent => cause != NoResponseCause::MalformedUrl,
                        Retry::Unsent => never_sent,
                        Retry::Never => false,
                    };
                    if !again || last {
                        return Err(HttpError::NoResponse { url, cause, detail });
                    }
                    std::thread::sleep(self.backoff(attempt));
                }
                Ok(response) => {
                    if let Some(limiter) = limiter {
                        limiter.observe(response.status, &response.headers);
                    }
                    let transient = matches!(response.status, 502..=504);
                    let again = match (response.status, retry) {
                        (429, Retry::Idempotent) => true,
                        (429, Retry::Unsent) => !std::mem::replace(&mut refused_429, true),
                        (_, Retry::Idempotent) => transient,
                        _ => false,
                    };
                    if !again || last {
                        return Ok(response);
                    }
                    if response.status == 429 {
                        // The limiter holds everyone for `Retry-After` and
                        // announces a long hold.
                        match retry_after(&response.headers) {
                            Some(wait) if wait > MAX_RETRY_AFTER => return Ok(response),
                            Some(_) => {}
                            None => std::thread::sleep(self.backoff(attempt)),
                        }
                    } else {
                        std::thread::sleep(self.backoff(attempt));
                    }
                }
            }
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.delays.base * 2u32.saturating_pow(attempt - 1);
        let capped = exp.min(self.delays.max);
        // Full jitter on half the delay keeps parallel workers apart.
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

enum Failure {
    NoResponse(NoResponseCause, String),
    TooLarge,
}

fn read_response(
    mut response: reqwest::blocking::Response,
    url: &str,
    max_body: usize,
    deadline: Instant,
) -> Result<Response, Failure> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if Instant::now() >= deadline {
            return Err(Failure::NoResponse(
                NoResponseCause::Timeout,
                format!("the body was still arriving after {} bytes", body.len()),
            ));
        }
        let read = response.read(&mut chunk).map_err(|e| {
            // The request's total timeout surfaces as a read error.
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout)
                || Instant::now() >= deadline;
            let cause = if timed_out {
                NoResponseCause::Timeout
            } else {
                NoResponseCause::Broken
            };
            Failure::NoResponse(cause, e.to_string())
        })?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
        if body.len() > max_body {
            return Err(Failure::TooLarge);
        }
    }
    Ok(Response {
        status,
        headers,
        body,
        url: url.to_string(),
    })
}

fn classify(error: &reqwest::Error) -> NoResponseCause {
    if error.is_builder() {
        return NoResponseCause::MalformedUrl;
    }
    if error.is_timeout() {
        return NoResponseCause::Timeout;
    }
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        chain.push_str(&e.to_string().to_lowercase());
        chain.push(' ');
        source = e.source();
    }
    if chain.contains("dns error")
        || chain.contains("failed to lookup")
        || chain.contains("name or service not known")
    {
        NoResponseCause::Dns
    } else if chain.contains("refused") {
        NoResponseCause::Refused
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
    {
        NoResponseCause::Tls
    } else if chain.contains("timed out") {
        NoResponseCause::Timeout
    } else if chain.contains("reset")
        || chain.contains("closed")
        || chain.contains("incomplete")
        || chain.contains("broken pipe")
        || chain.contains("unexpected eof")
    {
        NoResponseCause::Broken
    } else if error.is_connect() {
        NoResponseCause::Refused
    } else {
        NoResponseCause::Other
    }
}

/// All values of a header, whether comma-separated, quoted or repeated.
fn header_numbers(headers: &HeaderMap, name: &str) -> Vec<f64> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|v| v.trim().trim_matches('"').trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect()
}

/// `Retry-After` in seconds, else Render's `Ratelimit-Reset` (relative
/// seconds; the largest when two buckets apply).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = header_numbers(headers, "retry-after")
        .into_iter()
        .next()
        .or_else(|| {
            header_numbers(headers, "ratelimit-reset")
                .into_iter()
                .reduce(f64::max)
        })?;
    Some(Duration::from_secs_f64(secs.min(3600.0)))
}

/// Spreads requests over the rate-limit window once the budget runs low,
/// and holds every thread back after a 429 or when the budget is spent.
/// Workers ask again rather than reserve slots ahead, so a change in the
/// budget applies at once to everyone waiting.
#[derive(Default)]
pub struct RateLimiter {
    state: Mutex<Pace>,
}

#[derive(Default)]
struct Pace {
    last_start: Option<Instant>,
    interval: Duration,
    /// Nobody starts before this (after a 429, or with no budget left).
    held_until: Option<Instant>,
    /// The end of the last wait announced, so each is announced once.
    announced: Option<Instant>,
}

/// Below this many requests left we start spacing them out.
const LOW_REMAINING: f64 = 20.0;
/// The widest spacing: a reply with one request left in an hour-long window
/// must not push the next request an hour away. If the budget really runs
/// out, Render answers 429 with `Retry-After`, which we honour (capped).
const MAX_PACE: Duration = Duration::from_secs(5);
/// Waits at least this long are announced, so a held run never looks stuck.
const VISIBLE_WAIT: Duration = Duration::from_secs(5);
/// How long a waiting worker sleeps before it looks again.
const RECHECK: Duration = Duration::from_millis(250);

impl RateLimiter {
    /// Waits for this request's turn. `announce` hears each wait of
    /// [`VISIBLE_WAIT`] or more once, with its length.
    pub fn acquire(&self, announce: &dyn Fn(Duration)) {
        loop {
            let wait = {
                let mut pace = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let spaced = pace.last_start.map_or(now, |t| t + pace.interval);
                let earliest = pace.held_until.map_or(spaced, |h| h.max(spaced));
                if earliest <= now {
                    pace.last_start = Some(now);
                    return;
                }
                let wait = earliest - now;
                if wait >= VISIBLE_WAIT && pace.announced.is_none_or(|a| a < earliest) {
                    pace.announced = Some(earliest);
                    announce(wait);
                }
                wait
            };
            std::thread::sleep(wait.min(RECHECK));
        }
    }

    pub fn observe(&self, status: u16, headers: &HeaderMap) {
        let mut pace = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut hold = |wait: Duration| {
            let until = now + wait.min(MAX_RETRY_AFTER);
            pace.held_until = Some(pace.held_until.map_or(until, |t| t.max(until)));
        };
        if status == 429 {
            hold(retry_after(headers).unwrap_or(Duration::from_secs(1)));
            return;
        }
        let remaining = header_numbers(headers, "ratelimit-remaining")
            .into_iter()
            .reduce(f64::min);
        let reset = header_numbers(headers, "ratelimit-reset")
            .into_iter()
            .reduce(f64::max)
            .map(|r| Duration::from_secs_f64(r.min(3600.0)));
        pace.interval = match (remaining, reset) {
            // The budget is spent: everyone waits for the window, once.
            (Some(left), Some(reset)) if left < 1.0 => {
                hold(reset);
                Duration::ZERO
            }
            // Running low: spread what is left over what is left of the window.
            (Some(left), Some(reset)) if left < LOW_REMAINING => reset.div_f64(left).min(MAX_PACE),
            _ => Duration::ZERO,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn retry_after_prefers_the_header_and_reads_two_buckets() {
        let h = headers(&[("retry-after", "3"), ("ratelimit-reset", "9")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let h = headers(&[("ratelimit-reset", "\"21\",\"45\"")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(45)));
        let h = headers(&[("ratelimit-reset", "4"), ("ratelimit-reset", "7")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn limiter_spaces_requests_when_the_budget_is_low() {
        let limiter = RateLimiter::default();
        let pace = |remaining: &'static str, reset: &'static str| {
            limiter.observe(
                200,
                &headers(&[
                    ("ratelimit-remaining", remaining),
                    ("ratelimit-reset", reset),
                ]),
            );
            let state = limiter.state.lock().unwrap();
            (
                state.interval,
                state
                    .held_until
                    .map(|t| t.saturating_duration_since(Instant::now())),
            )
        };
        assert_eq!(pace("\"277\",\"4\"", "4").0, Duration::from_secs(1));
        assert_eq!(pace("300", "4"), (Duration::ZERO, None));
        // One request left in an hour-long window: spaced by the cap, not
        // by an hour.
        assert_eq!(pace("1", "3600").0, MAX_PACE);
        // An empty budget holds everyone once until the window resets,
        // instead of spacing each worker a whole window apart.
        let (interval, held) = pace("0", "30");
        assert_eq!(interval, Duration::ZERO);
        assert!(held.unwrap() > Duration::from_secs(29));
    }

    #[test]
    fn each_bucket_is_paced_by_its_own_answers_only() {
        let http = Http::with_timeout(Duration::from_secs(1), &Tuning::default()).unwrap();
        let observe = |bucket, status, pairs: &[(&'static str, &'static str)]| {
            http.limiter(bucket)
                .unwrap()
                .observe(status, &headers(pairs));
        };
        // A trigger's answer describes the deploy bucket; a GitHub 429
        // holds GitHub calls only.
        observe(
            Bucket::RenderDeploy,
            201,
            &[("ratelimit-remaining", "9"), ("ratelimit-reset", "60")],
        );
        observe(Bucket::GitHub, 429, &[("retry-after", "30")]);
        let pace = |bucket| {
            let state = http.limiter(bucket).unwrap().state.lock().unwrap();
            (state.interval, state.held_until.is_some())
        };
        assert_eq!(pace(Bucket::RenderDeploy), (MAX_PACE, false));
        assert_eq!(pace(Bucket::RenderRead), (Duration::ZERO, false));
        assert_eq!(pace(Bucket::RenderWrite), (Duration::ZERO, false));
        assert_eq!(pace(Bucket::GitHub), (Duration::ZERO, true));
        assert!(http.limiter(Bucket::Unlimited).is_none());
    }

    #[test]
    fn urls_in_messages_have_no_query() {
        let url = Url::parse("https://api.render.com/deploy/srv-a?key=s3cret").unwrap();
        assert_eq!(display_url(&url), "https://api.render.com/deploy/srv-a");
        let url = Url::parse("http://127.0.0.1:8080/v1/services").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:8080/v1/services");
    }
}
