//! Recover mode's inputs: which run, which fixes, and what a fix may use.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{same_service, Reader};
use crate::cli::RecoverArgs;
use crate::clients::git::Author;
use crate::clients::github::GitHubApi;
use crate::clients::hook::{self, Hook};
use crate::clients::http::Tuning;
use crate::clients::render::RenderApi;
use crate::inputs::{parse_number, shorten, InputError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fix {
    Lockfile,
    Rerun,
    Webhook,
    Rollback,
    Redeploy,
}

impl Fix {
    pub(crate) const ALL: [(Fix, &'static str); 5] = [
        (Fix::Lockfile, "lockfile"),
        (Fix::Rerun, "rerun"),
        (Fix::Webhook, "webhook"),
        (Fix::Rollback, "rollback"),
        (Fix::Redeploy, "redeploy"),
    ];
}

pub(super) fn parse_fixes(text: &str) -> Result<BTreeSet<Fix>, InputError> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Fix::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(f, _)| *f).ok_or_else(|| {
                InputError::new("fixes", format!("'{}' is not a fix; choose from lockfile, rerun, webhook, rollback, redeploy", shorten(name)))
            })
        })
        .collect()
}

pub(crate) struct RecoverSettings {
    pub token: String,
    pub github: GitHubApi,
    pub run_id: Option<u64>,
    /// The event payload, when recover runs on a `workflow_run` event.
    pub event_path: Option<PathBuf>,
    pub fixes: BTreeSet<Fix>,
    pub max_attempts: u64,
    /// The deploy hook, parsed once, with its warnings; a bad one is kept
    /// as its error, which the webhook fix reports.
    pub hook: Option<Result<(Hook, Vec<String>), InputError>>,
    pub api: Option<RenderApi>,
    pub service_id: Option<String>,
    pub branch: Option<String>,
    pub workspace: PathBuf,
    pub issue_label: String,
    pub author: Author,
    pub dry_run: bool,
    pub tuning: Tuning,
    /// What pnpm may see of this environment: proxy, CA and corepack
    /// settings, never a token.
    pub pnpm_env: Vec<(String, String)>,
}

impl RecoverSettings {
    pub(super) fn resolve(
        args: &RecoverArgs,
        read: &Reader,
    ) -> Result<RecoverSettings, InputError> {
        let hook = read
            .given(args.deploy_hook_url.as_deref(), "deploy-hook-url")
            .map(|raw| hook::parse(&raw));
        let token = read.github_token(args.repo.github_token.as_deref())?.ok_or_else(|| {
            InputError::new("github-token", "is not set; recover reads logs and files issues. Pass github-token: ${{ github.token }} with actions: write, contents: write and issues: write")
        })?;
        let run_id = read
            .given(args.run_id.as_deref(), "run-id")
            .map(|v| parse_number("run-id", &v, 1, u64::MAX))
            .transpose()?;
        // A bad hook is the webhook fix's to diagnose; a good one must
        // deploy the service recover reads and rolls back.
        let service_id = match (read.service_id(args.common.service_id.as_deref())?, &hook) {
            (Some(id), Some(Ok((hook, _)))) => Some(same_service(id, hook)?),
            (id, _) => id,
        };
        Ok(RecoverSettings {
            github: read.github_api()?,
            token,
            run_id,
            event_path: read.env.get("GITHUB_EVENT_PATH").map(PathBuf::from),
            fixes: parse_fixes(&read.required(args.fixes.as_deref(), "fixes")?)?,
            max_attempts: read.number(args.max_attempts.as_deref(), "max-attempts", 1..=10)?,
            hook,
            api: read.render_api(
                args.common.render_api_key.as_deref(),
                args.common.render_api_url.as_deref(),
            )?,
            service_id,
            branch: read.branch(args.repo.branch.as_deref())?,
            workspace: read.workspace(),
            issue_label: read.issue_label(args.repo.issue_label.as_deref())?,
            author: read.author(args.repo.commit_author.as_deref())?,
            dry_run: read.bool(args.common.dry_run.as_deref(), "dry-run")?,
            tuning: read.tuning(),
            pnpm_env: read.env.passed_on(passed_to_pnpm),
        })
    }
}

/// What a runner behind a proxy or a registry mirror needs, and corepack's
/// settings; nothing else of recover's environment (tokens, keys, the hook
/// URL) reaches pnpm.
fn passed_to_pnpm(name: &str) -> bool {
    const PASSED_ON: [&str; 9] = [
        "PATH",
        "HOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "NODE_EXTRA_CA_CERTS",
        "NODE_USE_SYSTEM_CA",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ];
    /// npm's own settings for the registry, proxies and certificates
    /// (`npm_config_<name>`, either case); never its auth tokens.
    const NPM_SETTINGS: [&str; 8] = [
        "registry",
        "proxy",
        "https_proxy",
        "noproxy",
        "no_proxy",
        "cafile",
        "ca",
        "strict_ssl",
    ];
    let npm = name
        .to_ascii_lowercase()
        .strip_prefix("npm_config_")
        .is_some_and(|setting| NPM_SETTINGS.contains(&setting));
    PASSED_ON.contains(&name.to_ascii_uppercase().as_str()) || npm || name.starts_with("COREPACK_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_a_set_of_known_names() {
        assert_eq!(
            parse_fixes("Rollback,\nlockfile, rollback").unwrap(),
            [Fix::Lockfile, Fix::Rollback].into_iter().collect()
        );
        assert!(parse_fixes("lockfile,reboot")
            .unwrap_err()
            .to_string()
            .contains("'reboot' is not a fix"));
    }

    #[test]
    fn pnpm_sees_proxy_ca_and_corepack_settings_only() {
        for name in [
            "HTTPS_PROXY",
            "NODE_EXTRA_CA_CERTS",
            "COREPACK_HOME",
            "PATH",
        ] {
            assert!(passed_to_pnpm(name), "{name}");
        }
        for name in [
            "GITHUB_TOKEN",
            "RENDER_API_KEY",
            "INPUT_DEPLOY-HOOK-URL",
            "NPM_TOKEN",
        ] {
            assert!(!passed_to_pnpm(name), "{name}");
        }
    }
}
