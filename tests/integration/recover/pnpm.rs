//! Which pnpm regenerates the lockfile (the project's, by its
//! `packageManager` or its lockfile's format), when it is refused rather
//! than replaced, and how it runs: without secrets, scripts or the
//! repository's pnpmfile.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use render_sim::{Issue, Run, API_KEY, GITHUB_TOKEN};

use super::{pnpm_at, write_libb, Project, PNPM_10, PNPM_8, PNPM_9};
use crate::support::{assert_contains, assert_no_secret_in};

/// pnpm 10 records inject-workspace-packages in the lockfile's settings,
/// pnpm 9 does not know the setting: with it on, the lockfile shows which
/// major wrote it.
const INJECT: (&str, &str) = (".npmrc", "inject-workspace-packages=true\n");
const WRITTEN_BY_PNPM_10: &str = "injectWorkspacePackages: true";

/// The sha512 of pnpm 10.34.9's npm tarball, as a packageManager hash.
const PNPM_10_SHA512: &str = "f49b5a8ea0fdedb44bb3c0c1d6575092a53c2950d95b7ad15df11f17974877a2de3a01c07e934e9b28ce716e51c09a94962c7306d09be2e1e4b18a8c8762fd32";

/// Recovers a project whose lockfile pnpm `version` wrote, with
/// `package_manager` in package.json; checks the fix and says which pnpm
/// it names, and returns the pushed lockfile.
fn recovered_with(version: &str, package_manager: Option<&str>, source: &str) -> String {
    let p = Project::using(version, package_manager, &[INJECT]);
    p.fails_on_the_lockfile(520);
    let with = format!("with pnpm {version} ({source})");
    p.recover().fixed(true).actions_contain(&with).success();
    assert_contains(&p.last_message(), &format!("Regenerated {with}."));
    let lockfile = p.remote.show("pnpm-lock.yaml");
    assert_contains(&lockfile, "specifier: file:./libb");
    p.assert_frozen_install(version);
    lockfile
}

#[test]
fn a_project_pinning_pnpm_9_gets_its_lockfile_from_pnpm_9() {
    let pinned = format!("pnpm@{PNPM_9}");
    let lockfile = recovered_with(PNPM_9, Some(&pinned), "package.json's packageManager");
    assert!(
        !lockfile.contains(WRITTEN_BY_PNPM_10),
        "pnpm 10 wrote it: {lockfile}"
    );
    // The mark is real: pnpm 10 writes it for this very project.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pnpm-lock.yaml"), &lockfile).unwrap();
    write_libb(dir.path());
    std::fs::write(dir.path().join(INJECT.0), INJECT.1).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"shop","version":"1.0.0","private":true,"dependencies":{"libb":"file:./libb"}}"#,
    )
    .unwrap();
    let (ok, output) = pnpm_at(PNPM_10, dir.path(), &["install", "--lockfile-only"]);
    assert!(ok, "{output}");
    let by_10 = std::fs::read_to_string(dir.path().join("pnpm-lock.yaml")).unwrap();
    assert_contains(&by_10, WRITTEN_BY_PNPM_10);
}

#[test]
fn a_project_pinning_pnpm_10_with_a_hash_gets_its_lockfile_from_pnpm_10() {
    let pinned = format!("pnpm@{PNPM_10}+sha512.{PNPM_10_SHA512}");
    let lockfile = recovered_with(PNPM_10, Some(&pinned), "package.json's packageManager");
    assert_contains(&lockfile, WRITTEN_BY_PNPM_10);
}

#[test]
fn without_package_manager_the_pnpm_of_the_lockfile_s_format_regenerates_it() {
    let lockfile = recovered_with(
        PNPM_8,
        None,
        "the pnpm that writes pnpm-lock.yaml's lockfileVersion 6.0",
    );
    // pnpm 9 and 10 would have rewritten it in format 9.0.
    assert!(lockfile.starts_with("lockfileVersion: '6.0'"), "{lockfile}");
}

/// Recover on a project pinning `package_manager` must fail: no commit,
/// exit 1, and an issue naming the pnpm needed and `fix`, how to provide it.
/// Returns the run's log and the issue.
fn refused(package_manager: &str, path: &str, fix: &str) -> (String, Issue) {
    let p = Project::using(PNPM_9, Some(package_manager), &[]);
    p.fails_on_the_lockfile(530);
    let out = p.recover().env("PATH", path).fixed(false).failure();
    assert_eq!(p.remote.tip(), p.head, "nothing was pushed");
    let issue = p.the_issue();
    assert_contains(&issue.body, fix);
    (out.log(), issue)
}

/// Where `program` is on this machine's PATH.
fn which(program: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&found.stdout).trim().to_string()
}

/// Writes an executable script.
fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A directory with only `node` in it: a PATH without corepack.
fn node_only() -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which("node"), bin.path().join("node")).unwrap();
    bin
}

/// A PATH with node and a `pnpm` that is pnpm `version` (corepack's,
/// started by absolute path), but no corepack: the PATH, and the folder
/// that holds both, to keep while it is used.
fn path_without_corepack(version: &str) -> (String, tempfile::TempDir) {
    let node = node_only();
    let pnpm = format!(
        "#!/bin/sh\nexec {:?} pnpm@{version} \"$@\"\n",
        which("corepack")
    );
    write_script(&node.path().join("pnpm"), &pnpm);
    (node.path().display().to_string(), node)
}

fn this_path() -> String {
    std::env::var("PATH").unwrap()
}

#[test]
fn another_pnpm_on_a_runner_without_corepack_is_refused_not_used() {
    let (path, _node) = path_without_corepack(PNPM_10);
    let (log, issue) = refused(&format!("pnpm@{PNPM_9}"), &path, "Put corepack on PATH");
    for text in [&log, &issue.body] {
        assert_contains(
            text,
            &format!("must be regenerated with pnpm {PNPM_9} (package.json's packageManager)"),
        );
        assert_contains(text, "there is no corepack on PATH");
        assert_contains(text, &format!("the pnpm on PATH is \"{PNPM_10}\""));
    }
}

#[test]
fn a_pinned_pnpm_missing_from_corepack_s_cache_is_not_downloaded() {
    let (log, issue) = refused("pnpm@9.14.4", &this_path(), "Put corepack on PATH");
    for text in [&log, &issue.body] {
        assert_contains(text, "must be regenerated with pnpm 9.14.4");
        assert_contains(text, "Network access disabled");
    }
}

/// packageManager pins pnpm 9.15.9 to a hash. Corepack has that release in
/// its cache, downloaded (and checked) with another hash, and runs it
/// without looking at the pin; a pnpm 9.15.9 is on PATH too. Neither may
/// run: a pinned pnpm runs only once corepack's record matches the pin.
#[test]
fn a_pinned_hash_that_does_not_match_is_refused_not_worked_around() {
    let wrong = "0".repeat(128);
    let (log, issue) = refused(
        &format!("pnpm@{PNPM_9}+sha512.{wrong}"),
        &this_path(),
        "Correct the hash",
    );
    for text in [&log, &issue.body] {
        assert_contains(
            text,
            &format!(
                "package.json's packageManager pins pnpm {PNPM_9} to sha512.0000000000000000…"
            ),
        );
        assert_contains(
            text,
            "corepack runs a cached release without comparing it to the pin",
        );
    }
}

/// The right hash, but no corepack to check it: the pnpm on PATH, the right
/// version, is not used instead; and a hash in another algorithm than the
/// one corepack recorded cannot be compared, so it is refused too.
#[test]
fn a_pinned_hash_nobody_can_check_is_refused() {
    let (path, _node) = path_without_corepack(PNPM_10);
    let pinned = format!("pnpm@{PNPM_10}+sha512.{PNPM_10_SHA512}");
    let (log, _) = refused(&pinned, &path, "Correct the hash");
    assert_contains(&log, "there is no corepack on PATH");
    assert!(
        !log.contains("the pnpm on PATH"),
        "PATH's pnpm was not even asked: {log}"
    );

    let (log, _) = refused(
        &format!("pnpm@{PNPM_10}+sha256.{}", &PNPM_10_SHA512[..64]),
        &this_path(),
        "Correct the hash",
    );
    assert_contains(&log, "downloaded with the hash sha512.f49b5a8ea0fdedb4…");
}

#[test]
fn pnpm_through_corepack_runs_without_secrets_scripts_or_the_repository_s_pnpmfile() {
    pnpm_runs_without_secrets_scripts_or_the_pnpmfile("corepack");
}

#[test]
fn pnpm_on_path_of_the_wanted_version_runs_without_secrets_scripts_or_the_pnpmfile() {
    pnpm_runs_without_secrets_scripts_or_the_pnpmfile("pnpm");
}

/// Recover started with a spy in place of `program` (corepack, or pnpm on a
/// PATH without corepack), which records the environment it gets.
fn pnpm_runs_without_secrets_scripts_or_the_pnpmfile(program: &str) {
    let p = Project::new();
    let spy = tempfile::tempdir().unwrap();
    let stolen = |name: &str| spy.path().join(name).to_string_lossy().into_owned();
    // The repository tries to read recover's environment both ways pnpm
    // could run its code.
    std::fs::write(
        p.clone.join(".pnpmfile.cjs"),
        format!(
            "require('fs').writeFileSync({:?}, JSON.stringify(process.env));\nmodule.exports = {{ hooks: {{}} }};\n",
            stolen("pnpmfile.json")
        ),
    )
    .unwrap();
    let head = p.commit_manifest("add a pnpmfile", |manifest| {
        manifest["scripts"] = serde_json::json!({
            "preinstall": format!(
                "node -e \"require('fs').writeFileSync('{}', JSON.stringify(process.env))\"",
                stolen("script.json")
            )
        });
    });

    // `program` on PATH, recording the environment it was started with.
    let bin = spy.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    write_script(
        &bin.join(program),
        &format!(
            "#!/usr/bin/env node\nrequire('fs').appendFileSync({:?}, JSON.stringify(process.env) + '\\n');\nconst r = require('child_process').spawnSync(process.execPath, [{:?}, ...process.argv.slice(2)], {{ stdio: 'inherit' }});\nprocess.exit(r.status ?? 1);\n",
            stolen("pnpm-env.jsonl"),
            which(program),
        ),
    );
    let node = node_only();
    let rest = match program {
        "pnpm" => node.path().display().to_string(),
        _ => this_path(),
    };
    let path = format!("{}:{rest}", bin.display());

    let service = p.service("shop-web");
    let hook = p.sim.hook_url(&service);
    p.ran(Run::failed(640, &head, &p.log));
    p.recover()
        .input("render-api-key", API_KEY)
        .hook(&service)
        .env("PATH", &path)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0")
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .env("NPM_TOKEN", "npm_SeCrEtToKeN")
        // Cached releases are not checked again: the product must not turn
        // the check off itself.
        .env_remove("COREPACK_INTEGRITY_KEYS")
        .fixed(true)
        .success();

    assert!(
        !spy.path().join("pnpmfile.json").exists(),
        "the pnpmfile ran"
    );
    assert!(!spy.path().join("script.json").exists(), "a script ran");
    let seen = std::fs::read_to_string(spy.path().join("pnpm-env.jsonl")).unwrap();
    assert!(
        seen.lines().count() >= 3,
        "--version, then two installs: {seen}"
    );
    for line in seen.lines() {
        let env: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let mut names: Vec<&str> = env.keys().map(String::as_str).collect();
        names.sort();
        // What node itself adds to process.env is not ours to strip.
        // What corepack adds for the pnpm it starts is not ours either.
        names.retain(|n| {
            !n.starts_with("npm_")
                && !n.starts_with("NODE_")
                && *n != "PNPM_SCRIPT_SRC_DIR"
                && !["COREPACK_ROOT", "COREPACK_HOME"].contains(n)
        });
        assert_eq!(
            names,
            [
                "CI",
                "COREPACK_ENABLE_DOWNLOAD_PROMPT",
                "COREPACK_ENABLE_NETWORK",
                "HOME",
                "NO_PROXY",
                "PATH",
                "SSL_CERT_FILE"
            ],
            "{line}"
        );
    }
    assert_no_secret_in(&seen, &[API_KEY, GITHUB_TOKEN, &hook, "npm_SeCrEtToKeN"]);
}
