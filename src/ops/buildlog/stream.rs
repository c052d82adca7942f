//! Following a build log as Render writes it: one subscription, and when
//! it drops, one more from the newest line seen, never repeating a line.

use std::time::Instant;

use jiff::Timestamp;

use crate::clients::render::{LogEntry, LogFilter, LogStream, RenderClient, RenderError};

/// What the stream said by a deadline.
#[derive(Debug)]
pub(crate) enum Heard {
    Line(LogEntry),
    /// Nothing new by then.
    Quiet,
    /// The stream dropped twice (or could not open again): why.
    Lost(String),
}

/// A build log's subscription, reconnected once.
pub(crate) struct Follower<'a> {
    render: &'a RenderClient<'a>,
    filter: LogFilter,
    stream: Option<LogStream>,
    reconnected: bool,
    /// The newest timestamp delivered, and the ids delivered at it: a
    /// subscription again from it sends those again.
    latest: Option<Timestamp>,
    at_latest: Vec<String>,
    /// Subscriptions not yet counted by the wait's budget.
    spent: u32,
}

impl<'a> Follower<'a> {
    /// Subscribes to `filter`'s lines (from its start).
    pub(crate) fn open(
        render: &'a RenderClient<'a>,
        filter: LogFilter,
    ) -> Result<Follower<'a>, RenderError> {
        let stream = render.subscribe_logs(&filter)?;
        Ok(Follower {
            render,
            filter,
            stream: Some(stream),
            reconnected: false,
            latest: None,
            at_latest: Vec::new(),
            spent: 1,
        })
    }

    /// The next new line written by `until`.
    pub(crate) fn next(&mut self, until: Instant) -> Heard {
        loop {
            let Some(stream) = &mut self.stream else {
                return Heard::Lost("the stream is closed".into());
            };
            match stream.next(until) {
                Ok(Some(entry)) if self.is_new(&entry) => {
                    self.remember(&entry);
                    return Heard::Line(entry);
                }
                Ok(Some(_)) => {}
                Ok(None) => return Heard::Quiet,
                Err(dropped) => {
                    self.stream = None;
                    if self.reconnected {
                        return Heard::Lost(dropped.to_string());
                    }
                    if let Err(refused) = self.reconnect() {
                        return Heard::Lost(format!("{dropped}, then {refused}"));
                    }
                }
            }
        }
    }

    /// GETs spent on subscriptions since last asked.
    pub(crate) fn take_spent(&mut self) -> u32 {
        std::mem::take(&mut self.spent)
    }

    /// Subscribes again, from the newest line delivered.
    fn reconnect(&mut self) -> Result<(), RenderError> {
        self.reconnected = true;
        self.spent += 1;
        let filter = LogFilter {
            from: self.latest.unwrap_or(self.filter.from),
            ..self.filter.clone()
        };
        self.stream = Some(self.render.subscribe_logs(&filter)?);
        Ok(())
    }

    /// After a reconnect Render sends again what it wrote since the newest
    /// line delivered, that line's moment included: those were shown.
    fn is_new(&self, entry: &LogEntry) -> bool {
        match self.latest {
            Some(latest) if self.reconnected => {
                entry.timestamp > latest
                    || (entry.timestamp == latest && !self.at_latest.contains(&entry.id))
            }
            _ => true,
        }
    }

    fn remember(&mut self, entry: &LogEntry) {
        if self.latest.is_none_or(|latest| entry.timestamp > latest) {
            self.latest = Some(entry.timestamp);
            self.at_latest.clear();
        }
        if Some(entry.timestamp) == self.latest {
            self.at_latest.push(entry.id.clone());
        }
    }
}
