//! The state timeline chart, drawn from the history alone.

use super::{format_time, timestamp, Entry, Row};
use crate::ops::service_state::State;
use crate::output::charts::{self, Bar, TIMELINE_SERVICES};

/// The state timeline: one row per service (in the table's order), one
/// bar per stretch of time in one state, in the state's colour. The window
/// is the history's own, first entry to last, never the clock, so the same
/// states give the same bytes. A service's current state has no end yet:
/// it is drawn a twentieth of the window long (at least a minute) past the
/// last change. `None` until the history spans a window.
///
/// Past [`TIMELINE_SERVICES`] services, the ones that were ever anything
/// but healthy come first, and the page says how many were left out.
pub(crate) fn timeline(rows: &[Row], history: &[Entry]) -> Option<String> {
    let start = timestamp(&history.first()?.at).as_millisecond();
    let end = timestamp(&history.last()?.at).as_millisecond();
    if end <= start {
        return None;
    }
    let current = ((end - start) / 20).max(60_000);
    let bar = |state: State, from: i64, to: i64| Bar {
        name: state.as_str().to_string(),
        start_ms: from,
        ms: to - from,
        tone: state.tone(),
    };
    let mut services: Vec<(String, Vec<Bar>)> = rows
        .iter()
        .filter_map(|r| {
            let mut bars = Vec::new();
            let mut open: Option<(State, i64)> = None;
            for entry in history {
                let state = entry.services.get(&r.id).and_then(|s| State::parse(s));
                if open.map(|(s, _)| s) == state {
                    continue;
                }
                let at = timestamp(&entry.at).as_millisecond();
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
    if services.len() > TIMELINE_SERVICES {
        let always_healthy = |bars: &[Bar]| bars.iter().all(|b| b.name == State::Healthy.as_str());
        services.sort_by_key(|(_, bars)| always_healthy(bars));
    }
    let drawn = charts::state_timeline(&services);
    // Narrow bars have no label: the colours say the state.
    let shown: Vec<String> = State::ALL
        .iter()
        .filter(|s| {
            services
                .iter()
                .any(|(_, bars)| bars.iter().any(|b| b.tone == s.tone()))
        })
        .map(|s| format!("{} {}", s.emoji(), s.as_str()))
        .collect();
    let mut notes = format!(" Colours as in the table: {}.", shown.join(", "));
    if drawn.services_left_out > 0 {
        notes.push_str(&format!(
            " The chart draws {TIMELINE_SERVICES} services at most, those that were not always healthy first: {} more are not drawn.",
            drawn.services_left_out
        ));
    }
    if drawn.bars_left_out > 0 {
        notes.push_str(&format!(
            " {} older state periods are not drawn.",
            drawn.bars_left_out
        ));
    }
    Some(format!(
        "{}\nFrom {} to {}, the last change (the chart's axis is in your time zone); each service's last bar is its state since then.{notes}\n",
        charts::fenced(&drawn.chart),
        format_time(&history[0].at),
        format_time(&history[history.len() - 1].at),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, history, now, rows};
    use super::super::{block, entry, update};
    use super::*;

    #[test]
    fn past_fifty_services_those_not_always_healthy_come_first_and_the_rest_are_counted() {
        let rows: Vec<Row> = (0..60)
            .map(|i| Row {
                id: format!("srv-{i:02}"),
                name: format!("svc-{i:02}"),
                ..rows()[0].clone()
            })
            .collect();
        let states = |at: &str, failed: Option<&str>| Entry {
            at: at.into(),
            services: rows
                .iter()
                .map(|r| {
                    let state = if Some(r.id.as_str()) == failed {
                        "failed"
                    } else {
                        "healthy"
                    };
                    (r.id.clone(), state.to_string())
                })
                .collect(),
            serving: Default::default(),
        };
        let history = [
            states("2026-11-28T00:00:00Z", None),
            states("2026-11-28T12:00:00Z", Some("srv-59")),
            states("2026-11-29T00:00:00Z", None),
        ];
        let chart = timeline(&rows, &history).unwrap();
        assert_eq!(chart.matches("    section ").count(), TIMELINE_SERVICES);
        let first = chart
            .find("section svc-59")
            .expect("the failed one is drawn");
        assert!(first < chart.find("section svc-00").unwrap(), "and first");
        assert!(chart.contains(": 10 more are not drawn."), "{chart}");
        assert!(
            chart.contains("Colours as in the table: 🟢 healthy, 🔴 failed."),
            "{chart}"
        );
    }

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
                "    healthy :healthy0, 1795824000000, 43200000ms",
                "    \u{200b} :crit, active, degraded1, 1795867200000, 3600000ms",
                "    healthy :healthy2, 1795870800000, 43920000ms",
                "    healthy :healthy3, 1795824000000, 86400000ms",
                "    \u{200b} :crit, failed4, 1795910400000, 4320000ms",
            ]
        );
        assert_eq!(
            chart.matches("section").count(),
            2,
            "one section per service"
        );
        assert_eq!(timeline(&rows(), &history()[..1]), None, "no window yet");
        // Not the clock: a run later with the same states writes nothing.
        let page = block(&rows(), &history(), now());
        let later = entry(&rows(), at("2026-11-29T05:00:00Z"));
        assert!(update(&page, &rows(), later, 48, false)
            .unwrap()
            .page
            .is_none());
    }
}
