//! Outside text (log lines, job, branch, workflow and service names,
//! statuses, server answers) made inert for the places it is shown:
//! Markdown, commit messages, links.
//!
//! Where text must be cut apart so GitHub does not act on it (a mention,
//! a bare URL, a closing keyword), a WORD JOINER (U+2060) goes in: it is
//! invisible, never a line break, and neither a word character nor
//! whitespace, so what a reader sees is unchanged while GitHub's patterns no
//! longer match.

/// Invisible, and breaks `@team`, `https://` and `fixes #1` for GitHub.
pub(crate) const JOINER: char = '\u{2060}';

/// Bidirectional controls reorder what a reader sees (a right-to-left
/// override shows `exe.txt` as `txt.exe`): outside text never carries them
/// anywhere render-pilot prints it.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// `text` without bidirectional controls.
pub(crate) fn strip_bidi(text: &str) -> String {
    text.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// `text` without terminal escape sequences and control characters: what
/// a terminal would act on rather than show. CSI (`ESC [` … a final byte:
/// colours, cursor moves, erasing), OSC (`ESC ]` … `BEL` or `ESC \`:
/// OSC-8 hyperlinks, window titles, the clipboard), DCS, SOS, PM and APC
/// strings, the two-byte `ESC` forms, their 8-bit C1 forms, and every other
/// control character go; tabs become spaces. A hyperlink keeps its text.
pub(crate) fn strip_escapes(text: &str) -> String {
    // Controls are C0 bytes, DEL, and C1 characters (encoded from 0xC2).
    let control = |b: &u8| *b < 0x20 || *b == 0x7f || *b == 0xc2;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|b| control(&b)) {
        out.push_str(&rest[..at]);
        rest = skip_control(&rest[at..], &mut out);
    }
    out.push_str(rest);
    out
}

/// Past the control character (and the sequence it starts) at the start
/// of `text`; a tab leaves a space in `out`, a C2 byte that starts no C1
/// control its character.
fn skip_control<'a>(text: &'a str, out: &mut String) -> &'a str {
    let mut chars = text.chars();
    let Some(c) = chars.next() else {
        return text;
    };
    let introducer = match c {
        '\u{1b}' => chars.next(),
        // C1: 0x9B is CSI, 0x9D OSC, 0x90 DCS, 0x98 SOS, 0x9E PM, 0x9F APC.
        '\u{9b}' => Some('['),
        '\u{9d}' => Some(']'),
        '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => Some('P'),
        '\t' => {
            out.push(' ');
            None
        }
        c if c.is_control() => None,
        c => {
            out.push(c);
            None
        }
    };
    match introducer {
        // Parameters and intermediates, then one final byte.
        Some('[') => {
            for n in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&n) {
                    break;
                }
            }
        }
        // A string, up to BEL or the string terminator (ESC \, or C1 ST).
        Some(']' | 'P' | 'X' | '^' | '_') => {
            while let Some(n) = chars.next() {
                if n == '\u{7}' || n == '\u{9c}' {
                    break;
                }
                if n == '\u{1b}' {
                    if chars.as_str().starts_with('\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        // `ESC (`, `ESC )`… name a character set in the next byte.
        Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ') => {
            chars.next();
        }
        _ => {}
    }
    chars.as_str()
}

/// Whether GitHub would read `c`, followed by `rest` and preceded by
/// `previous`, as the start of a mention (`@user`, `@org/team`, an e-mail
/// address) or of a bare link (`https://…`, `www.…`): then a [`JOINER`]
/// goes right after `c`.
fn starts_live_text(previous: Option<char>, c: char, rest: &str) -> bool {
    let word_start = previous.is_none_or(|p| !p.is_alphanumeric());
    match c {
        '@' => rest.starts_with(|n: char| n.is_ascii_alphanumeric()),
        ':' => rest.starts_with("//"),
        'w' | 'W' => word_start && rest.get(..3).is_some_and(|r| r.eq_ignore_ascii_case("ww.")),
        _ => false,
    }
}

/// `text` on one line, with every character Markdown or HTML could read as
/// markup escaped: `<` and `>` (so no `<!--` comment or tag), backticks,
/// pipes, `*` and link brackets; line breaks and control characters become
/// spaces, bidirectional controls go, and mentions and bare URLs are cut
/// (see [`JOINER`]) so they neither notify anyone nor become links.
pub(crate) fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = None;
    for (i, c) in text.char_indices() {
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
            c if is_bidi_control(c) => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
        if starts_live_text(previous, c, &text[i + c.len_utf8()..]) {
            out.push(JOINER);
        }
        previous = Some(c);
    }
    out
}

/// `text` as an inline code span that it cannot close: the fence is longer
/// than any run of backticks inside. Pipes are escaped, which GitHub applies
/// inside code spans in tables too.
pub(crate) fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .filter(|c| !is_bidi_control(*c))
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
pub(crate) fn fenced(text: &str) -> String {
    let text = strip_bidi(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

/// Plain text on one line, at most `max` characters, without bidirectional
/// controls: for titles and commit messages, where a newline would start a
/// new paragraph or a forged trailer.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        return flat.to_string();
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `markdown` within `budget` bytes (so within as many characters, however
/// GitHub counts them): whole when it fits, else cut at the last line that
/// fits (on a character boundary when one line is too long), with a code
/// fence left open by the cut closed again, and `note` after it. Nothing
/// when even the note does not fit.
pub(crate) fn fit(markdown: &str, budget: usize, note: &str) -> String {
    if markdown.len() <= budget {
        return markdown.to_string();
    }
    if budget < note.len() {
        return String::new();
    }
    let mut room = budget - note.len();
    loop {
        let mut cut = room;
        while !markdown.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = markdown[..cut].rfind('\n').map_or(cut, |i| i + 1);
        let kept = &markdown[..cut];
        let close = match open_fence(kept) {
            Some(fence) if kept.ends_with('\n') => format!("{fence}\n"),
            Some(fence) => format!("\n{fence}\n"),
            None => String::new(),
        };
        if cut == 0 || kept.len() + close.len() + note.len() <= budget {
            return format!("{kept}{close}{note}");
        }
        room = cut - 1;
    }
}

/// The backtick fence still open at the end of `markdown`, if any.
fn open_fence(markdown: &str) -> Option<String> {
    let mut open: Option<usize> = None;
    for line in markdown.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match open {
            _ if ticks < 3 => {}
            None => open = Some(ticks),
            Some(opened) if ticks >= opened && line[ticks..].trim().is_empty() => open = None,
            Some(_) => {}
        }
    }
    open.map(|ticks| "`".repeat(ticks))
}

/// The words with which a commit on the default branch closes an issue
/// (`fixes #1`, `Closes: owner/repo#2`), in any case.
const CLOSING_KEYWORDS: [&str; 9] = [
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

/// Outside text (a service name) for a commit message: [`one_line`], with
/// every closing keyword and mention cut by a [`JOINER`], so a name such as
/// `api (fixes #1)` closes no issue and `@team` notifies nobody. Keywords
/// are found as GitHub's ASCII word boundaries see them, whatever follows.
pub(crate) fn commit_text(text: &str, max: usize) -> String {
    let line = one_line(text, max);
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(line.len());
    let mut previous = None;
    for (i, c) in line.char_indices() {
        out.push(c);
        let rest = &line[i + c.len_utf8()..];
        let word_start = is_word(c) && previous.is_none_or(|p| !is_word(p));
        let word = if word_start {
            &line[i..i + rest.find(|n| !is_word(n)).map_or(line.len() - i, |e| e + 1)]
        } else {
            ""
        };
        let keyword = CLOSING_KEYWORDS
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k));
        if keyword || (c == '@' && starts_live_text(previous, c, rest)) {
            out.push(JOINER);
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_go_and_their_text_stays() {
        for (raw, shown) in [
            ("\u{1b}[1;31mred\u{1b}[0m text", "red text"),
            (
                "see \u{1b}]8;;https://evil.example/x\u{1b}\\the docs\u{1b}]8;;\u{1b}\\ now",
                "see the docs now",
            ),
            ("\u{1b}]8;;https://x\u{7}link\u{1b}]8;;\u{7}", "link"),
            ("\u{1b}]0;new title\u{7}after", "after"),
            ("\u{1b}]52;c;Y2xpcA==\u{7}clipboard", "clipboard"),
            ("\u{1b}P1$qm\u{1b}\\dcs", "dcs"),
            ("\u{9b}31mc1\u{9d}8;;u\u{9c}text", "c1text"),
            ("a\u{1b}(Bb\u{1b}7c\u{1b}[2J\u{1b}[Hd", "abcd"),
            (
                "bell\u{7} nul\u{0} del\u{7f} tab\tend",
                "bell nul del tab end",
            ),
            ("plain ✓ text", "plain ✓ text"),
            ("cut \u{1b}[", "cut "),
            ("cut \u{1b}]8;;never ends", "cut "),
            ("\u{1b}]0;t\u{1b}x kept", "x kept"),
        ] {
            assert_eq!(strip_escapes(raw), shown, "{raw:?}");
        }
    }

    /// The text with each joiner shown as `‸`, to read the tests.
    fn shown(text: &str) -> String {
        text.replace(JOINER, "‸")
    }

    #[test]
    fn inline_text_cannot_become_markup() {
        assert_eq!(
            escape_inline("a <!-- render-pilot:x --> `b` | *c* _d_ [e](f)\nnext"),
            "a &lt;!-- render-pilot:x --&gt; \\`b\\` \\| \\*c\\* _d_ \\[e\\](f) next"
        );
        assert_eq!(escape_inline("plain main"), "plain main");
    }

    #[test]
    fn inline_text_mentions_nobody_and_links_nowhere() {
        insta::assert_snapshot!(
            [
                "ping @team and @acme/ops",
                "mail ops@example.com",
                "see https://evil.example/login or http://x.y",
                "visit www.evil.example, WWW.Evil.example or (www.x.io)",
                "a @ b, email@, wwwx.com, awww.example, ftp://host",
            ]
            .map(|t| shown(&escape_inline(t)))
            .join("\n"),
            @r"
        ping @‸team and @‸acme/ops
        mail ops@‸example.com
        see https:‸//evil.example/login or http:‸//x.y
        visit w‸ww.evil.example, W‸WW.Evil.example or (w‸ww.x.io)
        a @ b, email@, wwwx.com, awww.example, ftp:‸//host
        "
        );
    }

    #[test]
    fn bidirectional_controls_never_pass() {
        let hostile = "invoice\u{202E}fdp.exe \u{2066}a\u{2069} \u{200F}b\u{200E} \u{061C}c";
        for shown in [
            escape_inline(hostile),
            code(hostile),
            fenced(hostile),
            one_line(hostile, 80),
            commit_text(hostile, 80),
            strip_bidi(hostile),
        ] {
            assert!(!shown.chars().any(is_bidi_control), "{shown:?}");
            assert!(shown.contains("invoicefdp.exe a b c"), "{shown:?}");
        }
        assert!(is_bidi_control('\u{202A}') && !is_bidi_control('\u{200D}'));
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

    #[test]
    fn fitting_cuts_on_a_line_and_closes_an_open_fence() {
        let note = "\n… (cut)\n";
        assert_eq!(fit("short", 100, note), "short");
        let text = format!("intro\n\n{}after\n", fenced(&"log line\n".repeat(50)));
        let cut = fit(&text, 120, note);
        assert!(cut.len() <= 120, "{}", cut.len());
        assert!(cut.starts_with("intro\n\n```text\nlog line\n"), "{cut}");
        assert!(cut.ends_with("log line\n```\n\n… (cut)\n"), "{cut}");
        assert_eq!(open_fence(&cut), None);
        // One long line: cut on a character boundary.
        let cut = fit(&"é".repeat(100), 51, note);
        assert!(cut.len() <= 51 && cut.ends_with(note), "{cut}");
        assert_eq!(fit("abc", 3, "long note"), "abc");
        assert_eq!(fit("abcdef", 3, "long note"), "");
    }

    #[test]
    fn commit_text_closes_no_issue_and_mentions_nobody() {
        insta::assert_snapshot!(
            [
                "api (fixes #1)",
                "web Closes: #2",
                "FIXED acme/shop#3 and resolves https://github.com/acme/shop/issues/4",
                "close #5, closed #6, fix #7, resolve #8, resolved #9, RESOLVES #10",
                "fix-api, hotfix, fix_api, prefixes, closer, éfixes #11",
                "owner @team, a@b.c, @",
            ]
            .map(|t| shown(&commit_text(t, 200)))
            .join("\n"),
            @r"
        api (f‸ixes #1)
        web C‸loses: #2
        F‸IXED acme/shop#3 and r‸esolves https://github.com/acme/shop/issues/4
        c‸lose #5, c‸losed #6, f‸ix #7, r‸esolve #8, r‸esolved #9, R‸ESOLVES #10
        f‸ix-api, hotfix, fix_api, prefixes, closer, éf‸ixes #11
        owner @‸team, a@‸b.c, @
        "
        );
        assert_eq!(
            commit_text("shop-web\nCo-authored-by: x", 80),
            "shop-web Co-authored-by: x"
        );
    }
}
