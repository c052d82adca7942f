//! Watching: the deploy's status until it ends, then the service's own
//! health check.

use std::time::{Duration, Instant};

use super::buildlog::{Listening, LogView};
use super::Deployer;
use crate::clients::http::health_url;
use crate::clients::render::{Deploy, DeployStatus, RenderClient};
use crate::markdown::{DeployEnd, DeployReport};
use crate::ops::buildlog::Follower;
use crate::ops::diagnose::Explanation;
use crate::ops::rollout::{watch, DeployFailure, Listener, Schedule, Sleep};
use crate::output::human_duration;
use crate::output::runner::Progress;

impl Deployer<'_> {
    /// Polls until a terminal status or the deadline, listening to the
    /// build log (`log`: its follower, and the GETs spent opening it)
    /// between reads; returns the last deploy seen and, when the log was
    /// heard whole, what it says, and records in `report` each status seen
    /// and when.
    pub(super) fn wait(
        &self,
        (render, service, deploy_id): (&RenderClient, &str, &str),
        deadline: Instant,
        mut schedule: Schedule,
        (follower, spent): (Option<Follower<'_>>, u32),
        report: &mut DeployReport,
    ) -> Result<(Deploy, Option<Explanation>), DeployFailure> {
        let progress = Progress::new(self.runner);
        let view = LogView::new(self.runner, &progress, self.settings.build_log);
        let mut listening = follower.map(|f| Listening::new(f, &view));
        let mut sleep = Sleep;
        let listener: &mut dyn Listener = match &mut listening {
            Some(listening) => listening,
            None => &mut sleep,
        };
        schedule.count(spent);
        let canceled_is_failure = self.settings.canceled_is_failure;
        let target = (render, service, deploy_id);
        let origin = schedule.origin();
        let mut seen = Vec::new();
        let last = watch(
            target,
            deadline,
            canceled_is_failure,
            (&mut schedule, listener),
            |status, new| {
                if !new {
                    progress.tick(self.runner);
                    return;
                }
                view.interrupt();
                seen.push((origin.elapsed(), status.clone()));
                if let DeployStatus::Unknown(s) = status {
                    self.runner.warning(&format!(
                    "Deploy {deploy_id} reports status '{s}', which render-pilot does not know; still waiting"
                ));
                }
                progress.update(self.runner, &format!("Deploy {deploy_id}: {status}"));
            },
        );
        report.seen.extend(seen);
        report.watched = origin.elapsed();
        let dashboard = report.dashboard.trim_end_matches('/');
        view.finish(&format!("{dashboard}/deploys/{deploy_id}"));
        let heard = listening.and_then(Listening::finish);
        last.map(|last| (last, heard)).map_err(|e| DeployFailure {
            title: "Lost track of the deploy",
            message: format!("{e}; deploy {deploy_id} may still be running"),
            steps: vec![format!(
                "Check the deploy in the [dashboard]({}/deploys/{deploy_id}).",
                report.dashboard
            )],
        })
    }

    /// Once live, the service must answer 2xx on `path` before `timeout`.
    pub(super) fn verify_health(
        &mut self,
        service_url: Option<&str>,
        path: &str,
        timeout: Duration,
        deploy_id: &str,
        report: &mut DeployReport,
    ) -> Result<(), DeployFailure> {
        let Some(base) = service_url.filter(|u| !u.is_empty()) else {
            self.runner.warning("health-path was given, but Render lists no URL for this service (workers and cron jobs have none); health not checked");
            return Ok(());
        };
        let url = health_url(base, path).map_err(|e| DeployFailure {
            title: "Health check impossible",
            message: format!("the service URL {base} with {path} is not a URL ({e})"),
            steps: vec!["Fix health-path.".into()],
        })?;
        let until = Instant::now() + timeout;
        let progress = Progress::new(self.runner);
        let mut last = String::new();
        let healthy = loop {
            let check = self.http.health_check(&url);
            let seen = check.describe();
            if seen == last {
                progress.tick(self.runner);
            } else {
                progress.update(self.runner, &format!("Health check {path}: {seen}"));
                last = seen;
            }
            if check.code.is_some_and(|c| (200..300).contains(&c)) {
                break true;
            }
            let now = Instant::now();
            if now >= until {
                break false;
            }
            std::thread::sleep(self.settings.tuning.poll.min(until - now));
        };
        report.healthy = Some(healthy);
        if healthy {
            return Ok(());
        }
        report.end = DeployEnd::Failed;
        Err(DeployFailure {
            title: "Deploy unhealthy",
            message: format!(
                "deploy {deploy_id} is live but {path} did not answer 2xx within {} (last: {last})",
                human_duration(timeout)
            ),
            steps: vec![
                "Read the service's logs in the dashboard.".into(),
                "Roll back: run render-pilot recover with `fixes: rollback`, or use Rollback in the dashboard.".into(),
            ],
        })
    }
}
