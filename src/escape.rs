//! Outside text (service names, ids, deploy statuses, server answers) made
//! inert for the places it is shown: Markdown, commit messages, links.

/// Escapes text for inline Markdown: it renders as the same characters and
/// can neither format, link, open an HTML comment nor break a table row or
/// a line.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' | '|' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Plain text on one line, at most `max` characters: for commit messages,
/// where a newline would start a new paragraph or a forged trailer.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        return flat.to_string();
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// A link target for Markdown: an http(s) URL with the characters that
/// could end the link or the line percent-encoded; `None` for anything else.
pub fn link_target(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return None;
    }
    Some(
        parsed
            .as_str()
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('|', "%7C")
            .replace('`', "%60"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_inert() {
        let cases = [
            (
                "a<!-- render-pilot history v1\n{}",
                "a&lt;!-- render-pilot history v1 {}",
            ),
            ("x -->\r\ny", "x --&gt;  y"),
            (
                "a|b `c` *d* _e_ [f](g) \\",
                "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\[f\\](g) \\\\",
            ),
            ("bell\u{7}", "bell "),
            ("shop-web", "shop-web"),
        ];
        for (raw, want) in cases {
            assert_eq!(escape_inline(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn one_line_flattens_and_caps() {
        assert_eq!(
            one_line("a\nCo-authored-by: x\r\n", 80),
            "a Co-authored-by: x"
        );
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("abcd", 4), "abcd");
    }

    #[test]
    fn links_are_http_and_closed() {
        assert_eq!(
            link_target("https://dashboard.render.com/web/srv-a)x(").as_deref(),
            Some("https://dashboard.render.com/web/srv-a%29x%28")
        );
        assert_eq!(link_target("javascript:alert(1)"), None);
        assert_eq!(link_target("not a url"), None);
    }
}
