//! The state timeline chart, drawn from the history alone.

use super::{format_time, timestamp, Entry, Row};
use crate::ops::service_state::State;
use crate::output::charts::{self, Bar};

/// The state timeline: one section per service (in the table's order),
/// one bar per stretch of time in one state, failed and degraded in red.
/// The window is the history's own, first entry to last, never the clock,
/// so the same states give the same bytes. A service's current state has
/// no end yet: it is drawn a twentieth of the window long (at least a
/// minute) past the last change. `None` until the history spans a window.
pub fn timeline(rows: &[Row], history: &[Entry]) -> Option<String> {
    let start = timestamp(&history.first()?.at).as_second();
    let end = timestamp(&history.last()?.at).as_second();
    if end <= start {
        return None;
    }
    let current = ((end - start) / 20).max(60);
    let bar = |state: State, from: i64, to: i64| Bar {
        name: state.as_str().to_string(),
        start: from,
        seconds: to - from,
        crit: state.is_failing(),
    };
    let services: Vec<(String, Vec<Bar>)> = rows
        .iter()
        .filter_map(|r| {
            let mut bars = Vec::new();
            let mut open: Option<(State, i64)> = None;
            for entry in history {
                let state = entry.services.get(&r.id).and_then(|s| State::parse(s));
                if open.map(|(s, _)| s) == state {
                    continue;
                }
                let at = timestamp(&entry.at).as_second();
                if let Some((s, from)) = open {
                    bars.push(bar(s, from, at));
                }
                open = state.map(|s| (s, at));
            }
            if let Some((s, from)) = open {
                bars.push(bar(s, from, end + current));
            }
            (!bars.is_empty()).then(|| (r.name.clone(), bars))
        })
        .collect();
    if services.is_empty() {
        return None;
    }
    Some(format!(
        "{}\nFrom {} to {}, the last change (the chart's axis is in your time zone); each service's last bar is its state since then.\n",
        charts::fenced(&charts::state_timeline(&services)),
        format_time(&history[0].at),
        format_time(&history[history.len() - 1].at),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, history, now, rows};
    use super::super::{entry, render, update};
    use super::*;

    #[test]
    fn the_timeline_has_one_bar_per_state_period_from_the_history_alone() {
        let chart = timeline(&rows(), &history()).unwrap();
        let bars: Vec<&str> = chart.lines().filter(|l| l.contains(" :")).collect();
        // shop-web: healthy 12 h, degraded 1 h, healthy 11 h and since;
        // shop-api: healthy 24 h, failed since. The current states are a
        // twentieth of the 24-hour window long.
        assert_eq!(
            bars,
            [
                "    healthy :s0b0, 1795824000, 43200s",
                "    degraded :crit, s0b1, 1795867200, 3600s",
                "    healthy :s0b2, 1795870800, 43920s",
                "    healthy :s1b0, 1795824000, 86400s",
                "    failed :crit, s1b1, 1795910400, 4320s",
            ]
        );
        assert_eq!(
            chart.matches("section").count(),
            2,
            "one section per service"
        );
        assert_eq!(timeline(&rows(), &history()[..1]), None, "no window yet");
        // Not the clock: a run later with the same states writes nothing.
        let page = render(&rows(), &history(), now());
        let later = entry(&rows(), at("2026-11-29T05:00:00Z"));
        assert!(update(&page, &rows(), later, 48, false)
            .unwrap()
            .page
            .is_none());
    }
}
