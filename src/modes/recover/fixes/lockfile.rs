//! The lockfile fix: regenerate pnpm-lock.yaml on the failed head, push it
//! to the branch and start the workflow on it.

use git2::Oid;

use super::super::pnpm::regenerate;
use super::super::{LOCKFILE, MANIFESTS, TRAILER};
use super::{FixError, Fixed, Fixer};
use crate::clients::git::{GitError, Published, Target, Workspace};
use crate::inputs::shorten;

impl Fixer<'_> {
    pub(super) fn lockfile(&mut self) -> Fixed {
        self.trusted()?;
        if carries_trailer(self.run.head_message(), TRAILER) {
            return Err(FixError::OwnFix);
        }
        let what = format!(
            "regenerate pnpm-lock.yaml with pnpm (scripts and .pnpmfile.cjs off), push it to {} and start {} on it",
            self.branch,
            self.run.workflow_name()
        );
        if let Some(plan) = self.would(what) {
            return Ok(plan);
        }
        let (ws, head, _) = self.failed_head()?;
        let (lockfile, pnpm) = regenerate(&ws, head, self.runner, &self.settings.pnpm_env)?;
        let commit = match self.push_lockfile(&ws, head, lockfile, &pnpm)? {
            Published::Pushed { commit, .. } | Published::Committed(commit) => commit,
            Published::Unchanged => {
                return Ok(format!(
                    "{} already carries render-pilot's lockfile fix for this head",
                    self.branch
                ))
            }
        };
        self.commit = Some(commit.to_string());
        let pushed = format!(
            "regenerated pnpm-lock.yaml and pushed {} to {} (with {pnpm})",
            &commit.to_string()[..7],
            self.branch
        );
        Ok(format!("{pushed}; {}", self.start_ci()))
    }

    /// The workspace, fetched, the failed head in it and the branch tip.
    pub(super) fn failed_head(&self) -> Result<(Workspace, Oid, Oid), FixError> {
        let ws = Workspace::open(&self.settings.workspace).map_err(FixError::Workspace)?;
        let head = Oid::from_str(&self.run.head_sha)
            .map_err(|_| FixError::NotACommit(shorten(&self.run.head_sha)))?;
        let tip = ws.fetch(self.branch, Some(&self.settings.token))?;
        if ws.repo().find_commit(head).is_err() {
            return Err(FixError::NotOnBranch {
                sha: self.run.head_sha.clone(),
                branch: self.branch.to_string(),
            });
        }
        Ok((ws, head, tip))
    }

    /// Commits the regenerated lockfile on the branch tip and pushes it,
    /// unless the tip already carries this fix or changed the manifests.
    fn push_lockfile(
        &self,
        ws: &Workspace,
        head: Oid,
        lockfile: Vec<u8>,
        pnpm: &str,
    ) -> Result<Published, FixError> {
        let message = format!("fix(ci): regenerate pnpm-lock.yaml\n\nThe run {} failed because pnpm-lock.yaml did not match package.json. Regenerated with {pnpm}.\n\n{TRAILER} {}", self.run.id, self.run.head_sha);
        let target = Target {
            branch: self.branch,
            token: Some(&self.settings.token),
            push: true,
            author: &self.settings.author,
            max_attempts: 3,
        };
        let head_sha = &self.run.head_sha;
        let published = ws.publish(&target, &message, &mut |ws: &Workspace, tip| {
            if tip != head && !onto_moved_tip(ws, head, tip, head_sha)? {
                return Ok(None);
            }
            Ok(Some(vec![(LOCKFILE.to_string(), lockfile.clone())]))
        })?;
        Ok(published)
    }

    /// Pushes made with GITHUB_TOKEN start no workflow: start it here, and
    /// say so loudly when that is impossible. Returns what happened.
    fn start_ci(&mut self) -> String {
        let why = match self.run.workflow_ref() {
            Some(workflow) => match self.dispatch(&workflow) {
                Ok(started) => return started,
                Err(error) => error.to_string(),
            },
            None => "the run names no workflow to start".to_string(),
        };
        let note = format!("CI was not re-run on the fix: {why}");
        self.runner.warning(&note);
        note
    }
}

/// Whether the fix still goes onto a branch tip that moved since the failed
/// run: not when the tip already carries it, and an error when the tip
/// changed a manifest (the regenerated lockfile would overwrite that).
fn onto_moved_tip(ws: &Workspace, head: Oid, tip: Oid, head_sha: &str) -> Result<bool, GitError> {
    if ws
        .message(tip)
        .is_some_and(|m| carries_trailer(&m, &format!("{TRAILER} {head_sha}")))
    {
        return Ok(false);
    }
    let moved = ws.changed_paths(head, tip)?;
    if let Some(p) = moved.iter().find(|p| {
        let name = p.rsplit('/').next().unwrap_or(p);
        MANIFESTS.contains(&name)
    }) {
        return Err(GitError::Refused(format!(
            "the branch moved since the failed run and changed {p}; not overwriting it"
        )));
    }
    Ok(true)
}

/// Whether a commit message has a line that is `trailer`, or starts with it
/// and a space, as git writes trailers (not merely somewhere in the text).
fn carries_trailer(message: &str, trailer: &str) -> bool {
    message.lines().map(str::trim_end).any(|line| {
        line.strip_prefix(trailer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trailer_line_marks_our_fix() {
        let ours = format!("fix(ci): regenerate pnpm-lock.yaml\n\nwhy\n\n{TRAILER} abc123\n");
        assert!(carries_trailer(&ours, TRAILER));
        assert!(carries_trailer(&ours, &format!("{TRAILER} abc123")));
        assert!(!carries_trailer(&ours, &format!("{TRAILER} abc12")));
        let quoted = format!("docs: explain `{TRAILER}` in README");
        assert!(!carries_trailer(&quoted, TRAILER));
    }
}
