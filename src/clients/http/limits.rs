//! Rate limits: one pacer per budget, fed by the answers' headers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// The longest `Retry-After` we honour before giving up.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The rate-limit budget a request spends. Render keeps separate buckets
/// (GETs, deploy triggers, other writes) and says in each answer's headers
/// how much of *that* bucket is left; GitHub's limits are its own. Each
/// budget is paced only from the answers it got.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Bucket {
    RenderRead,
    /// Deploy hooks and API triggers: about 10 a minute per service.
    RenderDeploy,
    RenderWrite,
    GitHub,
    /// A service's own URL (health checks): no API budget.
    Unlimited,
}

impl Bucket {
    pub(super) const LIMITED: [Bucket; 4] = [
        Bucket::RenderRead,
        Bucket::RenderDeploy,
        Bucket::RenderWrite,
        Bucket::GitHub,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Bucket::RenderRead => "Render's rate limit for reads",
            Bucket::RenderDeploy => "Render's rate limit for deploy triggers",
            Bucket::RenderWrite => "Render's rate limit for changes",
            Bucket::GitHub => "GitHub's rate limit",
            Bucket::Unlimited => "the rate limit",
        }
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

/// What is left of the budget: Render's `Ratelimit-Remaining` (the
/// smallest when two buckets apply), else GitHub's `X-RateLimit-Remaining`.
fn remaining(headers: &HeaderMap) -> Option<f64> {
    let render = header_numbers(headers, "ratelimit-remaining");
    let numbers = if render.is_empty() {
        header_numbers(headers, "x-ratelimit-remaining")
    } else {
        render
    };
    numbers.into_iter().reduce(f64::min)
}

/// When the window resets: Render's `Ratelimit-Reset` counts seconds (the
/// largest when two buckets apply); GitHub's `X-RateLimit-Reset` is a Unix
/// time.
fn reset_in(headers: &HeaderMap) -> Option<Duration> {
    let secs = header_numbers(headers, "ratelimit-reset")
        .into_iter()
        .reduce(f64::max)
        .or_else(|| {
            let at = header_numbers(headers, "x-ratelimit-reset")
                .into_iter()
                .next()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs_f64();
            Some((at - now).max(0.0))
        })?;
    Some(Duration::from_secs_f64(secs.min(3600.0)))
}

/// `Retry-After` in seconds, else when the window resets.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_numbers(headers, "retry-after")
        .into_iter()
        .next()
        .map(|secs| Duration::from_secs_f64(secs.min(3600.0)))
        .or_else(|| reset_in(headers))
}

/// A refusal for the rate limit, which starts nothing: a 429, or GitHub's
/// 403 when its budget is spent or it asks to wait (its secondary limits).
pub(crate) fn is_rate_limited(status: u16, headers: &HeaderMap) -> bool {
    status == 429
        || (status == 403
            && (remaining(headers).is_some_and(|left| left < 1.0)
                || headers.contains_key("retry-after")))
}

/// Spreads requests over the rate-limit window once the budget runs low,
/// and holds every thread back after a refusal (a 429). Workers ask again
/// rather than reserve slots ahead, so a change in the budget applies at
/// once to everyone waiting.
#[derive(Default)]
pub(crate) struct RateLimiter {
    state: Mutex<Pace>,
}

/// How long one run may wait for rate limits in all, over every budget and
/// thread: the step's deadline for pacing. A server that says its budget
/// is spent in every answer would otherwise hold each request, and 500
/// services would take hours. Past it, requests go at once and a refusal
/// is returned as it is, naming the limit.
pub(crate) struct WaitBudget {
    limit: Duration,
    state: Mutex<Waited>,
}

#[derive(Default)]
struct Waited {
    /// Time during which at least one thread waited, before `since`.
    spent: Duration,
    /// Threads waiting now, and since when one has been.
    waiters: usize,
    since: Option<Instant>,
    /// Whether the end of the budget was announced.
    told: bool,
}

impl WaitBudget {
    pub(crate) fn new(limit: Duration) -> WaitBudget {
        WaitBudget {
            limit,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Waited> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is left: the limit less the time anyone waited, counted once
    /// however many threads waited together.
    pub(crate) fn left(&self) -> Duration {
        let state = self.state();
        let ongoing = state.since.map_or(Duration::ZERO, |t| t.elapsed());
        self.limit.saturating_sub(state.spent + ongoing)
    }

    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    fn start_waiting(&self) {
        let mut state = self.state();
        state.waiters += 1;
        if state.waiters == 1 {
            state.since = Some(Instant::now());
        }
    }

    fn stop_waiting(&self) {
        let mut state = self.state();
        state.waiters = state.waiters.saturating_sub(1);
        if state.waiters == 0 {
            if let Some(since) = state.since.take() {
                state.spent += since.elapsed();
            }
        }
    }

    /// True once, for the first caller after the budget ran out.
    pub(crate) fn first_time_spent(&self) -> bool {
        let spent = self.left().is_zero();
        let mut state = self.state();
        spent && !std::mem::replace(&mut state.told, true)
    }
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
/// The widest spacing, whatever an answer that was served says of its
/// budget: one request left (or none) in an hour-long window must not push
/// the next request an hour away. If the budget really runs out, Render
/// answers 429 with `Retry-After`, which we honour (capped).
pub(super) const MAX_PACE: Duration = Duration::from_secs(5);
/// Waits at least this long are announced, so a held run never looks stuck.
const VISIBLE_WAIT: Duration = Duration::from_secs(5);
/// How long a waiting worker sleeps before it looks again.
const RECHECK: Duration = Duration::from_millis(250);

impl RateLimiter {
    /// Waits for this request's turn, within what is left of `budget` (then
    /// it goes at once). `announce` hears each wait of `VISIBLE_WAIT` (5 s)
    /// or more once, with its length.
    pub(crate) fn acquire(&self, budget: &WaitBudget, announce: &dyn Fn(Duration)) {
        let mut waiting = false;
        loop {
            let left = budget.left();
            let wait = {
                let mut pace = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let spaced = pace.last_start.map_or(now, |t| t + pace.interval);
                let earliest = pace.held_until.map_or(spaced, |h| h.max(spaced));
                if earliest <= now || left.is_zero() {
                    pace.last_start = Some(now);
                    break;
                }
                let wait = (earliest - now).min(left);
                if wait >= VISIBLE_WAIT && pace.announced.is_none_or(|a| a < earliest) {
                    pace.announced = Some(earliest);
                    announce(wait);
                }
                wait
            };
            if !std::mem::replace(&mut waiting, true) {
                budget.start_waiting();
            }
            std::thread::sleep(wait.min(RECHECK));
        }
        if waiting {
            budget.stop_waiting();
        }
    }

    /// The spacing between requests, and whether a hold is on.
    #[cfg(test)]
    pub(super) fn pace(&self) -> (Duration, bool) {
        let state = self.state.lock().unwrap();
        (state.interval, state.held_until.is_some())
    }

    pub(crate) fn observe(&self, status: u16, headers: &HeaderMap) {
        let mut pace = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut hold = |wait: Duration| {
            let until = now + wait.min(MAX_RETRY_AFTER);
            pace.held_until = Some(pace.held_until.map_or(until, |t| t.max(until)));
        };
        if is_rate_limited(status, headers) {
            hold(retry_after(headers).unwrap_or(Duration::from_secs(1)));
            return;
        }
        // Running low: spread what is left over what is left of the window,
        // at most `MAX_PACE` apart. A served answer that says nothing is
        // left is paced the same: only a refusal holds everyone.
        pace.interval = match (remaining(headers), reset_in(headers)) {
            (Some(left), Some(reset)) if left < LOW_REMAINING => {
                reset.div_f64(left.max(1.0)).min(MAX_PACE)
            }
            _ => Duration::ZERO,
        };
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    pub(in crate::clients::http) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn github_rate_limit_answers_are_read() {
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        let mut spent = headers(&[("x-ratelimit-remaining", "0")]);
        spent.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        assert!(is_rate_limited(403, &spent));
        let wait = retry_after(&spent).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(is_rate_limited(403, &headers(&[("retry-after", "60")])));
        assert!(!is_rate_limited(
            403,
            &headers(&[("x-ratelimit-remaining", "41")])
        ));
        assert!(
            !is_rate_limited(403, &HeaderMap::new()),
            "a missing permission"
        );
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
        // One request left, or none, in an hour-long window: spaced by the
        // cap, not by an hour, and nobody is held: the request was served.
        assert_eq!(pace("1", "3600"), (MAX_PACE, None));
        for (remaining, reset) in [("0", "30"), ("0", "3600"), ("\"0\",\"5\"", "\"120\",\"9\"")] {
            assert_eq!(
                pace(remaining, reset),
                (MAX_PACE, None),
                "{remaining} {reset}"
            );
        }
        assert_eq!(pace("0", "2").0, Duration::from_secs(2));
    }

    #[test]
    fn the_wait_budget_counts_time_once_however_many_wait() {
        let budget = WaitBudget::new(Duration::from_millis(600));
        let limiter = RateLimiter::default();
        limiter.observe(429, &headers(&[("retry-after", "60")]));
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| limiter.acquire(&budget, &|_| {}));
            }
        });
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(550) && took < Duration::from_secs(3),
            "four held threads share one budget: {took:?}"
        );
        assert!(budget.left().is_zero());
        assert!(budget.first_time_spent());
        assert!(!budget.first_time_spent(), "said once");
        // Spent: nobody waits any more, even while a hold is on.
        let started = Instant::now();
        limiter.acquire(&budget, &|_| {});
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
