//! The process-wide list of secret values, and the redaction that every byte
//! we write passes through.
//!
//! A global is deliberate: a secret must be hidden from every printer, file
//! and request body in the program, and threading a redactor through each of
//! them would make forgetting one easy.

use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// What a secret is replaced with.
pub(crate) const MASK: &str = "***";

/// Shorter values cannot be secret in any useful sense, and hiding every
/// occurrence of a letter or two would make every message unreadable.
const MIN_SECRET: usize = 4;

/// Remembers `value` (and its URL-encoded and trimmed forms) as secret.
/// Returns the forms that were new, so the caller can mask them on the runner.
pub(crate) fn register(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_string(),
        value.trim().to_string(),
        url_encode(value.trim()),
    ];
    forms.retain(|f| f.trim().len() >= MIN_SECRET);
    forms.dedup();
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let new: Vec<String> = forms.into_iter().filter(|f| !secrets.contains(f)).collect();
    secrets.extend(new.iter().cloned());
    // Longest first, so a URL is hidden whole before the key inside it.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    new
}

/// Free text as it may be written: every registered secret, and anything
/// shaped like a deploy-hook key (`key=...` in a query string), a Render
/// key or a GitHub token, becomes [`MASK`]; a URL's `user:password@` goes.
pub(crate) fn redact(text: &str) -> String {
    strip_url_userinfo(&redact_token_shapes(&redact_key_params(
        &redact_registered(text),
    )))
}

/// Only the registered secret values become [`MASK`]: for text that is no
/// free text but names (an issue's marker and key, a title's branch), where
/// a branch named `rnd_pricing_page` is a branch, not a key, and must stay
/// as it is to be found again.
pub(crate) fn redact_registered(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Drops the `user:password@` of every `scheme://` URL in `text`. The
/// authority ends at the path, query or fragment, or at a character that
/// ends a URL in prose; its last `@` ends the userinfo.
fn strip_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let authority = at + "://".len();
        out.push_str(&rest[..authority]);
        let tail = &rest[authority..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "/?#\"'<>`".contains(c))
            .unwrap_or(tail.len());
        rest = &tail[tail[..end].rfind('@').map_or(0, |i| i + 1)..];
    }
    out.push_str(rest);
    out
}

/// The `user:password` of a URL or an image reference, if it has one: what
/// stands before the authority's last `@` (the authority ends at the first
/// `/`, `?` or `#`). Without a scheme, what follows the `@` must name a
/// host, so an image's `@sha256:…` digest is no userinfo.
pub(crate) fn userinfo(reference: &str) -> Option<&str> {
    userinfo_span(reference).map(|span| &reference[span])
}

/// A URL or an image reference as it may be shown: without its
/// [`userinfo`] and the `@` after it (`user:password@ghcr.io/org/app:tag`
/// is shown as `ghcr.io/org/app:tag`).
pub(crate) fn without_userinfo(reference: &str) -> String {
    match userinfo_span(reference) {
        Some(span) => format!("{}{}", &reference[..span.start], &reference[span.end + 1..]),
        None => reference.to_string(),
    }
}

fn userinfo_span(reference: &str) -> Option<std::ops::Range<usize>> {
    let start = reference.find("://").map_or(0, |i| i + "://".len());
    let rest = &reference[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let at = authority.rfind('@')?;
    (start > 0 || is_host(&authority[at + 1..])).then_some(start..start + at)
}

/// `host` or `host:port`, as a registry is named: a digest's
/// `sha256:<hex>` is not one.
fn is_host(text: &str) -> bool {
    let (host, port) = text.split_once(':').unwrap_or((text, "0"));
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
}

/// Prefixes of Render API keys and GitHub tokens. A value with one of them
/// is hidden even before it was registered: a key typed as a stray
/// command-line argument reaches clap's error message first.
const TOKEN_PREFIXES: [&str; 7] = [
    "rnd_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
];

fn redact_token_shapes(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_token_char) {
        let end = rest[start..]
            .find(|c: char| !is_token_char(c))
            .map_or(rest.len(), |e| start + e);
        let word = &rest[start..end];
        let secret = TOKEN_PREFIXES
            .iter()
            .any(|p| word.strip_prefix(p).is_some_and(|body| body.len() >= 8));
        out.push_str(&rest[..start]);
        out.push_str(if secret { MASK } else { word });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Hides the value of `?key=` / `&key=` query parameters. This catches a hook
/// URL that reaches an error message before it could be registered, such as
/// a command-line parse error.
fn redact_key_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_key_param(rest) {
        let value_start = pos + "key=".len() + 1;
        out.push_str(&rest[..value_start]);
        let tail = &rest[value_start..];
        // A key is URL-safe text; the punctuation after it is the message's.
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.~%*".contains(c)))
            .unwrap_or(tail.len());
        if end > 0 && &tail[..end] != MASK {
            out.push_str(MASK);
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn find_key_param(text: &str) -> Option<usize> {
    let q = text.find("?key=");
    let a = text.find("&key=");
    match (q, a) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shaped_values_are_hidden_before_they_are_registered() {
        assert_eq!(
            redact("unexpected argument 'rnd_Ab12Cd34Ef56Gh78' found"),
            "unexpected argument '***' found"
        );
        assert_eq!(
            redact("token ghs_0123456789abcdefXYZ, and github_pat_11AB_cdEF0123456789."),
            "token ***, and ***."
        );
        assert_eq!(
            redact("the rnd_ prefix, xrnd_Ab12Cd34Ef56"),
            "the rnd_ prefix, xrnd_Ab12Cd34Ef56"
        );
    }

    #[test]
    fn registered_values_and_their_encoded_form_are_hidden() {
        register("s3cr3t/value+x");
        assert_eq!(redact("a s3cr3t/value+x b"), "a *** b");
        assert_eq!(redact("a s3cr3t%2Fvalue%2Bx b"), "a *** b");
    }

    #[test]
    fn tiny_values_do_not_blank_out_every_message() {
        register("k");
        assert_eq!(redact("a Blueprint hook"), "a Blueprint hook");
    }

    #[test]
    fn names_shaped_like_tokens_survive_where_only_registered_values_go() {
        let marker = "recover:ci.yml:acme/rnd_platform_api:rnd_pricing_page";
        assert_eq!(redact_registered(marker), marker);
        assert_eq!(
            redact_registered("ghp_feature_branch_x"),
            "ghp_feature_branch_x"
        );
        assert_eq!(redact(marker), "recover:ci.yml:acme/***:***");
        register("Registered-Secret-9");
        assert_eq!(redact_registered("on Registered-Secret-9 x"), "on *** x");
    }

    #[test]
    fn userinfo_never_shows_in_a_url() {
        assert_eq!(
            redact(
                "pull https://user:pa55@registry.example/v2/app failed; see http://a@b.c:8080?x"
            ),
            "pull https://registry.example/v2/app failed; see http://b.c:8080?x"
        );
        assert_eq!(
            redact("<ftp://u:p@host> and \"git+https://x-access-token:zz@github.com/a/b\""),
            "<ftp://host> and \"git+https://github.com/a/b\""
        );
        assert_eq!(
            redact("a://b plain@mail.example"),
            "a://b plain@mail.example"
        );
        assert_eq!(
            userinfo("user:pa55word@ghcr.io/org/app"),
            Some("user:pa55word")
        );
        assert_eq!(userinfo("https://u@h.io/p@q"), Some("u"));
        assert_eq!(userinfo("nginx@sha256:0a1b2c3d"), None);
        for (image, shown) in [
            ("user:pa55word@ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
            ("bot@registry.local:5000/app", "registry.local:5000/app"),
            (
                "https://u:p@registry.example/app",
                "https://registry.example/app",
            ),
            ("u:p@nginx", "nginx"),
            (
                "docker.io/library/nginx@sha256:0a1b2c",
                "docker.io/library/nginx@sha256:0a1b2c",
            ),
            ("nginx@sha256:0a1b2c3d", "nginx@sha256:0a1b2c3d"),
            ("ghcr.io/org/app:tag", "ghcr.io/org/app:tag"),
        ] {
            assert_eq!(without_userinfo(image), shown, "{image}");
        }
    }

    #[test]
    fn hook_keys_are_hidden_even_when_unregistered() {
        assert_eq!(
            redact("POST https://api.render.com/deploy/srv-a?key=abc&ref=1 failed"),
            "POST https://api.render.com/deploy/srv-a?key=***&ref=1 failed"
        );
        assert_eq!(redact("x?key=abc"), "x?key=***");
        assert_eq!(redact("hook?key=abc; retry"), "hook?key=***; retry");
        assert_eq!(redact("(hook?key=abc)."), "(hook?key=***).");
        assert_eq!(redact("no key here"), "no key here");
    }
}
