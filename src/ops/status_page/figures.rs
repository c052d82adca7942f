//! Figures from the history: uptime and incidents.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{timestamp, Entry};
use crate::ops::service_state::State;

/// The share of time a service was up, from its first recorded state until
/// `now`: the state it is in counts up to now. `None` when the history never
/// saw the service or there is no window yet to measure.
pub(crate) fn uptime(history: &[Entry], service: &str, now: Timestamp) -> Option<f64> {
    let mut points: Vec<(i64, bool)> = history
        .iter()
        .filter_map(|e| {
            let state = State::parse(e.services.get(service)?)?;
            let up = state.is_up() || e.serving.contains(service);
            Some((timestamp(&e.at).as_second(), up))
        })
        .collect();
    let last = *points.last()?;
    points.push((now.as_second().max(last.0), last.1));
    let (mut up, mut total) = (0i64, 0i64);
    for pair in points.windows(2) {
        let span = (pair[1].0 - pair[0].0).max(0);
        total += span;
        if pair[0].1 {
            up += span;
        }
    }
    (total > 0).then(|| up as f64 / total as f64)
}

pub(crate) fn format_uptime(share: Option<f64>) -> String {
    match share {
        None => "—".into(),
        Some(s) if s >= 1.0 => "100%".into(),
        Some(s) => format!("{:.1}%", (s * 1000.0).floor() / 10.0),
    }
}

/// A stretch of time a service was failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incident {
    pub service: String,
    pub state: State,
    pub start: String,
    pub end: Option<String>,
}

pub(crate) fn incidents(history: &[Entry]) -> Vec<Incident> {
    let mut open: BTreeMap<String, Incident> = BTreeMap::new();
    let mut done = Vec::new();
    for entry in history {
        for (service, text) in &entry.services {
            let Some(state) = State::parse(text) else {
                continue;
            };
            if state.is_failing() && !open.contains_key(service) {
                open.insert(
                    service.clone(),
                    Incident {
                        service: service.clone(),
                        state,
                        start: entry.at.clone(),
                        end: None,
                    },
                );
            } else if state.is_up() {
                if let Some(mut incident) = open.remove(service) {
                    incident.end = Some(entry.at.clone());
                    done.push(incident);
                }
            }
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| {
        timestamp(&b.start)
            .cmp(&timestamp(&a.start))
            .then(a.service.cmp(&b.service))
    });
    done
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, history, now};
    use super::*;

    #[test]
    fn uptime_is_time_weighted() {
        let h = history();
        assert_eq!(format_uptime(uptime(&h, "srv-a", now())), "95.8%");
        assert_eq!(format_uptime(uptime(&h, "srv-b", now())), "100%");
        assert_eq!(format_uptime(uptime(&h, "srv-z", now())), "—");
        assert_eq!(uptime(&h[3..], "srv-b", now()), None, "no window yet");
        assert_eq!(
            uptime(&h[3..], "srv-b", at("2026-11-29T01:00:00Z")),
            Some(0.0)
        );
    }

    #[test]
    fn the_ongoing_state_counts_up_to_now() {
        let h = history();
        // Healthy for a day, then failed for three: a quarter.
        let later = at("2026-12-02T00:00:00Z");
        assert_eq!(format_uptime(uptime(&h, "srv-b", later)), "25.0%");
        assert!(uptime(&h, "srv-a", later).unwrap() > 0.98);
        // Failed, but the previous deploy still serves: up.
        let mut serving = h.clone();
        serving[3].serving.insert("srv-b".into());
        assert_eq!(format_uptime(uptime(&serving, "srv-b", later)), "100%");
    }

    #[test]
    fn incidents_open_and_close() {
        let list = incidents(&history());
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].service, "srv-b");
        assert_eq!(list[0].end, None);
        assert_eq!(list[1].end.as_deref(), Some("2026-11-28T13:00:00Z"));
    }
}
