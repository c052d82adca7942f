//! What a deploy tells GitHub when asked: a GitHub deployment with its
//! statuses, and one comment on the pull request with the preview's link,
//! edited in place on every push. Neither decides the deploy's outcome: a
//! refusal is a warning that names the permission.

use crate::clients::github::{GitHub, GitHubError};
use crate::markdown::{preview_comment, DeployEnd, DeployReport};
use crate::output::runner::Runner;
use crate::settings::GitHubReport;

/// The GitHub side of one deploy run.
pub(super) struct Reporter<'a> {
    github: GitHub<'a>,
    settings: &'a GitHubReport,
    /// The service given: the comment is about its preview, one comment
    /// per service, so two services previewed on one pull request keep
    /// one each.
    service: String,
    deployment: Option<u64>,
}

impl<'a> Reporter<'a> {
    /// Creates the GitHub deployment, in progress, when one was asked for.
    pub(super) fn start(
        http: &'a crate::clients::http::Http,
        settings: &'a GitHubReport,
        service: &str,
        runner: &Runner,
    ) -> Reporter<'a> {
        let github = GitHub::new(http, &settings.api, &settings.token);
        let deployment = settings.deployment.as_ref().and_then(|asked| {
            let created = github
                .create_deployment(
                    &asked.reference,
                    &asked.environment,
                    settings.pull_request.is_some(),
                )
                .and_then(|id| {
                    github.deployment_status(id, "in_progress", None, None)?;
                    Ok(id)
                });
            warn_on(runner, created, "a GitHub deployment", "deployments: write")
        });
        Reporter {
            github,
            settings,
            service: service.to_string(),
            deployment,
        }
    }

    /// Sets the deployment's final status and keeps the pull request's
    /// comment up to date.
    pub(super) fn finish(&self, report: &DeployReport, runner: &Runner) {
        let log_url = report
            .deploy_id
            .as_ref()
            .map(|id| format!("{}/deploys/{id}", report.dashboard.trim_end_matches('/')));
        if let Some(id) = self.deployment {
            let state = match report.end {
                DeployEnd::Succeeded | DeployEnd::Triggered => "success",
                DeployEnd::DryRun => "inactive",
                DeployEnd::Failed | DeployEnd::TimedOut => "failure",
            };
            let set = self.github.deployment_status(
                id,
                state,
                report.service_url.as_deref(),
                log_url.as_deref(),
            );
            warn_on(
                runner,
                set,
                "the GitHub deployment's status",
                "deployments: write",
            );
        }
        if let (true, Some(number)) = (self.settings.pr_comment, self.settings.pull_request) {
            let kept = self.keep_comment(number, report);
            warn_on(
                runner,
                kept,
                "the pull request's comment",
                "pull-requests: write",
            );
        }
    }

    /// Edits the comment that carries this service's marker, or adds one.
    fn keep_comment(&self, number: u64, report: &DeployReport) -> Result<(), GitHubError> {
        let marker = comment_marker(&self.service);
        let body = preview_comment(report, number, &marker);
        let ours =
            self.github.comments(number)?.into_iter().find(|c| {
                c.body.as_deref().and_then(|b| b.lines().next()) == Some(marker.as_str())
            });
        match ours {
            Some(comment) => self.github.edit_comment(comment.id, &body),
            None => self.github.comment(number, &body),
        }
    }
}

/// The comment's first line, matched whole.
fn comment_marker(service: &str) -> String {
    format!("<!-- render-pilot preview of {service} -->")
}

fn warn_on<T>(
    runner: &Runner,
    result: Result<T, GitHubError>,
    what: &str,
    permission: &str,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            runner.warning(&format!(
                "render-pilot could not write {what} ({e}); the job needs `permissions: {permission}`"
            ));
            None
        }
    }
}
