//! The images run exactly as the Actions runner runs a container action:
//! `docker run --workdir /github/workspace --rm` with the workspace, home,
//! workflow and file-command directories mounted, `INPUT_*` variables with
//! hyphens, `HOME=/github/home`, the action's `args`, and a workspace owned
//! by another user. Needs podman and the images `tests/container.sh` builds,
//! so it is ignored in the plain test run; `tests/container.sh` runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use render_sim::{Outcome, Plan, Run, ServiceSpec, Sim, API_KEY, GITHUB_TOKEN};

use crate::recover::{Project, PNPM_10};
use crate::repo::{git, remote};
use crate::support::{assert_no_secret_in, parse_file_command};

/// The variables naming the images tests/container.sh builds: the static
/// one (deploy and monitor) and the recover one.
const STATIC: &str = "RENDER_PILOT_IMAGE";
const RECOVER: &str = "RENDER_PILOT_RECOVER_IMAGE";

struct Job {
    root: tempfile::TempDir,
    workspace: PathBuf,
    image: String,
    args: Vec<String>,
}

impl Job {
    /// A job running the image `image_var` names.
    fn new(image_var: &str, workspace_from: Option<&Path>) -> Job {
        let root = tempfile::tempdir().unwrap();
        for dir in ["file_commands", "workflow", "home", "workspace"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let workspace = match workspace_from {
            Some(clone) => clone.to_path_buf(),
            None => root.path().join("workspace"),
        };
        // The runner's user owns the workspace; the container runs as root.
        let status = Command::new("chown")
            .args(["-R", "1001:1001"])
            .arg(&workspace)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(
            root.path().join("workflow/event.json"),
            r#"{"ref":"refs/heads/main"}"#,
        )
        .unwrap();
        let image = std::env::var(image_var)
            .unwrap_or_else(|_| panic!("{image_var}: run tests/container.sh"));
        Job {
            root,
            workspace,
            image,
            args: Vec::new(),
        }
    }

    /// The triggering event, as the runner writes it to event.json.
    fn event(self, event: &serde_json::Value) -> Job {
        std::fs::write(
            self.root.path().join("workflow/event.json"),
            event.to_string(),
        )
        .unwrap();
        self
    }

    /// The action's `args:`, which the runner passes after the image.
    fn args(mut self, args: &[&str]) -> Job {
        self.args = args.iter().map(ToString::to_string).collect();
        self
    }

    /// A file in the job's home, which is /github/home in the container.
    fn home(&self, path: &str) -> PathBuf {
        self.root.path().join("home").join(path)
    }

    /// Runs the image; returns the exit code, the log, the outputs as the
    /// runner parses them, and the summary.
    fn run(
        &self,
        inputs: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> (
        i32,
        String,
        std::collections::BTreeMap<String, String>,
        String,
    ) {
        let fc = self.root.path().join("file_commands");
        let output = fc.join("set_output_7c2f");
        let summary = fc.join("step_summary_7c2f");
        std::fs::write(&output, "").unwrap();
        std::fs::write(&summary, "").unwrap();
        let mount = |host: &Path, container: &str| format!("{}:{container}", host.display());
        let mut command = Command::new("podman");
        command.args([
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ]);
        command.args(["--network", "host", "--workdir", "/github/workspace"]);
        command.args(["-v", &mount(&self.workspace, "/github/workspace")]);
        command.args(["-v", &mount(&fc, "/github/file_commands")]);
        command.args([
            "-v",
            &mount(&self.root.path().join("workflow"), "/github/workflow"),
        ]);
        command.args(["-v", &mount(&self.root.path().join("home"), "/github/home")]);
        let mut vars = vec![
            ("HOME", "/github/home"),
            ("GITHUB_ACTIONS", "true"),
            ("CI", "true"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("GITHUB_EVENT_PATH", "/github/workflow/event.json"),
            ("GITHUB_OUTPUT", "/github/file_commands/set_output_7c2f"),
            (
                "GITHUB_STEP_SUMMARY",
                "/github/file_commands/step_summary_7c2f",
            ),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("RENDER_PILOT_POLL_MS", "200"),
        ];
        vars.extend_from_slice(env);
        for (k, v) in vars {
            command.args(["-e", &format!("{k}={v}")]);
        }
        for (k, v) in inputs {
            command.args(["-e", &format!("INPUT_{}={v}", k.to_uppercase())]);
        }
        let out = command
            .arg(&self.image)
            .args(&self.args)
            .output()
            .expect("podman");
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let raw = std::fs::read_to_string(&output).unwrap();
        let outputs = parse_file_command(&raw)
            .unwrap_or_else(|e| panic!("the runner would reject the outputs: {e}\n{raw}"));
        let summary = std::fs::read_to_string(&summary).unwrap();
        assert_no_secret_in(
            &format!("{}\n{raw}\n{summary}", visible(&log)),
            &[API_KEY, GITHUB_TOKEN],
        );
        (out.status.code().unwrap_or(-1), log, outputs, summary)
    }
}

fn visible(log: &str) -> String {
    log.lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs podman and the image built by tests/container.sh"]
fn deploy_runs_in_the_container_as_on_the_runner() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec {
        plan: Plan::live(Duration::from_millis(800)),
        ..ServiceSpec::web("web")
    });
    let hook = sim.hook_url(&id);
    let job = Job::new(STATIC, None);
    let api = sim.api_url();
    let inputs = [
        ("mode", "deploy"),
        ("deploy-hook-url", hook.as_str()),
        ("render-api-key", API_KEY),
        ("render-api-url", api.as_str()),
        ("wait", ""),
        ("image", ""),
    ];
    let (code, log, outputs, summary) = job.run(&inputs, &[]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs["deploy-status"], "live");
    assert!(summary.contains("deploy succeeded"), "{summary}");
    assert!(log.contains("::add-mask::"), "{log}");
    assert_no_secret_in(&visible(&log), &[&hook]);

    sim.set_plan(
        &id,
        Plan::ending(Outcome::BuildFailed, Duration::from_millis(500)),
    );
    let (code, _, outputs, _) = job.run(&inputs, &[]);
    assert_eq!(code, 1);
    assert_eq!(outputs["deploy-status"], "build_failed");

    let (code, log, _, _) = job.run(
        &[
            ("mode", "deploy"),
            ("deploy-hook-url", "http://example.com/deploy/srv-a?key=k"),
        ],
        &[],
    );
    assert_eq!(code, 2, "{log}");
}

#[test]
#[ignore = "needs podman and the image built by tests/container.sh"]
fn monitor_pushes_from_a_workspace_owned_by_another_user() {
    let sim = Sim::start();
    let id = sim.add_service(ServiceSpec::web("web"));
    sim.add_history(&id, "build_failed", Duration::from_secs(60));
    let remote = remote(&sim);
    let dir = tempfile::tempdir().unwrap();
    let clone = remote.clone_into(dir.path());
    crate::repo::git(&clone, &["checkout", "-q", "--detach"]);
    let job = Job::new(STATIC, Some(&clone));
    let api = sim.api_url();
    let inputs = [
        ("mode", "monitor"),
        ("render-api-key", API_KEY),
        ("render-api-url", api.as_str()),
        ("github-token", GITHUB_TOKEN),
        ("services", id.as_str()),
        ("status-file", "docs/PIPELINE.md"),
        ("keep", "48"),
        ("health-path", ""),
    ];
    let (code, log, outputs, summary) = job.run(&inputs, &[("GITHUB_API_URL", sim.url.as_str())]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(outputs["healthy"], "false");
    assert_eq!(outputs["commit-sha"], remote.tip());
    assert_eq!(outputs["issues-opened"], "1");
    assert!(summary.contains("committed and pushed"), "{summary}");
    assert!(remote.show("docs/PIPELINE.md").contains("web (failed)"));
    assert_eq!(remote.log()[0].1, "render-pilot[bot]");
    remote.fsck();
    let config = std::fs::read_to_string(clone.join(".git/config")).unwrap();
    assert!(
        !config.contains(GITHUB_TOKEN),
        "the token is never written to .git/config"
    );
    assert_owned_by_the_job_s_user(&clone);
}

#[test]
#[ignore = "needs podman and the images built by tests/container.sh"]
fn recover_regenerates_a_lockfile_with_the_project_s_pnpm_in_its_image() {
    let pinned = format!("pnpm@{PNPM_10}");
    let p = Project::using(PNPM_10, Some(&pinned), &[]);
    let run = Run::failed(540, &p.head, &p.log);
    let event = run.event();
    p.ran(run);
    // recover/action.yml's args; corepack's cache as ./scripts/test fills
    // it, copied into the job's home, and no network for corepack: the pnpm
    // must come from that cache, through the image's corepack.
    let job = Job::new(RECOVER, Some(&p.clone))
        .event(&event)
        .args(&["recover"]);
    let cache = PathBuf::from(
        std::env::var("COREPACK_HOME").expect("COREPACK_HOME: run tests/container.sh"),
    )
    .join("v1/pnpm")
    .join(PNPM_10);
    let copy = job.home("corepack/v1/pnpm");
    std::fs::create_dir_all(&copy).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(&cache)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success(), "copying {}", cache.display());
    let inputs = [("github-token", GITHUB_TOKEN), ("fixes", "lockfile")];
    let env = [
        ("GITHUB_API_URL", p.sim.url.as_str()),
        ("COREPACK_HOME", "/github/home/corepack"),
        ("COREPACK_ENABLE_NETWORK", "0"),
    ];
    let (code, log, outputs, summary) = job.run(&inputs, &env);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!(
            "regenerating pnpm-lock.yaml with pnpm {PNPM_10} (package.json's packageManager): corepack pnpm@{PNPM_10}"
        )),
        "{log}"
    );
    assert_eq!(outputs["diagnosis"], "lockfile");
    assert_eq!(outputs["fixed"], "true", "{log}");
    assert_eq!(outputs["commit-sha"], p.remote.tip());
    assert!(summary.contains("pnpm-lock.yaml"), "{summary}");
    let changed = git(&p.remote.bare(), &["diff", "--name-only", &p.head, "main"]);
    assert_eq!(changed.trim(), "pnpm-lock.yaml");
    assert_eq!(
        p.sim.dispatches(),
        [("7001".to_string(), "main".to_string())]
    );
    p.remote.fsck();
    p.assert_frozen_install(PNPM_10);
    assert_owned_by_the_job_s_user(&p.clone);
}

/// Everything in the checkout still belongs to the runner's user (1001),
/// though the container ran as root: the job's later steps can write there.
fn assert_owned_by_the_job_s_user(workspace: &Path) {
    use std::os::unix::fs::MetadataExt;
    let mut folders = vec![workspace.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let meta = entry.path().symlink_metadata().unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (1001, 1001),
                "{} belongs to another user",
                entry.path().display()
            );
            if meta.is_dir() {
                folders.push(entry.path());
            }
        }
    }
}
