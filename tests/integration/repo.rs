//! Real git repositories for the tests: a bare remote served by the
//! simulator over smart HTTP, and clones made with the git command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use render_sim::{git_auth_header, Sim};

use crate::support::assert_no_secret_in;
use tempfile::TempDir;

pub struct Remote {
    pub root: TempDir,
    pub url: String,
}

impl Remote {
    pub fn bare(&self) -> PathBuf {
        self.root.path().join("shop.git")
    }

    /// A clone with `origin` set to the remote URL and no credentials
    /// stored anywhere.
    pub fn clone_into(&self, dir: &Path) -> PathBuf {
        let path = dir.join("shop");
        git(dir, &["clone", "-q", &self.url, "shop"]);
        git(&path, &["config", "user.name", "Someone Else"]);
        git(&path, &["config", "user.email", "someone@example.com"]);
        path
    }

    /// The log of the remote's main branch, newest first: (subject, author).
    pub fn log(&self) -> Vec<(String, String)> {
        let out = git(&self.bare(), &["log", "--format=%s%x09%an", "main"]);
        out.lines()
            .map(|l| {
                let (s, a) = l.split_once('\t').unwrap();
                (s.to_string(), a.to_string())
            })
            .collect()
    }

    pub fn tip(&self) -> String {
        git(&self.bare(), &["rev-parse", "main"]).trim().to_string()
    }

    pub fn show(&self, path: &str) -> String {
        git(&self.bare(), &["show", &format!("main:{path}")])
    }

    pub fn fsck(&self) {
        git(&self.bare(), &["fsck", "--strict"]);
    }
}

/// A bare repository `shop.git` with one commit on main, served by `sim`.
pub fn remote(sim: &Sim) -> Remote {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("shop.git");
    git(
        root.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    git(&bare, &["config", "http.receivepack", "true"]);
    sim.serve_git(root.path().to_path_buf());
    let remote = Remote {
        url: sim.git_url("shop.git"),
        root,
    };
    let seed = tempfile::tempdir().unwrap();
    let work = seed.path().join("seed");
    git(
        seed.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    std::fs::write(work.join("README.md"), "# shop\n").unwrap();
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "-c",
            "user.name=Seed",
            "-c",
            "user.email=seed@example.com",
            "commit",
            "-q",
            "-m",
            "initial",
        ],
    );
    git(&work, &["push", "-q", &remote.url, "main"]);
    remote
}

/// Runs git with the simulator's credentials in an extra header (never in
/// a config file) and a clean environment.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-c")
        .arg(format!(
            "http.extraHeader=Authorization: {}",
            git_auth_header()
        ))
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Commits a file in a clone.
pub fn commit_change(clone: &Path, file: &str, text: &str, message: &str) {
    std::fs::write(clone.join(file), text).unwrap();
    git(clone, &["add", file]);
    git(clone, &["commit", "-q", "-m", message]);
}

/// Commits a file in a clone and pushes it.
pub fn push_change(clone: &Path, file: &str, text: &str, message: &str) {
    commit_change(clone, file, text, message);
    git(clone, &["push", "-q", "origin", "HEAD:main"]);
}

/// Fails when a secret reached GitHub through an issue (its title, body or
/// a comment) or a commit on the remote, any branch.
pub fn assert_no_secret_published(sim: &Sim, remote: &Remote, secrets: &[&str]) {
    let sent: String = sim
        .issues()
        .iter()
        .map(|i| format!("{}\n{}\n{}", i.title, i.body, i.comments.join("\n")))
        .collect();
    assert_no_secret_in(&sent, secrets);
    assert_no_secret_in(&git(&remote.bare(), &["log", "-p", "--all"]), secrets);
}
