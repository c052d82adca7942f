//! The failure signatures: the stable codes a log line carries, and the
//! cause each one means.

use super::Cause;

fn token_after<'a>(line: &'a str, prefix: &str, allowed: impl Fn(char) -> bool) -> Option<&'a str> {
    let start = line.find(prefix)?;
    let rest = &line[start..];
    let end = rest
        .char_indices()
        .skip(prefix.len())
        .find(|(_, c)| !allowed(*c))
        .map_or(rest.len(), |(i, _)| i);
    Some(&rest[..end]).filter(|t| t.len() > prefix.len())
}

fn deploy_id(line: &str) -> Option<String> {
    token_after(line, "dep-", |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit()
    })
    .map(String::from)
}

fn between(line: &str, open: &str, close: char) -> Option<String> {
    let start = line.find(open)? + open.len();
    let end = line[start..].find(close)? + start;
    Some(line[start..end].trim().to_string())
}

/// The cause one line shows, if any.
pub(super) fn match_line(line: &str) -> Option<Cause> {
    if let Some(code) = token_after(line, "ERR_PNPM_", |c| c.is_ascii_uppercase() || c == '_') {
        let code = code.to_string();
        return match &code[9..] {
            "OUTDATED_LOCKFILE"
            | "NO_LOCKFILE"
            | "LOCKFILE_CONFIG_MISMATCH"
            | "BROKEN_LOCKFILE"
            | "LOCKFILE_MISSING_DEPENDENCY" => Some(Cause::Lockfile { code }),
            "LOCKFILE_BREAKING_CHANGE" | "BAD_PM_VERSION" | "UNSUPPORTED_ENGINE" => {
                Some(Cause::PnpmVersion { code })
            }
            c if c.starts_with("FETCH_") || c == "META_FETCH_FAIL" || c == "NO_OFFLINE_META" => {
                Some(Cause::Transient { what: code })
            }
            _ => None,
        };
    }
    if line.contains("[remote rejected]") {
        let reason = between(line, ") (", ')')
            .or_else(|| between(line, "(", ')'))
            .unwrap_or_else(|| "remote rejected".into());
        return Some(Cause::PushRejected { reason });
    }
    if line.contains("GH006: Protected branch update failed")
        || line.contains("was rejected by the server")
    {
        return Some(Cause::PushRejected {
            reason: "protected branch".into(),
        });
    }
    if line.contains("[rejected]")
        && (line.contains("(fetch first)") || line.contains("(non-fast-forward)"))
    {
        return Some(Cause::PushRace);
    }
    if line.contains("cannot push non-fastforwardable reference")
        || line.contains("cannot push because a reference that you are trying to update on the remote contains commits")
    {
        return Some(Cause::PushRace);
    }
    if let Some(cause) = match_hook(line) {
        return Some(cause);
    }
    if let Some(cause) = match_build(line) {
        return Some(cause);
    }
    if line.contains("did not answer 2xx")
        || line.contains("healthy=false")
        || line.contains("deploy live but unhealthy")
    {
        return Some(Cause::DeployUnhealthy {
            deploy: deploy_id(line),
        });
    }
    for status in ["build_failed", "update_failed", "pre_deploy_failed"] {
        if line.contains(status) {
            return Some(Cause::DeployFailed {
                status: status.into(),
                deploy: deploy_id(line),
            });
        }
    }
    for (needle, what) in [
        ("ECONNRESET", "connection reset"),
        ("ETIMEDOUT", "timeout"),
        ("EAI_AGAIN", "DNS lookup failed"),
        ("socket hang up", "connection dropped"),
        ("502 Bad Gateway", "HTTP 502"),
        ("503 Service Unavailable", "HTTP 503"),
        ("504 Gateway Time", "HTTP 504"),
        ("The hosted runner lost communication", "runner lost"),
        (
            "The runner has received a shutdown signal",
            "runner shut down",
        ),
    ] {
        if line.contains(needle) {
            return Some(Cause::Transient { what: what.into() });
        }
    }
    None
}

fn match_hook(line: &str) -> Option<Cause> {
    let problem = |p: &str| {
        Some(Cause::DeployHook {
            problem: p.to_string(),
        })
    };
    // render-pilot deploy's own messages.
    if line.contains("does not know this deploy hook (HTTP 404)") {
        return problem("HTTP 404: unknown service or regenerated hook");
    }
    if line.contains("refused the deploy hook (HTTP 40") {
        return problem("HTTP 401/403: key refused or account blocked");
    }
    if line.contains("deploy-hook-url:") {
        return problem("the deploy-hook-url secret is malformed");
    }
    if line.contains("Deploy hook unreachable")
        || (line.contains("(HTTP 000)") && line.contains("no response"))
    {
        return problem("HTTP 000: no response");
    }
    if let Some(code) = between(line, "curl: (", ')') {
        let meaning = match code.as_str() {
            "3" => "curl exit 3: malformed URL (empty secret, or a space or newline in it)",
            "6" => "curl exit 6: host did not resolve",
            "7" => "curl exit 7: connection refused",
            "28" => "curl exit 28: timeout",
            "35" | "60" => "curl exit 35/60: TLS or certificate problem",
            "22" if line.contains("error: 404") => {
                "curl: HTTP 404: unknown service or regenerated hook"
            }
            "22" if line.contains("error: 401") || line.contains("error: 403") => {
                "curl: HTTP 401/403: key refused"
            }
            "22" if line.contains("error: 429") => "curl: HTTP 429: more than 10 deploys a minute",
            "22" => "curl: HTTP error from the hook",
            _ => return None,
        };
        return problem(meaning);
    }
    if line.contains("HTTP 000")
        || line.contains("http_code=000")
        || line.contains("status code: 000")
    {
        return problem("HTTP 000: no response (see the secret for stray whitespace)");
    }
    None
}

/// A build's own failures: an import it cannot resolve, memory it ran out
/// of (Node's and Python's messages, the kernel's `ENOMEM`), and Render's
/// line for a command that exited (`==> Exited with status 1`).
fn match_build(line: &str) -> Option<Cause> {
    // Most lines are none of these: a few vectorised `contains` (which
    // `find` is not) rule them out before any needle is looked for.
    if ["odule", "esolve", "ackage"]
        .iter()
        .any(|n| line.contains(n))
    {
        if let Some(cause) = missing_module(line) {
            return Some(cause);
        }
    }
    let memory = ["heap out of memory", "MemoryError", "Ran out of memory"];
    if line.contains("ENOMEM")
        || (line.contains("emory") && memory.iter().any(|n| line.contains(n)))
    {
        return Some(Cause::OutOfMemory);
    }
    let rest = line.trim_start().strip_prefix("==> Exited with status ")?;
    let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!code.is_empty()).then_some(Cause::ExitCode { code })
}

fn missing_module(line: &str) -> Option<Cause> {
    [
        ("Cannot find module '", '\''),
        ("Cannot find package '", '\''),
        ("Can't resolve '", '\''),
        ("Rollup failed to resolve import \"", '"'),
        ("ModuleNotFoundError: No module named '", '\''),
    ]
    .iter()
    .filter(|(open, _)| line.contains(open))
    .find_map(|(open, close)| between(line, open, *close).filter(|m| !m.is_empty()))
    .map(|module| Cause::MissingModule {
        module: crate::inputs::shorten(&module),
    })
}
