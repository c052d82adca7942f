//! Publishing: a commit built on the fetched tip, pushed without force,
//! rebuilt on the new tip when someone pushed first.

use std::path::Path;
use std::time::Duration;

use git2::build::{CheckoutBuilder, TreeUpdateBuilder};
use git2::{Commit, ErrorCode, Oid, PushOptions, Repository, Signature};

use super::{git_error, Change, Files, GitError, Published, Target, Workspace, PUSH_REF, REMOTE};

enum Pushed {
    Done,
    /// The server refused the update (a race, or a rule such as protection).
    Rejected(String),
    /// Rate limits, gateway errors, dropped connections: worth another try.
    Transient(String),
}

impl Workspace {
    /// Commits the files `change` computes on the branch tip and pushes,
    /// retrying with a fresh tip when someone else pushed first. `change`
    /// returns `None` when the tip needs nothing. Never force-pushes.
    pub(crate) fn publish(
        &self,
        target: &Target,
        message: &str,
        change: &mut Change,
    ) -> Result<Published, GitError> {
        let Target {
            branch,
            token,
            push,
            author,
            max_attempts,
        } = *target;
        let signature = Signature::now(&author.name, &author.email)
            .map_err(|e| git_error("making the commit author", &e))?;
        if !push {
            return self.commit_locally(message, &signature, change);
        }
        let mut pending: Option<(Oid, Files)> = None;
        for attempt in 1..=max_attempts {
            let tip = self.fetch(branch, token)?;
            let tip_commit = self
                .repo
                .find_commit(tip)
                .map_err(|e| git_error("reading the branch tip", &e))?;
            // After an unclear failure the push may have landed after all.
            if let Some((commit, files)) = pending.take().filter(|(c, _)| *c == tip) {
                self.sync_workspace(commit, &files)?;
                return Ok(Published::Pushed {
                    commit,
                    attempts: attempt - 1,
                });
            }
            let Some(files) = change(self, tip)? else {
                return Ok(Published::Unchanged);
            };
            let commit = self.commit_on(&tip_commit, &files, &signature, message)?;
            match self.push(branch, commit, tip, token)? {
                // A transport's word is not proof: libgit2's local transport
                // sets the ref without a compare-and-swap, so a concurrent
                // push can replace ours. One fetch confirms it landed;
                // otherwise the commit is rebuilt on the new tip.
                Pushed::Done if self.contains(self.fetch(branch, token)?, commit) => {
                    self.sync_workspace(commit, &files)?;
                    return Ok(Published::Pushed {
                        commit,
                        attempts: attempt,
                    });
                }
                Pushed::Done => {}
                Pushed::Rejected(message) => {
                    // A rejection is a race only if the branch moved.
                    let now = self.fetch(branch, token)?;
                    if now == tip {
                        return Err(GitError::Rejected {
                            branch: branch.to_string(),
                            message: crate::output::secrets::redact(&message),
                        });
                    }
                }
                // Pushing the same commit again is harmless: if the first
                // push got through, the branch already has it.
                Pushed::Transient(message) if attempt == max_attempts => {
                    return Err(GitError::Git(format!(
                        "pushing to {branch} failed {max_attempts} times: {message}"
                    )));
                }
                Pushed::Transient(_) => pending = Some((commit, files)),
            }
            if attempt < max_attempts {
                let jitter = Duration::from_millis(fastrand::u64(100..400) * u64::from(attempt));
                std::thread::sleep(jitter);
            }
        }
        Err(GitError::TooManyRaces {
            branch: branch.to_string(),
            attempts: max_attempts,
        })
    }

    /// push: false: the commit goes on the checked-out HEAD only.
    fn commit_locally(
        &self,
        message: &str,
        signature: &Signature,
        change: &mut Change,
    ) -> Result<Published, GitError> {
        let head = self
            .repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(|e| git_error("reading HEAD", &e))?;
        let Some(files) = change(self, head.id())? else {
            return Ok(Published::Unchanged);
        };
        let commit = self.commit_on(&head, &files, signature, message)?;
        self.sync_workspace(commit, &files)?;
        Ok(Published::Committed(commit))
    }

    /// Whether `tip` is `commit` or has it in its history.
    fn contains(&self, tip: Oid, commit: Oid) -> bool {
        tip == commit || self.repo.graph_descendant_of(tip, commit).unwrap_or(false)
    }

    fn commit_on(
        &self,
        parent: &Commit,
        files: &Files,
        signature: &Signature,
        message: &str,
    ) -> Result<Oid, GitError> {
        let base = parent
            .tree()
            .map_err(|e| git_error("reading the tree", &e))?;
        let mut update = TreeUpdateBuilder::new();
        for (path, content) in files {
            let blob = self
                .repo
                .blob(content)
                .map_err(|e| git_error("writing a blob", &e))?;
            update.upsert(path.as_str(), blob, git2::FileMode::Blob);
        }
        let tree_id = update
            .create_updated(&self.repo, &base)
            .map_err(|e| git_error("building the tree", &e))?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|e| git_error("reading the new tree", &e))?;
        self.repo
            .commit(
                None,
                signature,
                signature,
                &crate::output::shown(message),
                &tree,
                &[parent],
            )
            .map_err(|e| git_error("committing", &e))
    }

    /// Pushes `commit` to `branch`, where `expected` is the tip it was
    /// built on.
    fn push(
        &self,
        branch: &str,
        commit: Oid,
        expected: Oid,
        token: Option<&str>,
    ) -> Result<Pushed, GitError> {
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .map_err(|e| git_error("finding origin", &e))?;
        // libgit2's local transport moves the ref without a compare-and-swap,
        // so a repository on this machine is updated as a server would.
        if let Some(path) = remote.url().ok().and_then(local_path) {
            return push_local(&self.repo, &path, branch, commit, expected);
        }
        self.repo
            .reference(PUSH_REF, commit, true, "render-pilot push")
            .map_err(|e| git_error("preparing the push", &e))?;
        let rejected = std::cell::RefCell::new(None);
        let mut options = PushOptions::new();
        options.remote_callbacks(Self::callbacks(token, Some(&rejected)));
        let refspec = format!("{PUSH_REF}:refs/heads/{branch}");
        let result = remote.push(&[&refspec], Some(&mut options));
        drop(options);
        if let Ok(mut r) = self.repo.find_reference(PUSH_REF) {
            let _ = r.delete();
        }
        match result {
            Ok(()) => Ok(rejected.into_inner().map_or(Pushed::Done, Pushed::Rejected)),
            Err(e) if e.code() == ErrorCode::NotFastForward => {
                Ok(Pushed::Rejected(e.message().to_string()))
            }
            Err(e) if is_transient(&e) => Ok(Pushed::Transient(e.message().to_string())),
            Err(e) => Err(git_error(&format!("pushing to {branch}"), &e)),
        }
    }

    /// Moves the checkout forward to our commit when it is behind it, so
    /// later steps see the files; leaves it alone otherwise.
    fn sync_workspace(&self, commit: Oid, files: &Files) -> Result<(), GitError> {
        let Ok(head) = self.repo.head() else {
            return Ok(());
        };
        let Some(head_id) = head.target() else {
            return Ok(());
        };
        let behind = head_id == commit
            || self
                .repo
                .graph_descendant_of(commit, head_id)
                .unwrap_or(false);
        if !behind || self.repo.is_bare() {
            return Ok(());
        }
        let update = if head.is_branch() {
            let name = head.name().unwrap_or_default().to_string();
            self.repo
                .reference(&name, commit, true, "render-pilot: fast-forward")
                .map(|_| ())
        } else {
            self.repo.set_head_detached(commit)
        };
        update.map_err(|e| git_error("updating HEAD", &e))?;
        let mut checkout = CheckoutBuilder::new();
        checkout.force();
        for (path, _) in files {
            checkout.path(path);
        }
        self.repo
            .checkout_head(Some(&mut checkout))
            .map_err(|e| git_error("checking out the new files", &e))?;
        if let Some(root) = self.repo.workdir() {
            for (path, _) in files {
                super::hand_back(root, std::path::Path::new(path));
            }
        }
        Ok(())
    }
}

/// The directory of a remote reached by a local path (`/srv/shop.git`,
/// `file:///srv/shop.git`); `None` for a network remote.
fn local_path(url: &str) -> Option<std::path::PathBuf> {
    let path = match url.strip_prefix("file://") {
        Some(rest) => rest,
        None if url.contains("://") => return None,
        None => url,
    };
    let path = Path::new(path);
    path.is_dir().then(|| path.to_path_buf())
}

/// Pushes to a repository on this machine as a server's receive-pack
/// does: the new objects first, then `branch` moves from `expected` to
/// `commit` under git's ref lock; a moved branch is a rejection.
fn push_local(
    repo: &Repository,
    path: &Path,
    branch: &str,
    commit: Oid,
    expected: Oid,
) -> Result<Pushed, GitError> {
    let remote = Repository::open(path).map_err(|e| git_error("opening the local remote", &e))?;
    let copy = || -> Result<(), git2::Error> {
        let (from, to) = (repo.odb()?, remote.odb()?);
        let tree = repo.find_commit(commit)?.tree_id();
        copy_missing(repo, &from, &to, tree)?;
        copy_missing(repo, &from, &to, commit)
    };
    copy().map_err(|e| git_error(&format!("pushing to {branch}"), &e))?;
    let moved = remote.reference_matching(
        &format!("refs/heads/{branch}"),
        commit,
        true,
        expected,
        "render-pilot push",
    );
    match moved {
        Ok(_) => Ok(Pushed::Done),
        Err(e) if e.code() == ErrorCode::Modified => {
            Ok(Pushed::Rejected(format!("{branch} moved while pushing")))
        }
        // Another push holds the ref lock right now.
        Err(e) if e.code() == ErrorCode::Locked => Ok(Pushed::Transient(e.message().to_string())),
        Err(e) => Err(git_error(&format!("pushing to {branch}"), &e)),
    }
}

/// Copies an object and everything it points to that `to` lacks. Children
/// are written before their tree, so a tree present in `to` is complete.
fn copy_missing(
    repo: &Repository,
    from: &git2::Odb,
    to: &git2::Odb,
    id: Oid,
) -> Result<(), git2::Error> {
    if to.exists(id) {
        return Ok(());
    }
    let object = from.read(id)?;
    if object.kind() == git2::ObjectType::Tree {
        for entry in repo.find_tree(id)?.iter() {
            // Submodule entries name commits of another repository.
            if entry.kind() != Some(git2::ObjectType::Commit) {
                copy_missing(repo, from, to, entry.id())?;
            }
        }
    }
    to.write(object.kind(), object.data())?;
    Ok(())
}

fn is_transient(e: &git2::Error) -> bool {
    let message = e.message();
    ["429", "502", "503", "504"]
        .iter()
        .any(|c| message.contains(&format!("status code: {c}")))
        || e.class() == git2::ErrorClass::Net
        || message.contains("EOF")
        || message.contains("reset")
}
