//! Regenerating pnpm-lock.yaml with real pnpm, in a scratch copy of the
//! failed head, so nothing from the repository runs in the checkout.
//! pnpm gets a minimal environment and neither scripts nor `.pnpmfile.cjs`:
//! nothing from the repository runs, and nothing secret is there to read.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::LOCKFILE;
use crate::clients::git::Workspace;
use crate::output::runner::Runner;

/// Regenerates only the lockfile of `head` in a scratch copy, with the pnpm
/// that `packageManager` pins when corepack can provide it, and checks it
/// with a frozen install.
pub(super) fn regenerate(ws: &Workspace, head: Oid, runner: &Runner) -> Result<Vec<u8>, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("making a scratch directory: {e}"))?;
    ws.export(head, scratch.path()).map_err(|e| e.to_string())?;
    let dir = scratch.path();
    if !dir.join("package.json").exists() {
        return Err("the repository has no package.json at its root".into());
    }
    let store = tempfile::tempdir().map_err(|e| format!("making a scratch store: {e}"))?;
    let store = store.path().to_string_lossy();
    let pnpm = pnpm_command(dir, runner);
    let run = |args: &[&str]| -> Result<(), String> {
        let out = command(&pnpm, dir)
            .args(args)
            .args([
                "--ignore-scripts",
                "--ignore-pnpmfile",
                "--store-dir",
                &store,
            ])
            .output()
            .map_err(|e| {
                format!(
                    "running {}: {e}; install pnpm (or corepack) on the runner",
                    pnpm.join(" ")
                )
            })?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let tail: Vec<String> = text
            .lines()
            .map(crate::ops::diagnose::clean_line)
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "`pnpm {}` failed: {}",
            args.join(" "),
            crate::output::secrets::redact(&tail.join(" / "))
        ))
    };
    let before = std::fs::read(dir.join(LOCKFILE)).ok();
    run(&["install", "--lockfile-only", "--no-frozen-lockfile"])?;
    let after =
        std::fs::read(dir.join(LOCKFILE)).map_err(|e| format!("pnpm wrote no lockfile: {e}"))?;
    if before.as_deref() == Some(&after[..]) {
        return Err("pnpm produced the same lockfile; the failure has another cause".into());
    }
    run(&["install", "--frozen-lockfile", "--prefer-offline"])?;
    Ok(after)
}

/// What a runner behind a proxy or a registry mirror needs, and corepack's
/// settings; nothing else of recover's environment (tokens, keys, the hook
/// URL) reaches pnpm.
const PASSED_ON: [&str; 10] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
];

/// `program` (`pnpm`, or `corepack pnpm`) in `dir`, with a minimal
/// environment.
fn command(program: &[String], dir: &Path) -> Command {
    let mut command = Command::new(&program[0]);
    command
        .args(&program[1..])
        .current_dir(dir)
        .env_clear()
        .env("CI", "true");
    let passed = std::env::vars_os().filter(|(name, _)| {
        let name = name.to_string_lossy();
        ["PATH", "HOME"].contains(&name.as_ref())
            || PASSED_ON.contains(&name.as_ref())
            || name.starts_with("COREPACK_")
    });
    command.envs(passed.collect::<Vec<(OsString, OsString)>>());
    command
}

/// `corepack pnpm` when package.json pins another pnpm than the one on
/// PATH (so lockfileVersion stays), plain `pnpm` otherwise.
fn pnpm_command(dir: &Path, runner: &Runner) -> Vec<String> {
    let pinned = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("packageManager")?.as_str().map(String::from))
        .and_then(|pm| {
            pm.strip_prefix("pnpm@")
                .map(|v| v.split('+').next().unwrap_or(v).to_string())
        });
    let Some(version) = pinned else {
        return vec!["pnpm".into()];
    };
    let installed = command(&["pnpm".into()], dir)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if installed.as_deref() == Some(version.as_str()) {
        return vec!["pnpm".into()];
    }
    if command(&["corepack".into()], dir)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return vec!["corepack".into(), "pnpm".into()];
    }
    runner.warning(&format!("package.json pins pnpm {version}, corepack is missing and pnpm on PATH is {}; the lockfile may change format", installed.unwrap_or_else(|| "absent".into())));
    vec!["pnpm".into()]
}
