//! Render's build log in the deploy: why a failed deploy failed, quoted
//! in the summary and named in its annotation.

use super::Deployer;
use crate::clients::render::{Deploy, RenderClient};
use crate::ops::buildlog::{deploy_window, explain_window};
use crate::report::DeployReport;
use crate::settings::BuildLog;

impl Deployer<'_> {
    /// Why a failed deploy failed, from its build log: one read of its
    /// newest lines. A log Render does not give leaves one notice, and the
    /// outcome as it was.
    pub(super) fn explain_failure(
        &self,
        render: &RenderClient,
        service: &str,
        last: &Deploy,
        report: &mut DeployReport,
    ) {
        if !last.status_or_unknown().is_failure() || self.config.build_log == BuildLog::Never {
            return;
        }
        let Some(owner) = &self.owner else {
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
