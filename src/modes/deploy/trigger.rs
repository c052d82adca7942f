//! Triggering: through the hook or the API, once, and finding the deploy
//! Render created when its answer did not name it.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::Deployer;
use crate::clients::hook::Hook;
use crate::clients::http::display_url;
use crate::clients::render::{Deploy, RenderClient, Triggered};
use crate::markdown::DeployReport;
use crate::ops::rollout::{api_failure, call_hook, shown_hook_url, DeployFailure, Schedule};
use crate::output::human_duration;
use crate::settings::Trigger;

/// How long to look for the deploy Render queued after a 202, as the
/// official CLI does.
const FIND_QUEUED_FOR: Duration = Duration::from_secs(60);

pub(super) struct TriggerOutcome {
    pub(super) http_status: u16,
    pub(super) deploy: Option<Deploy>,
    /// A little before the trigger, to find the deploy it created.
    pub(super) at: String,
    /// When the trigger was answered: the wait's clock starts here.
    pub(super) answered: Instant,
}

impl TriggerOutcome {
    /// Render queued the deploy (HTTP 202) and did not name it.
    pub(super) fn queued(&self) -> bool {
        self.http_status == 202
    }
}

impl Deployer<'_> {
    pub(super) fn describe_request(&self, id: &str) -> String {
        let settings = self.settings;
        let request = settings.request.shown();
        match (&settings.trigger, &settings.api) {
            (Trigger::Hook(hook), _) => format!("POST {}", shown_hook_url(hook, &request)),
            (Trigger::Api, Some(api)) => format!(
                "POST {}/services/{id}/deploys with {}",
                display_url(&api.url).trim_end_matches('/'),
                request.body()
            ),
            (Trigger::Follow(follow), _) => format!(
                "send nothing and follow the deploy Render starts for {}",
                follow.short()
            ),
            (Trigger::Api, None) => "send nothing".into(),
        }
    }

    pub(super) fn trigger(
        &mut self,
        id: &str,
        report: &mut DeployReport,
    ) -> Result<TriggerOutcome, DeployFailure> {
        let at = (Timestamp::now() - jiff::SignedDuration::from_secs(5)).to_string();
        if let Some(hook) = self.settings.hook() {
            return self.trigger_hook(hook, at, report);
        }
        let Some(render) = self.render else {
            return Err(DeployFailure {
                title: "Nothing to trigger with",
                message: "the API trigger needs render-api-key".into(),
                steps: vec!["Give render-api-key and service-id, or the deploy hook.".into()],
            });
        };
        let result = render.trigger(id, &self.settings.request);
        let status = match &result {
            Ok(Triggered::Created(_)) => "201".to_string(),
            Ok(Triggered::Queued) => "202".to_string(),
            Err(e) => e.status().map_or("000".to_string(), |s| s.to_string()),
        };
        report.http_status = Some(status);
        let answered = Instant::now();
        match result {
            Ok(Triggered::Created(deploy)) => Ok(TriggerOutcome {
                http_status: 201,
                deploy: Some(*deploy),
                at,
                answered,
            }),
            Ok(Triggered::Queued) => Ok(TriggerOutcome {
                http_status: 202,
                deploy: None,
                at,
                answered,
            }),
            Err(e) => Err(api_failure("Deploy trigger failed", e)),
        }
    }

    fn trigger_hook(
        &mut self,
        hook: &Hook,
        at: String,
        report: &mut DeployReport,
    ) -> Result<TriggerOutcome, DeployFailure> {
        let (http_status, result) = call_hook(self.http, hook, &self.settings.request);
        report.http_status = Some(http_status);
        let answer = result?;
        Ok(TriggerOutcome {
            http_status: answer.status,
            deploy: answer.deploy,
            at,
            answered: Instant::now(),
        })
    }

    /// After a 202 (or a hook answer without an id) the deploy exists but
    /// we were not told its id: look for the newest deploy created since the
    /// trigger. Not by `status=queued` as Render's CLI does: by the time we
    /// look (after a 429, say) it may have left the queue.
    pub(super) fn find_new_deploy(
        &self,
        render: &RenderClient,
        service: &str,
        since: &str,
        schedule: &mut Schedule,
        report: &DeployReport,
    ) -> Result<Deploy, DeployFailure> {
        let until = Instant::now() + FIND_QUEUED_FOR.min(self.settings.timeout);
        loop {
            schedule.polled_now();
            let found = render
                .list_deploys(service, 1, None, Some(since))
                .map_err(|e| api_failure("Could not find the new deploy", e))?;
            if let Some(deploy) = found.into_iter().next() {
                return Ok(deploy);
            }
            if Instant::now() >= until {
                return Err(DeployFailure {
                    title: "Deploy not found",
                    message: format!(
                        "Render accepted the deploy but no new deploy of {service} appeared within {}",
                        human_duration(FIND_QUEUED_FOR.min(self.settings.timeout))
                    ),
                    steps: vec![format!("Check the [dashboard]({}) for the deploy.", report.dashboard)],
                });
            }
            std::thread::sleep(schedule.due(None).saturating_duration_since(Instant::now()));
        }
    }
}
