//! Which pnpm a project uses: package.json's `packageManager`, else the
//! release that writes pnpm-lock.yaml's `lockfileVersion`, else the default.

/// The pnpm of a project that declares none and whose lockfile has the
/// current format (pnpm 9 and 10 both write lockfileVersion 9.0).
/// ./scripts/test prefetches it into corepack's cache.
pub const DEFAULT_PNPM: &str = "10.34.9";

/// The pnpm release that writes each lockfileVersion: the newest of the
/// major that introduced the format.
const BY_LOCKFILE: [(&str, &str); 4] = [
    ("5.3", "6.35.1"),
    ("5.4", "7.33.7"),
    ("6.0", "8.15.9"),
    ("9.0", DEFAULT_PNPM),
];

/// The source of a version the project declares.
pub(super) const PACKAGE_MANAGER: &str = "package.json's packageManager";

/// The pnpm a project uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wanted {
    /// The exact version, e.g. `9.15.9`.
    pub version: String,
    /// What corepack is asked for: the version with packageManager's hash,
    /// so corepack checks the download against it.
    pub reference: String,
    /// Where the version comes from, for messages.
    pub source: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WantError {
    #[error("package.json is not valid JSON ({0}); fix it, then re-run")]
    Manifest(String),
    #[error("package.json's packageManager is {0}, not pnpm, but the failure is pnpm-lock.yaml's; set packageManager to \"pnpm@<version>\" or fix the lockfile by hand")]
    OtherTool(String),
    #[error("package.json's packageManager {0} is not \"pnpm@<exact version>\" (optionally followed by \"+sha512.<hex digest>\"); write it as corepack expects, e.g. \"pnpm@{DEFAULT_PNPM}\"")]
    Malformed(String),
    #[error("pnpm-lock.yaml has lockfileVersion {0}, which render-pilot cannot map to a pnpm release; declare the project's pnpm with packageManager in package.json, e.g. \"pnpm@{DEFAULT_PNPM}\"")]
    UnknownLockfile(String),
}

/// Outside text in a message: quoted, escaped and bounded.
pub(super) fn quoted(text: &str) -> String {
    const MAX: usize = 80;
    let cut: String = text.chars().take(MAX).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("\"{}{more}\"", cut.escape_debug())
}

/// The pnpm that wrote, or must write, the lockfile: package.json's
/// `packageManager`, else the release matching pnpm-lock.yaml's
/// `lockfileVersion`, else [`DEFAULT_PNPM`].
pub(super) fn wanted(package_json: &str, lockfile: Option<&str>) -> Result<Wanted, WantError> {
    let manifest: serde_json::Value =
        serde_json::from_str(package_json).map_err(|e| WantError::Manifest(e.to_string()))?;
    match manifest.get("packageManager") {
        Some(serde_json::Value::String(pm)) => return declared(pm),
        Some(other) => return Err(WantError::Malformed(quoted(&other.to_string()))),
        None => {}
    }
    let found = lockfile.and_then(lockfile_version);
    let Some(format) = found else {
        return Ok(exact(
            DEFAULT_PNPM,
            "render-pilot's default; the project declares no pnpm",
        ));
    };
    match BY_LOCKFILE.iter().find(|(f, _)| *f == format) {
        Some((_, version)) => Ok(exact(
            version,
            &format!("the pnpm that writes pnpm-lock.yaml's lockfileVersion {format}"),
        )),
        None => Err(WantError::UnknownLockfile(quoted(format))),
    }
}

impl Wanted {
    /// packageManager's `<algorithm>.<hex digest>` after the `+`, if it pins
    /// one.
    pub(super) fn pin(&self) -> Option<&str> {
        self.reference.split_once('+').map(|(_, pin)| pin)
    }
}

fn exact(version: &str, source: &str) -> Wanted {
    Wanted {
        version: version.into(),
        reference: version.into(),
        source: source.into(),
    }
}

/// `pnpm@<version>[+<algorithm>.<hex digest>]`, as corepack reads it.
fn declared(pm: &str) -> Result<Wanted, WantError> {
    let malformed = || WantError::Malformed(quoted(pm));
    let (name, reference) = pm.rsplit_once('@').ok_or_else(malformed)?;
    if name != "pnpm" {
        return Err(if name.is_empty() {
            malformed()
        } else {
            WantError::OtherTool(quoted(pm))
        });
    }
    let (version, hash) = match reference.split_once('+') {
        Some((version, hash)) => (version, Some(hash)),
        None => (reference, None),
    };
    if !is_exact_version(version) || !hash.is_none_or(is_hash) {
        return Err(malformed());
    }
    Ok(Wanted {
        version: version.into(),
        reference: reference.into(),
        source: PACKAGE_MANAGER.into(),
    })
}

/// The longest version semver (and so npm and corepack) accepts.
const MAX_VERSION: usize = 256;

/// `1.2.3` or `1.2.3-rc.1`: a release, not a range or a tag.
fn is_exact_version(version: &str) -> bool {
    if version.len() > MAX_VERSION {
        return false;
    }
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && pre.is_none_or(|p| {
            p.split('.').all(|id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        })
}

/// `sha512.<hex>`: the digest corepack checks the download against.
fn is_hash(hash: &str) -> bool {
    hash.split_once('.').is_some_and(|(algorithm, digest)| {
        ["sha1", "sha224", "sha256", "sha512"].contains(&algorithm)
            && !digest.is_empty()
            && digest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The top-level `lockfileVersion:` of pnpm-lock.yaml, unquoted (pnpm
/// writes `5.4` bare and `'6.0'`, `'9.0'` quoted).
fn lockfile_version(lockfile: &str) -> Option<&str> {
    lockfile
        .lines()
        .find_map(|l| l.strip_prefix("lockfileVersion:"))
        .map(|v| v.trim().trim_matches(['\'', '"']))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V9: &str = "lockfileVersion: '9.0'\n\nimporters:\n";

    fn from(manifest: &str, lockfile: Option<&str>) -> Result<(String, String), WantError> {
        wanted(manifest, lockfile).map(|w| (w.version, w.reference))
    }

    fn pair(version: &str, reference: &str) -> Result<(String, String), WantError> {
        Ok((version.into(), reference.into()))
    }

    #[test]
    fn package_manager_wins_and_keeps_its_hash_for_corepack() {
        assert_eq!(
            from(r#"{"packageManager":"pnpm@9.15.9"}"#, Some(V9)),
            pair("9.15.9", "9.15.9")
        );
        let hashed = "10.34.9+sha512.f49b5a8ea0fdedb44bb3c0c1d6575092";
        assert_eq!(
            from(&format!(r#"{{"packageManager":"pnpm@{hashed}"}}"#), None),
            pair("10.34.9", hashed)
        );
        assert_eq!(
            from(
                r#"{"packageManager":"pnpm@11.0.0-rc.1"}"#,
                Some("lockfileVersion: 5.4\n")
            ),
            pair("11.0.0-rc.1", "11.0.0-rc.1")
        );
        let w = wanted(r#"{"packageManager":"pnpm@9.15.9"}"#, None).unwrap();
        assert_eq!(w.source, "package.json's packageManager");
        assert_eq!(w.pin(), None);
        let w = wanted(&format!(r#"{{"packageManager":"pnpm@{hashed}"}}"#), None).unwrap();
        assert_eq!(w.pin(), Some("sha512.f49b5a8ea0fdedb44bb3c0c1d6575092"));
    }

    #[test]
    fn another_tool_or_a_malformed_package_manager_is_refused() {
        for pm in ["yarn@4.5.0", "npm@10.9.0", "@scope/pnpm@1.0.0"] {
            let e = wanted(&format!(r#"{{"packageManager":"{pm}"}}"#), Some(V9)).unwrap_err();
            assert_eq!(e, WantError::OtherTool(format!("\"{pm}\"")));
            assert!(e.to_string().contains("not pnpm"), "{e}");
        }
        for pm in [
            "\"pnpm\"",
            "\"pnpm@\"",
            "\"pnpm@9\"",
            "\"pnpm@^9.1.0\"",
            "\"pnpm@latest\"",
            "\"pnpm@9.01.0\"",
            "\"pnpm@9.15.9+sha512\"",
            "\"pnpm@9.15.9+md5.abc\"",
            "\"pnpm@9.15.9+sha512.xyz\"",
            "\"pnpm@9.15.9-\"",
            "\"pnpm@https://example.com/pnpm.tgz\"",
            format!("\"pnpm@1.2.3-{}\"", "x".repeat(200_000)).as_str(),
            "9",
            "{\"name\":\"pnpm\"}",
        ] {
            let e = wanted(&format!(r#"{{"packageManager":{pm}}}"#), Some(V9)).unwrap_err();
            assert!(matches!(e, WantError::Malformed(_)), "{pm}: {e:?}");
            assert!(e.to_string().contains("\"pnpm@<exact version>\""), "{e}");
        }
    }

    #[test]
    fn outside_text_in_the_message_is_escaped_and_bounded() {
        let pm = format!("pnpm@1.2.3\\n## Injected{}", "x".repeat(500));
        let e = wanted(&format!(r#"{{"packageManager":"{pm}"}}"#), None).unwrap_err();
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("pnpm@1.2.3\\n## Injected"), "{text}");
        assert!(text.len() < 400, "{text}");
    }

    #[test]
    fn without_package_manager_the_lockfile_format_chooses_the_major() {
        let none = r#"{"name":"shop"}"#;
        for (lockfile, version) in [
            ("lockfileVersion: 5.3\n", "6.35.1"),
            ("lockfileVersion: 5.4\n\nspecifiers:\n", "7.33.7"),
            ("lockfileVersion: '6.0'\n", "8.15.9"),
            ("lockfileVersion: \"6.0\"\n", "8.15.9"),
            (V9, DEFAULT_PNPM),
        ] {
            assert_eq!(from(none, Some(lockfile)), pair(version, version));
        }
        let w = wanted(none, Some("lockfileVersion: '6.0'\n")).unwrap();
        assert!(w.source.contains("lockfileVersion 6.0"), "{}", w.source);
    }

    #[test]
    fn an_unknown_lockfile_format_is_an_error_not_a_guess() {
        let e = wanted("{}", Some("lockfileVersion: '7.0'\n")).unwrap_err();
        assert_eq!(e, WantError::UnknownLockfile("\"7.0\"".into()));
        assert!(e.to_string().contains("packageManager"), "{e}");
    }

    #[test]
    fn with_nothing_declared_the_pinned_default_runs() {
        for lockfile in [None, Some(""), Some("importers: {}\n")] {
            let w = wanted("{}", lockfile).unwrap();
            assert_eq!(w.version, DEFAULT_PNPM);
            assert!(w.source.contains("default"), "{}", w.source);
        }
    }

    #[test]
    fn a_broken_package_json_is_named() {
        let e = wanted("{\"name\":", Some(V9)).unwrap_err();
        assert!(matches!(e, WantError::Manifest(_)), "{e:?}");
        assert!(e.to_string().starts_with("package.json is not valid JSON"));
    }
}
