//! Deploy mode: validate, trigger through the hook or the API, wait for a
//! terminal status, report.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::clients::hook::Hook;
use crate::clients::http::{display_url, Http};
use crate::clients::render::{
    dashboard_url, Deploy, DeployStatus, Outcome, RenderClient, Triggered,
};
use crate::inputs::human_duration;
use crate::ops::rollout::{
    api_failure, call_hook, recent_durations, shown_hook_url, status_failure, watch, DeployFailure,
    Expected, Schedule,
};
use crate::output::runner::{Progress, Runner};
use crate::report::{deploy_summary, DeployEnd, DeployReport};
use crate::settings::DeploySettings;
use crate::Status;

/// How long to look for the deploy Render queued after a 202, as the
/// official CLI does.
const FIND_QUEUED_FOR: Duration = Duration::from_secs(60);
/// Recent deploys read to predict how long this one takes.
const HISTORY: usize = 10;

pub fn run(config: &DeploySettings, runner: &mut Runner) -> anyhow::Result<Status> {
    for warning in &config.warnings {
        runner.warning(warning);
    }
    let http = Http::new(&config.tuning)?.notify_waits(runner.info_printer());
    let render = config
        .api
        .as_ref()
        .map(|a| RenderClient::new(&http, a.url.clone(), &a.key));
    let mut deploy = Deployer {
        config,
        http: &http,
        render: render.as_ref(),
        runner,
        started: Instant::now(),
    };
    deploy.run()
}

struct Deployer<'a> {
    config: &'a DeploySettings,
    http: &'a Http,
    render: Option<&'a RenderClient<'a>>,
    runner: &'a mut Runner,
    started: Instant,
}

impl Deployer<'_> {
    fn run(&mut self) -> anyhow::Result<Status> {
        let config = self.config;
        let id = config
            .service_id
            .clone()
            .or_else(|| config.hook.as_ref().map(|h| h.id.clone()))
            .unwrap_or_default();
        let mut report = DeployReport {
            dashboard: dashboard_url(&id),
            service_id: id.clone(),
            service_name: None,
            deploy_id: None,
            source: config
                .request
                .commit
                .clone()
                .or(config.request.image.clone()),
            trigger: if config.hook.is_some() {
                "deploy hook"
            } else {
                "API"
            },
            status: String::new(),
            end: DeployEnd::Failed,
            duration: Duration::ZERO,
            healthy: None,
            service_url: None,
            http_status: None,
            next_steps: Vec::new(),
            seen: Vec::new(),
            watched: 0,
            took: None,
            recent: Vec::new(),
        };
        let result = self.deploy(&id, &mut report);
        report.duration = self.started.elapsed();
        if let Err(failure) = &result {
            let fix = failure
                .steps
                .first()
                .map(|s| format!(". {s}"))
                .unwrap_or_default();
            self.runner
                .error(failure.title, &format!("{}{fix}", failure.message));
            report.next_steps.extend(failure.steps.iter().cloned());
        }
        self.runner.set_outputs(outputs(&report));
        self.runner.append_summary(&deploy_summary(&report));
        match report.end {
            DeployEnd::Succeeded | DeployEnd::Triggered | DeployEnd::DryRun => Ok(Status::Done),
            DeployEnd::Failed | DeployEnd::TimedOut => Ok(Status::Failed),
        }
    }

    fn deploy(&mut self, id: &str, report: &mut DeployReport) -> Result<(), DeployFailure> {
        let config = self.config;
        if let (Some(render), Some(service_id)) = (self.render, &config.service_id) {
            let service = render
                .get_service(service_id)
                .map_err(|e| api_failure("Could not read the service", e))?;
            report.service_name = service.name.clone();
            report.dashboard = service.dashboard();
            report.service_url = service.url();
            if service.is_suspended() {
                report.status = "suspended".into();
                let by = if service.suspenders.is_empty() {
                    "unknown".to_string()
                } else {
                    service.suspenders.join(", ")
                };
                return Err(DeployFailure {
                    title: "Service suspended",
                    message: format!(
                        "{} ({id}) is suspended (by: {by}); Render does not deploy suspended services",
                        service.display_name()
                    ),
                    steps: vec![format!(
                        "Resume the service in the [dashboard]({}) (or fix billing), then run this job again.",
                        report.dashboard
                    )],
                });
            }
        }
        let service_url = report.service_url.clone();
        if config.dry_run {
            report.end = DeployEnd::DryRun;
            report.status = "dry-run".into();
            let plan = self.describe_request(id);
            self.runner
                .notice(&format!("Dry run: would {plan}; nothing was sent."));
            report.next_steps.push(format!("Would {plan}."));
            return Ok(());
        }
        // The service's recent deploys predict when this one ends; read
        // before the trigger, so the wait spends its budget on the deploy.
        let history = match (self.render, &config.service_id) {
            (Some(render), Some(service_id)) if config.wait => render
                .list_deploys(service_id, HISTORY, None, None)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let expected = Expected::from_history(&history);
        // The same list shows how this deploy compares, oldest first.
        report.recent = recent_durations(&history)
            .iter()
            .rev()
            .map(|(d, took)| (d.id.clone(), took.as_secs()))
            .collect();
        let triggered = self.trigger(id, report)?;
        let mut deploy = triggered.deploy;
        if let Some(d) = &deploy {
            report.deploy_id = Some(d.id.clone());
            report.source = d.source().or(report.source.take());
        }
        report.status = deploy
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .map_or("triggered".to_string(), |s| s.to_string());
        if triggered.queued {
            report.status = "queued".into();
        }
        self.runner.info(&format!(
            "Render accepted the deploy (HTTP {}){}.",
            triggered.http_status,
            report
                .deploy_id
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
        if !config.wait {
            report.end = DeployEnd::Triggered;
            return Ok(());
        }
        let (Some(render), Some(service_id)) = (self.render, config.service_id.as_deref()) else {
            report.end = DeployEnd::Triggered;
            return Ok(());
        };
        let mut schedule = Schedule::new(triggered.answered, self.config.tuning.poll, expected);
        if triggered.queued {
            report.seen.push((0, DeployStatus::Queued));
        } else if let Some(status) = deploy.as_ref().and_then(|d| d.status.clone()) {
            report.seen.push((0, status));
        }
        if deploy.is_none() {
            let found =
                self.find_new_deploy(render, service_id, &triggered.at, &mut schedule, report);
            report.watched = schedule.origin().elapsed().as_secs();
            let found = found?;
            if let Some(status) = found.status.clone() {
                report
                    .seen
                    .push((schedule.origin().elapsed().as_secs(), status));
            }
            deploy = Some(found);
        }
        let deploy = deploy.expect("set above");
        report.deploy_id = Some(deploy.id.clone());
        let deadline = self.started + config.timeout;
        let last = self.wait(render, service_id, &deploy.id, deadline, schedule, report)?;
        report.source = last.source().or(report.source.take());
        report.status = last.status_or_unknown().to_string();
        if last.status == Some(DeployStatus::Live) {
            report.took = recent_durations(std::slice::from_ref(&last))
                .first()
                .map(|(_, took)| took.as_secs());
        }
        match last.status_or_unknown().outcome(config.canceled_is_failure) {
            Outcome::Succeeded => {
                report.end = DeployEnd::Succeeded;
                if let (Some((path, timeout)), DeployStatus::Live) =
                    (&config.health, last.status_or_unknown())
                {
                    self.verify_health(service_url.as_deref(), path, *timeout, &deploy.id, report)?;
                }
                self.runner.notice(&format!(
                    "Deploy {} is {} after {}.",
                    deploy.id,
                    report.status,
                    human_duration(self.started.elapsed())
                ));
                Ok(())
            }
            Outcome::Failed => Err(status_failure(
                &last.status_or_unknown(),
                &deploy.id,
                &report.dashboard,
            )),
            Outcome::Pending if config.cancel_on_timeout => {
                report.end = DeployEnd::Failed;
                let canceled = render.cancel(service_id, &deploy.id);
                let what = match &canceled {
                    Ok(d) => {
                        report.status = d.status_or_unknown().to_string();
                        format!(
                            "render-pilot canceled it (cancel-on-timeout); it is now {}",
                            report.status
                        )
                    }
                    Err(e) => format!("canceling it failed ({e}); it may still be running"),
                };
                Err(DeployFailure {
                    title: "Deploy timed out",
                    message: format!(
                        "deploy {} did not finish within {}; {what}",
                        deploy.id,
                        human_duration(config.timeout)
                    ),
                    steps: vec![
                        format!(
                            "Check the deploy in the [dashboard]({}/deploys/{}).",
                            report.dashboard, deploy.id
                        ),
                        "Raise the `timeout` input if builds routinely take this long.".into(),
                    ],
                })
            }
            Outcome::Pending => {
                report.end = DeployEnd::TimedOut;
                Err(DeployFailure {
                    title: "Deploy still running",
                    message: format!(
                        "deploy {} is still {} after {}; render-pilot stopped waiting but did not cancel it",
                        deploy.id,
                        report.status,
                        human_duration(config.timeout)
                    ),
                    steps: vec![
                        format!("Watch the deploy in the [dashboard]({}/deploys/{}).", report.dashboard, deploy.id),
                        "Raise the `timeout` input if builds routinely take this long, or set `cancel-on-timeout: true`.".into(),
                    ],
                })
            }
        }
    }

    /// Once live, the service must answer 2xx on `path` before `timeout`.
    fn verify_health(
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
        let url =
            reqwest::Url::parse(&format!("{}{path}", base.trim_end_matches('/'))).map_err(|e| {
                DeployFailure {
                    title: "Health check impossible",
                    message: format!("the service URL {base} with {path} is not a URL ({e})"),
                    steps: vec!["Fix health-path.".into()],
                }
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
            std::thread::sleep(self.config.tuning.poll.min(until - now));
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

    fn describe_request(&self, id: &str) -> String {
        let config = self.config;
        match (&config.hook, &config.api) {
            (Some(hook), _) => format!("POST {}", shown_hook_url(hook, &config.request)),
            (None, Some(api)) => format!(
                "POST {}/services/{id}/deploys with {}",
                display_url(&api.url).trim_end_matches('/'),
                config.request.body()
            ),
            (None, None) => "send nothing".into(),
        }
    }

    fn trigger(
        &mut self,
        id: &str,
        report: &mut DeployReport,
    ) -> Result<TriggerOutcome, DeployFailure> {
        let at = (Timestamp::now() - jiff::SignedDuration::from_secs(5)).to_string();
        if let Some(hook) = &self.config.hook {
            return self.trigger_hook(hook, at, report);
        }
        let render = self
            .render
            .expect("resolve() requires an API key without a hook");
        let result = render.trigger(id, &self.config.request);
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
                queued: false,
                at,
                answered,
            }),
            Ok(Triggered::Queued) => Ok(TriggerOutcome {
                http_status: 202,
                deploy: None,
                queued: true,
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
        let (http_status, result) = call_hook(self.http, hook, &self.config.request);
        report.http_status = Some(http_status);
        let answer = result?;
        Ok(TriggerOutcome {
            http_status: answer.status,
            queued: answer.status == 202,
            deploy: answer.deploy,
            at,
            answered: Instant::now(),
        })
    }

    /// After a 202 (or a hook answer without an id) the deploy exists but
    /// we were not told its id: look for the newest deploy created since the
    /// trigger. Not by `status=queued` as Render's CLI does: by the time we
    /// look (after a 429, say) it may have left the queue.
    fn find_new_deploy(
        &self,
        render: &RenderClient,
        service: &str,
        since: &str,
        schedule: &mut Schedule,
        report: &DeployReport,
    ) -> Result<Deploy, DeployFailure> {
        let until = Instant::now() + FIND_QUEUED_FOR.min(self.config.timeout);
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
                        human_duration(FIND_QUEUED_FOR.min(self.config.timeout))
                    ),
                    steps: vec![format!("Check the [dashboard]({}) for the deploy.", report.dashboard)],
                });
            }
            std::thread::sleep(schedule.due(None).saturating_duration_since(Instant::now()));
        }
    }

    /// Polls until a terminal status or the deadline; returns the last
    /// deploy seen, and records in `report` each status seen and when.
    fn wait(
        &self,
        render: &RenderClient,
        service: &str,
        deploy_id: &str,
        deadline: Instant,
        mut schedule: Schedule,
        report: &mut DeployReport,
    ) -> Result<Deploy, DeployFailure> {
        let progress = Progress::new(self.runner);
        let canceled_is_failure = self.config.canceled_is_failure;
        let target = (render, service, deploy_id);
        let origin = schedule.origin();
        let mut seen = Vec::new();
        let last = watch(
            target,
            deadline,
            canceled_is_failure,
            &mut schedule,
            |status, new| {
                if !new {
                    progress.tick(self.runner);
                    return;
                }
                seen.push((origin.elapsed().as_secs(), status.clone()));
                if let DeployStatus::Unknown(s) = status {
                    self.runner.warning(&format!(
                    "Deploy {deploy_id} reports status '{s}', which render-pilot does not know; still waiting"
                ));
                }
                progress.update(self.runner, &format!("Deploy {deploy_id}: {status}"));
            },
        );
        report.seen.extend(seen);
        report.watched = origin.elapsed().as_secs();
        last.map_err(|e| DeployFailure {
            title: "Lost track of the deploy",
            message: format!("{e}; deploy {deploy_id} may still be running"),
            steps: vec![format!(
                "Check the deploy in the [dashboard]({}/deploys/{deploy_id}).",
                report.dashboard
            )],
        })
    }
}

struct TriggerOutcome {
    http_status: u16,
    deploy: Option<Deploy>,
    queued: bool,
    /// A little before the trigger, to find the deploy it created.
    at: String,
    /// When the trigger was answered: the wait's clock starts here.
    answered: Instant,
}

/// Deploy mode's outputs, all from the report, written once. An output
/// without a value is written empty, so a later step sees it declared.
fn outputs(report: &DeployReport) -> Vec<(&'static str, String)> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    vec![
        ("service-id", report.service_id.clone()),
        ("service-name", text(&report.service_name)),
        ("service-url", text(&report.service_url)),
        ("dashboard-url", report.dashboard.clone()),
        ("deploy-id", text(&report.deploy_id)),
        ("deploy-status", report.status.clone()),
        ("duration-seconds", report.duration.as_secs().to_string()),
        ("http-status", text(&report.http_status)),
        (
            "healthy",
            report.healthy.map(|h| h.to_string()).unwrap_or_default(),
        ),
    ]
}
