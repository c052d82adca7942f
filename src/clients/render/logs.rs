//! Render's logs, as its description declares them (`GET /logs`, and
//! `GET /logs/subscribe`, a WebSocket): entries of `{id, timestamp,
//! message, labels}`, paged by time windows. There is no deploy label:
//! one deploy's build log is its service's `type=build` lines within the
//! deploy's window, and the workspace asked is the service's `ownerId`.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde::Deserialize;

use super::{api_hint, RenderClient, RenderError};
use crate::clients::http::{Bucket, Retry, Socket, SocketError, USER_AGENT};

/// The most lines one page may hold (the description's maximum).
pub(crate) const LOG_PAGE: usize = 100;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct LogEntry {
    pub id: String,
    pub timestamp: Timestamp,
    pub message: String,
}

/// Which lines: a service's build log from `from`, up to `to` (now, when
/// none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFilter {
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
    pub(crate) fn recent_logs(
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

/// A subscription to a service's log (`GET /logs/subscribe`).
pub(crate) struct LogStream {
    socket: Socket,
}

impl RenderClient<'_> {
    /// Subscribes to the filter's lines: Render sends those written since
    /// `from`, then each new one as it is written.
    pub(crate) fn subscribe_logs(&self, filter: &LogFilter) -> Result<LogStream, RenderError> {
        let url = self.url("/logs/subscribe", &filter.query());
        let headers = [
            ("authorization", format!("Bearer {}", self.key)),
            ("user-agent", USER_AGENT.to_string()),
        ];
        match self.http.open_socket(Bucket::RenderRead, &url, &headers) {
            Ok(socket) => Ok(LogStream { socket }),
            Err(SocketError::Refused {
                status, message, ..
            }) => Err(RenderError::Api {
                what: format!("subscribe to the build log of {}", filter.service),
                status,
                message,
                hint: api_hint(status).to_string(),
            }),
            Err(e) => Err(RenderError::Socket(e.to_string())),
        }
    }
}

impl LogStream {
    /// The next line, if one is written by `until`; a message that is not
    /// a log entry is passed over.
    pub(crate) fn next(&mut self, until: Instant) -> Result<Option<LogEntry>, SocketError> {
        loop {
            let Some(text) = self.socket.next_text(until)? else {
                return Ok(None);
            };
            if let Ok(entry) = serde_json::from_str(&text) {
                return Ok(Some(entry));
            }
        }
    }
}

/// A second either side of a deploy's window: Render's timestamps and the
/// deploy's may be a little apart.
pub(crate) fn around(from: Timestamp, to: Option<Timestamp>) -> (Timestamp, Option<Timestamp>) {
    let second = SignedDuration::from_secs(1);
    (
        from.checked_sub(second).unwrap_or(from),
        to.map(|t| t.checked_add(second).unwrap_or(t)),
    )
}
