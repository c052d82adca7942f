//! Whether a Render fix may deploy the failed run's head. Recover runs
//! minutes after the failure: by then the branch may have moved on, or a
//! later deploy may serve a newer commit, and deploying the old head would
//! put old code over new. So a fix deploys only the branch's tip, and only
//! when what Render serves is that commit's ancestor.

use git2::Oid;
use jiff::Timestamp;

use super::{FixError, Fixer};
use crate::clients::git::Workspace;
use crate::clients::render::{Deploy, DeployStatus};

/// What the checks allow.
pub(super) enum HeadCheck {
    /// Deploy the head; the text says what was checked.
    Deploy(String),
    /// Render already serves the head: nothing to deploy.
    AlreadyLive(String),
}

impl Fixer<'_> {
    /// Compares the failed head with the branch tip (fetched now) and with
    /// Render's live deploy in `deploys` (newest first), when there is an
    /// API key to read them. Read-only: a dry run makes the same checks.
    pub(super) fn check_head(&self, deploys: Option<&[Deploy]>) -> Result<HeadCheck, FixError> {
        let (ws, head, tip) = self.failed_head()?;
        if head != tip {
            return Err(FixError::BranchMoved {
                branch: self.branch.to_string(),
                tip: short(&tip.to_string()),
                head: short(&head.to_string()),
            });
        }
        let at_tip = format!(
            "checked: {} is the tip of {}",
            short(&head.to_string()),
            self.branch
        );
        let Some(deploys) = deploys else {
            return Ok(HeadCheck::Deploy(format!(
                "{at_tip}; what Render serves was not checked (no render-api-key)"
            )));
        };
        let Some(live) = deploys
            .iter()
            .find(|d| d.status == Some(DeployStatus::Live))
        else {
            return Ok(HeadCheck::Deploy(format!(
                "{at_tip}; Render lists no live deploy"
            )));
        };
        let Some(commit) = live.commit.as_ref().and_then(|c| c.id.as_deref()) else {
            return Ok(HeadCheck::Deploy(format!(
                "{at_tip}; the live deploy {} runs an image",
                live.id
            )));
        };
        if commit.eq_ignore_ascii_case(&head.to_string()) {
            return Ok(HeadCheck::AlreadyLive(format!(
                "nothing to deploy: {} is already live ({})",
                short(commit),
                live.id
            )));
        }
        match live_is_older(&ws, head, live, commit) {
            Ok(how) => Ok(HeadCheck::Deploy(format!(
                "{at_tip}; the live deploy {} runs {}, {how}",
                live.id,
                short(commit)
            ))),
            Err(why) => Err(FixError::NewerLive {
                id: live.id.clone(),
                commit: short(commit),
                head: short(&head.to_string()),
                why,
            }),
        }
    }
}

/// Whether the live commit is older than the head: an ancestor of it in
/// the checkout, else (a shallow checkout lacks it) committed before it by
/// the time Render recorded. `Ok` says how it was known, `Err` why not.
fn live_is_older(
    ws: &Workspace,
    head: Oid,
    live: &Deploy,
    commit: &str,
) -> Result<&'static str, &'static str> {
    let repo = ws.repo();
    if let Some(live) = Oid::from_str(commit)
        .ok()
        .filter(|c| repo.find_commit(*c).is_ok())
    {
        return match repo.graph_descendant_of(head, live) {
            Ok(true) => Ok("an ancestor of the head"),
            _ => Err("not an ancestor of the head"),
        };
    }
    let committed = live
        .commit
        .as_ref()
        .and_then(|c| c.created_at.as_deref())
        .and_then(|t| t.parse::<Timestamp>().ok());
    let head_time = repo.find_commit(head).map(|c| c.time().seconds()).ok();
    match (committed, head_time) {
        (Some(live), Some(head)) if live.as_second() < head => {
            Ok("not in the checkout but committed before the head")
        }
        _ => Err("not in the checkout and not committed before the head"),
    }
}

/// Seven hex digits of a commit id from outside: nothing else is shown.
fn short(commit: &str) -> String {
    commit
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(7)
        .collect()
}
