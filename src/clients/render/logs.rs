//! Render's logs, as its description declares them (`GET /logs`, and
//! `GET /logs/subscribe`, a WebSocket): entries of `{id, timestamp,
//! message, labels}`, paged by time windows. There is no deploy label:
//! one deploy's build log is its service's `type=build` lines within the
//! deploy's window, and the workspace asked is the service's `ownerId`.

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde::Deserialize;

use super::{RenderClient, RenderError};
use crate::clients::http::Retry;

/// The most lines one page may hold (the description's maximum).
pub const LOG_PAGE: usize = 100;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogEntry {
    pub id: String,
    pub timestamp: Timestamp,
    pub message: String,
}

/// Which lines: a service's build log from `from`, up to `to` (now, when
/// none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// The service's `ownerId`.
    pub owner: String,
    pub service: String,
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

impl LogFilter {
    /// The query both `GET /logs` and `GET /logs/subscribe` take.
    pub(super) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("ownerId", self.owner.clone()),
            ("resource", self.service.clone()),
            ("type", "build".to_string()),
            ("startTime", self.from.to_string()),
        ];
        if let Some(to) = self.to {
            query.push(("endTime", to.to_string()));
        }
        query
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogPage {
    has_more: bool,
    next_end_time: Option<Timestamp>,
    logs: Vec<LogEntry>,
}

impl RenderClient<'_> {
    /// The newest lines of the filter's window, oldest first: at most
    /// `pages` pages of [`LOG_PAGE`] lines, read newest first, each page
    /// the rest of the window before the last.
    pub fn recent_logs(
        &self,
        filter: &LogFilter,
        pages: usize,
    ) -> Result<Vec<LogEntry>, RenderError> {
        let mut window = LogFilter {
            to: Some(filter.to.unwrap_or_else(Timestamp::now)),
            ..filter.clone()
        };
        let mut lines = Vec::new();
        for _ in 0..pages {
            let mut query = window.query();
            query.push(("direction", "backward".into()));
            query.push(("limit", LOG_PAGE.to_string()));
            let url = self.url("/logs", &query);
            let what = format!("list the build log of {}", filter.service);
            let page: LogPage = self
                .call(Method::GET, url, None, Retry::Idempotent, &what)?
                .json()?;
            lines.extend(page.logs);
            // A window that does not shrink would be read again forever.
            match page.next_end_time {
                Some(end) if page.has_more && Some(end) < window.to && end >= window.from => {
                    window.to = Some(end);
                }
                _ => break,
            }
        }
        lines.reverse();
        Ok(lines)
    }
}

/// A second either side of a deploy's window: Render's timestamps and the
/// deploy's may be a little apart.
pub fn around(from: Timestamp, to: Option<Timestamp>) -> (Timestamp, Option<Timestamp>) {
    let second = SignedDuration::from_secs(1);
    (
        from.checked_sub(second).unwrap_or(from),
        to.map(|t| t.checked_add(second).unwrap_or(t)),
    )
}
