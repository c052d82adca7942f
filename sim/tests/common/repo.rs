//! A real git repository for the tests: a bare `shop.git` served by the
//! simulator over smart HTTP, and a clone that pushes to it with the git
//! command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use render_sim::{git_auth_header, Sim};
use tempfile::TempDir;

/// A bare repository `shop.git` served by the simulator, with one commit on
/// main, and a clone to push from.
pub struct Repo {
    _root: TempDir,
    pub clone: PathBuf,
}

impl Repo {
    pub fn new(sim: &Sim) -> Repo {
        let root = tempfile::tempdir().expect("a temporary directory");
        let top = root.path();
        git(top, &["init", "-q", "--bare", "-b", "main", "shop.git"]);
        git(
            &top.join("shop.git"),
            &["config", "http.receivepack", "true"],
        );
        sim.serve_git(top.to_path_buf());
        git(top, &["init", "-q", "-b", "main", "clone"]);
        let clone = top.join("clone");
        git(&clone, &["config", "user.name", "Ada"]);
        git(&clone, &["config", "user.email", "ada@example.com"]);
        git(
            &clone,
            &["remote", "add", "origin", &sim.git_url("shop.git")],
        );
        let repo = Repo { _root: root, clone };
        repo.push("README.md", "initial");
        repo
    }

    /// Commits a change to `file` with `message` and pushes it to main;
    /// returns the commit.
    pub fn push(&self, file: &str, message: &str) -> String {
        self.push_to("main", file, message)
    }

    /// The same to `branch`.
    pub fn push_to(&self, branch: &str, file: &str, message: &str) -> String {
        let path = self.clone.join(file);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("creating folders");
        let stamp = format!("{message} {:?}\n", Instant::now());
        std::fs::write(&path, stamp).expect("writing a file");
        git(&self.clone, &["add", "."]);
        git(&self.clone, &["commit", "-q", "-m", message]);
        git(
            &self.clone,
            &["push", "-q", "origin", &format!("HEAD:{branch}")],
        );
        git(&self.clone, &["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// Runs git in `dir`, sending the simulator's credentials in a header,
/// never stored.
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
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
