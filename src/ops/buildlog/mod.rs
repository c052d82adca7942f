//! A deploy's build log on Render: the window of its service's log that
//! is the deploy's (Render's logs carry no deploy label), and why a failed
//! deploy failed, read from it.

use jiff::Timestamp;

use crate::clients::render::{around, Deploy, LogEntry, LogFilter, RenderClient, RenderError};
use crate::ops::diagnose::{Explainer, Explanation};

/// Pages read to explain a failure when no stream carried the log: its
/// newest 500 lines, where the failure is.
const FAILURE_PAGES: usize = 5;

/// The deploy's window of its service's build log, from when it started
/// (else was created, else `fallback`) to when it finished, a second
/// either side; `None` when no start is known.
pub fn deploy_window(
    owner: &str,
    service: &str,
    deploy: &Deploy,
    fallback: Option<Timestamp>,
) -> Option<LogFilter> {
    let time = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    let start = time(&deploy.started_at)
        .or(time(&deploy.created_at))
        .or(fallback)?;
    let (from, to) = around(start, time(&deploy.finished_at));
    Some(LogFilter {
        owner: owner.to_string(),
        service: service.to_string(),
        from,
        to,
    })
}

/// Feeds each line of the entries (a message may hold several).
pub fn feed(explainer: &mut Explainer, entries: &[LogEntry]) {
    for entry in entries {
        entry.message.lines().for_each(|l| explainer.feed(l));
    }
}

/// Why a deploy failed, from the newest lines of its build log.
pub fn explain_window(
    render: &RenderClient,
    filter: &LogFilter,
) -> Result<Explanation, RenderError> {
    let entries = render.recent_logs(filter, FAILURE_PAGES)?;
    let mut explainer = Explainer::default();
    feed(&mut explainer, &entries);
    Ok(explainer.finish())
}
