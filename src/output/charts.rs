//! Mermaid diagrams for step summaries and the status page: pure functions
//! from data to text, which GitHub draws in Markdown files and job
//! summaries. Names from outside go through [`label`], so a service name
//! cannot end a statement, start a comment or pose as a keyword. Every kind
//! of chart is parsed by the real Mermaid library in CI (`scripts/mermaid-check`
//! reads the snapshots below).

use std::fmt::Write;

/// One bar of a Gantt chart: seconds from the chart's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub name: String,
    pub start: i64,
    pub seconds: i64,
    /// A failure: drawn in red.
    pub crit: bool,
}

/// Text from outside, safe inside any Mermaid statement: characters that
/// end or open something (`:` `;` `#` `%` quotes, brackets, braces, angle
/// brackets, backticks, line breaks) become look-alikes or spaces, and the
/// label is kept short.
pub fn label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(48) {
        out.push(match c {
            ':' => '∶',
            ';' => '；',
            '#' => '＃',
            '%' => '％',
            '"' | '`' => '\'',
            '<' | '[' | '{' => '(',
            '>' | ']' | '}' => ')',
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        });
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.is_empty() {
        "(unnamed)".into()
    } else {
        out
    }
}

/// A Gantt chart of one deploy's phases, as render-pilot saw them. Times
/// are seconds from the start, drawn as minutes and seconds.
pub fn deploy_phases(bars: &[Bar]) -> String {
    let mut out = gantt_header("Deploy phases", "%M:%S");
    out.push_str("    section Deploy\n");
    for (i, bar) in bars.iter().enumerate() {
        push_bar(&mut out, &format!("p{i}"), bar);
    }
    out
}

/// A state timeline: one section per service, one bar per state period.
/// `services` holds (name, periods); periods are seconds since the Unix
/// epoch, so the chart is the same bytes for the same history.
pub fn state_timeline(services: &[(String, Vec<Bar>)]) -> String {
    let mut out = gantt_header("Service states", "%m-%d %H:%M");
    for (s, (name, bars)) in services.iter().enumerate() {
        let _ = writeln!(out, "    section {}", label(name));
        for (i, bar) in bars.iter().enumerate() {
            push_bar(&mut out, &format!("s{s}b{i}"), bar);
        }
    }
    out
}

fn gantt_header(title: &str, axis: &str) -> String {
    format!("gantt\n    title {title}\n    dateFormat X\n    axisFormat {axis}\n")
}

fn push_bar(out: &mut String, id: &str, bar: &Bar) {
    let tag = if bar.crit { "crit, " } else { "" };
    let _ = writeln!(
        out,
        "    {} :{tag}{id}, {}, {}s",
        label(&bar.name),
        bar.start,
        bar.seconds.max(1)
    );
}

/// A bar chart with one bar per labelled value, e.g. recent deploy
/// durations in seconds or response times in milliseconds.
pub fn bars(title: &str, axis: &str, values: &[(String, u64)]) -> String {
    let names: Vec<String> = values
        .iter()
        .map(|(n, _)| format!("\"{}\"", label(n)))
        .collect();
    let numbers: Vec<String> = values.iter().map(|(_, v)| v.to_string()).collect();
    let top = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    format!(
        "xychart-beta\n    title \"{}\"\n    x-axis [{}]\n    y-axis \"{}\" 0 --> {top}\n    bar [{}]\n",
        label(title),
        names.join(", "),
        label(axis),
        numbers.join(", ")
    )
}

/// A pie chart of counts, e.g. the fleet's services per state; empty
/// slices are left out.
pub fn pie(title: &str, slices: &[(String, u64)]) -> String {
    let mut out = format!("pie showData\n    title {}\n", label(title));
    for (name, count) in slices.iter().filter(|(_, c)| *c > 0) {
        let _ = writeln!(out, "    \"{}\" : {count}", label(name));
    }
    out
}

/// A Markdown code block GitHub draws as a diagram.
pub fn fenced(diagram: &str) -> String {
    format!("```mermaid\n{diagram}```\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "shop: api; #1 %%{init} \"x\" `y` <b>[z]\nsection evil\ntitle x";

    fn bar(name: &str, start: i64, seconds: i64, crit: bool) -> Bar {
        Bar {
            name: name.into(),
            start,
            seconds,
            crit,
        }
    }

    #[test]
    fn labels_cannot_break_a_statement() {
        let safe = label(HOSTILE);
        for c in [
            ':', ';', '#', '%', '"', '`', '<', '>', '[', ']', '{', '}', '\n',
        ] {
            assert!(!safe.contains(c), "{c:?} in {safe}");
        }
        assert_eq!(label("  \n "), "(unnamed)");
        assert_eq!(label("shop-web"), "shop-web");
    }

    #[test]
    fn deploy_phases_chart() {
        insta::assert_snapshot!(deploy_phases(&[
            bar("queued", 0, 2, false),
            bar("build", 2, 95, false),
            bar("pre-deploy", 97, 12, false),
            bar("update", 109, 30, false),
            bar("update_failed", 139, 0, true),
        ]));
    }

    #[test]
    fn state_timeline_chart_with_hostile_names() {
        insta::assert_snapshot!(state_timeline(&[
            (
                "shop-web".into(),
                vec![bar("healthy", 1_764_400_000, 7200, false)]
            ),
            (
                HOSTILE.into(),
                vec![
                    bar("healthy", 1_764_400_000, 3600, false),
                    bar("failed", 1_764_403_600, 1800, true),
                    bar("degraded", 1_764_405_400, 1800, true),
                ]
            ),
        ]));
    }

    #[test]
    fn pie_chart() {
        insta::assert_snapshot!(pie(
            "Services by state",
            &[
                ("healthy".into(), 4),
                ("failed".into(), 1),
                ("deploying".into(), 0),
                (HOSTILE.into(), 2)
            ]
        ));
    }

    #[test]
    fn bar_charts_with_hostile_names() {
        insta::assert_snapshot!(bars(
            "Response time",
            "ms",
            &[("shop-web".into(), 120), (HOSTILE.into(), 1890)]
        ));
        insta::assert_snapshot!(
            "durations",
            bars(
                "Last deploys",
                "seconds",
                &[("dep-1".into(), 170), ("dep-2".into(), 192)]
            )
        );
    }
}
