//! Git operations with libgit2: open the checked-out workspace, commit
//! generated files onto the remote branch and push them safely. One
//! implementation serves monitor (the status page) and recover (the
//! lockfile).
//!
//! Strategy: fetch the branch, build our commit directly on the fetched tip
//! by regenerating the files there, push without force. When someone pushed
//! first, fetch again and regenerate on the new tip instead of rebasing: a
//! generated file cannot conflict, and nobody's commit is rewritten or lost.

use std::path::Path;
use std::time::Duration;

use git2::build::{CheckoutBuilder, TreeUpdateBuilder};
use git2::{
    Commit, Cred, ErrorCode, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, Signature,
};

use crate::inputs::InputError;

const REMOTE: &str = "origin";
const PUSH_REF: &str = "refs/render-pilot/push";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0}")]
    Git(String),
    #[error("the push to {branch} was rejected by the server: {message}. This is not a race (the branch did not move), so render-pilot does not retry; allow the push (branch protection, the token's contents: write permission) or set push: false")]
    Rejected { branch: String, message: String },
    #[error("the push to {branch} was rejected {attempts} times because others kept pushing first; run again later")]
    TooManyRaces { branch: String, attempts: u32 },
    #[error("{0}")]
    Refused(String),
}

fn git_error(context: &str, e: &git2::Error) -> GitError {
    let hint = match (e.code(), e.class()) {
        (ErrorCode::Owner, _) => "; the workspace belongs to another user (render-pilot turns this check off, so this should not happen: report it)",
        (ErrorCode::Auth, _) | (_, git2::ErrorClass::Http) if e.message().contains("401") || e.message().contains("auth") => {
            "; the token was refused: pass github-token with contents: write"
        }
        (_, git2::ErrorClass::Net) => "; the git server could not be reached, check the network and the remote URL",
        _ => "",
    };
    GitError::Git(format!("{context}: {}{hint}", e.message()))
}

enum Pushed {
    Done,
    /// The server refused the update (a race, or a rule such as protection).
    Rejected(String),
    /// Rate limits, gateway errors, dropped connections: worth another try.
    Transient(String),
}

/// The token travels only over https, or to this machine.
fn may_receive_token(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::clients::hook::is_loopback(&u))
    })
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

/// Files to write, as repository-relative paths and contents.
pub type Files = Vec<(String, Vec<u8>)>;

/// Computes the files to commit on a branch tip; `None` when the tip needs
/// nothing, an error to refuse.
pub type Change<'c> = dyn FnMut(&Workspace, Oid) -> Result<Option<Files>, GitError> + 'c;

/// Where and how to publish.
pub struct Target<'a> {
    pub branch: &'a str,
    pub token: Option<&'a str>,
    /// False: commit on HEAD in the workspace only.
    pub push: bool,
    pub author: &'a Author,
    pub max_attempts: u32,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Nothing to change on the branch tip.
    Unchanged,
    /// Committed locally only (push: false).
    Committed(Oid),
    Pushed {
        commit: Oid,
        attempts: u32,
    },
}

pub struct Workspace {
    repo: Repository,
}

pub struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    /// Parses `Name <email>`.
    pub fn parse(text: &str) -> Result<Author, InputError> {
        let bad = || {
            InputError::new(
                "commit-author",
                format!(
                    "'{}' is not like `Name <email>`",
                    crate::inputs::shorten(text)
                ),
            )
        };
        let (name, rest) = text.trim().split_once('<').ok_or_else(bad)?;
        let email = rest.strip_suffix('>').ok_or_else(bad)?.trim();
        let name = name.trim();
        if name.is_empty() || email.is_empty() || email.contains(['<', '>']) {
            return Err(bad());
        }
        if text.trim().chars().any(char::is_control) {
            return Err(InputError::new(
                "commit-author",
                "contains a line break or another control character; give one line like `Name <email>`",
            ));
        }
        Ok(Author {
            name: name.to_string(),
            email: email.to_string(),
        })
    }
}

impl Workspace {
    pub fn open(path: &Path) -> Result<Workspace, InputError> {
        // On the runner the container runs as root while the workspace
        // belongs to the runner's user; libgit2 would refuse it as git does
        // ("dubious ownership"). The checkout is the job's own, so trust it.
        // SAFETY: a process-wide libgit2 option, set before any other git
        // call and never changed afterwards.
        unsafe {
            let _ = git2::opts::set_verify_owner_validation(false);
        }
        let repo = Repository::open(path).map_err(|e| {
            InputError::new(
                "workspace",
                format!(
                    "{} is not a git repository ({}); run actions/checkout before this step",
                    path.display(),
                    e.message()
                ),
            )
        })?;
        Ok(Workspace { repo })
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// The branch to push to: the one the settings know (the input, else
    /// the workflow's branch), else the checked-out branch.
    pub fn branch(&self, known: Option<String>) -> Result<String, InputError> {
        if let Some(branch) = known {
            return Ok(branch);
        }
        match self.repo.head() {
            Ok(head) if head.is_branch() => Ok(head.shorthand().unwrap_or_default().to_string()),
            _ => Err(InputError::new(
                "branch",
                "is not known: the checkout is a detached HEAD and GITHUB_REF_NAME names no branch. Set the branch input (e.g. main)",
            )),
        }
    }

    fn callbacks<'t>(
        token: Option<&'t str>,
        rejected: Option<&'t std::cell::RefCell<Option<String>>>,
    ) -> RemoteCallbacks<'t> {
        let mut callbacks = RemoteCallbacks::new();
        let mut asked = false;
        callbacks.credentials(move |url, _user, _allowed| {
            if !may_receive_token(url) {
                return Err(git2::Error::from_str("the remote asks for credentials over an unencrypted connection; render-pilot sends the github-token only over https (or to a loopback host): make origin an https:// URL"));
            }
            // libgit2 asks again and again when credentials are refused.
            if std::mem::replace(&mut asked, true) {
                return Err(git2::Error::from_str("the remote refused the github-token (x-access-token); check the token and its contents: write permission"));
            }
            match token {
                Some(t) => Cred::userpass_plaintext("x-access-token", t),
                None => Err(git2::Error::from_str("the remote asks for credentials and no github-token was given")),
            }
        });
        if let Some(cell) = rejected {
            callbacks.push_update_reference(move |_refname, status| {
                if let Some(message) = status {
                    *cell.borrow_mut() = Some(message.to_string());
                }
                Ok(())
            });
        }
        callbacks
    }

    /// Fetches `branch` from origin and returns its tip.
    pub fn fetch(&self, branch: &str, token: Option<&str>) -> Result<Oid, GitError> {
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .map_err(|e| git_error("finding the remote origin", &e))?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(Self::callbacks(token, None));
        let refspec = format!("+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}");
        remote
            .fetch(&[&refspec], Some(&mut options), None)
            .map_err(|e| git_error(&format!("fetching {branch}"), &e))?;
        let tip = self
            .repo
            .refname_to_id(&format!("refs/remotes/{REMOTE}/{branch}"))
            .map_err(|e| {
                git_error(
                    &format!("reading origin/{branch} (does the branch exist?)"),
                    &e,
                )
            })?;
        Ok(tip)
    }

    /// Reads a file at a commit, if it exists there.
    pub fn read_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
        let commit = self.repo.find_commit(commit).ok()?;
        let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
        let blob = self.repo.find_blob(entry.id()).ok()?;
        Some(blob.content().to_vec())
    }

    /// Paths that differ between two commits.
    pub fn changed_paths(&self, from: Oid, to: Oid) -> Result<Vec<String>, GitError> {
        let tree = |oid| {
            self.repo
                .find_commit(oid)
                .and_then(|c| c.tree())
                .map_err(|e| git_error("reading a commit", &e))
        };
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&tree(from)?), Some(&tree(to)?), None)
            .map_err(|e| git_error("comparing commits", &e))?;
        Ok(diff
            .deltas()
            .filter_map(|d| {
                d.new_file()
                    .path()
                    .or(d.old_file().path())
                    .map(|p| p.to_string_lossy().into_owned())
            })
            .collect())
    }

    pub fn message(&self, commit: Oid) -> Option<String> {
        self.repo
            .find_commit(commit)
            .ok()?
            .message()
            .ok()
            .map(String::from)
    }

    /// Writes the files of a commit into `dir` (no .git): a scratch copy to
    /// run tools in without touching the checkout.
    pub fn export(&self, commit: Oid, dir: &Path) -> Result<(), GitError> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| git_error("reading the commit to export", &e))?;
        let mut failure = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
            let path = dir.join(root).join(entry.name().unwrap_or_default());
            let written = match entry.kind() {
                Some(git2::ObjectType::Tree) => std::fs::create_dir_all(&path),
                Some(git2::ObjectType::Blob) => match self.repo.find_blob(entry.id()) {
                    Ok(blob) if entry.filemode() == 0o120000 => std::os::unix::fs::symlink(
                        String::from_utf8_lossy(blob.content()).as_ref(),
                        &path,
                    ),
                    Ok(blob) => std::fs::write(&path, blob.content()).and_then(|()| {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = if entry.filemode() == 0o100755 {
                            0o755
                        } else {
                            0o644
                        };
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    }),
                    Err(e) => Err(std::io::Error::other(e.message().to_string())),
                },
                _ => Ok(()),
            };
            match written {
                Ok(()) => git2::TreeWalkResult::Ok,
                Err(e) => {
                    failure = Some(format!("exporting {}: {e}", path.display()));
                    git2::TreeWalkResult::Abort
                }
            }
        })
        .ok();
        failure.map_or(Ok(()), |f| Err(GitError::Git(f)))
    }

    /// Commits the files `change` computes on the branch tip and pushes,
    /// retrying with a fresh tip when someone else pushed first. `change`
    /// returns `None` when the tip needs nothing. Never force-pushes.
    pub fn publish(
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
            let head = self
                .repo
                .head()
                .and_then(|h| h.peel_to_commit())
                .map_err(|e| git_error("reading HEAD", &e))?;
            let Some(files) = change(self, head.id())? else {
                return Ok(Published::Unchanged);
            };
            let commit = self.commit_on(&head, &files, &signature, message)?;
            self.sync_workspace(commit, &files)?;
            return Ok(Published::Committed(commit));
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
                &crate::output::secrets::redact(message),
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
            .map_err(|e| git_error("checking out the new files", &e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_one_line() {
        assert!(Author::parse("Bot <bot@example.com>").is_ok());
        for bad in [
            "Bot\n <b@x>",
            "Bot <b@x\r>",
            "Bot <b@x>\nCo-authored-by: x",
            "a\u{7}b <b@x>",
        ] {
            let e = Author::parse(bad).err().expect(bad);
            assert_eq!(e.input, "commit-author");
        }
    }

    #[test]
    fn the_token_goes_only_over_https_or_loopback() {
        assert!(may_receive_token("https://github.com/acme/shop.git"));
        assert!(may_receive_token("http://127.0.0.1:8080/acme/shop.git"));
        assert!(may_receive_token("http://localhost/x.git"));
        for url in [
            "http://github.com/acme/shop.git",
            "http://10.0.0.5/x.git",
            "git://github.com/acme/shop.git",
            "ssh://git@github.com/acme/shop.git",
            "not a url",
        ] {
            assert!(!may_receive_token(url), "{url}");
        }
    }
}
