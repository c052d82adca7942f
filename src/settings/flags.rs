//! Messages name inputs as the action gives them (`wait: false`); on a
//! terminal the same inputs are flags (`--wait false`). One translation, at
//! the edge, so every message is written once.

use super::table::INPUTS;

/// Values a message sets an input to, which become the flag's argument.
const VALUES: [&str; 7] = [
    "true",
    "false",
    "all",
    "never",
    "always",
    "auto",
    "on-change",
];

/// `text` with inputs spoken as flags: a leading `name: ` (the input an
/// error is about) becomes `--name: `, `name: value` becomes `--name value`
/// for the values messages suggest (and `${{ … }}` becomes `<…>`), and a
/// hyphenated input named alone becomes its flag. Single-word inputs named
/// alone are left as they are: "wait" or "issues" in a sentence is a word.
pub(crate) fn as_flags(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    let mut at_start = true;
    while !rest.is_empty() {
        let boundary = out
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || "-_./$".contains(c)));
        if let Some((name, after)) = boundary.then(|| input_at(rest)).flatten() {
            if let Some(value) = after.strip_prefix(": ") {
                if at_start {
                    out.push_str(&format!("--{name}: "));
                    rest = value;
                    at_start = false;
                    continue;
                }
                if let Some((shown, tail)) = suggested_value(value) {
                    out.push_str(&format!("--{name} {shown}"));
                    rest = tail;
                    continue;
                }
            }
            if name.contains('-') {
                out.push_str("--");
            }
            out.push_str(name);
            rest = after;
            at_start = false;
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
        at_start = false;
    }
    out
}

/// The input whose name starts `text` and ends at a word's end, longest
/// first, with what follows it.
fn input_at(text: &str) -> Option<(&'static str, &str)> {
    INPUTS
        .iter()
        .map(|i| i.name)
        .filter(|name| text.starts_with(name))
        .filter(|name| {
            text[name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
        })
        .max_by_key(|name| name.len())
        .map(|name| (name, &text[name.len()..]))
}

/// A value a message suggests for an input: one of [`VALUES`], a number or
/// duration, or a workflow expression (shown as `<…>`, a terminal has none).
fn suggested_value(text: &str) -> Option<(String, &str)> {
    if let Some(expression) = text.strip_prefix("${{") {
        let end = expression.find("}}")?;
        let inner = expression[..end].trim();
        let name = inner.rsplit('.').next().unwrap_or(inner);
        return Some((format!("<{name}>"), &expression[end + 2..]));
    }
    let end = text
        .find(|c: char| c.is_whitespace() || ",;)".contains(c))
        .unwrap_or(text.len());
    let word = text[..end].trim_end_matches('.');
    let known = VALUES.contains(&word)
        || (!word.is_empty() && word.chars().next().is_some_and(|c| c.is_ascii_digit()));
    known.then(|| (word.to_string(), &text[word.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_become_flags() {
        for (action, terminal) in [
            (
                "wait: needs render-api-key: the deploy hook key cannot read deploy status. Add the API key (secret RENDER_API_KEY) or set wait: false",
                "--wait: needs --render-api-key: the deploy hook key cannot read deploy status. Add the API key (secret RENDER_API_KEY) or set --wait false",
            ),
            (
                "github-token: is not set, and issues is true; pass github-token: ${{ github.token }} (with issues: write), or set issues: false",
                "--github-token: is not set, and issues is true; pass --github-token <token> (with issues: write), or set --issues false",
            ),
            (
                "service-id: is srv-a, but deploy-hook-url deploys srv-b.",
                "--service-id: is srv-a, but --deploy-hook-url deploys srv-b.",
            ),
            ("timeout: use timeout: 15m.", "--timeout: use --timeout 15m."),
            (
                "services: all, or commit-mode: never",
                "--services: all, or --commit-mode never",
            ),
        ] {
            assert_eq!(as_flags(action), terminal);
        }
    }

    #[test]
    fn look_alikes_stay_as_they_are() {
        for text in [
            "render-pilot failed: my-service-id is RENDER_API_KEY",
            "https://x.example/render-api-key?wait=1",
            "the wait ended; the branch moved on",
            "the-deploy-hook-url and x-service-id",
            "",
        ] {
            assert_eq!(as_flags(text), text);
        }
    }
}
