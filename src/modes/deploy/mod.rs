//! Deploy mode: validate, trigger through the hook or the API, wait for a
//! terminal status, report.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp, Unit};

mod buildlog;
mod follow;
mod github;
mod trigger;
mod watch;

use trigger::TriggerOutcome;

use crate::clients::http::Http;
use crate::clients::render::{dashboard_url, Deploy, DeployStatus, Outcome, RenderClient, Service};
use crate::markdown::{deploy_summary, DeployEnd, DeployReport};
use crate::ops::rollout::{
    api_failure, recent_durations, recorded_phases, status_failure, still_running_failure,
    suspended_failure, timed_out_failure, DeployFailure, Expected, Schedule,
};
use crate::output::human_duration;
use crate::output::runner::Runner;
use crate::settings::{DeploySettings, Follow, Trigger};
use crate::verdict::Verdict;

/// Recent deploys read to predict how long this one takes.
const HISTORY: usize = 10;

pub(crate) fn run(settings: &DeploySettings, runner: &mut Runner) -> anyhow::Result<Verdict> {
    for warning in &settings.warnings {
        runner.warning(warning);
    }
    let http = Http::new(&settings.tuning)?.notify_waits(runner.printer());
    let render = settings
        .api
        .as_ref()
        .map(|a| RenderClient::new(&http, a.url.clone(), &a.key));
    let mut deploy = Deployer {
        settings,
        http: &http,
        render: render.as_ref(),
        runner,
        started: Instant::now(),
        owner: None,
        logs_refused: false,
    };
    deploy.run()
}

struct Deployer<'a> {
    settings: &'a DeploySettings,
    http: &'a Http,
    render: Option<&'a RenderClient<'a>>,
    runner: &'a mut Runner,
    started: Instant,
    /// The workspace that owns the service, whose logs are read.
    owner: Option<String>,
    /// Render refused the build log: it is not asked for again.
    logs_refused: bool,
}

impl Deployer<'_> {
    fn run(&mut self) -> anyhow::Result<Verdict> {
        let settings = self.settings;
        let id = settings
            .service_id
            .clone()
            .or_else(|| settings.hook().map(|h| h.id.clone()))
            .unwrap_or_default();
        let mut report = DeployReport {
            dashboard: dashboard_url(&id),
            service_id: id.clone(),
            service_name: None,
            deploy_id: None,
            source: settings
                .request
                .commit
                .clone()
                .or(settings.request.shown().image),
            trigger: match settings.trigger {
                Trigger::Hook(_) => "deploy hook",
                Trigger::Api => "API",
                Trigger::Follow(_) => "Render (followed)",
            },
            status: String::new(),
            end: DeployEnd::Failed,
            duration: Duration::ZERO,
            healthy: None,
            service_url: None,
            onrender_url: None,
            http_status: None,
            next_steps: Vec::new(),
            started_at: None,
            seen: Vec::new(),
            watched: Duration::ZERO,
            recorded: Err("the deploy did not end while render-pilot watched".into()),
            took: None,
            recent: Vec::new(),
            why: None,
        };
        // A dry run changes nothing, on GitHub either.
        let github = (settings.github.as_ref())
            .filter(|_| !settings.dry_run)
            .map(|g| github::Reporter::start(self.http, g, &id, self.runner));
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
        if let Some(phases) = report.phases() {
            let line = format!("Phases, {}: {}", phases.told_by(), phases.line());
            self.runner.info(&line);
        }
        if let Some(github) = &github {
            github.finish(&report, self.runner);
        }
        self.runner.set_outputs(outputs(&report));
        self.runner.append_summary(&deploy_summary(&report));
        match report.end {
            DeployEnd::Succeeded | DeployEnd::Triggered | DeployEnd::DryRun => Ok(Verdict::Done),
            DeployEnd::Failed | DeployEnd::TimedOut => Ok(Verdict::Failed),
        }
    }

    /// The deploy as a sequence of steps; each records what it learned in
    /// `report`.
    fn deploy(&mut self, id: &str, report: &mut DeployReport) -> Result<(), DeployFailure> {
        self.read_service(id, report)?;
        if self.settings.dry_run {
            self.dry_run(id, report);
            return Ok(());
        }
        let (expected, history) = self.read_recent_deploys(report);
        if let Trigger::Follow(follow) = &self.settings.trigger {
            return self.follow(follow, (expected, history), report);
        }
        let triggered = self.trigger(id, report)?;
        self.record_trigger(&triggered, report);
        let (true, Some(render), Some(service_id)) = (
            self.settings.wait,
            self.render,
            self.settings.service_id.as_deref(),
        ) else {
            return self.unwatched(&triggered, report);
        };
        let mut schedule = Schedule::new(triggered.answered, self.settings.tuning.poll, expected);
        let answered = SignedDuration::try_from(triggered.answered.elapsed()).unwrap_or_default();
        report.started_at = Timestamp::now().checked_sub(answered).ok();
        let deploy = self.deploy_to_watch(triggered, render, service_id, &mut schedule, report)?;
        let log = self.follow_build_log(service_id, &deploy, report);
        let deadline = self.started + self.settings.timeout;
        let target = (render, service_id, deploy.id.as_str());
        let (last, heard) = self.wait(target, deadline, schedule, log, report)?;
        self.record_end(&last, report);
        read_phases(render, service_id, &last, report);
        self.explain_failure(render, service_id, (&last, heard), report);
        self.conclude(&last, render, service_id, report)
    }

    /// The service's name, URL and dashboard; a suspended service is not
    /// deployed.
    fn read_service(&mut self, id: &str, report: &mut DeployReport) -> Result<(), DeployFailure> {
        let (Some(render), Some(service_id)) = (self.render, &self.settings.service_id) else {
            return Ok(());
        };
        let service = render
            .get_service(service_id)
            .map_err(|e| api_failure("Could not read the service", e))?;
        self.record_service(render, &service, report);
        if service.is_suspended() {
            report.status = "suspended".into();
            return Err(suspended_failure(&service, id, &report.dashboard));
        }
        Ok(())
    }

    /// The service's name, dashboard and URLs: where its users reach it is
    /// its first verified custom domain (one more read), else Render's own
    /// URL. A domain that cannot be read is no reason to stop a deploy.
    fn record_service(
        &mut self,
        render: &RenderClient,
        service: &Service,
        report: &mut DeployReport,
    ) {
        self.owner = service.owner_id.clone();
        report.service_id = service.id.clone();
        report.service_name = service.name.clone();
        report.dashboard = service.dashboard();
        report.onrender_url = service.url();
        report.service_url =
            report
                .onrender_url
                .as_ref()
                .map(|own| match render.verified_domain(&service.id) {
                    Ok(Some(domain)) => format!("https://{domain}"),
                    _ => own.clone(),
                });
    }

    /// Follows the deploy Render started itself, on the same wait, health
    /// check and report as a triggered one. `history` is the deploy list
    /// `expected` came from.
    fn follow(
        &mut self,
        follow: &Follow,
        (expected, history): (Option<Expected>, Option<Vec<Deploy>>),
        report: &mut DeployReport,
    ) -> Result<(), DeployFailure> {
        let Some(render) = self.render else {
            return Err(DeployFailure {
                title: "Nothing to follow with",
                message: "following Render's deploy needs render-api-key".into(),
                steps: vec!["Give render-api-key and service-id.".into()],
            });
        };
        let deadline = self.started + self.settings.timeout;
        let service = self.followed_service(render, follow, deadline, report)?;
        // A preview's deploys are not in its parent's list.
        let listed = history.filter(|_| self.settings.service_id.as_ref() == Some(&service));
        let deploy = self.followed_deploy(render, (&service, listed), follow, deadline, report)?;
        report.deploy_id = Some(deploy.id.clone());
        report.source = deploy.source();
        let origin = follow::started_at(&deploy);
        report.started_at = deploy
            .created_at
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok());
        let mut schedule = Schedule::new(origin, self.settings.tuning.poll, expected);
        schedule.polled_now();
        if let Some(status) = deploy.status.clone() {
            report.status = status.to_string();
            report.seen.push((origin.elapsed(), status));
        }
        let log = self.follow_build_log(&service, &deploy, report);
        let target = (render, service.as_str(), deploy.id.as_str());
        let (last, heard) = self.wait(target, deadline, schedule, log, report)?;
        self.record_end(&last, report);
        read_phases(render, &service, &last, report);
        self.explain_failure(render, &service, (&last, heard), report);
        if let Some(failure) = self.superseded(render, &service, &last, follow) {
            report.end = DeployEnd::Failed;
            return Err(failure);
        }
        self.conclude(&last, render, &service, report)
    }

    fn dry_run(&mut self, id: &str, report: &mut DeployReport) {
        report.end = DeployEnd::DryRun;
        report.status = "dry-run".into();
        let plan = self.describe_request(id);
        self.runner
            .notice(&format!("Dry run: would {plan}; nothing was sent."));
        report.next_steps.push(format!("Would {plan}."));
    }

    /// The service's recent deploys predict when this one ends; read
    /// before the trigger, so the wait spends its budget on the deploy. The
    /// same list shows how this deploy compares, oldest first, and is
    /// returned: a follow looks for its deploy in it first.
    fn read_recent_deploys(
        &self,
        report: &mut DeployReport,
    ) -> (Option<Expected>, Option<Vec<Deploy>>) {
        let mut history = match (self.render, &self.settings.service_id) {
            (Some(render), Some(service_id)) if self.settings.wait => {
                render.list_deploys(service_id, HISTORY, None, None).ok()
            }
            _ => None,
        };
        // A server that ignores `limit` must not make a chart of thousands.
        if let Some(history) = &mut history {
            history.truncate(HISTORY);
        }
        let recent = recent_durations(history.as_deref().unwrap_or_default());
        report.recent = recent
            .iter()
            .rev()
            .map(|(d, took)| (d.id.clone(), took.as_secs()))
            .collect();
        (Expected::from_durations(&recent), history)
    }

    fn record_trigger(&self, triggered: &TriggerOutcome, report: &mut DeployReport) {
        if let Some(d) = &triggered.deploy {
            report.deploy_id = Some(d.id.clone());
            report.source = d.source().or(report.source.take());
        }
        report.status = match (&triggered.deploy, triggered.queued()) {
            (_, true) => "queued".into(),
            (
                Some(Deploy {
                    status: Some(s), ..
                }),
                false,
            ) => s.to_string(),
            _ => "triggered".into(),
        };
        self.runner.info(&format!(
            "Render accepted the deploy (HTTP {}){}.",
            triggered.http_status,
            report
                .deploy_id
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
    }

    /// Not waiting: done once triggered, unless Render's answer already
    /// says the deploy failed, which fails here as it would when waiting.
    fn unwatched(
        &self,
        triggered: &TriggerOutcome,
        report: &mut DeployReport,
    ) -> Result<(), DeployFailure> {
        if let Some(Deploy {
            id,
            status: Some(status),
            ..
        }) = &triggered.deploy
        {
            if status.outcome(self.settings.canceled_is_failure) == Outcome::Failed {
                return Err(status_failure(status, id, &report.dashboard, None));
            }
        }
        report.end = DeployEnd::Triggered;
        Ok(())
    }

    /// The deploy the trigger created: from its answer, else found in the
    /// service's deploy list.
    fn deploy_to_watch(
        &self,
        triggered: TriggerOutcome,
        render: &RenderClient,
        service_id: &str,
        schedule: &mut Schedule,
        report: &mut DeployReport,
    ) -> Result<Deploy, DeployFailure> {
        if triggered.queued() {
            report.seen.push((Duration::ZERO, DeployStatus::Queued));
        } else if let Some(status) = triggered.deploy.as_ref().and_then(|d| d.status.clone()) {
            report.seen.push((Duration::ZERO, status));
        }
        let deploy = match triggered.deploy {
            Some(deploy) => deploy,
            None => {
                let found =
                    self.find_new_deploy(render, service_id, &triggered.at, schedule, report);
                report.watched = schedule.origin().elapsed();
                let found = found?;
                if let Some(status) = found.status.clone() {
                    report.seen.push((schedule.origin().elapsed(), status));
                }
                found
            }
        };
        report.deploy_id = Some(deploy.id.clone());
        Ok(deploy)
    }

    fn record_end(&self, last: &Deploy, report: &mut DeployReport) {
        report.source = last.source().or(report.source.take());
        report.status = last.status_or_unknown().to_string();
        if last.status == Some(DeployStatus::Live) {
            report.took = recent_durations(std::slice::from_ref(last))
                .first()
                .map(|(_, took)| took.as_secs());
        }
    }

    /// What the last status means: done (after the health check, if one
    /// was asked for), failed, or still running when the time ran out.
    fn conclude(
        &mut self,
        last: &Deploy,
        render: &RenderClient,
        service_id: &str,
        report: &mut DeployReport,
    ) -> Result<(), DeployFailure> {
        let settings = self.settings;
        let status = last.status_or_unknown();
        match status.outcome(settings.canceled_is_failure) {
            Outcome::Succeeded => {
                report.end = DeployEnd::Succeeded;
                if let (Some((path, timeout)), DeployStatus::Live) = (&settings.health, &status) {
                    let url = report.service_url.clone();
                    self.verify_health(url.as_deref(), path, *timeout, &last.id, report)?;
                }
                self.runner.notice(&format!(
                    "Deploy {} is {} after {}.",
                    last.id,
                    report.status,
                    human_duration(self.started.elapsed())
                ));
                Ok(())
            }
            Outcome::Failed => Err(status_failure(
                &status,
                &last.id,
                &report.dashboard,
                Self::why_line(report),
            )),
            Outcome::Pending if settings.cancel_on_timeout => {
                report.end = DeployEnd::Failed;
                let what = match render.cancel(service_id, &last.id) {
                    Ok(d) => {
                        report.status = d.status_or_unknown().to_string();
                        format!(
                            "render-pilot canceled it (cancel-on-timeout); it is now {}",
                            report.status
                        )
                    }
                    Err(e) => format!("canceling it failed ({e}); it may still be running"),
                };
                Err(timed_out_failure(
                    &last.id,
                    &what,
                    settings.timeout,
                    &report.dashboard,
                ))
            }
            Outcome::Pending => {
                report.end = DeployEnd::TimedOut;
                Err(still_running_failure(
                    &last.id,
                    &report.status,
                    settings.timeout,
                    &report.dashboard,
                ))
            }
        }
    }
}

/// Render's own record of the deploy's phases: one read of the service's
/// events once the deploy ended. When Render refuses it, or its events do
/// not cover the deploy, the phases stay the ones render-pilot saw.
fn read_phases(render: &RenderClient, service_id: &str, last: &Deploy, report: &mut DeployReport) {
    let status = last.status_or_unknown();
    if status.outcome(true) == Outcome::Pending {
        return;
    }
    let created = last
        .created_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let Some(from) = created.or(report.started_at) else {
        return;
    };
    // Whole seconds, around the deploy: its end may be in the last one. A
    // time at the end of the calendar stays as it is.
    let second = SignedDuration::from_secs(1);
    let whole = |t: Timestamp| t.round(Unit::Second).unwrap_or(t);
    let from = whole(from.checked_sub(second).unwrap_or(from));
    let now = Timestamp::now();
    let to = whole(now.checked_add(second).unwrap_or(now));
    report.recorded = match render.list_events(service_id, from, to) {
        Ok(events) => recorded_phases(&events, last, &status)
            .ok_or_else(|| "Render's events did not cover this deploy".to_string()),
        Err(e) => Err(match e.status() {
            Some(code) => format!("Render refused its events: HTTP {code}"),
            None => format!("Render's events could not be read: {e}"),
        }),
    };
}

/// Deploy mode's outputs, all from the report, written once. An output
/// without a value is written empty, so a later step sees it declared.
fn outputs(report: &DeployReport) -> Vec<(&'static str, String)> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    vec![
        ("service-id", report.service_id.clone()),
        ("service-name", text(&report.service_name)),
        ("service-url", text(&report.service_url)),
        ("onrender-url", text(&report.onrender_url)),
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
