//! Mermaid diagrams for step summaries and the status page: pure functions
//! from data to text, which GitHub draws in Markdown files and job
//! summaries. Names from outside go through [`label`], so a service name
//! cannot end a statement, start a comment or pose as a keyword.
//!
//! GitHub upgrades its Mermaid without notice, so every chart is written in
//! forms that Mermaid 10.9, 11 and 12 draw alike, and CI draws each one
//! with all three (`scripts/mermaid-draw`, which reads the snapshots
//! below): times in milliseconds (`dateFormat x`; 11.12 and later read
//! `dateFormat X` seconds as milliseconds), settings in front matter, and
//! one colour per state set through theme variables.

use std::fmt::Write;

use serde_json::json;

/// The most characters one chart may have: Mermaid refuses a diagram over
/// 50,000 (`maxTextSize`), and a summary holds several charts.
const CHART_BUDGET: usize = 40_000;
/// The most services a state timeline draws; more would not read.
pub(crate) const TIMELINE_SERVICES: usize = 50;
/// The most bars a service's row keeps (its newest), so a long history
/// cannot make a row of slivers.
const ROW_BARS: usize = 40;
/// The width GitHub gives a chart, a little under the 800 px the drawing
/// check uses, so a label judged to fit does.
const WIDTH: f64 = 760.0;
/// Room Mermaid leaves right of a gantt's bars.
const RIGHT_PADDING: f64 = 75.0;
/// Service names in a timeline's margin are cut to this many characters.
const SECTION_CHARS: usize = 28;
/// A zero-width space: Mermaid needs a task name, and a bar too narrow
/// for its name gets this one rather than a label over its neighbour.
const NO_LABEL: &str = "\u{200b}";
/// Text inside bars: dark, since every bar colour is light enough for it.
const BAR_TEXT: &str = "#1f2328";

/// The colour of each service state, the same in every chart (pie, gantt)
/// and matching the table's emoji: healthy 🟢 green, deploying 🔵 blue,
/// degraded 🟠 amber, failed 🔴 red, suspended grey, unknown ⚪ near white.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tone {
    /// The state's word; a gantt task's id starts with it, so the drawing
    /// check knows which colour the bar must have.
    word: &'static str,
    fill: &'static str,
    border: &'static str,
    /// A gantt has four bar colours, chosen by tags (none, `active`,
    /// `done`, `crit`); degraded and unknown take the two combinations
    /// with `crit`, which the theme CSS colours.
    tags: &'static str,
}

impl Tone {
    pub const HEALTHY: Tone = Tone::new("healthy", "#4ac26b", "#1a7f37", "");
    pub const DEPLOYING: Tone = Tone::new("deploying", "#54aeff", "#0969da", "active, ");
    pub const DEGRADED: Tone = Tone::new("degraded", "#d4a72c", "#9a6700", "crit, active, ");
    pub const FAILED: Tone = Tone::new("failed", "#fa4549", "#cf222e", "crit, ");
    pub const SUSPENDED: Tone = Tone::new("suspended", "#afb8c1", "#6e7781", "done, ");
    pub const UNKNOWN: Tone = Tone::new("unknown", "#eaeef2", "#8c959f", "crit, done, ");

    const fn new(
        word: &'static str,
        fill: &'static str,
        border: &'static str,
        tags: &'static str,
    ) -> Tone {
        Tone {
            word,
            fill,
            border,
            tags,
        }
    }
}

/// One bar of a Gantt chart, in milliseconds since the Unix epoch, so the
/// axis shows the reader's clock. A bar of no length is a milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bar {
    pub name: String,
    pub start_ms: i64,
    pub ms: i64,
    pub tone: Tone,
}

/// Text from outside, safe inside any Mermaid statement: characters that
/// end or open something (`:` `;` `#` `%` quotes, brackets, braces, angle
/// brackets, backticks, line breaks) become look-alikes or spaces, and the
/// label is kept short.
pub(crate) fn label(text: &str) -> String {
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

/// A label cut to `max` characters, with `…` when it was longer.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max - 1).collect();
    format!("{}…", head.trim_end())
}

/// About how wide a label draws, in pixels: Mermaid's labels are 11 to
/// 12 px, and the wide look-alikes [`label`] puts in are twice as wide.
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 7.0 } else { 13.0 })
        .sum()
}

/// A Gantt chart of one deploy's phases, one row each; an instant (the
/// end, a phase of no length) is a milestone.
pub(crate) fn deploy_phases(bars: &[Bar]) -> String {
    let mut out = gantt_header(false, None, "Deploy phases", window(bars));
    out.push_str("    section Deploy\n");
    for (i, bar) in bars.iter().enumerate() {
        push_bar(&mut out, i, bar, &label(&bar.name));
    }
    out
}

/// A state timeline and what it had to leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timeline {
    pub chart: String,
    /// Services not drawn: past [`TIMELINE_SERVICES`] or the size budget.
    pub services_left_out: usize,
    /// Older bars left out of rows with more than fit.
    pub bars_left_out: usize,
}

/// A state timeline: one row per service (Mermaid's compact display), in
/// the order given, one bar per state period. A bar too narrow for its
/// state's name has none; the colour says it.
pub(crate) fn state_timeline(services: &[(String, Vec<Bar>)]) -> Timeline {
    let all: Vec<Bar> = services.iter().flat_map(|(_, b)| b.clone()).collect();
    let (from, to) = window(&all);
    let names: Vec<String> = services
        .iter()
        .map(|(name, _)| cut(&label(name), SECTION_CHARS))
        .collect();
    let left = names.iter().map(|n| text_width(n)).fold(55.0, f64::max) + 20.0;
    let plot = WIDTH - left - RIGHT_PADDING;
    let mut out = gantt_header(true, Some(left), "Service states", (from, to));
    let mut timeline = Timeline {
        chart: String::new(),
        services_left_out: 0,
        bars_left_out: 0,
    };
    let (mut task, mut drawn) = (0, 0);
    for (name, (_, bars)) in names.iter().zip(services) {
        // A period of no length is nothing to see in a row (a milestone
        // would sit on its neighbour).
        let bars: Vec<&Bar> = bars.iter().filter(|b| b.ms > 0).collect();
        let kept = &bars[bars.len().saturating_sub(ROW_BARS)..];
        let mut section = format!("    section {name}\n");
        for bar in kept {
            let wide = bar.ms as f64 / (to - from).max(1) as f64 * plot;
            let name = label(&bar.name);
            let shown = if wide >= text_width(&name) + 10.0 {
                name
            } else {
                NO_LABEL.to_string()
            };
            push_bar(&mut section, task, bar, &shown);
            task += 1;
        }
        // Once one service is left out, so are the rest: the chart keeps
        // the order it was given.
        if timeline.services_left_out > 0
            || drawn == TIMELINE_SERVICES
            || out.len() + section.len() > CHART_BUDGET
        {
            timeline.services_left_out += 1;
            continue;
        }
        drawn += 1;
        timeline.bars_left_out += bars.len() - kept.len();
        out.push_str(&section);
    }
    timeline.chart = out;
    timeline
}

/// The earliest start and the latest end of some bars, in milliseconds.
fn window(bars: &[Bar]) -> (i64, i64) {
    let from = bars.iter().map(|b| b.start_ms).min().unwrap_or(0);
    let to = bars.iter().map(|b| b.start_ms + b.ms).max().unwrap_or(0);
    (from, to)
}

/// Front matter (colours, the compact display, room for names) and the
/// axis: a tick interval that keeps to a few ticks, each labelled
/// differently, in a format as fine as the interval.
fn gantt_header(compact: bool, left: Option<f64>, title: &str, (from, to): (i64, i64)) -> String {
    let mut css = String::new();
    for (class, tone) in [("activeCrit", Tone::DEGRADED), ("doneCrit", Tone::UNKNOWN)] {
        let (fill, border) = (tone.fill, tone.border);
        let classes: Vec<String> = (0..4).map(|i| format!(".{class}{i}")).collect();
        let _ = write!(
            css,
            "{} {{ fill: {fill}; stroke: {border}; }} ",
            classes.join(", ")
        );
    }
    let mut config = json!({
        "themeVariables": {
            "taskBkgColor": Tone::HEALTHY.fill,
            "taskBorderColor": Tone::HEALTHY.border,
            "activeTaskBkgColor": Tone::DEPLOYING.fill,
            "activeTaskBorderColor": Tone::DEPLOYING.border,
            "doneTaskBkgColor": Tone::SUSPENDED.fill,
            "doneTaskBorderColor": Tone::SUSPENDED.border,
            "critBkgColor": Tone::FAILED.fill,
            "critBorderColor": Tone::FAILED.border,
            "taskTextColor": BAR_TEXT,
        },
        "themeCSS": css.trim_end(),
    });
    if let Some(left) = left {
        config["gantt"] = json!({ "leftPadding": left.round() as i64 });
    }
    let (format, every) = axis(to - from);
    format!(
        "---\n{}config: {config}\n---\ngantt\n    title {title}\n    dateFormat x\n    axisFormat {format}\n    tickInterval {every}\n    todayMarker off\n",
        if compact { "displayMode: compact\n" } else { "" },
    )
}

/// The tick interval and label format for a window of `span` milliseconds:
/// the finest interval that gives at most seven intervals, so labels never
/// repeat (d3 would tick a two-second deploy every 200 ms, all labelled
/// alike) and never crowd.
fn axis(span: i64) -> (&'static str, &'static str) {
    const SECOND: i64 = 1000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let steps: [(i64, &str, &str); 21] = [
        (SECOND, "1second", "%H:%M:%S"),
        (2 * SECOND, "2second", "%H:%M:%S"),
        (5 * SECOND, "5second", "%H:%M:%S"),
        (10 * SECOND, "10second", "%H:%M:%S"),
        (15 * SECOND, "15second", "%H:%M:%S"),
        (30 * SECOND, "30second", "%H:%M:%S"),
        (MINUTE, "1minute", "%H:%M"),
        (2 * MINUTE, "2minute", "%H:%M"),
        (5 * MINUTE, "5minute", "%H:%M"),
        (10 * MINUTE, "10minute", "%H:%M"),
        (15 * MINUTE, "15minute", "%H:%M"),
        (30 * MINUTE, "30minute", "%H:%M"),
        (HOUR, "1hour", "%m-%d %H:%M"),
        (2 * HOUR, "2hour", "%m-%d %H:%M"),
        (3 * HOUR, "3hour", "%m-%d %H:%M"),
        (6 * HOUR, "6hour", "%m-%d %H:%M"),
        (12 * HOUR, "12hour", "%m-%d %H:%M"),
        (DAY, "1day", "%Y-%m-%d"),
        (2 * DAY, "2day", "%Y-%m-%d"),
        (7 * DAY, "1week", "%Y-%m-%d"),
        (30 * DAY, "1month", "%Y-%m"),
    ];
    let (_, every, format) = steps
        .iter()
        .find(|(step, _, _)| span <= 7 * step)
        .unwrap_or(&steps[steps.len() - 1]);
    (format, every)
}

fn push_bar(out: &mut String, n: usize, bar: &Bar, name: &str) {
    let milestone = if bar.ms == 0 { "milestone, " } else { "" };
    let _ = writeln!(
        out,
        "    {name} :{}{milestone}{}{n}, {}, {}ms",
        bar.tone.tags,
        bar.tone.word,
        bar.start_ms,
        bar.ms.max(0)
    );
}

/// A bar chart: one bar per labelled value. Vertical charts suit short
/// labels (`3`); horizontal ones names, one row each. The last bar can
/// stand out: it is drawn in the highlight colour, the others grey.
#[derive(Debug, Clone)]
pub(crate) struct BarChart<'a> {
    pub title: &'a str,
    /// The values' axis title, e.g. `seconds`.
    pub unit: &'a str,
    /// The labels' axis title.
    pub labels: &'a str,
    pub values: &'a [(String, u64)],
    pub horizontal: bool,
    pub highlight_last: bool,
}

impl BarChart<'_> {
    pub(crate) fn render(&self) -> String {
        let names: Vec<String> = self
            .values
            .iter()
            .map(|(n, _)| format!("\"{}\"", cut(&label(n), 32)))
            .collect();
        let top = self
            .values
            .iter()
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0)
            .max(1);
        // Room for each row, or for the ten ticks d3 puts on the value axis.
        let height = if self.horizontal {
            90 + 30 * self.values.len()
        } else {
            300
        };
        let (highlight, others) = (Tone::DEPLOYING.fill, Tone::SUSPENDED.fill);
        let config = json!({
            "xyChart": { "height": height },
            "themeVariables": { "xyChart": { "plotColorPalette": format!("{highlight}, {others}") } },
        });
        let mut out = format!(
            "---\nconfig: {config}\n---\nxychart-beta{}\n    title \"{}\"\n    x-axis \"{}\" [{}]\n    y-axis \"{}\" 0 --> {top}\n",
            if self.horizontal { " horizontal" } else { "" },
            label(self.title),
            label(self.labels),
            names.join(", "),
            label(self.unit),
        );
        let last = self.values.len().saturating_sub(1);
        let series = |keep: &dyn Fn(usize) -> bool| -> String {
            let numbers: Vec<String> = self
                .values
                .iter()
                .enumerate()
                .map(|(i, (_, v))| if keep(i) { v.to_string() } else { "0".into() })
                .collect();
            format!("    bar [{}]\n", numbers.join(", "))
        };
        // The highlighted series is drawn first, so the grey bars cover
        // the stubs its zeros leave at the foot of the axis.
        if self.highlight_last {
            out.push_str(&series(&|i| i == last));
            out.push_str(&series(&|i| i != last));
        } else {
            out.push_str(&series(&|_| true));
        }
        out
    }
}

/// A pie chart of counts, each slice in its state's colour; empty slices
/// are left out. Slices are written largest first: Mermaid 10 colours
/// them in size order, later versions in the order written, and this way
/// both give each slice its own colour.
pub(crate) fn pie(title: &str, slices: &[(String, u64, Tone)]) -> String {
    let mut shown: Vec<&(String, u64, Tone)> = slices.iter().filter(|(_, c, _)| *c > 0).collect();
    shown.sort_by_key(|(_, count, _)| std::cmp::Reverse(*count));
    let mut colours = serde_json::Map::new();
    for (i, (_, _, tone)) in shown.iter().enumerate() {
        colours.insert(format!("pie{}", i + 1), json!(tone.fill));
    }
    colours.insert("pieOpacity".into(), json!("1"));
    colours.insert("pieStrokeColor".into(), json!("#ffffff"));
    let mut config = json!({ "themeVariables": colours });
    // Mermaid 10 writes a percentage on every slice, and those of slices
    // under 5% fall on each other; then the legend's counts say it all.
    let total: u64 = shown.iter().map(|(_, c, _)| c).sum();
    if shown.iter().any(|(_, c, _)| c * 20 < total) {
        config["themeCSS"] = json!(".slice { display: none; }");
    }
    let mut out = format!(
        "---\nconfig: {config}\n---\npie showData\n    title {}\n",
        label(title)
    );
    for (name, count, _) in shown {
        let _ = writeln!(out, "    \"{}\" : {count}", label(name));
    }
    out
}

/// A Markdown code block GitHub draws as a diagram.
pub(crate) fn fenced(diagram: &str) -> String {
    format!("```mermaid\n{diagram}```\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "shop: api; #1 %%{init} \"x\" `y` <b>[z]\nsection evil\ntitle x";
    /// 2026-11-28 00:00 UTC.
    const DAY_START: i64 = 1_795_824_000_000;
    const HOUR: i64 = 3_600_000;

    fn bar(name: &str, start_ms: i64, ms: i64, tone: Tone) -> Bar {
        Bar {
            name: name.into(),
            start_ms,
            ms,
            tone,
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
        let at = |s: i64| DAY_START + 14 * HOUR + s * 1000;
        insta::assert_snapshot!(deploy_phases(&[
            bar("queued 2s", at(0), 2000, Tone::DEPLOYING),
            bar("build 1m 35s", at(2), 95_000, Tone::DEPLOYING),
            bar("pre-deploy 0s", at(97), 0, Tone::DEPLOYING),
            bar("update 30s", at(97), 30_000, Tone::DEPLOYING),
            bar("update failed", at(127), 0, Tone::FAILED),
        ]));
    }

    #[test]
    fn a_short_deploy_ticks_each_second_and_a_long_one_in_minutes() {
        assert_eq!(axis(2_500), ("%H:%M:%S", "1second"));
        assert_eq!(axis(192_000), ("%H:%M:%S", "30second"));
        assert_eq!(axis(40 * 60_000), ("%H:%M", "10minute"));
        assert_eq!(axis(25 * HOUR), ("%m-%d %H:%M", "6hour"));
        assert_eq!(axis(0), ("%H:%M:%S", "1second"));
        assert_eq!(axis(200 * 24 * HOUR), ("%Y-%m", "1month"));
    }

    #[test]
    fn state_timeline_chart_with_hostile_names_and_every_state() {
        let timeline = state_timeline(&[
            (
                "shop-web".into(),
                vec![
                    bar("healthy", DAY_START, 12 * HOUR, Tone::HEALTHY),
                    bar("degraded", DAY_START + 12 * HOUR, HOUR, Tone::DEGRADED),
                    bar("healthy", DAY_START + 13 * HOUR, 11 * HOUR, Tone::HEALTHY),
                ],
            ),
            (
                HOSTILE.into(),
                vec![
                    bar("healthy", DAY_START, 20 * HOUR, Tone::HEALTHY),
                    bar("failed", DAY_START + 20 * HOUR, 4 * HOUR, Tone::FAILED),
                ],
            ),
            (
                "shop-docs".into(),
                vec![
                    bar("suspended", DAY_START, 10 * HOUR, Tone::SUSPENDED),
                    bar(
                        "deploying",
                        DAY_START + 10 * HOUR,
                        2 * HOUR,
                        Tone::DEPLOYING,
                    ),
                    bar("unknown", DAY_START + 12 * HOUR, 12 * HOUR, Tone::UNKNOWN),
                ],
            ),
        ]);
        assert_eq!((timeline.services_left_out, timeline.bars_left_out), (0, 0));
        insta::assert_snapshot!(timeline.chart);
    }

    #[test]
    fn a_timeline_keeps_to_fifty_services_and_mermaids_size_limit() {
        let long = "a-service-with-a-very-long-name-".repeat(3);
        let services: Vec<(String, Vec<Bar>)> = (0..500)
            .map(|s| {
                let bars = (0..100)
                    .map(|b| bar("failed", DAY_START + b * HOUR, HOUR, Tone::FAILED))
                    .collect();
                (format!("{long}{s}"), bars)
            })
            .collect();
        let timeline = state_timeline(&services);
        assert!(
            timeline.chart.len() <= CHART_BUDGET,
            "{}",
            timeline.chart.len()
        );
        let drawn = timeline.chart.matches("section ").count();
        assert!(drawn <= TIMELINE_SERVICES && drawn > 0, "{drawn}");
        assert_eq!(timeline.services_left_out, 500 - drawn);
        assert_eq!(timeline.bars_left_out, drawn * (100 - ROW_BARS));

        let few = state_timeline(&services[..60]);
        assert_eq!(
            few.services_left_out,
            60 - few.chart.matches("section ").count()
        );
    }

    /// Fifty services, a few with incidents of different lengths: drawn by
    /// the drawing check, which fails on any label over another.
    #[test]
    fn a_state_timeline_of_fifty_services_reads() {
        let tones = [
            Tone::DEGRADED,
            Tone::FAILED,
            Tone::DEPLOYING,
            Tone::SUSPENDED,
        ];
        let services: Vec<(String, Vec<Bar>)> = (0..50i64)
            .map(|s| {
                let mut bars = vec![bar("healthy", DAY_START, 24 * HOUR, Tone::HEALTHY)];
                if s % 7 == 3 {
                    let (from, long) = (DAY_START + (s % 5) * 4 * HOUR, (1 + s % 4) * 2 * HOUR);
                    let tone = tones[(s % 4) as usize];
                    bars = vec![
                        bar("healthy", DAY_START, from - DAY_START, Tone::HEALTHY),
                        bar(tone.word, from, long, tone),
                        bar(
                            "healthy",
                            from + long,
                            DAY_START + 24 * HOUR - from - long,
                            Tone::HEALTHY,
                        ),
                    ];
                }
                (format!("shop-service-{s:02}"), bars)
            })
            .collect();
        let timeline = state_timeline(&services);
        assert_eq!(timeline.services_left_out, 0);
        insta::assert_snapshot!(timeline.chart);
    }

    #[test]
    fn a_pie_of_a_large_fleet_with_tiny_slices() {
        insta::assert_snapshot!(pie(
            "Services by state",
            &[
                ("healthy".into(), 496, Tone::HEALTHY),
                ("deploying".into(), 1, Tone::DEPLOYING),
                ("degraded".into(), 1, Tone::DEGRADED),
                ("failed".into(), 1, Tone::FAILED),
                ("suspended".into(), 1, Tone::SUSPENDED),
            ],
        ));
    }

    #[test]
    fn pie_chart_largest_slice_first_in_state_colours() {
        let chart = pie(
            "Services by state",
            &[
                ("healthy".into(), 4, Tone::HEALTHY),
                ("failed".into(), 1, Tone::FAILED),
                ("deploying".into(), 0, Tone::DEPLOYING),
                (HOSTILE.into(), 2, Tone::UNKNOWN),
            ],
        );
        insta::assert_snapshot!(chart);
    }

    #[test]
    fn bar_charts_with_hostile_names() {
        insta::assert_snapshot!(BarChart {
            title: "Response time (ms)",
            unit: "ms",
            labels: "service",
            values: &[("shop-web".into(), 120), (HOSTILE.into(), 1890)],
            horizontal: true,
            highlight_last: false,
        }
        .render());
        insta::assert_snapshot!(
            "durations",
            BarChart {
                title: "Deploy durations (seconds)",
                unit: "seconds",
                labels: "recent deploys that went live, 1 = oldest",
                values: &[("1".into(), 170), ("2".into(), 185), ("this".into(), 192)],
                horizontal: false,
                highlight_last: true,
            }
            .render()
        );
    }
}
