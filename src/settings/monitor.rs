//! Monitor mode's inputs: which services, how to check them, where the
//! status page goes and what may be committed, pushed and filed.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::Reader;
use crate::cli::MonitorArgs;
use crate::clients::git::Author;
use crate::clients::github::GitHubApi;
use crate::clients::hook::{self, is_service_id};
use crate::clients::http::Tuning;
use crate::clients::render::RenderApi;
use crate::inputs::{shorten, InputError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitMode {
    OnChange,
    Always,
    Never,
}

pub(crate) enum Services {
    All,
    Ids(Vec<String>),
}

/// How a service's health is checked. A free instance takes up to about a
/// minute to answer its first request after spinning down, and networks
/// drop single requests: neither is an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HealthPolicy {
    /// Failing checks tried again, with backoff.
    pub retries: u32,
    /// Everything one service's check may take, retries included; a slow
    /// first answer may use all of it.
    pub budget: Duration,
    /// The wait before the first retry; it doubles each time.
    pub backoff: Duration,
}

impl HealthPolicy {
    /// The wait after failed attempt `n` (from 1), or `None` when the
    /// retries or the budget (with `spent` already used) are exhausted.
    pub(crate) fn wait_after(&self, n: u32, spent: Duration) -> Option<Duration> {
        let wait = self.backoff * 2u32.saturating_pow(n.saturating_sub(1).min(16));
        (n <= self.retries && spent + wait < self.budget).then_some(wait)
    }
}

pub(crate) struct MonitorSettings {
    pub api: RenderApi,
    pub services: Services,
    pub health_path: Option<String>,
    pub health: HealthPolicy,
    pub status_file: Option<String>,
    /// Past state changes the status file keeps.
    pub keep: usize,
    pub commit_mode: CommitMode,
    /// The branch to push to, when known before opening the checkout.
    pub branch: Option<String>,
    pub workspace: PathBuf,
    pub push: bool,
    pub issues: bool,
    pub issue_label: String,
    pub concurrency: usize,
    pub fail_on_unhealthy: bool,
    /// With `services: all`, pull-request previews too.
    pub previews: bool,
    pub token: Option<String>,
    /// Where issues go; needed only when `issues` is on.
    pub github: Option<GitHubApi>,
    pub author: Author,
    pub dry_run: bool,
    pub tuning: Tuning,
}

impl MonitorSettings {
    pub(super) fn resolve(
        args: &MonitorArgs,
        read: &Reader,
    ) -> Result<MonitorSettings, InputError> {
        let hook = read.given(args.deploy_hook_url.as_deref(), "deploy-hook-url");
        let token = read.github_token(args.repo.github_token.as_deref())?;
        let api = read
            .render_api(
                args.common.render_api_key.as_deref(),
                args.common.render_api_url.as_deref(),
            )?
            .ok_or_else(|| {
                InputError::new("render-api-key", "is not set; monitor reads service state from Render's API. Add the secret RENDER_API_KEY")
            })?;
        let services = match read.given(args.services.as_deref(), "services") {
            Some(text) if text.trim().eq_ignore_ascii_case("all") => Services::All,
            Some(text) => Services::Ids(parse_services(&text)?),
            None => {
                // The hook only names the service; it is read only when
                // service-id does not.
                let id = match (read.service_id(args.common.service_id.as_deref())?, &hook) {
                    (Some(id), _) => Some(id),
                    (None, Some(h)) => Some(hook::parse(h)?.0.id).filter(|id| is_service_id(id)),
                    (None, None) => None,
                };
                let id = id.ok_or_else(|| {
                    InputError::new("services", "is not set, and neither is service-id nor a deploy hook; list srv-… ids or use all")
                })?;
                Services::Ids(vec![id])
            }
        };
        let issues = read.bool(args.issues.as_deref(), "issues")?;
        if issues && token.is_none() {
            return Err(InputError::new(
                "github-token",
                "is not set, and issues is true; pass github-token: ${{ github.token }} (with issues: write), or set issues: false",
            ));
        }
        let tuning = read.tuning();
        Ok(MonitorSettings {
            api,
            services,
            health_path: read.health_path(args.health_path.as_deref())?,
            health: HealthPolicy {
                retries: read.number(args.health_retries.as_deref(), "health-retries", 0..=10)?
                    as u32,
                budget: read.health_timeout(args.health_timeout.as_deref())?,
                backoff: if tuning.fast {
                    Duration::from_millis(100)
                } else {
                    Duration::from_secs(2)
                },
            },
            status_file: status_file(
                read.given_or_blank(args.status_file.as_deref(), "status-file")
                    .as_deref(),
            )?,
            keep: read.number(args.keep.as_deref(), "keep", 1..=10_000)? as usize,
            commit_mode: commit_mode(&read.required(args.commit_mode.as_deref(), "commit-mode")?)?,
            branch: read
                .branch(args.repo.branch.as_deref())?
                .or_else(|| read.ref_branch()),
            workspace: read.workspace(),
            push: read.bool(args.push.as_deref(), "push")?,
            issues,
            issue_label: read.issue_label(args.repo.issue_label.as_deref())?,
            concurrency: read.number(args.concurrency.as_deref(), "concurrency", 1..=64)? as usize,
            fail_on_unhealthy: read.bool(args.fail_on_unhealthy.as_deref(), "fail-on-unhealthy")?,
            previews: read.bool(args.previews.as_deref(), "previews")?,
            github: issues.then(|| read.github_api()).transpose()?,
            token,
            author: read.author(args.repo.commit_author.as_deref())?,
            dry_run: read.bool(args.common.dry_run.as_deref(), "dry-run")?,
            tuning,
        })
    }
}

fn commit_mode(text: &str) -> Result<CommitMode, InputError> {
    match text.trim() {
        "on-change" => Ok(CommitMode::OnChange),
        "always" => Ok(CommitMode::Always),
        "never" => Ok(CommitMode::Never),
        other => Err(InputError::new(
            "commit-mode",
            format!(
                "'{}' is not a commit mode; use on-change, always or never",
                shorten(other)
            ),
        )),
    }
}

/// `srv-…` ids, comma or newline separated, without duplicates.
pub(super) fn parse_services(text: &str) -> Result<Vec<String>, InputError> {
    let mut ids = Vec::new();
    for id in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !is_service_id(id) {
            return Err(InputError::new(
                "services",
                format!("'{}' is not a service id; list srv-… ids separated by commas or newlines, or use all", shorten(id)),
            ));
        }
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(InputError::new(
            "services",
            "lists no service; give srv-… ids or all",
        ));
    }
    Ok(ids)
}

/// The status file input: unset means the default, an explicit empty value
/// means "do not write". The path must stay inside the workspace and out
/// of `.git`.
pub(super) fn status_file(raw: Option<&str>) -> Result<Option<String>, InputError> {
    let path = match raw {
        None => return Ok(Some(super::table::STATUS_FILE.into())),
        Some(p) if p.trim().is_empty() => return Ok(None),
        Some(p) => p.trim().to_string(),
    };
    let inside = Path::new(&path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !inside || path.len() > 255 {
        return Err(InputError::new(
            "status-file",
            format!(
                "'{}' must be a relative path inside the repository, like docs/PIPELINE.md",
                shorten(&path)
            ),
        ));
    }
    if path.split('/').any(|part| part.is_empty() || part == ".") {
        return Err(InputError::new(
            "status-file",
            format!(
                "'{}' names a folder or has an empty or '.' part; give the file's path, like docs/PIPELINE.md",
                shorten(&path)
            ),
        ));
    }
    let in_git = Path::new(&path)
        .components()
        .any(|c| c.as_os_str().eq_ignore_ascii_case(".git"));
    if in_git {
        return Err(InputError::new(
            "status-file",
            format!(
                "'{}' is inside .git, where a page would corrupt the repository; use a path like docs/PIPELINE.md",
                shorten(&path)
            ),
        ));
    }
    Ok(Some(path))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_retries_back_off_within_the_budget() {
        let policy = HealthPolicy {
            retries: 3,
            budget: Duration::from_secs(120),
            backoff: Duration::from_secs(2),
        };
        let s = Duration::from_secs;
        assert_eq!(policy.wait_after(1, s(0)), Some(s(2)));
        assert_eq!(policy.wait_after(2, s(3)), Some(s(4)));
        assert_eq!(policy.wait_after(3, s(8)), Some(s(8)));
        assert_eq!(policy.wait_after(4, s(17)), None, "retries used up");
        // A first answer that took most of the budget leaves no time.
        assert_eq!(policy.wait_after(1, s(119)), None, "budget used up");
        let none = HealthPolicy {
            retries: 0,
            ..policy
        };
        assert_eq!(none.wait_after(1, s(0)), None);
    }
}

#[cfg(test)]
mod parsers {
    use super::*;

    #[test]
    fn services_are_ids_without_duplicates() {
        assert_eq!(
            parse_services("srv-d0abc123, srv-d0abc124\nsrv-d0abc123\n").unwrap(),
            ["srv-d0abc123", "srv-d0abc124"]
        );
        assert!(parse_services(" , \n")
            .unwrap_err()
            .to_string()
            .contains("lists no service"));
        assert!(parse_services("srv-d0abc123,shop-api")
            .unwrap_err()
            .to_string()
            .contains("'shop-api' is not a service id"));
    }

    #[test]
    fn the_status_file_stays_in_the_repository() {
        assert_eq!(
            status_file(None).unwrap().as_deref(),
            Some("docs/PIPELINE.md")
        );
        assert_eq!(
            status_file(Some("  ")).unwrap(),
            None,
            "empty: do not write"
        );
        assert_eq!(
            status_file(Some(" STATUS.md ")).unwrap().as_deref(),
            Some("STATUS.md")
        );
        for bad in [
            "../x.md",
            "/etc/passwd",
            "docs/../../x",
            ".git/config",
            "a/.GIT/x",
            "./x.md",
            "docs/",
            "docs//PIPELINE.md",
            "docs/./PIPELINE.md",
            "/",
        ] {
            assert!(status_file(Some(bad)).is_err(), "{bad}");
        }
        assert!(status_file(Some(&"a".repeat(300))).is_err());
    }

    #[test]
    fn commit_modes() {
        assert_eq!(commit_mode(" always ").unwrap(), CommitMode::Always);
        assert!(commit_mode("sometimes").is_err());
    }
}
