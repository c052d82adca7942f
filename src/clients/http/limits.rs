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
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_numbers(headers, "retry-after")
        .into_iter()
        .next()
        .map(|secs| Duration::from_secs_f64(secs.min(3600.0)))
        .or_else(|| reset_in(headers))
}

/// A refusal for the rate limit, which starts nothing: a 429, or GitHub's
/// 403 when its budget is spent or it asks to wait (its secondary limits).
pub fn is_rate_limited(status: u16, headers: &HeaderMap) -> bool {
    status == 429
        || (status == 403
            && (remaining(headers).is_some_and(|left| left < 1.0)
                || headers.contains_key("retry-after")))
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
pub(super) const MAX_PACE: Duration = Duration::from_secs(5);
/// Waits at least this long are announced, so a held run never looks stuck.
const VISIBLE_WAIT: Duration = Duration::from_secs(5);
/// How long a waiting worker sleeps before it looks again.
const RECHECK: Duration = Duration::from_millis(250);

impl RateLimiter {
    /// Waits for this request's turn. `announce` hears each wait of
    /// `VISIBLE_WAIT` (5 s) or more once, with its length.
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

    /// The spacing between requests, and whether a hold is on.
    #[cfg(test)]
    pub(super) fn pace(&self) -> (Duration, bool) {
        let state = self.state.lock().unwrap();
        (state.interval, state.held_until.is_some())
    }

    pub fn observe(&self, status: u16, headers: &HeaderMap) {
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
        pace.interval = match (remaining(headers), reset_in(headers)) {
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
        // One request left in an hour-long window: spaced by the cap, not
        // by an hour.
        assert_eq!(pace("1", "3600").0, MAX_PACE);
        // An empty budget holds everyone once until the window resets,
        // instead of spacing each worker a whole window apart.
        let (interval, held) = pace("0", "30");
        assert_eq!(interval, Duration::ZERO);
        assert!(held.unwrap() > Duration::from_secs(29));
    }
}
