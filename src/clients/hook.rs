//! Deploy hook validation, before any request. The hook URL is a secret, so
//! every message here names the check that failed and never the value.

use reqwest::Url;

use crate::clients::http::{check_host, is_loopback};
use crate::inputs::InputError;

const INPUT: &str = "deploy-hook-url";
const SHAPE: &str = "it must look like https://api.render.com/deploy/srv-…?key=…; copy it again from the service's Settings → Deploy Hook";

#[derive(Clone)]
pub struct Hook {
    /// The URL with surrounding whitespace removed.
    pub url: Url,
    /// `srv-…`, or `exs-…` for a Blueprint hook.
    pub id: String,
    pub key: String,
    pub blueprint: bool,
}

/// The key stays out of any debug print.
impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("url", &crate::clients::http::display_url(&self.url))
            .field("id", &self.id)
            .field("key", &crate::output::secrets::MASK)
            .field("blueprint", &self.blueprint)
            .finish()
    }
}

/// Checks a raw hook value. Returns the hook and warnings; the warnings
/// never contain the secret.
pub fn parse(raw: &str) -> Result<(Hook, Vec<String>), InputError> {
    let err = |m: String| InputError::new(INPUT, m);
    let mut warnings = Vec::new();
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(err(format!(
            "is empty: the secret is unset or empty in this repository. Set RENDER_DEPLOY_HOOK; {SHAPE}"
        )));
    }
    if trimmed.len() != raw.len() {
        warnings.push(format!(
            "{INPUT} has {} around it; render-pilot ignores it, but `curl \"$RENDER_DEPLOY_HOOK\"` fails with HTTP 000 on the same secret. Save the secret again without it",
            describe_whitespace(&raw[..raw.len() - raw.trim_start().len()], &raw[raw.trim_end().len()..])
        ));
    }
    if let Some((i, c)) = trimmed.char_indices().find(|(_, c)| c.is_whitespace()) {
        let place = if trimmed[..i].contains("key=") {
            "inside the key"
        } else {
            "inside the URL"
        };
        return Err(err(format!(
            "contains {} {place} (character {}); save the secret again as one line without spaces",
            char_name(c),
            trimmed[..i].chars().count() + 1
        )));
    }
    if !trimmed.is_ascii() {
        return Err(err(format!("contains non-ASCII characters; {SHAPE}")));
    }
    let url = Url::parse(trimmed).map_err(|e| {
        err(match e {
            url::ParseError::RelativeUrlWithoutBase => {
                format!("is not an absolute URL (no https:// scheme); {SHAPE}")
            }
            other => format!("is not a valid URL ({other}); {SHAPE}"),
        })
    })?;
    check_host(INPUT, &url)?;
    let host = url.host_str().unwrap_or_default();
    if !is_loopback(&url) && host != "api.render.com" {
        return Err(err(format!(
            "points at another host than api.render.com; {SHAPE}"
        )));
    }
    let id = url
        .path()
        .strip_prefix("/deploy/")
        .filter(|id| !id.contains('/'))
        .ok_or_else(|| err(format!("has a path other than /deploy/srv-…; {SHAPE}")))?
        .to_string();
    // Neither the path nor the id is echoed: a mistyped hook
    // (`srv-…&key=…`) carries the key in its path.
    let blueprint = id.starts_with("exs-");
    if !blueprint && !is_service_id(&id) {
        return Err(err(format!(
            "names no service id after /deploy/ (srv- followed by lower-case letters and digits); {SHAPE}"
        )));
    }
    if blueprint {
        warnings.push(format!(
            "{INPUT} is a Blueprint hook (exs-…): it syncs render.yaml and deploys no code when render.yaml is unchanged. Use the service's own deploy hook (…/deploy/srv-…) to deploy code"
        ));
    }
    let key = url
        .query_pairs()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| err(format!("has no key= parameter; {SHAPE}")))?;
    Ok((
        Hook {
            url,
            id,
            key,
            blueprint,
        },
        warnings,
    ))
}

/// Render ids are `srv-` followed by lower-case letters and digits.
pub(crate) fn is_service_id(id: &str) -> bool {
    crate::clients::render::is_render_id("srv-", id)
}

fn char_name(c: char) -> &'static str {
    match c {
        '\n' => "a newline",
        '\r' => "a carriage return",
        '\t' => "a tab",
        ' ' => "a space",
        _ => "a whitespace character",
    }
}

fn describe_whitespace(lead: &str, trail: &str) -> String {
    let name = |s: &str| {
        if s.contains('\n') {
            "a newline"
        } else {
            s.chars().next().map_or("whitespace", char_name)
        }
    };
    match (lead.is_empty(), trail.is_empty()) {
        (false, true) => format!("leading {}", name(lead)),
        (true, false) => format!("a trailing {}", name(trail).trim_start_matches("a ")),
        _ => format!("leading {} and trailing {}", name(lead), name(trail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "https://api.render.com/deploy/srv-abc123?key=K3y_x";

    #[test]
    fn a_debug_print_shows_no_key() {
        let (hook, _) = parse(GOOD).unwrap();
        let shown = format!("{hook:?}");
        assert!(!shown.contains("K3y_x"), "{shown}");
        assert!(shown.contains("srv-abc123"), "{shown}");
    }

    #[test]
    fn a_good_hook() {
        let (hook, warnings) = parse(GOOD).unwrap();
        assert_eq!(hook.id, "srv-abc123");
        assert_eq!(hook.key, "K3y_x");
        assert!(warnings.is_empty());
        assert!(parse("http://127.0.0.1:9000/deploy/srv-a1?key=k").is_ok());
        assert!(parse("http://localhost:9000/deploy/srv-a1?key=k").is_ok());
        assert!(parse("http://[::1]:9000/deploy/srv-a1?key=k").is_ok());
    }

    #[test]
    fn a_trailing_newline_is_named_and_forgiven() {
        let (hook, warnings) = parse(&format!("{GOOD}\n")).unwrap();
        assert_eq!(hook.key, "K3y_x");
        assert!(warnings[0].contains("a trailing newline"), "{warnings:?}");
        assert!(!warnings[0].contains("K3y_x"));
    }

    #[test]
    fn bad_hooks_name_the_check_and_never_the_secret() {
        let cases = [
            ("", "is empty"),
            ("   \n", "is empty"),
            (
                "https://api.render.com/deploy/srv-abc?key=K3y x",
                "a space inside the key",
            ),
            (
                "https://api.render.com/deploy/srv-abc?key=K3y\nx",
                "a newline inside the key",
            ),
            (
                "api.render.com/deploy/srv-abc?key=K3y",
                "not an absolute URL",
            ),
            ("deploy/srv-abc?key=K3y", "not an absolute URL"),
            (
                "http://api.render.com/deploy/srv-abc?key=K3y",
                "plain http://",
            ),
            ("ftp://api.render.com/deploy/srv-abc?key=K3y", "scheme ftp"),
            (
                "https://api.render.co/deploy/srv-abc?key=K3y",
                "points at another host",
            ),
            (
                "https://api.render.com/v1/services/srv-abc?key=K3y",
                "a path other than /deploy/srv-",
            ),
            (
                "https://api.render.com/deploy/srv-abc&key=K3y",
                "names no service id",
            ),
            (
                "https://api.render.com/deploy/srv-abc/key=K3y",
                "a path other than /deploy/srv-",
            ),
            (
                "https://api.render.com/deploy/srv-ABC!?key=K3y",
                "names no service id",
            ),
            (
                "https://api.render.com/deploy/srv-?key=K3y",
                "names no service id",
            ),
            ("https://api.render.com/deploy/srv-abc", "no key="),
            ("https://api.render.com/deploy/srv-abc?key=", "no key="),
            ("https://api.render.com/deploy/srv-abc?key=Kéy", "non-ASCII"),
        ];
        for (raw, want) in cases {
            let error = parse(raw).unwrap_err().to_string();
            assert!(error.contains(want), "{raw:?}: {error}");
            assert!(error.starts_with("deploy-hook-url:"), "{error}");
            assert!(!error.contains("K3y"), "secret in {error}");
        }
    }

    #[test]
    fn blueprint_hooks_warn() {
        let (hook, warnings) = parse("https://api.render.com/deploy/exs-abc?key=k").unwrap();
        assert!(hook.blueprint);
        assert!(warnings[0].contains("Blueprint hook"));
    }

    /// Found by fuzzing: a key that is also ordinary text ("loy/" is in
    /// "deploy/") must still leave the warnings free of `key=`.
    #[test]
    fn fuzz_regression_key_that_is_ordinary_text() {
        let (hook, warnings) = parse("http://127.0.0.1:9/deploy/exs-ak?key=loy/\0\0").unwrap();
        assert!(hook.blueprint);
        assert!(warnings.iter().all(|w| !w.contains("key=")));
    }

    #[test]
    fn service_ids() {
        assert!(is_service_id("srv-d0abc123xyz"));
        for bad in ["srv-", "srv-ABC", "dep-abc", "srv-a b", "srv-a/b", ""] {
            assert!(!is_service_id(bad), "{bad}");
        }
    }
}
