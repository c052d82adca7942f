//! Regenerating pnpm-lock.yaml with real pnpm, in a scratch copy of the
//! failed head, so nothing from the repository runs in the checkout.

use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::LOCKFILE;
use crate::git::Workspace;
use crate::runner::Runner;

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
    let pnpm = pnpm_command(dir, runner);
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(&pnpm[0])
            .args(&pnpm[1..])
            .args(args)
            .current_dir(dir)
            .env("CI", "true")
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
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "`pnpm {}` failed: {}",
            args.join(" "),
            crate::secrets::redact(&tail.join(" / "))
        ))
    };
    let before = std::fs::read(dir.join(LOCKFILE)).ok();
    run(&[
        "install",
        "--lockfile-only",
        "--no-frozen-lockfile",
        "--ignore-scripts",
    ])?;
    let after =
        std::fs::read(dir.join(LOCKFILE)).map_err(|e| format!("pnpm wrote no lockfile: {e}"))?;
    if before.as_deref() == Some(&after[..]) {
        return Err("pnpm produced the same lockfile; the failure has another cause".into());
    }
    run(&[
        "install",
        "--frozen-lockfile",
        "--ignore-scripts",
        "--prefer-offline",
    ])?;
    Ok(after)
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
    let installed = Command::new("pnpm")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if installed.as_deref() == Some(version.as_str()) {
        return vec!["pnpm".into()];
    }
    if Command::new("corepack")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return vec!["corepack".into(), "pnpm".into()];
    }
    runner.warning(&format!("package.json pins pnpm {version}, corepack is missing and pnpm on PATH is {}; the lockfile may change format", installed.unwrap_or_else(|| "absent".into())));
    vec!["pnpm".into()]
}
