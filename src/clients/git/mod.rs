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

use git2::{Cred, ErrorCode, FetchOptions, Oid, RemoteCallbacks, Repository};

use crate::inputs::InputError;

mod publish;

const REMOTE: &str = "origin";
const PUSH_REF: &str = "refs/render-pilot/push";

#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
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

/// The token travels only over https, or to this machine.
fn may_receive_token(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::clients::http::is_loopback(&u))
    })
}

/// Files to write, as repository-relative paths and contents.
pub(crate) type Files = Vec<(String, Vec<u8>)>;

/// Computes the files to commit on a branch tip; `None` when the tip needs
/// nothing, an error to refuse.
pub(crate) type Change<'c> = dyn FnMut(&Workspace, Oid) -> Result<Option<Files>, GitError> + 'c;

/// Where and how to publish.
pub(crate) struct Target<'a> {
    pub branch: &'a str,
    pub token: Option<&'a str>,
    /// False: commit on HEAD in the workspace only.
    pub push: bool,
    pub author: &'a Author,
    pub max_attempts: u32,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Published {
    /// Nothing to change on the branch tip.
    Unchanged,
    /// Committed locally only (push: false).
    Committed(Oid),
    Pushed {
        commit: Oid,
        attempts: u32,
    },
}

pub(crate) struct Workspace {
    repo: Repository,
}

/// The runner starts a container action as root, while the checkout
/// belongs to the job's user: what render-pilot wrote in `.git` (objects,
/// refs, the index) is handed back to the checkout's owner when the
/// workspace is closed, however the run ended, so the job's later steps can
/// still fetch, commit and push.
impl Drop for Workspace {
    fn drop(&mut self) {
        if let Some(root) = self.repo.workdir() {
            hand_back(root, Path::new(".git"));
        }
    }
}

/// Gives `relative` (a file, or a folder and everything in it) and the
/// folders between it and `root` to `root`'s owner, where another user
/// owns them. Quiet by design: without root's rights nothing changes, and
/// then nothing needed to.
pub(crate) fn hand_back(root: &Path, relative: &Path) {
    use std::os::unix::fs::{lchown, MetadataExt};
    let Ok(owner) = std::fs::metadata(root) else {
        return;
    };
    let give = |path: &Path| {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.uid() != owner.uid() || meta.gid() != owner.gid() {
                let _ = lchown(path, Some(owner.uid()), Some(owner.gid()));
            }
        }
    };
    let mut here = root.to_path_buf();
    for part in relative.components() {
        here.push(part);
        give(&here);
    }
    let mut folders = vec![here];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            give(&path);
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push(path);
            }
        }
    }
}

pub(crate) struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    /// Parses `Name <email>`.
    pub(crate) fn parse(text: &str) -> Result<Author, InputError> {
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
    pub(crate) fn open(path: &Path) -> Result<Workspace, InputError> {
        // On the runner the container runs as root while the workspace
        // belongs to the runner's user; libgit2 would refuse it as git does
        // ("dubious ownership"). The checkout is the job's own, so trust it.
        // A remote that stops answering must not hold the job until GitHub's
        // 6-hour limit: connecting gets 10 s, each read or write 60 s.
        // SAFETY: process-wide libgit2 options, set before any other git
        // call and never changed afterwards; no other thread uses libgit2.
        unsafe {
            let _ = git2::opts::set_verify_owner_validation(false);
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(10_000);
            let _ = git2::opts::set_server_timeout_in_milliseconds(60_000);
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

    pub(crate) fn repo(&self) -> &Repository {
        &self.repo
    }

    /// The branch to push to: the one the settings know (the input, else
    /// the workflow's branch), else the checked-out branch.
    pub(crate) fn branch(&self, known: Option<String>) -> Result<String, InputError> {
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
    pub(crate) fn fetch(&self, branch: &str, token: Option<&str>) -> Result<Oid, GitError> {
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
    pub(crate) fn read_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
        let commit = self.repo.find_commit(commit).ok()?;
        let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
        let blob = self.repo.find_blob(entry.id()).ok()?;
        Some(blob.content().to_vec())
    }

    /// Paths that differ between two commits.
    pub(crate) fn changed_paths(&self, from: Oid, to: Oid) -> Result<Vec<String>, GitError> {
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

    pub(crate) fn message(&self, commit: Oid) -> Option<String> {
        self.repo
            .find_commit(commit)
            .ok()?
            .message()
            .ok()
            .map(String::from)
    }

    /// Writes the files of a commit into `dir` (no .git): a scratch copy to
    /// run tools in without touching the checkout.
    pub(crate) fn export(&self, commit: Oid, dir: &Path) -> Result<(), GitError> {
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
