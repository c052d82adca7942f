//! The Render fixes: check and call the deploy hook, redeploy with a
//! cleared build cache, roll back an unhealthy deploy. Their target is
//! always read from Render's own deploy list, never from the log.

use std::time::{Duration, Instant};

use super::super::ROLLBACK_WAIT;
use super::head::HeadCheck;
use super::{Done, FixError, Fixed, Fixer};
use crate::clients::hook;
use crate::clients::http::{health_url, Http};
use crate::clients::render::{
    Deploy, DeployStatus, Outcome, RenderClient, Service, TriggerRequest, Triggered,
};
use crate::ops::rollout::{call_hook, wait_for};
use crate::settings::Fix;

/// Health checks before a rollback: one bad answer may be a blip.
const HEALTH_CHECKS: u32 = 3;

/// The service's deploys, newest first, as Render lists them.
struct Deploys<'a> {
    render: RenderClient<'a>,
    service_id: String,
    service: Service,
    list: Vec<Deploy>,
}

impl Deploys<'_> {
    fn newest(&self) -> Result<&Deploy, FixError> {
        self.list
            .first()
            .ok_or_else(|| FixError::NoDeploy(self.service_id.clone()))
    }
}

impl Fixer<'_> {
    pub(super) fn webhook(&mut self) -> Result<Done, FixError> {
        let (hook, warnings) = match &self.settings.hook {
            None => return Err(FixError::NoHook),
            Some(Err(bad)) => return Err(FixError::BadHook(bad.clone())),
            Some(Ok((hook, warnings))) => (hook, warnings.clone()),
        };
        if hook.blueprint {
            return Err(FixError::BlueprintHook);
        }
        if let Some(why) = &self.distrust {
            // Deploying a fork's or pull request's head would put code
            // nobody reviewed into production.
            return Err(FixError::UntrustedHook {
                warnings,
                why: why.clone(),
            });
        }
        let live = match self.settings.api {
            Some(_) => Some(self.deploys()?.list),
            None => None,
        };
        let checked = match self.check_head(live.as_deref())? {
            HeadCheck::AlreadyLive(text) => return Ok(Done::Settled(text)),
            HeadCheck::Deploy(checked) => checked,
        };
        let short = self.run.head_sha.chars().take(7).collect::<String>();
        if let Some(plan) = self.would(format!(
            "trigger a deploy of {short} through the valid deploy hook ({checked})"
        )) {
            return Ok(Done::Fixed(plan));
        }
        let request = TriggerRequest {
            commit: Some(self.run.head_sha.clone()),
            ..TriggerRequest::default()
        };
        let (status, answer) = call_hook(self.http, hook, &request);
        let answer = answer.map_err(|f| FixError::HookFailed {
            message: f.message,
            status,
        })?;
        let mut text = format!(
            "the deploy hook is valid; triggered a deploy of {short} (HTTP {}{}; {checked})",
            answer.status,
            answer
                .deploy
                .map(|d| format!(", {}", d.id))
                .unwrap_or_default()
        );
        for warning in warnings {
            text.push_str(&format!(". Note: {warning}"));
        }
        Ok(Done::Fixed(text))
    }

    fn render(&self) -> Result<(RenderClient<'_>, String), FixError> {
        let api = self.settings.api.as_ref().ok_or(FixError::NoApiKey)?;
        let service = self
            .settings
            .service_id
            .clone()
            .or_else(|| match &self.settings.hook {
                Some(Ok((hook, _))) if hook::is_service_id(&hook.id) => Some(hook.id.clone()),
                _ => None,
            })
            .ok_or(FixError::NoService)?;
        Ok((
            RenderClient::new(self.http, api.url.clone(), &api.key),
            service,
        ))
    }

    /// The service's deploys, newest first, as Render lists them: the only
    /// source of a rollback's or redeploy's target.
    fn deploys(&self) -> Result<Deploys<'_>, FixError> {
        let (render, service_id) = self.render()?;
        let service = render.get_service(&service_id)?;
        let list = render.list_deploys(&service_id, 20, None, None)?;
        Ok(Deploys {
            render,
            service_id,
            service,
            list,
        })
    }

    /// A build or pre-deploy failure leaves the previous deploy serving, so
    /// there is nothing to roll back, except on services with a disk.
    pub(super) fn failed_deploy(&mut self) -> Result<Done, FixError> {
        self.deploy_once(Self::after_failed_deploy)
    }

    /// Rolls back only when Render's newest deploy is live and its health
    /// check fails now, checked here: a log's word is not enough.
    pub(super) fn unhealthy_deploy(&mut self) -> Result<Done, FixError> {
        self.deploy_once(|fixer| fixer.after_unhealthy_deploy().map(Done::Fixed))
    }

    /// Runs a Render fix unless one already acted in this run.
    fn deploy_once(
        &mut self,
        fix: impl FnOnce(&Self) -> Result<Done, FixError>,
    ) -> Result<Done, FixError> {
        self.trusted()?;
        if let Some(done) = &self.deployed {
            return Ok(Done::Fixed(format!("nothing more to deploy: {done}")));
        }
        let done = fix(self)?;
        if let Done::Fixed(text) = &done {
            self.deployed = Some(text.clone());
        }
        Ok(done)
    }

    fn after_failed_deploy(&self) -> Result<Done, FixError> {
        let deploys = self.deploys()?;
        let failed = deploys.newest()?;
        let status = failed.status_or_unknown();
        if status == DeployStatus::Live {
            // A later deploy fixed it: the service serves again.
            return Ok(Done::Settled(format!(
                "nothing to fix: Render's newest deploy {}{} is live again",
                failed.id,
                failed
                    .source()
                    .map(|s| format!(" ({})", crate::output::escape::one_line(&s, 80)))
                    .unwrap_or_default()
            )));
        }
        if !status.is_failure() {
            return Err(FixError::NotFailed {
                id: failed.id.clone(),
                status,
            });
        }
        if status == DeployStatus::UpdateFailed
            && deploys.service.has_disk()
            && self.enabled(Fix::Rollback)
        {
            if let Some(plan) = self.would(format!(
                "roll back from {} to the previous live deploy",
                failed.id
            )) {
                return Ok(Done::Fixed(plan));
            }
            return rollback(&deploys, self.settings.tuning.poll).map(Done::Fixed);
        }
        if self.enabled(Fix::Redeploy) {
            return self.redeploy(&deploys, status);
        }
        Err(FixError::KeptServing {
            id: failed.id.clone(),
            status,
        })
    }

    /// Starts a deploy of the failed run's head with a cleared build cache
    /// after the failed one, once it is known to be the branch tip and
    /// newer than what is live.
    fn redeploy(&self, deploys: &Deploys, status: DeployStatus) -> Result<Done, FixError> {
        let failed = deploys.newest()?;
        let checked = match self.check_head(Some(&deploys.list))? {
            HeadCheck::AlreadyLive(text) => return Ok(Done::Settled(text)),
            HeadCheck::Deploy(checked) => checked,
        };
        let short = self.run.head_sha.chars().take(7).collect::<String>();
        if let Some(plan) = self.would(format!(
            "start a deploy of {short} with a cleared build cache after {} ({status}; {checked})",
            failed.id
        )) {
            return Ok(Done::Fixed(plan));
        }
        // An image-backed service deploys its image, never a commit.
        let request = TriggerRequest {
            commit: failed.commit.is_some().then(|| self.run.head_sha.clone()),
            clear_cache: true,
            ..TriggerRequest::default()
        };
        let started = match deploys.render.trigger(&deploys.service_id, &request)? {
            Triggered::Created(d) => format!("started {}", d.id),
            Triggered::Queued => "queued a deploy".to_string(),
        };
        Ok(Done::Fixed(format!(
            "deploy {} {status}; {started} of {short} with a cleared build cache ({checked})",
            failed.id
        )))
    }

    fn after_unhealthy_deploy(&self) -> Fixed {
        let deploys = self.deploys()?;
        let newest = deploys.newest()?;
        let status = newest.status_or_unknown();
        if status != DeployStatus::Live {
            return Err(FixError::NotLive {
                id: newest.id.clone(),
                status,
            });
        }
        let failing = failing_health(self.http, &deploys.service, self.settings.tuning.poll)?;
        if let Some(plan) = self.would(format!(
            "roll back from {} ({failing}) to the previous live deploy",
            newest.id
        )) {
            return Ok(plan);
        }
        rollback(&deploys, self.settings.tuning.poll)
    }
}

/// Checks the live service's health check path three times; `Ok` with
/// the last answer when none was 2xx, `Err` when it is healthy or cannot
/// be checked.
fn failing_health(http: &Http, service: &Service, pause: Duration) -> Result<String, FixError> {
    let (Some(base), Some(path)) = (service.url(), service.health_check_path()) else {
        return Err(FixError::NoHealthCheck(service.id.clone()));
    };
    let url = health_url(&base, path).map_err(|source| FixError::BadHealthUrl {
        base: base.to_string(),
        path: path.to_string(),
        source,
    })?;
    let mut last = String::new();
    for check in 0..HEALTH_CHECKS {
        if check > 0 {
            std::thread::sleep(pause);
        }
        let answer = http.health_check(&url);
        if answer.code.is_some_and(|c| (200..300).contains(&c)) {
            return Err(FixError::Healthy {
                answer: answer.describe(),
                path: path.to_string(),
            });
        }
        last = answer.describe();
    }
    Ok(format!("{path}: {last}"))
}

/// Rolls back from the newest deploy to the newest earlier deploy that was
/// live, and waits for it to be live.
fn rollback(deploys: &Deploys, poll: Duration) -> Fixed {
    let failed = deploys.newest()?;
    let target = deploys.list[1..]
        .iter()
        .find(|d| {
            matches!(
                d.status,
                Some(DeployStatus::Live | DeployStatus::Deactivated)
            )
        })
        .ok_or_else(|| FixError::NoEarlierLive(failed.id.clone()))?;
    let (render, service_id) = (&deploys.render, deploys.service_id.as_str());
    let rollback = render.rollback(service_id, &target.id)?;
    let deadline = Instant::now() + ROLLBACK_WAIT;
    let last = wait_for(
        render,
        service_id,
        &rollback.id,
        (deadline, poll),
        true,
        |_| {},
    )
    .map_err(|source| FixError::RollbackUnfinished {
        id: rollback.id.clone(),
        source,
    })?;
    match last.status_or_unknown() {
        DeployStatus::Live => Ok(format!(
            "rolled back from {} to {} ({} is live). Autodeploy stays on: the next push deploys again",
            failed.id, target.id, rollback.id
        )),
        s if s.outcome(true) == Outcome::Failed => Err(FixError::RollbackFailed {
            id: rollback.id,
            status: s,
        }),
        _ => Err(FixError::RollbackNotLive(rollback.id)),
    }
}
