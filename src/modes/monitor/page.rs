//! Writing the status page: in the checkout only (commit-mode never), or
//! committed on the branch tip and pushed without dropping anyone's commits.

use std::path::Path;

use crate::clients::git::{hand_back, Files, GitError, Published, Target, Workspace};
use crate::inputs::{shorten, InputError};
use crate::ops::status_page::{self, Entry, Row, UnclosedBlock, Update};
use crate::output::escape::commit_text;
use crate::output::runner::Runner;
use crate::settings::{CommitMode, MonitorSettings};

const PUSH_ATTEMPTS: u32 = 5;
/// Status commits land on the branch Render auto-deploys: `[skip render]`
/// keeps Render from rebuilding every service (and looping, when a deploy
/// changes the page); `[skip ci]` does the same for GitHub Actions.
const SKIP_DEPLOYS: &str = "[skip render] [skip ci]";
/// The largest status file read: far above any page render-pilot writes,
/// far below a memory problem. A bigger one is left alone.
const MAX_STATUS_FILE: u64 = 8 * 1024 * 1024;

/// What writing the page did.
pub(super) struct PageResult {
    pub changed: bool,
    pub commit: Option<String>,
    pub outcome: String,
    /// The history after this run, for the summary's uptime.
    pub history: Vec<Entry>,
}

fn symlink_refused(path: &str, link: &str, place: &str) -> InputError {
    InputError::new(
        "status-file",
        format!(
            "'{}': {} is a symbolic link {place}; render-pilot never writes through a link. Replace it with a plain file or directory, or choose another status-file",
            shorten(path),
            shorten(link)
        ),
    )
}

fn folder_refused(path: &str, place: &str) -> InputError {
    InputError::new(
        "status-file",
        format!(
            "'{}' is a folder {place}; give a file's path inside it, like {}/PIPELINE.md",
            shorten(path),
            shorten(path)
        ),
    )
}

/// Refuses a status path that passes through a symbolic link in the
/// checkout (the write would land wherever the link points) or names a
/// folder there.
pub(super) fn refuse_linked_path(root: &Path, path: &str) -> Result<(), InputError> {
    let mut here = root.to_path_buf();
    for part in Path::new(path).components() {
        here.push(part);
        match std::fs::symlink_metadata(&here) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = here.strip_prefix(root).unwrap_or(&here);
                return Err(symlink_refused(
                    path,
                    &link.to_string_lossy(),
                    "in the workspace",
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    if here.is_dir() {
        return Err(folder_refused(path, "in the workspace"));
    }
    Ok(())
}

/// Refuses a status path that passes through a symbolic link committed on
/// the branch (checking our commit out would follow it) or names a folder
/// there.
fn refuse_linked_entry(ws: &Workspace, commit: git2::Oid, path: &str) -> Result<(), GitError> {
    let Ok(tree) = ws.repo().find_commit(commit).and_then(|c| c.tree()) else {
        return Ok(());
    };
    let mut prefix = std::path::PathBuf::new();
    for part in Path::new(path).components() {
        prefix.push(part);
        match tree.get_path(&prefix) {
            Ok(entry) if entry.filemode() == i32::from(git2::FileMode::Link) => {
                return Err(GitError::Refused(
                    symlink_refused(path, &prefix.to_string_lossy(), "on the branch").message,
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    if tree
        .get_path(Path::new(path))
        .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Tree))
    {
        return Err(GitError::Refused(
            folder_refused(path, "on the branch").message,
        ));
    }
    Ok(())
}

/// Writes the page at `path`: in the checkout without a git target, else
/// committed (and pushed) on the branch.
pub(super) fn write_page(
    settings: &MonitorSettings,
    git_target: Option<&(Workspace, String)>,
    path: &str,
    rows: &[Row],
    entry: &Entry,
    runner: &Runner,
) -> anyhow::Result<PageResult> {
    let page = PageWrite {
        settings,
        path,
        rows,
        entry,
        runner,
    };
    match git_target {
        None => page.write_in_checkout(),
        Some((ws, branch)) => page.publish(ws, branch),
    }
}

/// One run's write of the status page.
struct PageWrite<'a> {
    settings: &'a MonitorSettings,
    path: &'a str,
    rows: &'a [Row],
    entry: &'a Entry,
    runner: &'a Runner,
}

impl PageWrite<'_> {
    /// The status file's next version, from its current text.
    fn update(&self, old: &str) -> Result<Update, UnclosedBlock> {
        let always = self.settings.commit_mode == CommitMode::Always;
        status_page::update(
            old,
            self.rows,
            self.entry.clone(),
            self.settings.keep,
            always,
        )
    }

    /// Shows what the update dropped or did to the team's text.
    fn tell(&self, update: &Update) {
        for warning in &update.warnings {
            self.runner.warning(&format!("{}: {warning}", self.path));
        }
        if let (Some(notice), Some(_)) = (update.notice, &update.page) {
            self.runner.notice(&format!("{} {notice}.", self.path));
        }
    }

    /// commit-mode never: the file in the checkout, nothing committed.
    fn write_in_checkout(&self) -> anyhow::Result<PageResult> {
        let file = self.settings.workspace.join(self.path);
        let old = read_capped(&file, self.path)?;
        let update = self.update(&old)?;
        self.tell(&update);
        if let Some(page) = &update.page {
            write_atomically(&file, page)?;
            hand_back(&self.settings.workspace, Path::new(self.path));
        }
        Ok(PageResult {
            changed: update.page.is_some(),
            commit: None,
            outcome: if update.page.is_some() {
                "written (not committed: commit-mode never)".into()
            } else {
                "no state changed, not rewritten".into()
            },
            history: update.history,
        })
    }

    /// Commits the page on the branch tip, and pushes when asked.
    fn publish(&self, ws: &Workspace, branch: &str) -> anyhow::Result<PageResult> {
        let target = Target {
            branch,
            token: self.settings.token.as_deref(),
            push: self.settings.push,
            author: &self.settings.author,
            max_attempts: PUSH_ATTEMPTS,
        };
        let mut last = None;
        let published = ws.publish(&target, &self.commit_message(), &mut |ws, base| {
            self.files_on(ws, base, &mut last)
        });
        let published = match published {
            Err(GitError::Refused(message)) => {
                return Err(InputError::new("status-file", message).into())
            }
            other => other?,
        };
        let (changed, history) = match last {
            Some(update) => {
                self.tell(&update);
                (update.page.is_some(), update.history)
            }
            None => (false, Vec::new()),
        };
        Ok(self.published(published, branch, changed, history))
    }

    /// The commit message: the failing services, or all healthy. It lands
    /// on the default branch, where a name's `fixes #1` would close issue 1:
    /// names go through [`commit_text`].
    fn commit_message(&self) -> String {
        let failing: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.state.is_failing())
            .map(|r| format!("{} {}", commit_text(&r.name, 60), r.state.as_str()))
            .collect();
        format!(
            "docs: update pipeline status ({}) {SKIP_DEPLOYS}",
            if failing.is_empty() {
                "all healthy".to_string()
            } else {
                failing.join(", ")
            }
        )
    }

    /// The files to commit on the branch tip `base`, keeping the update
    /// in `last` (each retry starts from a fresh tip).
    fn files_on(
        &self,
        ws: &Workspace,
        base: git2::Oid,
        last: &mut Option<Update>,
    ) -> Result<Option<Files>, GitError> {
        let path = self.path;
        refuse_linked_entry(ws, base, path)?;
        if let Some(size) = blob_size(ws, base, path).filter(|s| *s > MAX_STATUS_FILE) {
            return Err(GitError::Git(too_big(path, size)));
        }
        let old = ws
            .read_at(base, path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let update = self
            .update(&old)
            .map_err(|e| GitError::Git(e.to_string()))?;
        let files = update
            .page
            .clone()
            .map(|page| vec![(path.to_string(), page.into_bytes())]);
        *last = Some(update);
        Ok(files)
    }

    /// The result of a publish, told as the summary says it.
    fn published(
        &self,
        published: Published,
        branch: &str,
        changed: bool,
        history: Vec<Entry>,
    ) -> PageResult {
        match published {
            Published::Unchanged => PageResult {
                changed: false,
                commit: None,
                outcome: "no state changed, nothing committed".into(),
                history,
            },
            Published::Committed(oid) => PageResult {
                changed,
                commit: Some(oid.to_string()),
                outcome: format!("committed `{}` (not pushed: push is false)", short(oid)),
                history,
            },
            Published::Pushed { commit, attempts } => {
                self.runner.info(&format!(
                    "Pushed {} to {branch}{}.",
                    short(commit),
                    if attempts > 1 {
                        format!(" after {attempts} attempts (others pushed first)")
                    } else {
                        String::new()
                    }
                ));
                PageResult {
                    changed,
                    commit: Some(commit.to_string()),
                    outcome: format!("committed and pushed `{}` to `{branch}`", short(commit)),
                    history,
                }
            }
        }
    }
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..7].to_string()
}

fn too_big(path: &str, size: u64) -> String {
    format!(
        "{path} is {} MiB, more than the {} MiB render-pilot reads, so it was left as it is; trim it (deleting render-pilot's block is fine: a new one starts) or choose another status-file",
        size / (1024 * 1024),
        MAX_STATUS_FILE / (1024 * 1024)
    )
}

/// The status file in the checkout, read only up to the cap; "" when there
/// is none.
fn read_capped(file: &Path, path: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let handle = match std::fs::File::open(file) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(anyhow::anyhow!("reading {path}: {e}")),
    };
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_STATUS_FILE {
        anyhow::bail!(too_big(path, size));
    }
    let mut bytes = Vec::new();
    handle
        .take(MAX_STATUS_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    if bytes.len() as u64 > MAX_STATUS_FILE {
        anyhow::bail!(too_big(path, bytes.len() as u64));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The size of the file at `path` in `commit`, read from the object's
/// header without loading it.
fn blob_size(ws: &Workspace, commit: git2::Oid, path: &str) -> Option<u64> {
    let repo = ws.repo();
    let entry = repo
        .find_commit(commit)
        .ok()?
        .tree()
        .ok()?
        .get_path(Path::new(path))
        .ok()?;
    let (size, _) = repo.odb().ok()?.read_header(entry.id()).ok()?;
    Some(size as u64)
}

/// Writes through a temporary file and a rename, so a crash never leaves
/// half a file. The temporary file gets a fresh name and is created
/// exclusively, so nothing planted in the directory can redirect the write.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".render-pilot-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", temp.path().display()))?;
    temp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
