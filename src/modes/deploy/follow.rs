//! Following a deploy Render starts itself: the Auto-Deploy of a pushed
//! commit, or a pull request's preview. Found in Render's own lists, by the
//! preview's parent and the deploy's commit, never by a name alone.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::Deployer;
use crate::clients::render::{AutoDeploy, Deploy, DeployStatus, RenderClient, Service};
use crate::markdown::DeployReport;
use crate::ops::rollout::{api_failure, DeployFailure, Schedule};
use crate::output::human_duration;
use crate::settings::Follow;

/// Deploys read when looking for the commit's: Render lists the newest
/// first, and a push rarely has more than a few after it.
const LOOK_BACK: usize = 20;

/// Render's skip phrases: a commit whose message carries one is not
/// auto-deployed.
const SKIP_PHRASES: [&str; 6] = [
    "[skip render]",
    "[render skip]",
    "[skip deploy]",
    "[deploy skip]",
    "[skip cd]",
    "[cd skip]",
];

impl Deployer<'_> {
    /// The service whose deploy to follow: the one given, or the pull
    /// request's preview of it, once Render has made it.
    pub(super) fn followed_service(
        &mut self,
        render: &RenderClient,
        follow: &Follow,
        deadline: Instant,
        report: &mut DeployReport,
    ) -> Result<String, DeployFailure> {
        let Some(number) = follow.pull_request else {
            return Ok(report.service_id.clone());
        };
        let parent = report.service_id.clone();
        let name = format!(
            "{} PR #{number}",
            report.service_name.as_deref().unwrap_or(&parent)
        );
        let preview = self.poll_until(deadline, || {
            let named = render
                .services_named(&name)
                .map_err(|e| api_failure("Could not look for the preview", e))?;
            Ok(named.into_iter().find(|s| s.parent_id() == Some(&parent)))
        })?;
        let Some(preview) = preview else {
            return Err(DeployFailure {
                title: "No preview",
                message: format!(
                    "no preview of {parent} for pull request #{number} appeared within {}",
                    human_duration(self.settings.timeout)
                ),
                steps: vec![format!(
                    "Turn on pull-request previews (Settings → Previews) for the service in the [dashboard]({}), or follow the base service without a pull_request event.",
                    report.dashboard
                )],
            });
        };
        self.runner.info(&format!(
            "Following the preview {} of pull request #{number}.",
            preview.id
        ));
        self.record_service(render, &preview, report);
        Ok(preview.id)
    }

    /// The deploy of the followed commit, once Render has started it; when
    /// none comes before the deadline, what the service's settings and the
    /// commit say about why. `listed`, the service's deploys just read for
    /// its history, is the first look: one read fewer.
    pub(super) fn followed_deploy(
        &self,
        render: &RenderClient,
        (service, mut listed): (&str, Option<Vec<Deploy>>),
        follow: &Follow,
        deadline: Instant,
        report: &DeployReport,
    ) -> Result<Deploy, DeployFailure> {
        let short = follow.short();
        let found = self.poll_until(deadline, || {
            let deploys = match listed.take() {
                Some(deploys) => deploys,
                None => render
                    .list_deploys(service, LOOK_BACK, None, None)
                    .map_err(|e| api_failure("Could not list the deploys", e))?,
            };
            Ok(deploys.into_iter().find(|d| of_commit(d, &follow.commit)))
        })?;
        if let Some(deploy) = found {
            self.runner.info(&format!(
                "Following deploy {} of {short}, which Render started.",
                deploy.id
            ));
            return Ok(deploy);
        }
        let service = render
            .get_service(service)
            .map_err(|e| api_failure("Could not read the service", e))?;
        Err(DeployFailure {
            title: "No deploy to follow",
            message: format!(
                "Render started no deploy of {short} on {} within {}: {}",
                service.display_name(),
                human_duration(self.settings.timeout),
                why_no_deploy(&service, follow)
            ),
            steps: vec![format!(
                "Check the service's Events in the [dashboard]({}).",
                report.dashboard
            )],
        })
    }

    /// A followed deploy that Render canceled for a newer commit's: named,
    /// never followed in its place.
    pub(super) fn superseded(
        &self,
        render: &RenderClient,
        service: &str,
        last: &Deploy,
        follow: &Follow,
    ) -> Option<DeployFailure> {
        if last.status != Some(DeployStatus::Canceled) {
            return None;
        }
        let deploys = render.list_deploys(service, LOOK_BACK, None, None).ok()?;
        let newer = deploys
            .iter()
            .take_while(|d| d.id != last.id)
            .filter(|d| !of_commit(d, &follow.commit))
            .last()?;
        let short = follow.short();
        Some(DeployFailure {
            title: "Deploy superseded",
            message: format!(
                "Render canceled deploy {} of {short}: a newer commit{} started deploy {}. render-pilot follows only {short}'s deploy",
                last.id,
                newer.source().map(|s| format!(" ({s})")).unwrap_or_default(),
                newer.id
            ),
            steps: vec![
                "The newer commit's own run follows its deploy; nothing to do here.".into(),
            ],
        })
    }

    /// Asks `look` on the schedule of looks until it finds something or
    /// the deadline passes.
    fn poll_until<T>(
        &self,
        deadline: Instant,
        mut look: impl FnMut() -> Result<Option<T>, DeployFailure>,
    ) -> Result<Option<T>, DeployFailure> {
        let mut schedule = Schedule::finding(Instant::now(), self.settings.tuning.poll);
        loop {
            schedule.polled_now();
            if let Some(found) = look()? {
                return Ok(Some(found));
            }
            let due = schedule.due(None);
            if due >= deadline {
                return Ok(None);
            }
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
}

/// Whether `deploy` is of `commit` (a full or abbreviated SHA).
fn of_commit(deploy: &Deploy, commit: &str) -> bool {
    deploy
        .commit
        .as_ref()
        .and_then(|c| c.id.as_deref())
        .is_some_and(|id| id.to_ascii_lowercase().starts_with(commit))
}

/// When a followed deploy began, as an instant of this run's clock: a
/// schedule counts from there.
pub(super) fn started_at(deploy: &Deploy) -> Instant {
    let age = deploy
        .created_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .and_then(|t| Duration::try_from(Timestamp::now().duration_since(t)).ok())
        .unwrap_or_default();
    Instant::now()
        .checked_sub(age.min(Duration::from_secs(6 * 3600)))
        .unwrap_or_else(Instant::now)
}

/// Why Render started no deploy of the followed commit: the first reason
/// its settings or the commit show, else the ones that cannot be checked.
fn why_no_deploy(service: &Service, follow: &Follow) -> String {
    let message = follow.message.as_deref().unwrap_or_default().to_lowercase();
    if let Some(phrase) = SKIP_PHRASES.iter().find(|p| message.contains(*p)) {
        return format!("the commit message carries {phrase}, so Render skips its Auto-Deploy. Push a commit without it, or trigger the deploy (trigger: auto)");
    }
    match service.auto_deploy() {
        AutoDeploy::Off => return "its Auto-Deploy is Off, so Render deploys no push by itself. Turn Auto-Deploy on, or trigger the deploy (trigger: auto)".into(),
        AutoDeploy::AfterChecks => return "its Auto-Deploy waits until every check on the commit passes (After CI Checks Pass), and checks may still be running, this workflow among them. Follow the deploy from a workflow that runs after the checks (on: workflow_run), or set Auto-Deploy to On Commit".into(),
        AutoDeploy::OnCommit | AutoDeploy::Unknown => {}
    }
    let root = service.root_dir.as_deref().unwrap_or_default().trim();
    let place = if root.is_empty() {
        "outside the service's build filters".to_string()
    } else {
        format!(
            "outside its root directory {} or its build filters",
            crate::output::escape::one_line(root, 100)
        )
    };
    let branch = service
        .branch
        .as_deref()
        .map(|b| format!(" (it deploys {})", crate::output::escape::one_line(b, 100)))
        .unwrap_or_default();
    format!("Auto-Deploy is on, so the change may be {place}, or on another branch than the service's{branch}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(fields: serde_json::Value) -> Service {
        let mut value = serde_json::json!({"id": "srv-a", "name": "web"});
        value
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    fn follow(message: &str) -> Follow {
        Follow {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            pull_request: None,
            message: Some(message.into()),
        }
    }

    #[test]
    fn the_reason_a_deploy_never_came_is_named() {
        let on = service(serde_json::json!({"autoDeploy": "yes", "branch": "main"}));
        for phrase in SKIP_PHRASES {
            let why = why_no_deploy(
                &on,
                &follow(&format!("fix: typo {}", phrase.to_uppercase())),
            );
            assert!(
                why.starts_with(&format!("the commit message carries {phrase}")),
                "{why}"
            );
        }
        let off = service(serde_json::json!({"autoDeploy": "no"}));
        assert!(why_no_deploy(&off, &follow("x")).starts_with("its Auto-Deploy is Off"));
        let off = service(serde_json::json!({"autoDeploy": "yes", "autoDeployTrigger": "off"}));
        assert!(why_no_deploy(&off, &follow("x")).starts_with("its Auto-Deploy is Off"));
        let checks = service(serde_json::json!({"autoDeployTrigger": "checksPass"}));
        assert!(why_no_deploy(&checks, &follow("x")).contains("After CI Checks Pass"));
        let rooted = service(
            serde_json::json!({"autoDeploy": "yes", "rootDir": "apps/web", "branch": "main"}),
        );
        assert_eq!(
            why_no_deploy(&rooted, &follow("x")),
            "Auto-Deploy is on, so the change may be outside its root directory apps/web or its build filters, or on another branch than the service's (it deploys main)"
        );
    }

    #[test]
    fn a_deploy_is_matched_by_its_commit_only() {
        let deploy: Deploy = serde_json::from_value(serde_json::json!({
            "id": "dep-a", "commit": {"id": "0123456789ABCDEF0123456789abcdef01234567"}
        }))
        .unwrap();
        assert!(of_commit(
            &deploy,
            "0123456789abcdef0123456789abcdef01234567"
        ));
        assert!(of_commit(&deploy, "0123456"));
        assert!(!of_commit(&deploy, "1123456"));
        let image: Deploy =
            serde_json::from_value(serde_json::json!({"id": "dep-b", "commit": null})).unwrap();
        assert!(!of_commit(&image, "0123456"));
    }
}
