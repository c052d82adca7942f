//! Render's build log in the deploy: streamed into the job log while the
//! wait goes on (a collapsed group in CI, a tail under the spinner on a
//! terminal), Render's own lines for the end of a phase asking for a read
//! at once, and why a failed deploy failed, quoted in the summary and
//! named in its annotation. Without the log (refused, cut twice) the wait
//! polls as it always did, after one notice.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Instant;

use super::Deployer;
use crate::clients::render::{Deploy, RenderClient};
use crate::markdown::DeployReport;
use crate::ops::buildlog::{
    deploy_window, explain_window, is_mark, shown_line, Cap, Follower, Heard, Moments,
};
use crate::ops::diagnose::{Explainer, Explanation};
use crate::ops::rollout::{Listener, Sleep};
use crate::output::runner::{Progress, Runner};
use crate::settings::BuildLog;

/// The title of the job log's group of build log lines.
const GROUP: &str = "Render build log";
/// Lines under the spinner, each at most this long.
const TAIL: usize = 5;
const TAIL_WIDTH: usize = 100;

/// Where the build log's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Every line, up to the cap: in a group in CI, above the spinner on a
    /// terminal.
    Lines,
    /// The last few under the spinner.
    Tail,
}

/// The build log in the job log, shared by the listener (lines) and the
/// wait (status lines, which close the group so they show).
pub(super) struct LogView<'a> {
    runner: &'a Runner,
    progress: &'a Progress,
    show: Show,
    group: Cell<bool>,
    cap: RefCell<Cap>,
    tail: RefCell<VecDeque<String>>,
}

impl<'a> LogView<'a> {
    pub(super) fn new(runner: &'a Runner, progress: &'a Progress, setting: BuildLog) -> Self {
        let show = match setting {
            BuildLog::Auto if !runner.in_actions() => Show::Tail,
            _ => Show::Lines,
        };
        LogView {
            runner,
            progress,
            show,
            group: Cell::new(false),
            cap: RefCell::new(Cap::default()),
            tail: RefCell::new(VecDeque::new()),
        }
    }

    /// Shows one entry's lines, cleaned (the runner's writer redacts them
    /// and disarms commands).
    fn show(&self, message: &str) {
        for line in message.lines().map(shown_line) {
            match self.show {
                Show::Tail => self.push_tail(line),
                Show::Lines if !self.cap.borrow_mut().admit(&line) => {}
                Show::Lines if self.runner.in_actions() => {
                    if !self.group.replace(true) {
                        self.runner.group(GROUP);
                    }
                    self.runner.info(&line);
                }
                Show::Lines => self.progress.println(self.runner, &line),
            }
        }
    }

    fn push_tail(&self, line: String) {
        let mut tail = self.tail.borrow_mut();
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line.chars().take(TAIL_WIDTH).collect());
        self.progress.set_tail(tail.make_contiguous());
    }

    /// Before a line of render-pilot's own: the group ends, so it shows.
    pub(super) fn interrupt(&self) {
        if self.group.replace(false) {
            self.runner.end_group();
        }
    }

    /// The wait is over: the group ends, the tail goes, and the lines past
    /// the cap are counted, with where to read them.
    pub(super) fn finish(&self, link: &str) {
        self.interrupt();
        self.progress.set_tail(&[]);
        if let Some(more) = self.cap.borrow().more(link) {
            self.runner.info(&more);
        }
    }
}

/// The wait's listener: the build log's lines, each shown and explained,
/// and Render's marks as pushes.
pub(super) struct Listening<'a> {
    follower: Option<Follower<'a>>,
    view: &'a LogView<'a>,
    explainer: Explainer,
    moments: Moments,
    /// Subscriptions spent by a follower since lost.
    spent: u32,
    lost: bool,
}

impl<'a> Listening<'a> {
    pub(super) fn new(follower: Follower<'a>, view: &'a LogView<'a>) -> Self {
        Listening {
            follower: Some(follower),
            view,
            explainer: Explainer::default(),
            moments: Moments::default(),
            spent: 0,
            lost: false,
        }
    }

    /// Why the deploy failed, when the stream carried its whole log.
    pub(super) fn finish(self) -> Option<Explanation> {
        (!self.lost).then(|| self.explainer.finish())
    }

    fn lose(&mut self, why: &str) {
        if let Some(mut follower) = self.follower.take() {
            self.spent += follower.take_spent();
        }
        self.lost = true;
        self.view.interrupt();
        self.view.runner.notice(&format!(
            "Render's build log stream was lost ({why}); waiting by polling as usual."
        ));
    }
}

impl Listener for Listening<'_> {
    fn listen(&mut self, until: Instant) -> bool {
        loop {
            let Some(follower) = &mut self.follower else {
                return Sleep.listen(until);
            };
            match follower.next(until) {
                Heard::Line(entry) => {
                    self.view.show(&entry.message);
                    entry.message.lines().for_each(|l| self.explainer.feed(l));
                    if is_mark(&entry.message) && self.moments.is_new(entry.timestamp) {
                        return true;
                    }
                }
                Heard::Quiet => return false,
                Heard::Lost(why) => self.lose(&why),
            }
        }
    }

    fn pushing(&self) -> bool {
        self.follower.is_some()
    }

    fn spent(&mut self) -> u32 {
        let follower = self.follower.as_mut().map_or(0, Follower::take_spent);
        follower + std::mem::take(&mut self.spent)
    }
}

impl<'a> Deployer<'a> {
    /// Subscribes to the deploy's build log for the wait, unless
    /// `build-log: never`. A log Render refuses is one notice, and the
    /// wait polls as it always did; the subscription's GET counts all the
    /// same.
    pub(super) fn follow_build_log(
        &mut self,
        service: &str,
        deploy: &Deploy,
        report: &DeployReport,
    ) -> (Option<Follower<'a>>, u32) {
        let (Some(render), Some(owner)) = (self.render, &self.owner) else {
            return (None, 0);
        };
        if self.settings.build_log == BuildLog::Never {
            return (None, 0);
        }
        let Some(window) = deploy_window(owner, service, deploy, report.started_at) else {
            return (None, 0);
        };
        match Follower::open(render, window) {
            Ok(follower) => (Some(follower), 0),
            Err(e) => {
                // No access (a key of another workspace, a plan without
                // logs): the log is not asked for again.
                self.logs_refused = matches!(e.status(), Some(401 | 403 | 404));
                self.runner.notice(&format!(
                    "Render's build log is not available ({}); waiting by polling as usual.",
                    e.status()
                        .map_or_else(|| e.to_string(), |code| format!("HTTP {code}"))
                ));
                (None, 1)
            }
        }
    }

    /// Why a failed deploy failed, from its build log: as the stream
    /// carried it (`heard`), else one read of its newest lines. A log
    /// Render does not give leaves one notice, and the outcome as it was.
    pub(super) fn explain_failure(
        &self,
        render: &RenderClient,
        service: &str,
        (last, heard): (&Deploy, Option<Explanation>),
        report: &mut DeployReport,
    ) {
        if !last.status_or_unknown().is_failure() || self.settings.build_log == BuildLog::Never {
            return;
        }
        if heard.is_some() {
            report.why = heard;
            return;
        }
        let Some(owner) = self.owner.as_ref().filter(|_| !self.logs_refused) else {
            return;
        };
        let Some(window) = deploy_window(owner, service, last, report.started_at) else {
            return;
        };
        match explain_window(render, &window) {
            Ok(why) => report.why = Some(why),
            Err(e) => self.runner.notice(&format!(
                "Render's build log could not be read ({}), so the summary does not quote it; read it in the dashboard.",
                e.status()
                    .map_or_else(|| e.to_string(), |code| format!("HTTP {code}"))
            )),
        }
    }

    /// The cause the build log names, in a line for the annotation.
    pub(super) fn why_line(report: &DeployReport) -> Option<String> {
        let why = report.why.as_ref()?;
        match why.cause() {
            Some(cause) => Some(cause.remedy()),
            None if !why.lines.is_empty() => {
                Some("the last lines of its build log are quoted in the step summary".into())
            }
            None => None,
        }
    }
}
