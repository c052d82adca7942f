//! The one HTTP client: rustls, total deadlines, a body-size cap, retries
//! with backoff for requests that are safe to repeat, and one rate limiter
//! per API and per Render bucket, shared by every thread that spends it.

use std::io::Read;
use std::time::{Duration, Instant};

use limits::{WaitBudget, MAX_RETRY_AFTER};
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::{Method, Url};

use crate::output::runner::Printer;

mod answer;
mod limits;
mod secure;
mod socket;

pub(crate) use answer::{
    display_url, health_url, web_url, HealthCheck, HttpError, NoResponseCause, Response,
};
pub(crate) use limits::{is_rate_limited, retry_after, Bucket, RateLimiter};
pub(crate) use secure::{check_host, is_loopback};
pub(crate) use socket::{Socket, SocketError};

pub(crate) const USER_AGENT: &str = concat!("render-pilot/", env!("CARGO_PKG_VERSION"));

/// API answers are small; anything bigger is a proxy or a fault.
pub(crate) const MAX_BODY: usize = 8 * 1024 * 1024;
const MAX_ATTEMPTS: u32 = 4;
const BASE_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// Whether a request may be sent again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Retry {
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

impl Retry {
    /// Whether to try again after no response arrived.
    fn after_no_response(self, cause: NoResponseCause) -> bool {
        match self {
            Retry::Idempotent => cause != NoResponseCause::MalformedUrl,
            Retry::Unsent => matches!(
                cause,
                NoResponseCause::Dns | NoResponseCause::Refused | NoResponseCause::Tls
            ),
            Retry::Never => false,
        }
    }

    /// Whether to try again after an answer with `status`. A rate-limit
    /// refusal (`limited`) started nothing, so even a trigger may be tried
    /// once more.
    fn after_answer(self, status: u16, limited: bool, refused_before: &mut bool) -> bool {
        match self {
            Retry::Idempotent => limited || matches!(status, 502..=504),
            Retry::Unsent => limited && !std::mem::replace(refused_before, true),
            Retry::Never => false,
        }
    }
}

pub(crate) struct Http {
    client: Client,
    /// The most one attempt of a request may take, body included.
    timeout: Duration,
    /// One per [`Bucket::LIMITED`], in that order.
    limiters: [RateLimiter; 4],
    /// What all of them together may make the run wait.
    budget: WaitBudget,
    delays: Delays,
    /// Hears long rate-limit waits and the end of the budget, to show them.
    notify: Option<Printer>,
}

/// Backoff timings.
#[derive(Clone, Copy)]
struct Delays {
    base: Duration,
    max: Duration,
}

/// The run's timings. The test suite shortens them (see
/// [`crate::settings`]); users get the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// One API request, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// Short retry backoffs.
    pub fast: bool,
    /// The period of a deploy wait's reads: at most one read per period on
    /// average (30 of Render's 400 GETs a minute) and never a longer gap.
    pub poll: Duration,
    /// How long the run may wait for rate limits in all.
    pub rate_wait: Duration,
}

/// The most a run waits for rate limits in all: a window of Render's
/// (a minute) several times over, and the most `Retry-After` honoured
/// twice over.
pub(crate) const RATE_WAIT: Duration = Duration::from_secs(5 * 60);

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            timeout: Duration::from_secs(30),
            fast: false,
            poll: Duration::from_secs(2),
            rate_wait: RATE_WAIT,
        }
    }
}

impl Http {
    /// The API client.
    pub(crate) fn new(tuning: &Tuning) -> anyhow::Result<Http> {
        Http::with_timeout(tuning.timeout, tuning)
    }

    /// A client whose requests may take up to `timeout` each.
    pub(crate) fn with_timeout(timeout: Duration, tuning: &Tuning) -> anyhow::Result<Http> {
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
            budget: WaitBudget::new(tuning.rate_wait),
            delays,
            notify: None,
        })
    }

    /// Shows every long rate-limit wait, and the end of the run's budget
    /// for them, through `printer`, so a held run never looks stuck.
    pub(crate) fn notify_waits(mut self, printer: Printer) -> Http {
        self.notify = Some(printer);
        self
    }

    fn announce(&self, bucket: Bucket, wait: Duration) {
        if let Some(notify) = &self.notify {
            notify.info(&format!(
                "Waiting {} for {} before the next request.",
                human_seconds(wait),
                bucket.name()
            ));
        }
    }

    /// Says once, as a warning, that rate limits held the run as long as
    /// a run may wait for them, and what follows.
    fn tell_budget_spent(&self, bucket: Bucket) {
        if !self.budget.first_time_spent() {
            return;
        }
        if let Some(notify) = &self.notify {
            notify.warning(&format!(
                "Rate-limited: {} held this run for {}, the most a run waits for rate limits; later requests go without waiting, and a refusal fails them. Run again later, or spread out the automation that shares the budget.",
                bucket.name(),
                human_seconds(self.budget.limit())
            ));
        }
    }

    fn limiter(&self, bucket: Bucket) -> Option<&RateLimiter> {
        let index = Bucket::LIMITED.iter().position(|b| *b == bucket)?;
        Some(&self.limiters[index])
    }

    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Opens a stream (a WebSocket) at `url`: one request of `bucket`,
    /// paced and counted like any other, opened within the client's
    /// timeout. It is never retried here: a stream that does not open is
    /// the caller's to do without.
    pub(crate) fn open_socket(
        &self,
        bucket: Bucket,
        url: &Url,
        headers: &[(&'static str, String)],
    ) -> Result<Socket, SocketError> {
        let limiter = self.limiter(bucket);
        if let Some(limiter) = limiter {
            limiter.acquire(&self.budget, &|wait| self.announce(bucket, wait));
            self.tell_budget_spent(bucket);
        }
        let opened = Socket::open(url, headers, Instant::now() + self.timeout);
        match (&opened, limiter) {
            (Ok(socket), Some(limiter)) => limiter.observe(101, &socket.headers),
            (
                Err(SocketError::Refused {
                    status, headers, ..
                }),
                Some(limiter),
            ) => limiter.observe(*status, headers),
            _ => {}
        }
        opened
    }

    /// One GET of a service's own URL: status code and latency.
    pub(crate) fn health_check(&self, url: &Url) -> HealthCheck {
        self.health_check_within(url, None)
    }

    /// One GET of a service's own URL that gives up after `timeout` (else
    /// the client's timeout).
    pub(crate) fn health_check_within(&self, url: &Url, timeout: Option<Duration>) -> HealthCheck {
        let started = Instant::now();
        let result = self.send_within(
            Bucket::Unlimited,
            || self.request(Method::GET, url.clone()),
            Retry::Never,
            64 * 1024,
            timeout.map_or(self.timeout, |t| t.min(self.timeout)),
        );
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(r) => HealthCheck {
                code: Some(r.status),
                latency_ms,
                error: None,
                attempts: 1,
            },
            Err(e) => HealthCheck {
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
    pub(crate) fn send(
        &self,
        bucket: Bucket,
        build: impl Fn() -> RequestBuilder,
        retry: Retry,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        self.send_within(bucket, build, retry, max_body, self.timeout)
    }

    /// [`Http::send`] with `timeout` for each attempt, body included.
    fn send_within(
        &self,
        bucket: Bucket,
        build: impl Fn() -> RequestBuilder,
        retry: Retry,
        max_body: usize,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let mut refused_before = false;
        let limiter = self.limiter(bucket);
        for attempt in 1.. {
            if let Some(limiter) = limiter {
                limiter.acquire(&self.budget, &|wait| self.announce(bucket, wait));
                self.tell_budget_spent(bucket);
            }
            let last = attempt >= MAX_ATTEMPTS;
            let (url, result) = self.attempt(&build, max_body, timeout)?;
            match result {
                Err(AttemptError::TooLarge) => {
                    return Err(HttpError::TooLarge {
                        url,
                        limit: max_body,
                    })
                }
                Err(AttemptError::NoResponse(cause)) => {
                    if last || !retry.after_no_response(cause) {
                        return Err(HttpError::NoResponse { url, cause });
                    }
                    std::thread::sleep(self.backoff(attempt));
                }
                Ok(response) => {
                    if let Some(limiter) = limiter {
                        limiter.observe(response.status, &response.headers);
                    }
                    let limited = is_rate_limited(response.status, &response.headers);
                    if last || !retry.after_answer(response.status, limited, &mut refused_before) {
                        return Ok(response);
                    }
                    // After a rate-limit refusal the limiter holds everyone
                    // for `Retry-After` (or until the reset) and announces a
                    // long hold; past the run's budget the refusal stands.
                    match (limited, retry_after(&response.headers)) {
                        (true, _) if self.budget.left().is_zero() => {
                            self.tell_budget_spent(bucket);
                            return Ok(response);
                        }
                        (true, Some(wait)) if wait > MAX_RETRY_AFTER => return Ok(response),
                        (true, Some(_)) => {}
                        _ => std::thread::sleep(self.backoff(attempt)),
                    }
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Sends the request once and reads the answer against a deadline:
    /// reqwest's client timeout bounds each read, so a server that drips a
    /// byte a second would never time out.
    fn attempt(
        &self,
        build: &impl Fn() -> RequestBuilder,
        max_body: usize,
        timeout: Duration,
    ) -> Result<(String, Result<Response, AttemptError>), HttpError> {
        let deadline = Instant::now() + timeout;
        let request = build()
            .timeout(timeout)
            .build()
            .map_err(|_| HttpError::NoResponse {
                url: String::new(),
                cause: NoResponseCause::MalformedUrl,
            })?;
        let url = display_url(request.url());
        let result = self
            .client
            .execute(request)
            .map_err(|e| AttemptError::NoResponse(classify(&e)))
            .and_then(|r| read_response(r, &url, max_body, deadline));
        Ok((url, result))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.delays.base * 2u32.saturating_pow(attempt - 1);
        let capped = exp.min(self.delays.max);
        // Full jitter on half the delay keeps parallel workers apart.
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// A wait as a person reads it, in whole seconds (rounded up).
fn human_seconds(wait: Duration) -> String {
    crate::output::human_duration(Duration::from_secs(wait.as_secs_f64().ceil() as u64))
}

enum AttemptError {
    NoResponse(NoResponseCause),
    TooLarge,
}

fn read_response(
    mut response: reqwest::blocking::Response,
    url: &str,
    max_body: usize,
    deadline: Instant,
) -> Result<Response, AttemptError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if Instant::now() >= deadline {
            return Err(AttemptError::NoResponse(NoResponseCause::Timeout));
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
            AttemptError::NoResponse(cause)
        })?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
        if body.len() > max_body {
            return Err(AttemptError::TooLarge);
        }
    }
    Ok(Response {
        status,
        headers,
        body,
        url: url.to_string(),
    })
}

/// Why no response came. A deploy trigger is sent again only for causes
/// of the connect phase (see [`Retry::after_no_response`]), so only a
/// connect error may have one; the reasons are read from the error's
/// sources, never from its top level, which names the URL (and a hook's
/// key could contain any word).
fn classify(error: &reqwest::Error) -> NoResponseCause {
    if error.is_builder() {
        return NoResponseCause::MalformedUrl;
    }
    let mut reasons = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        reasons.push_str(&e.to_string().to_lowercase());
        reasons.push(' ');
        source = e.source();
    }
    let says = |words: &[&str]| words.iter().any(|w| reasons.contains(w));
    if error.is_timeout() {
        NoResponseCause::Timeout
    } else if error.is_connect() {
        if says(&["dns error", "failed to lookup", "name or service not known"]) {
            NoResponseCause::Dns
        } else if says(&["certificate", "tls", "handshake"]) {
            NoResponseCause::Tls
        } else {
            NoResponseCause::Refused
        }
    } else if says(&[
        "reset",
        "closed",
        "incomplete",
        "broken pipe",
        "unexpected eof",
    ]) {
        NoResponseCause::Broken
    } else {
        NoResponseCause::Other
    }
}

#[cfg(test)]
mod tests {
    use super::limits::tests::headers;
    use super::limits::MAX_PACE;
    use super::*;

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
        let pace = |bucket| http.limiter(bucket).unwrap().pace();
        assert_eq!(pace(Bucket::RenderDeploy), (MAX_PACE, false));
        assert_eq!(pace(Bucket::RenderRead), (Duration::ZERO, false));
        assert_eq!(pace(Bucket::RenderWrite), (Duration::ZERO, false));
        assert_eq!(pace(Bucket::GitHub), (Duration::ZERO, true));
        assert!(http.limiter(Bucket::Unlimited).is_none());
    }
}
