//! Outside text (log lines, job, branch, workflow and service names,
//! statuses, server answers) made inert for the places it is shown:
//! Markdown, commit messages, links.

/// `text` on one line, with every character Markdown or HTML could read as
/// markup escaped: `<` and `>` (so no `<!--` comment or tag), backticks,
/// pipes, `*` and link brackets; line breaks and control characters become
/// spaces.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `_` stays: GitHub never reads it as emphasis inside a word, and
            // statuses like build_failed stay readable in the raw file.
            '`' | '|' | '*' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as an inline code span that it cannot close: the fence is longer
/// than any run of backticks inside. Pipes are escaped, which GitHub applies
/// inside code spans in tables too.
pub fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` as a fenced code block whose fence is longer than any run of
/// backticks inside, so no line can close it early.
pub fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", text.trim_end_matches('\n'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_become_markup() {
        assert_eq!(
            escape_inline("a <!-- render-pilot:x --> `b` | *c* _d_ [e](f)\nnext"),
            "a &lt;!-- render-pilot:x --&gt; \\`b\\` \\| \\*c\\* _d_ \\[e\\](f) next"
        );
        assert_eq!(escape_inline("plain main"), "plain main");
    }

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b\nc"), "`a\\|b c`");
    }

    #[test]
    fn a_fence_outlasts_every_backtick_run() {
        assert_eq!(fenced("x"), "```text\nx\n```\n");
        let inside = "a ```` b\n```";
        let block = fenced(inside);
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
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
}
