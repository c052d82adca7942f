//! Markdown for step summaries: pure functions from results to text.

use crate::clients::render::{DeployStatus, Outcome};
use crate::inputs::human_duration;
use crate::ops::rollout::median;
use crate::output::charts::{self, Bar};
use crate::output::escape::{code, escape_inline, fenced};
use std::time::Duration;

/// How a deploy run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployEnd {
    /// Accepted by Render; we did not wait.
    Triggered,
    Succeeded,
    Failed,
    TimedOut,
    DryRun,
}

/// Everything the deploy summary shows.
#[derive(Debug, Clone)]
pub struct DeployReport {
    pub service_id: String,
    pub service_name: Option<String>,
    pub dashboard: String,
    pub deploy_id: Option<String>,
    pub source: Option<String>,
    pub trigger: &'static str,
    pub status: String,
    pub end: DeployEnd,
    pub duration: Duration,
    pub healthy: Option<bool>,
    /// Where the service's users reach it: its first verified custom
    /// domain, else Render's own URL.
    pub service_url: Option<String>,
    /// Render's own URL of the service (`….onrender.com`).
    pub onrender_url: Option<String>,
    /// The trigger's HTTP status as shown: `000` when no answer came.
    pub http_status: Option<String>,
    pub next_steps: Vec<String>,
    /// Each status render-pilot saw, with the second (since the trigger
    /// was answered) it first saw it.
    pub seen: Vec<(u64, DeployStatus)>,
    /// When render-pilot stopped watching, in seconds since the trigger.
    pub watched: u64,
    /// How long this deploy took to go live, as Render recorded it.
    pub took: Option<u64>,
    /// The service's recent deploys that went live, oldest first, with
    /// their durations in seconds, as read before the trigger.
    pub recent: Vec<(String, u64)>,
}

pub fn deploy_summary(r: &DeployReport) -> String {
    let (icon, headline) = match r.end {
        _ if r.healthy == Some(false) => ("❌", "deploy live but unhealthy"),
        DeployEnd::Succeeded => ("✅", "deploy succeeded"),
        DeployEnd::Triggered => ("🚀", "deploy triggered"),
        DeployEnd::Failed => ("❌", "deploy failed"),
        DeployEnd::TimedOut => ("⏳", "still deploying when render-pilot stopped waiting"),
        DeployEnd::DryRun => ("🧪", "dry run: nothing was sent"),
    };
    let name = r.service_name.as_deref().unwrap_or(&r.service_id);
    let deploy = match &r.deploy_id {
        Some(id) => format!(
            "[`{id}`]({}/deploys/{id})",
            r.dashboard.trim_end_matches('/')
        ),
        None => "—".to_string(),
    };
    let health = match r.healthy {
        Some(true) => " (healthy)",
        Some(false) => " (unhealthy)",
        None => "",
    };
    let mut out = format!(
        "### {icon} Render: {headline}\n\n\
         | Service | Deploy | Commit or image | Trigger | Status | Duration |\n\
         |---|---|---|---|---|---|\n\
         | [{}]({}) `{}` | {deploy} | {} | {} | {}{health} | {} |\n",
        escape_inline(name),
        r.dashboard,
        r.service_id,
        r.source.as_deref().map_or("latest".to_string(), code),
        r.trigger,
        if r.status.is_empty() {
            "not triggered".to_string()
        } else {
            code(&r.status)
        },
        human_duration(r.duration),
    );
    if !r.next_steps.is_empty() {
        out.push_str("\n**Next steps**\n\n");
        for step in &r.next_steps {
            out.push_str(&format!("- {step}\n"));
        }
    }
    if !r.seen.is_empty() {
        out.push_str("\n**Phases**, as render-pilot saw them:\n\n");
        out.push_str(&charts::fenced(&charts::deploy_phases(&deploy_phases(
            &r.seen, r.watched,
        ))));
    }
    if let Some(took) = r.took {
        out.push('\n');
        out.push_str(&deploy_comparison(took, &r.recent));
    }
    out
}

/// The comment render-pilot keeps on a pull request: its preview's link
/// and the deploy's status, under `marker` (the first line, which finds the
/// comment again on the next push).
pub fn preview_comment(r: &DeployReport, number: u64, marker: &str) -> String {
    let (icon, state) = match r.end {
        DeployEnd::Succeeded if r.healthy != Some(false) => ("✅", "is live"),
        DeployEnd::Succeeded | DeployEnd::Failed => ("❌", "failed"),
        DeployEnd::TimedOut => ("⏳", "is still deploying"),
        DeployEnd::Triggered | DeployEnd::DryRun => ("🚀", "is deploying"),
    };
    let name = escape_inline(r.service_name.as_deref().unwrap_or(&r.service_id));
    let link = match &r.service_url {
        Some(url) => format!("[{url}]({url})"),
        None => "no URL (Render lists none for this service)".to_string(),
    };
    let deploy = r
        .deploy_id
        .as_ref()
        .map(|id| {
            format!(
                " · [`{id}`]({}/deploys/{id})",
                r.dashboard.trim_end_matches('/')
            )
        })
        .unwrap_or_default();
    format!(
        "{marker}\n### {icon} The preview of #{number} {state}\n\n{name}: {link}\n\nCommit {}{deploy} · status {}\n\n<sub>Kept up to date by render-pilot on every push.</sub>\n",
        r.source.as_deref().map_or("—".to_string(), code),
        if r.status.is_empty() { "—".to_string() } else { code(&r.status) },
    )
}

/// The phases of a deploy, from each status render-pilot saw and the second
/// (since the trigger) it first saw it; `end` is when it stopped watching.
/// A final status is a one-second marker, red when it is a failure.
pub fn deploy_phases(seen: &[(u64, DeployStatus)], end: u64) -> Vec<Bar> {
    use DeployStatus::*;
    let name = |status: &DeployStatus| -> &'static str {
        match status {
            Created | Queued => "queued",
            BuildInProgress => "build",
            PreDeployInProgress => "pre-deploy",
            UpdateInProgress => "update",
            Live => "live",
            Deactivated => "deactivated",
            BuildFailed => "build failed",
            UpdateFailed => "update failed",
            PreDeployFailed => "pre-deploy failed",
            Canceled => "canceled",
            Unknown(_) => "unknown",
        }
    };
    let mut bars: Vec<Bar> = Vec::new();
    for (i, (at, status)) in seen.iter().enumerate() {
        let phase = name(status);
        if i > 0 && name(&seen[i - 1].1) == phase {
            continue;
        }
        let next = seen[i + 1..]
            .iter()
            .find(|(_, s)| name(s) != phase)
            .map_or(end, |(t, _)| *t);
        // A phase is labelled with its length; a final status is a moment.
        let (label, seconds) = if status.outcome(true) == Outcome::Pending {
            let seconds = next.saturating_sub(*at);
            let took = human_duration(Duration::from_secs(seconds));
            (format!("{phase} {took}"), seconds)
        } else {
            (phase.to_string(), 1)
        };
        bars.push(Bar {
            name: label,
            start: *at as i64,
            seconds: seconds as i64,
            crit: status.is_failure() || *status == Canceled,
        });
    }
    bars
}

/// How long this deploy took next to the service's recent ones, as a line
/// ("3m 12s; the last 10 took 2m 50s to 3m 30s, median 3m 05s") and a bar
/// chart of their durations, this deploy's last.
pub fn deploy_comparison(this: u64, recent: &[(String, u64)]) -> String {
    let took = human_duration(Duration::from_secs(this));
    if recent.is_empty() {
        return format!("This deploy took {took}; the service has no earlier finished deploy to compare with.\n");
    }
    let secs: Vec<f64> = recent.iter().map(|(_, s)| *s as f64).collect();
    let median = median(&secs).map_or(0, |m| m.round() as u64);
    let (fastest, slowest) = (
        recent.iter().map(|(_, s)| *s).min().unwrap_or(0),
        recent.iter().map(|(_, s)| *s).max().unwrap_or(0),
    );
    let human = |s: u64| human_duration(Duration::from_secs(s));
    let mut bars = recent.to_vec();
    bars.push(("this deploy".into(), this));
    let last = match recent.len() {
        1 => "the last one".to_string(),
        n => format!("the last {n}"),
    };
    let spread = if fastest == slowest {
        human(fastest)
    } else {
        format!(
            "{} to {}, median {}",
            human(fastest),
            human(slowest),
            human(median)
        )
    };
    format!(
        "This deploy took {took}; {last} took {spread}.\n\n{}",
        charts::fenced(&charts::bars(
            "Deploy durations (seconds)",
            "seconds",
            &bars
        ))
    )
}

/// The monitor summary's pictures: services per state, and this run's
/// response time per service that answered a health check.
pub fn fleet_charts(rows: &[crate::ops::status_page::Row]) -> String {
    use crate::ops::service_state::State;
    let counts: Vec<(String, u64)> = State::ALL
        .iter()
        .map(|s| {
            let n = rows.iter().filter(|r| r.state == *s).count() as u64;
            (s.as_str().to_string(), n)
        })
        .collect();
    let mut out = charts::fenced(&charts::pie("Services by state", &counts));
    let times: Vec<(String, u64)> = rows
        .iter()
        .filter_map(|r| {
            let check = r.health.as_ref()?;
            check.code.map(|_| (r.name.clone(), check.latency_ms))
        })
        .collect();
    if !times.is_empty() {
        out.push('\n');
        out.push_str(&charts::fenced(&charts::bars(
            "Response time (ms)",
            "ms",
            &times,
        )));
    }
    out
}

/// The body of a monitor issue for a failing service (the marker is added
/// by the tracker).
pub fn monitor_issue_body(row: &crate::ops::status_page::Row, detected_at: &str) -> String {
    use crate::ops::service_state::State;
    let deploy = match (&row.deploy_id, &row.deploy_status) {
        (Some(id), Some(status)) => format!(
            "[`{id}`]({}/deploys/{id}) ({})",
            row.dashboard.trim_end_matches('/'),
            code(status)
        ),
        _ => "—".into(),
    };
    let steps = match (row.state, row.deploy_status.as_deref()) {
        (State::Failed, Some("build_failed")) => vec![
            "Read the build log of the deploy above; fix the build and push.".to_string(),
            "Render keeps the previous deploy serving, so users still see the last good version.".into(),
            "If the build cache may be stale, deploy with `clear-cache: true`.".into(),
        ],
        (State::Failed, Some("pre_deploy_failed")) => vec![
            "The pre-deploy command (often migrations) failed; read its log.".to_string(),
            "Render keeps the previous deploy serving.".into(),
        ],
        (State::Failed, _) => vec![
            "The new instance failed to start or failed its health check; read the deploy log.".to_string(),
            "Services with a persistent disk have no zero-downtime deploys and may be down now.".into(),
        ],
        _ => vec![
            format!(
                "The service is live on Render but its health check fails ({}). Read the service's logs.",
                row.health.as_ref().map_or("no answer".into(), |h| h.describe())
            ),
            "To go back to the previous deploy, use recover mode with `fixes: rollback`, or Rollback in the dashboard.".into(),
        ],
    };
    let mut body = format!(
        "{} **{}** (`{}`) is **{}**: {}.\n\n\
         | | |\n|---|---|\n\
         | Detected | {} |\n\
         | Latest deploy | {deploy} |\n\
         | Service | [dashboard]({}){} |\n\n\
         ### What to do\n\n",
        row.state.emoji(),
        escape_inline(&row.name),
        row.id,
        row.state.as_str(),
        escape_inline(&row.reason),
        crate::ops::status_page::format_time(detected_at),
        row.dashboard,
        row.url
            .as_deref()
            .map(|u| format!(" · <{u}>"))
            .unwrap_or_default(),
    );
    for step in steps {
        body.push_str(&format!("- {step}\n"));
    }
    body.push_str(
        "\nThis issue closes itself when render-pilot monitor sees the service healthy again.",
    );
    body
}

/// What a person can do about a cause render-pilot could not fix.
pub fn manual_steps(cause: &crate::ops::diagnose::Cause) -> &'static str {
    use crate::ops::diagnose::Cause;
    match cause {
        Cause::Lockfile { .. } => "Run `pnpm install --lockfile-only` with the pnpm version in `packageManager`, commit pnpm-lock.yaml and push.",
        Cause::PnpmVersion { .. } => "Make the CI's pnpm match the lockfile: set `packageManager` in package.json and let pnpm/action-setup read it.",
        Cause::PushRace => "Start the workflow again on the branch head (Run workflow; a re-run would push from the old commit and lose again), and give every workflow that pushes to the branch one `concurrency` group.",
        Cause::PushRejected { .. } => "Allow the push: check branch protection and the token's `contents: write` (and `workflows` for .github/workflows changes).",
        Cause::DeployHook { .. } => "Copy the Deploy Hook from the service's Settings into the RENDER_DEPLOY_HOOK secret again (one line, no trailing newline), and call it with `curl -fsS`.",
        Cause::DeployFailed { .. } => "Read the deploy's log in the Render dashboard; the previous deploy keeps serving. Fix the cause and deploy again (`redeploy` clears the build cache).",
        Cause::DeployUnhealthy { .. } => "Roll back in the Render dashboard (or enable `fixes: rollback`), then read the service's logs.",
        Cause::Transient { .. } => "Re-run the failed jobs; if it keeps failing, the service it talks to is down.",
        Cause::Unknown => "Read the evidence below and the full log of the failed job.",
    }
}

/// What one recover fix did.
#[derive(Debug, Clone)]
pub struct Action {
    pub text: String,
    pub outcome: FixOutcome,
}

/// How a recover fix ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixOutcome {
    Fixed,
    /// Nothing was left to fix (the service serves a good deploy again).
    Settled,
    /// A dry run: what the fix would do.
    Planned,
    NotFixed,
}

impl Action {
    /// Nothing is left for a person to do.
    pub fn fixed(&self) -> bool {
        matches!(self.outcome, FixOutcome::Fixed | FixOutcome::Settled)
    }

    fn icon(&self) -> &'static str {
        match self.outcome {
            FixOutcome::Fixed | FixOutcome::Settled => "✅",
            FixOutcome::Planned => "🧪",
            FixOutcome::NotFixed => "❌",
        }
    }
}

/// Everything a recover run reports, in the summary and in its issue.
/// Every outside text in it (names, branches, log lines, server answers)
/// is escaped: it is evidence, never markup.
pub struct RecoverReport<'a> {
    pub run: &'a crate::clients::event::WorkflowRun,
    pub branch: &'a str,
    pub findings: &'a [crate::ops::diagnose::Finding],
    /// One per finding, in the same order.
    pub actions: &'a [Action],
    /// The failed step of each failed job.
    pub steps: &'a [crate::ops::diagnose::FailedStep],
    /// Why render-pilot only reports on the run, when it does.
    pub distrust: Option<&'a str>,
    /// A dry run: what would be done, nothing done.
    pub dry_run: bool,
}

/// Room for the failed steps' lines: an issue body holds 65536 characters.
const STEPS_BUDGET: usize = 40_000;

impl RecoverReport<'_> {
    fn sections(&self) -> String {
        let run = self.run;
        let link = run
            .html_url
            .as_deref()
            .and_then(crate::clients::http::web_url)
            .map_or(format!("run {}", run.id), |u| {
                format!("[run {}]({u})", run.id)
            });
        let mut out = format!(
            "{} on {} failed ({link}, attempt {}, head {}).\n\n",
            escape_inline(&run.workflow_name()),
            escape_inline(self.branch),
            run.attempt(),
            code(&run.head_sha.chars().take(7).collect::<String>())
        );
        if let Some(why) = self.distrust {
            out.push_str(&format!("> render-pilot only reads and reports on this run ({}): it never pushes, re-runs, dispatches, deploys or rolls back for it, because this job holds write tokens and Render keys the failing run did not have.\n\n", escape_inline(why)));
        }
        out.push_str("#### Diagnosis\n\n");
        for (finding, action) in self.findings.iter().zip(self.actions) {
            out.push_str(&format!(
                "- **{}**: {}\n  - {} {}\n",
                finding.cause.name(),
                escape_inline(&finding.cause.describe()),
                action.icon(),
                escape_inline(&action.text)
            ));
            if action.outcome == FixOutcome::NotFixed {
                out.push_str(&format!(
                    "  - What to do: {}\n",
                    manual_steps(&finding.cause)
                ));
            }
            if !finding.evidence.is_empty() {
                out.push('\n');
                out.push_str(&fenced(&finding.evidence.join("\n")));
                out.push('\n');
            }
        }
        if !self.steps.is_empty() {
            out.push_str("\n#### Failed steps\n\n");
        }
        let mut used = 0;
        let mut left_out = Vec::new();
        for step in self.steps {
            let block = format!(
                "Job **{}**, step **{}**:\n\n{}\n",
                escape_inline(&step.job),
                escape_inline(step.step.as_deref().unwrap_or("(unnamed)")),
                fenced(&step.lines.join("\n"))
            );
            used += block.len();
            if used > STEPS_BUDGET {
                left_out.push(escape_inline(&step.job));
            } else {
                out.push_str(&block);
            }
        }
        if !left_out.is_empty() {
            out.push_str(&format!(
                "Also failed (read their logs): {}.\n",
                left_out.join(", ")
            ));
        }
        out
    }

    pub fn summary(&self, issue_url: Option<&str>) -> String {
        let fixed = !self.actions.is_empty() && self.actions.iter().all(Action::fixed);
        let heading = match (self.dry_run, fixed) {
            (true, _) => "🧪 render-pilot recover: dry run, nothing was changed",
            (false, true) => "✅ render-pilot recover",
            (false, false) => "❌ render-pilot recover",
        };
        let mut out = format!("### {heading}\n\n{}", self.sections());
        if let Some(url) = issue_url {
            out.push_str(&format!("\nNot everything could be fixed: see {url}.\n"));
        }
        out
    }

    /// The body of the one recovery issue per workflow, head repository
    /// and branch.
    pub fn issue_body(&self) -> String {
        format!(
            "render-pilot recover could not fix every failure.\n\n{}\nThis issue closes itself when {} passes on {} again.",
            self.sections(),
            escape_inline(&self.run.workflow_name()),
            escape_inline(self.branch)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(end: DeployEnd, status: &str) -> DeployReport {
        DeployReport {
            service_id: "srv-abc123".into(),
            service_name: Some("web".into()),
            dashboard: "https://dashboard.render.com/web/srv-abc123".into(),
            deploy_id: Some("dep-xyz".into()),
            source: Some("1a2b3c4".into()),
            trigger: "deploy hook",
            status: status.into(),
            end,
            duration: Duration::from_secs(65),
            healthy: None,
            service_url: None,
            onrender_url: None,
            http_status: Some("201".into()),
            next_steps: vec![],
            seen: vec![],
            watched: 0,
            took: None,
            recent: vec![],
        }
    }

    #[test]
    fn recover_issue() {
        use crate::ops::diagnose::{Cause, Finding};
        let run: crate::clients::event::WorkflowRun = serde_json::from_value(serde_json::json!({
            "id": 42, "name": "CI", "head_sha": "0123456789abcdef", "head_branch": "main",
            "run_attempt": 2, "html_url": "https://github.com/acme/shop/actions/runs/42"
        }))
        .unwrap();
        let findings = vec![
            Finding {
                cause: Cause::PushRejected {
                    reason: "protected branch hook declined".into(),
                },
                evidence: vec![
                    " ! [remote rejected] main -> main (protected branch hook declined)".into(),
                ],
            },
            Finding {
                cause: Cause::Transient {
                    what: "HTTP 503".into(),
                },
                evidence: vec![],
            },
        ];
        let actions = vec![
            Action {
                text: "not fixed: the server refused the push".into(),
                outcome: FixOutcome::NotFixed,
            },
            Action {
                text: "re-ran the failed jobs".into(),
                outcome: FixOutcome::Fixed,
            },
        ];
        let steps = vec![crate::ops::diagnose::FailedStep {
            job: "deploy | <!-- x -->".into(),
            step: Some("Run git push".into()),
            lines: vec!["error: failed to push some refs".into(), "```".into()],
        }];
        let report = RecoverReport {
            run: &run,
            branch: "main",
            findings: &findings,
            actions: &actions,
            steps: &steps,
            distrust: None,
            dry_run: false,
        };
        insta::assert_snapshot!(report.issue_body());
    }

    #[test]
    fn deploy_timeline_and_comparison() {
        use DeployStatus::*;
        let seen = [
            (0, Queued),
            (1, BuildInProgress),
            (40, BuildInProgress),
            (95, PreDeployInProgress),
            (110, UpdateInProgress),
            (150, Live),
        ];
        let phases = deploy_phases(&seen, 151);
        assert_eq!(
            phases
                .iter()
                .map(|b| (b.name.as_str(), b.start, b.seconds))
                .collect::<Vec<_>>(),
            [
                ("queued 1s", 0, 1),
                ("build 1m 34s", 1, 94),
                ("pre-deploy 15s", 95, 15),
                ("update 40s", 110, 40),
                ("live", 150, 1)
            ]
        );
        let failed = deploy_phases(&[(0, BuildInProgress), (30, BuildFailed)], 31);
        assert!(failed[1].crit && !failed[0].crit);
        let recent: Vec<(String, u64)> = [170, 192, 185, 210]
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("dep-{i}"), *s))
            .collect();
        insta::assert_snapshot!(format!(
            "{}\n{}",
            charts::fenced(&charts::deploy_phases(&phases)),
            deploy_comparison(192, &recent)
        ));
        assert!(deploy_comparison(5, &[]).contains("no earlier"));
        let same = [("dep-1".to_string(), 7), ("dep-2".to_string(), 7)];
        assert!(
            deploy_comparison(7, &same).starts_with("This deploy took 7s; the last 2 took 7s.\n")
        );
        assert!(deploy_comparison(7, &same[..1])
            .starts_with("This deploy took 7s; the last one took 7s.\n"));
        // 170, 185, 192, 210: the two middle values' mean.
        assert!(deploy_comparison(192, &recent).contains("median 3m 09s"));
        assert!(deploy_comparison(192, &recent[..3]).contains("median 3m 05s"));
    }

    #[test]
    fn a_failed_deploy_shows_its_phases_and_a_timed_out_one_its_last() {
        use DeployStatus::*;
        let mut r = report(DeployEnd::Failed, "update_failed");
        r.seen = vec![
            (0, Queued),
            (2, BuildInProgress),
            (97, PreDeployInProgress),
            (109, UpdateInProgress),
            (139, UpdateFailed),
        ];
        r.watched = 139;
        let summary = deploy_summary(&r);
        assert!(summary.contains("update 30s :p3, 109, 30s"), "{summary}");
        assert!(
            summary.contains("update failed :crit, p4, 139, 1s"),
            "{summary}"
        );
        assert!(
            !summary.contains("This deploy took"),
            "only a deploy that went live is compared"
        );

        r.end = DeployEnd::TimedOut;
        r.seen.truncate(2);
        r.watched = 600;
        let summary = deploy_summary(&r);
        assert!(summary.contains("build 9m 58s :p1, 2, 598s"), "{summary}");
    }

    #[test]
    fn success_with_pictures_and_hostile_deploy_ids() {
        use DeployStatus::*;
        let mut r = report(DeployEnd::Succeeded, "live");
        r.seen = vec![
            (0, Created),
            (2, BuildInProgress),
            (150, PreDeployInProgress),
            (160, UpdateInProgress),
            (191, Live),
        ];
        r.watched = 192;
        r.took = Some(192);
        r.recent = vec![
            ("dep-1".into(), 170),
            ("dep: \"2\"; #3 %%{init} `x` <b>[y]\nbar [9]".into(), 210),
            ("dep-3".into(), 185),
        ];
        insta::assert_snapshot!(deploy_summary(&r));
    }

    #[test]
    fn success() {
        insta::assert_snapshot!(deploy_summary(&report(DeployEnd::Succeeded, "live")), @r"
        ### ✅ Render: deploy succeeded

        | Service | Deploy | Commit or image | Trigger | Status | Duration |
        |---|---|---|---|---|---|
        | [web](https://dashboard.render.com/web/srv-abc123) `srv-abc123` | [`dep-xyz`](https://dashboard.render.com/web/srv-abc123/deploys/dep-xyz) | `1a2b3c4` | deploy hook | `live` | 1m 05s |
        ");
    }

    #[test]
    fn failure_lists_next_steps() {
        let mut r = report(DeployEnd::Failed, "build_failed");
        r.source = None;
        r.next_steps = vec!["Read the build log.".into()];
        insta::assert_snapshot!(deploy_summary(&r), @r"
        ### ❌ Render: deploy failed

        | Service | Deploy | Commit or image | Trigger | Status | Duration |
        |---|---|---|---|---|---|
        | [web](https://dashboard.render.com/web/srv-abc123) `srv-abc123` | [`dep-xyz`](https://dashboard.render.com/web/srv-abc123/deploys/dep-xyz) | latest | deploy hook | `build_failed` | 1m 05s |

        **Next steps**

        - Read the build log.
        ");
    }
}
