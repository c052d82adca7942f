//! Regenerating pnpm-lock.yaml with the pnpm the repository uses, in a
//! scratch copy of the failed head, so nothing from the repository runs in
//! the checkout. A lockfile written by another pnpm major than the project's
//! is a new failure, so the version is chosen first ([`wanted()`]) and run
//! exactly (through corepack, which fetches and checks it) or not at all.
//! pnpm gets a minimal environment and neither scripts nor `.pnpmfile.cjs`:
//! nothing from the repository runs, and nothing secret is there to read.

mod wanted;

pub use wanted::DEFAULT_PNPM;

use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::LOCKFILE;
use crate::clients::git::{GitError, Workspace};
use crate::output::runner::Runner;
use wanted::{quoted, wanted, WantError, Wanted, PACKAGE_MANAGER};

/// Why the lockfile could not be regenerated.
#[derive(Debug, thiserror::Error)]
pub(super) enum PnpmError {
    #[error("making a scratch {what}: {source}")]
    Scratch {
        what: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Export(#[from] GitError),
    #[error("the repository has no readable package.json at its root")]
    NoManifest,
    #[error(transparent)]
    Wanted(#[from] WantError),
    #[error("writing a scratch package.json: {0}")]
    ProbeManifest(std::io::Error),
    #[error("running {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("there is no {0} on PATH")]
    NotOnPath(String),
    #[error("`{program}` failed: {tail}")]
    Probe { program: String, tail: String },
    #[error("{pnpm} is {}", quoted(.version))]
    OtherVersion { pnpm: &'static str, version: String },
    #[error("{LOCKFILE} must be regenerated with pnpm {version} ({origin}), which is not available on the runner: {}. Put corepack on PATH (Node.js up to 24 ships it; otherwise `npm install --global corepack`) and let it reach the npm registry, or install pnpm {version} on PATH before render-pilot", joined(.why))]
    Unavailable {
        version: String,
        origin: String,
        /// Why each candidate does not serve.
        why: Vec<PnpmError>,
    },
    #[error("{PACKAGE_MANAGER} pins pnpm {version} to {}, and render-pilot runs a pinned pnpm only once corepack has checked it against that hash: {why}. {fix}", short_pin(.pin))]
    Unverified {
        version: String,
        pin: String,
        why: String,
        fix: &'static str,
    },
    #[error("`pnpm {args}` ({used}) failed: {tail}")]
    Failed {
        args: String,
        used: String,
        tail: String,
    },
    #[error("pnpm wrote no lockfile: {0}")]
    NoLockfile(std::io::Error),
    #[error("pnpm produced the same lockfile; the failure has another cause")]
    Unchanged,
}

/// A pinned hash, short enough for a message.
fn short_pin(pin: &str) -> String {
    match pin.char_indices().nth(23) {
        Some((end, _)) => format!("{}…", &pin[..end]),
        None => pin.to_string(),
    }
}

fn joined(errors: &[PnpmError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A scratch directory; `what` names it in the error.
fn scratch(what: &'static str) -> Result<tempfile::TempDir, PnpmError> {
    tempfile::tempdir().map_err(|source| PnpmError::Scratch { what, source })
}

/// Regenerates only the lockfile of `head` in a scratch copy, with the
/// project's pnpm, and checks it with a frozen install. Returns the lockfile
/// and which pnpm wrote it.
pub(super) fn regenerate(
    ws: &Workspace,
    head: Oid,
    runner: &Runner,
    env: &[(String, String)],
) -> Result<(Vec<u8>, String), PnpmError> {
    let scratch_copy = scratch("directory")?;
    ws.export(head, scratch_copy.path())?;
    let dir = scratch_copy.path();
    let manifest =
        std::fs::read_to_string(dir.join("package.json")).map_err(|_| PnpmError::NoManifest)?;
    let before = std::fs::read(dir.join(LOCKFILE)).ok();
    let wanted = wanted(
        &manifest,
        before.as_deref().map(String::from_utf8_lossy).as_deref(),
    )?;
    let pnpm = Pnpm::find(&wanted, env)?;
    runner.info(&format!(
        "regenerating {LOCKFILE} with {}: {}",
        pnpm.used,
        pnpm.program.join(" ")
    ));
    let store = scratch("store")?;
    let run = |args: &[&str]| pnpm.run(dir, store.path(), args);
    run(&["install", "--lockfile-only", "--no-frozen-lockfile"])?;
    let after = std::fs::read(dir.join(LOCKFILE)).map_err(PnpmError::NoLockfile)?;
    if before.as_deref() == Some(&after[..]) {
        return Err(PnpmError::Unchanged);
    }
    run(&["install", "--frozen-lockfile", "--prefer-offline"])?;
    Ok((after, pnpm.used))
}

/// The project's pnpm, found on this runner.
struct Pnpm<'a> {
    program: Vec<String>,
    /// Which pnpm it is, for messages.
    used: String,
    env: &'a [(String, String)],
}

impl<'a> Pnpm<'a> {
    fn find(wanted: &Wanted, env: &'a [(String, String)]) -> Result<Pnpm<'a>, PnpmError> {
        // pnpm 9 and 10 run the repository's .pnpmfile.cjs even for
        // `--version`, whatever the flags: the version is asked in an empty
        // project that declares only the same packageManager (which picks the
        // version a corepack shim runs).
        let probe = scratch("directory")?;
        let declared = if wanted.source == PACKAGE_MANAGER {
            serde_json::json!({ "packageManager": format!("pnpm@{}", wanted.reference) })
        } else {
            serde_json::json!({})
        };
        std::fs::write(probe.path().join("package.json"), declared.to_string())
            .map_err(PnpmError::ProbeManifest)?;
        Ok(Pnpm {
            program: pnpm_command(probe.path(), wanted, env)?,
            used: format!("pnpm {} ({})", wanted.version, wanted.source),
            env,
        })
    }

    /// Runs `pnpm <args>` in `dir` with `store`, with neither scripts nor
    /// .pnpmfile.cjs.
    fn run(&self, dir: &Path, store: &Path, args: &[&str]) -> Result<(), PnpmError> {
        let out = command(&self.program, dir, self.env)
            .args(args)
            .args(["--ignore-scripts", "--ignore-pnpmfile", "--store-dir"])
            .arg(store)
            .output()
            .map_err(|source| PnpmError::Spawn {
                program: self.program.join(" "),
                source,
            })?;
        if out.status.success() {
            return Ok(());
        }
        Err(PnpmError::Failed {
            args: args.join(" "),
            used: self.used.clone(),
            tail: tail(&out),
        })
    }
}

/// The last lines a failed command printed, cleaned and redacted.
fn tail(out: &std::process::Output) -> String {
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let lines: Vec<String> = text
        .lines()
        .map(crate::ops::diagnose::clean_line)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(8);
    crate::output::secrets::redact(&lines[start..].join(" / "))
}

/// `program` (`pnpm`, or `corepack pnpm@…`) in `dir`, with a minimal
/// environment: what the settings pass on (proxy, CA and corepack settings;
/// see [`crate::settings::RecoverSettings::pnpm_env`]), nothing else.
fn command(program: &[String], dir: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(&program[0]);
    command
        .args(&program[1..])
        .current_dir(dir)
        .env_clear()
        .env("CI", "true")
        .envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// The version `program --version` prints in `dir`, or why there is none.
fn version_of(
    program: &[String],
    dir: &Path,
    env: &[(String, String)],
) -> Result<String, PnpmError> {
    match command(program, dir, env).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(out) => Err(PnpmError::Probe {
            program: program.join(" "),
            tail: tail(&out),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(PnpmError::NotOnPath(program[0].clone()))
        }
        Err(source) => Err(PnpmError::Spawn {
            program: program[0].clone(),
            source,
        }),
    }
}

/// Corepack with exactly the wanted version (it fetches it, checked against
/// packageManager's hash or the registry's signatures), else the pnpm on
/// PATH when it is exactly that version; never another one. A pinned hash
/// leaves corepack alone: the pnpm on PATH has nothing to check it with.
/// `probe` is where their versions are asked.
fn pnpm_command(
    probe: &Path,
    wanted: &Wanted,
    env: &[(String, String)],
) -> Result<Vec<String>, PnpmError> {
    let corepack = vec!["corepack".to_string(), format!("pnpm@{}", wanted.reference)];
    if let Some(pin) = wanted.pin() {
        let why = match version_of(&corepack, probe, env) {
            Ok(version) if version == wanted.version => {
                match check_pin(env, &wanted.version, pin) {
                    Ok(()) => return Ok(corepack),
                    Err(why) => why,
                }
            }
            Ok(version) => PnpmError::OtherVersion {
                pnpm: "corepack's pnpm",
                version,
            }
            .to_string(),
            Err(e) => e.to_string(),
        };
        return Err(PnpmError::Unverified {
            version: wanted.version.clone(),
            pin: pin.to_string(),
            why,
            fix: "Correct the hash (`corepack use pnpm@<version>` writes it) or drop it from packageManager, and let corepack reach the npm registry",
        });
    }
    let plain = vec!["pnpm".to_string()];
    let mut why = Vec::new();
    for (program, pnpm) in [(corepack, "corepack's pnpm"), (plain, "the pnpm on PATH")] {
        match version_of(&program, probe, env) {
            Ok(version) if version == wanted.version => return Ok(program),
            Ok(version) => why.push(PnpmError::OtherVersion { pnpm, version }),
            Err(e) => why.push(e),
        }
    }
    Err(PnpmError::Unavailable {
        version: wanted.version.clone(),
        origin: wanted.source.clone(),
        why,
    })
}

/// Whether the pnpm `version` corepack runs is the one `pin` names.
/// Corepack checks a download against the pin, but runs a release already
/// in its cache without looking at the pin again; the hash it recorded
/// when it downloaded (and checked) the release is compared here. Its cache
/// is where corepack finds it with pnpm's environment: `COREPACK_HOME`,
/// else `~/.cache/node/corepack`, each release in `v1/<name>/<version>`.
fn check_pin(env: &[(String, String)], version: &str, pin: &str) -> Result<(), String> {
    let var = |name: &str| {
        env.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| std::path::PathBuf::from(v))
    };
    let home = var("COREPACK_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".cache/node/corepack")))
        .ok_or("neither COREPACK_HOME nor HOME says where corepack keeps its releases")?;
    let record = home.join("v1/pnpm").join(version).join(".corepack");
    let unreadable = |e: &dyn std::fmt::Display| {
        format!(
            "corepack's record of pnpm {version} ({}) cannot be read: {e}",
            record.display()
        )
    };
    let text = std::fs::read_to_string(&record).map_err(|e| unreadable(&e))?;
    let recorded: serde_json::Value = serde_json::from_str(&text).map_err(|e| unreadable(&e))?;
    let recorded = recorded["hash"].as_str().unwrap_or_default();
    if recorded.eq_ignore_ascii_case(pin) {
        return Ok(());
    }
    Err(format!(
        "the pnpm {version} in corepack's cache was downloaded with the hash {}, and corepack runs a cached release without comparing it to the pin (if the pin is right, delete {} so corepack downloads and checks it again)",
        short_pin(recorded),
        record.parent().unwrap_or(&record).display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "sha512.f49b5a8ea0fdedb44bb3c0c1d6575092";

    /// A corepack home holding pnpm `version`, recorded with `hash`.
    fn cache(version: &str, hash: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("v1/pnpm").join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let record =
            serde_json::json!({"locator": {"name": "pnpm", "reference": version}, "hash": hash});
        std::fs::write(dir.join(".corepack"), record.to_string()).unwrap();
        home
    }

    fn env(name: &str, path: &Path) -> Vec<(String, String)> {
        vec![(name.to_string(), path.display().to_string())]
    }

    #[test]
    fn a_pin_is_checked_against_corepack_s_record_of_its_download() {
        let home = cache("10.34.9", PIN);
        let corepack_home = env("COREPACK_HOME", home.path());
        assert_eq!(check_pin(&corepack_home, "10.34.9", PIN), Ok(()));
        assert_eq!(
            check_pin(
                &corepack_home,
                "10.34.9",
                &PIN.to_uppercase().replace("SHA512", "sha512")
            ),
            Ok(())
        );
        let wrong = check_pin(&corepack_home, "10.34.9", "sha512.deadbeef").unwrap_err();
        assert!(
            wrong.contains("downloaded with the hash sha512.f49b5a8ea0fdedb4…"),
            "{wrong}"
        );
        let other_algorithm = check_pin(&corepack_home, "10.34.9", "sha256.f49b").unwrap_err();
        assert!(
            other_algorithm.contains("without comparing it"),
            "{other_algorithm}"
        );
        let missing = check_pin(&corepack_home, "9.15.9", PIN).unwrap_err();
        assert!(missing.contains("cannot be read"), "{missing}");
        assert!(check_pin(&[], "10.34.9", PIN)
            .unwrap_err()
            .contains("COREPACK_HOME"));
    }

    #[test]
    fn without_corepack_home_the_cache_is_under_home() {
        let home = tempfile::tempdir().unwrap();
        let corepack = home.path().join(".cache/node/corepack");
        std::fs::create_dir_all(&corepack).unwrap();
        let cached = cache("9.15.9", PIN);
        std::fs::rename(cached.path().join("v1"), corepack.join("v1")).unwrap();
        assert_eq!(check_pin(&env("HOME", home.path()), "9.15.9", PIN), Ok(()));
    }

    #[test]
    fn a_long_pin_is_shortened_in_messages() {
        assert_eq!(short_pin(PIN), "sha512.f49b5a8ea0fdedb4…");
        assert_eq!(short_pin("sha1.ab"), "sha1.ab");
    }
}
