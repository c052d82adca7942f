//! Markdown for step summaries: pure functions from results to text.

use crate::clients::render::DeployStatus;
use crate::ops::diagnose::Explanation;
use crate::ops::rollout::{median, seen_phases, Phase, Phases, Source};
use crate::output::charts::{self, Bar, BarChart, Tone};
use crate::output::escape::{code, escape_inline, fenced};
use crate::output::human_duration;
use jiff::Timestamp;
use std::time::Duration;

/// The most bars a chart of deploys or services draws.
const MAX_BARS: usize = 20;

/// How a deploy run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeployEnd {
    /// Accepted by Render; we did not wait.
    Triggered,
    Succeeded,
    Failed,
    TimedOut,
    DryRun,
}

/// Everything the deploy summary shows.
#[derive(Debug, Clone)]
pub(crate) struct DeployReport {
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
    /// When Render answered the trigger, by this machine's clock.
    pub started_at: Option<Timestamp>,
    /// Each status render-pilot saw, with the time since the trigger was
    /// answered when it first saw it.
    pub seen: Vec<(Duration, DeployStatus)>,
    /// When render-pilot stopped watching, since the trigger.
    pub watched: Duration,
    /// The phases as Render recorded them in its events, or why they were
    /// not read or not usable.
    pub recorded: Result<Vec<Phase>, String>,
    /// How long this deploy took to go live, as Render recorded it.
    pub took: Option<u64>,
    /// The service's recent deploys that went live, oldest first, with
    /// their durations in seconds, as read before the trigger.
    pub recent: Vec<(String, u64)>,
    /// Why a failed deploy failed, as its build log says.
    pub why: Option<Explanation>,
}

impl DeployReport {
    /// The deploy's phases: Render's when its events had them, else the
    /// ones render-pilot saw; `None` when it watched nothing.
    pub(crate) fn phases(&self) -> Option<Phases> {
        if let Ok(list) = &self.recorded {
            return Some(Phases {
                list: list.clone(),
                source: Source::Render,
            });
        }
        let started = self.started_at.filter(|_| !self.seen.is_empty())?;
        Some(Phases {
            list: seen_phases(&self.seen, started, self.watched),
            source: Source::Seen(self.recorded.clone().err().unwrap_or_default()),
        })
    }
}

pub(crate) fn deploy_summary(r: &DeployReport) -> String {
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
    if let Some(why) = &r.why {
        out.push_str(&failure_explanation(why));
    }
    if !r.next_steps.is_empty() {
        out.push_str("\n**Next steps**\n\n");
        for step in &r.next_steps {
            out.push_str(&format!("- {step}\n"));
        }
    }
    if let Some(phases) = r.phases() {
        out.push_str(&format!(
            "\n**Phases**, {}: {}\n\n",
            phases.told_by(),
            phases.line()
        ));
        out.push_str(&charts::fenced(&charts::deploy_phases(&phase_bars(
            &phases.list,
        ))));
    }
    if let Some(took) = r.took {
        out.push('\n');
        out.push_str(&deploy_comparison(took, &r.recent));
    }
    out
}

/// Why a deploy failed, as its build log says: the cause and what to do
/// in a line, then the lines that say so (else its last lines) in a
/// collapsed block, in a fence no line can close.
pub(crate) fn failure_explanation(why: &Explanation) -> String {
    if why.lines.is_empty() {
        return String::new();
    }
    let (line, summary) = match why.cause() {
        Some(cause) => (
            format!("{} (`{}`).", cause.remedy(), cause.name()),
            "The build log's lines that say why".to_string(),
        ),
        None => (
            "no known failure signature in the build log; its last lines follow.".to_string(),
            format!("The build log's last {} lines", why.lines.len()),
        ),
    };
    format!(
        "\n**Why it failed**: {line}\n\n<details><summary>{summary}</summary>\n\n{}\n</details>\n",
        fenced(&why.lines.join("\n"))
    )
}

/// The comment render-pilot keeps on a pull request: its preview's link
/// and the deploy's status, under `marker` (the first line, which finds the
/// comment again on the next push).
pub(crate) fn preview_comment(r: &DeployReport, number: u64, marker: &str) -> String {
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

/// The bars of a deploy's phases: each in progress is a deploying bar
/// labelled with its length, and the end an instant in its outcome's
/// colour.
pub(crate) fn phase_bars(phases: &[Phase]) -> Vec<Bar> {
    use DeployStatus::*;
    phases
        .iter()
        .map(|p| Bar {
            name: p.label(),
            start_ms: p.start.as_millisecond(),
            ms: p.end.as_millisecond() - p.start.as_millisecond(),
            tone: match &p.status {
                Live => Tone::HEALTHY,
                Canceled | Deactivated => Tone::SUSPENDED,
                Unknown(_) => Tone::UNKNOWN,
                s if s.is_failure() => Tone::FAILED,
                _ => Tone::DEPLOYING,
            },
        })
        .collect()
}

/// How long this deploy took next to the service's recent ones, as a line
/// ("3m 12s; the last 10 took 2m 50s to 3m 30s, median 3m 05s") and a bar
/// chart of their durations, this deploy's last.
pub(crate) fn deploy_comparison(this: u64, recent: &[(String, u64)]) -> String {
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
    let drawn = &recent[recent.len().saturating_sub(MAX_BARS - 1)..];
    let mut bars: Vec<(String, u64)> = drawn
        .iter()
        .enumerate()
        .map(|(i, (_, s))| ((i + 1).to_string(), *s))
        .collect();
    bars.push(("this".into(), this));
    let chart = BarChart {
        title: "Deploy durations (seconds)",
        unit: "seconds",
        labels: "recent deploys that went live, 1 = oldest",
        values: &bars,
        horizontal: false,
        highlight_last: true,
    };
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
        charts::fenced(&chart.render())
    )
}

/// The monitor summary's pictures: services per state, and this run's
/// response time per service that answered a health check.
pub(crate) fn fleet_charts(rows: &[crate::ops::status_page::Row]) -> String {
    use crate::ops::service_state::State;
    let counts: Vec<(String, u64, Tone)> = State::ALL
        .iter()
        .map(|s| {
            let n = rows.iter().filter(|r| r.state == *s).count() as u64;
            (s.as_str().to_string(), n, s.tone())
        })
        .collect();
    let mut out = charts::fenced(&charts::pie("Services by state", &counts));
    let mut times: Vec<(String, u64)> = rows
        .iter()
        .filter_map(|r| {
            let check = r.health.as_ref()?;
            check.code.map(|_| (r.name.clone(), check.latency_ms))
        })
        .collect();
    if times.is_empty() {
        return out;
    }
    // The slowest answers matter; the rest are named by count.
    let answered = times.len();
    times.sort_by_key(|(_, ms)| std::cmp::Reverse(*ms));
    times.truncate(MAX_BARS);
    let chart = BarChart {
        title: "Response time (ms)",
        unit: "ms",
        labels: "service",
        values: &times,
        horizontal: true,
        highlight_last: false,
    };
    out.push('\n');
    out.push_str(&charts::fenced(&chart.render()));
    if answered > times.len() {
        out.push_str(&format!(
            "\nThe {} slowest of the {answered} services that answered; the other {} answered faster.\n",
            times.len(),
            answered - times.len()
        ));
    }
    out
}

/// The body of a monitor issue for a failing service (the marker is added
/// by the tracker).
pub(crate) fn monitor_issue_body(row: &crate::ops::status_page::Row, detected_at: &str) -> String {
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
    if let Some(why) = &row.why {
        body.push_str(&failure_explanation(why));
    }
    body.push_str(
        "\nThis issue closes itself when render-pilot monitor sees the service healthy again.",
    );
    body
}

/// What a person can do about a cause render-pilot could not fix.
pub(crate) fn manual_steps(cause: &crate::ops::diagnose::Cause) -> &'static str {
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
        Cause::MissingModule { .. } => "Add the missing module to package.json (or fix the import path), commit the lockfile with it, and push.",
        Cause::OutOfMemory => "Lower the build's memory use (`NODE_OPTIONS=--max-old-space-size=…`), or give it more memory: a larger runner or Render build plan.",
        Cause::ExitCode { .. } => "Read the lines before the exit in the evidence below: the command that exited says why.",
        Cause::Unknown => "Read the evidence below and the full log of the failed job.",
    }
}

/// What one recover fix did.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub text: String,
    pub outcome: FixOutcome,
}

/// How a recover fix ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FixOutcome {
    Fixed,
    /// Nothing was left to fix (the service serves a good deploy again).
    Settled,
    /// A dry run: what the fix would do.
    Planned,
    NotFixed,
}

impl Action {
    /// Nothing is left for a person to do.
    pub(crate) fn fixed(&self) -> bool {
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
pub(crate) struct RecoverReport<'a> {
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

    pub(crate) fn summary(&self, issue_url: Option<&str>) -> String {
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
    pub(crate) fn issue_body(&self) -> String {
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
            started_at: None,
            seen: vec![],
            watched: Duration::ZERO,
            recorded: Err("the deploy did not end while render-pilot watched".into()),
            took: None,
            recent: vec![],
            why: None,
        }
    }

    /// Each status with the second it was first seen, from 14:02:10 UTC.
    fn seen(report: &mut DeployReport, statuses: &[(u64, DeployStatus)], watched: u64) {
        report.started_at = Some("2026-11-28T14:02:10Z".parse().unwrap());
        report.seen = statuses
            .iter()
            .map(|(s, status)| (Duration::from_secs(*s), status.clone()))
            .collect();
        report.watched = Duration::from_secs(watched);
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
        let mut r = report(DeployEnd::Succeeded, "live");
        let statuses = [
            (0, Queued),
            (1, BuildInProgress),
            (40, BuildInProgress),
            (95, PreDeployInProgress),
            (110, UpdateInProgress),
            (150, Live),
        ];
        seen(&mut r, &statuses, 151);
        let phases = r.phases().unwrap();
        assert_eq!(
            phases.line(),
            "queued 1s · build 1m 34s · pre-deploy 15s · update 40s · live"
        );
        let bars = phase_bars(&phases.list);
        assert_eq!(
            bars.iter().map(|b| (b.ms, b.tone)).collect::<Vec<_>>(),
            [
                (1000, Tone::DEPLOYING),
                (94_000, Tone::DEPLOYING),
                (15_000, Tone::DEPLOYING),
                (40_000, Tone::DEPLOYING),
                (0, Tone::HEALTHY)
            ]
        );
        let recent: Vec<(String, u64)> = [170, 192, 185, 210]
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("dep-{i}"), *s))
            .collect();
        insta::assert_snapshot!(format!(
            "{}\n{}",
            charts::fenced(&charts::deploy_phases(&bars)),
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
    fn a_deploy_list_that_ignores_its_limit_draws_twenty_bars() {
        let recent: Vec<(String, u64)> = (0..2700)
            .map(|i| (format!("dep-{i}"), 100 + i % 50))
            .collect();
        let text = deploy_comparison(120, &recent);
        let chart = text.split("```mermaid\n").nth(1).unwrap();
        let bars = chart.lines().find(|l| l.contains("bar [")).unwrap();
        assert_eq!(bars.matches(',').count() + 1, MAX_BARS, "{bars}");
        assert!(chart.len() < 2000, "{}", chart.len());
    }

    #[test]
    fn a_failed_deploy_is_marked_where_it_failed_and_a_timed_out_one_shows_its_last_phase() {
        use DeployStatus::*;
        let mut r = report(DeployEnd::Failed, "update_failed");
        let statuses = [
            (0, Queued),
            (2, BuildInProgress),
            (97, PreDeployInProgress),
            (109, UpdateInProgress),
            (139, UpdateFailed),
        ];
        seen(&mut r, &statuses, 139);
        let summary = deploy_summary(&r);
        assert!(
            summary.contains(
                "queued 2s · build 1m 35s · pre-deploy 12s · update 30s · update failed\n"
            ),
            "{summary}"
        );
        // 14:02:10 + 139 s, a milestone in the failure's colour.
        assert!(
            summary.contains("update failed :crit, milestone, failed4, 1795874669000, 0ms"),
            "{summary}"
        );
        assert!(
            summary.contains("as render-pilot saw them (the deploy did not end"),
            "{summary}"
        );
        assert!(
            !summary.contains("This deploy took"),
            "only a deploy that went live is compared"
        );

        r.end = DeployEnd::TimedOut;
        r.seen.truncate(2);
        r.watched = Duration::from_secs(600);
        let summary = deploy_summary(&r);
        assert!(
            summary.contains(": queued 2s · build 9m 58s\n"),
            "{summary}"
        );
        assert!(
            summary.contains("build 9m 58s :active, deploying1, 1795874532000, 598000ms"),
            "{summary}"
        );
    }

    #[test]
    fn success_with_pictures_as_render_recorded_them_and_hostile_deploy_ids() {
        use DeployStatus::*;
        let at = |s: &str| -> Timestamp { format!("2026-11-28T14:{s}Z").parse().unwrap() };
        let phase = |status, start, end| Phase {
            status,
            start: at(start),
            end: at(end),
        };
        let mut r = report(DeployEnd::Succeeded, "live");
        r.recorded = Ok(vec![
            phase(Queued, "02:10.000", "02:11.250"),
            phase(BuildInProgress, "02:11.250", "04:39.500"),
            phase(PreDeployInProgress, "04:39.500", "04:39.500"),
            phase(UpdateInProgress, "04:39.500", "05:21.750"),
            phase(Live, "05:21.750", "05:21.750"),
        ]);
        r.took = Some(192);
        r.recent = vec![
            ("dep-1".into(), 170),
            ("dep: \"2\"; #3 %%{init} `x` <b>[y]\nbar [9]".into(), 210),
            ("dep-3".into(), 185),
        ];
        let summary = deploy_summary(&r);
        assert!(
            !summary.contains("dep: "),
            "deploys are numbered, not named"
        );
        insta::assert_snapshot!(summary);
    }

    #[test]
    fn the_fleets_pie_follows_the_states_and_its_bars_are_the_twenty_slowest_answers() {
        use crate::ops::service_state::State;
        let template = crate::ops::status_page::fixtures::rows()[0].clone();
        let mut rows: Vec<crate::ops::status_page::Row> = (0..30u64)
            .map(|i| {
                let mut row = template.clone();
                row.name = format!("svc-{i:02}");
                if let Some(check) = row.health.as_mut() {
                    check.latency_ms = 100 + i;
                }
                row
            })
            .collect();
        rows[3].state = State::Failed;
        let charts = fleet_charts(&rows);
        assert!(
            charts.contains("\"healthy\" : 29\n    \"failed\" : 1\n"),
            "largest first: {charts}"
        );
        let bars = charts.split("xychart-beta").nth(1).unwrap();
        assert!(
            bars.contains(r#"["svc-29", "svc-28""#),
            "slowest first: {bars}"
        );
        assert!(!bars.contains("svc-09"), "{bars}");
        assert!(
            charts.contains(
                "The 20 slowest of the 30 services that answered; the other 10 answered faster."
            ),
            "{charts}"
        );
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

    #[test]
    fn a_failure_quotes_the_lines_that_say_why_in_a_collapsed_block() {
        let log = [
            "==> Running build command 'pnpm install --frozen-lockfile'...",
            " ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with \"frozen-lockfile\" because pnpm-lock.yaml is not up to date with <ROOT>/package.json",
            "==> Build failed 😞",
        ];
        let mut r = report(DeployEnd::Failed, "build_failed");
        r.why = Some(crate::ops::diagnose::explain(log));
        r.next_steps = vec!["Read the build log.".into()];
        insta::assert_snapshot!(deploy_summary(&r), @r#"
        ### ❌ Render: deploy failed

        | Service | Deploy | Commit or image | Trigger | Status | Duration |
        |---|---|---|---|---|---|
        | [web](https://dashboard.render.com/web/srv-abc123) `srv-abc123` | [`dep-xyz`](https://dashboard.render.com/web/srv-abc123/deploys/dep-xyz) | `1a2b3c4` | deploy hook | `build_failed` | 1m 05s |

        **Why it failed**: pnpm-lock.yaml is out of date with package.json: run recover's lockfile fix, or `pnpm install` and commit (`lockfile`).

        <details><summary>The build log's lines that say why</summary>

        ```text
         ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is not up to date with <ROOT>/package.json
        ```

        </details>

        **Next steps**

        - Read the build log.
        "#);
    }

    #[test]
    fn hostile_lines_stay_inside_their_fence_and_a_module_name_in_its_code_span() {
        let log = [
            "```\n</details>",
            "Error: Cannot find module 'x` [a](javascript:1) <b>'",
            "\u{1b}]8;;https://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\ ````` </details>",
        ];
        let why = crate::ops::diagnose::explain(log);
        insta::assert_snapshot!(failure_explanation(&why), @r"

        **Why it failed**: the build cannot find module ``x` [a](javascript:1) <b>``: add it to package.json (or fix the import path) and commit (`missing-module`).

        <details><summary>The build log's lines that say why</summary>

        ```text
        Error: Cannot find module 'x` [a](javascript:1) <b>'
        ```

        </details>
        ");
        let tail = crate::ops::diagnose::explain([log[0], log[2]]);
        insta::assert_snapshot!(failure_explanation(&tail), @r"

        **Why it failed**: no known failure signature in the build log; its last lines follow.

        <details><summary>The build log's last 2 lines</summary>

        ``````text
        ```</details>
        click ````` </details>
        ``````

        </details>
        ");
    }
}
