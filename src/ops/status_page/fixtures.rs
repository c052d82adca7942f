//! The rows and history the status page's tests share.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{Entry, Row};
use crate::clients::http::HealthCheck;
use crate::ops::service_state::State;

pub(super) fn now() -> Timestamp {
    "2026-11-29T00:00:00Z".parse().unwrap()
}

pub(super) fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub(super) fn entry(at: &str, states: &[(&str, &str)]) -> Entry {
    Entry {
        serving: BTreeSet::new(),
        at: at.into(),
        services: states
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

pub(crate) fn rows() -> Vec<Row> {
    vec![
        Row {
            id: "srv-a".into(),
            name: "shop-web".into(),
            state: State::Healthy,
            reason: "deploy dep-1 live".into(),
            serving: true,
            dashboard: "https://dashboard.render.com/web/srv-a".into(),
            url: Some("https://shop-web.onrender.com".into()),
            deploy_id: Some("dep-1".into()),
            deploy_status: Some("live".into()),
            source: Some("abc1234".into()),
            deployed_at: Some("2026-11-29T00:12:30Z".into()),
            health: Some(HealthCheck {
                code: Some(200),
                latency_ms: 87,
                error: None,
                attempts: 1,
            }),
            preview: false,
            why: None,
        },
        Row {
            id: "srv-b".into(),
            name: "shop-api".into(),
            state: State::Failed,
            reason: "deploy dep-2 build_failed".into(),
            serving: false,
            dashboard: "https://dashboard.render.com/web/srv-b".into(),
            url: None,
            deploy_id: Some("dep-2".into()),
            deploy_status: Some("build_failed".into()),
            source: None,
            deployed_at: None,
            health: None,
            preview: false,
            why: None,
        },
    ]
}

pub(super) fn history() -> Vec<Entry> {
    vec![
        entry(
            "2026-11-28T00:00:00Z",
            &[("srv-a", "healthy"), ("srv-b", "healthy")],
        ),
        entry(
            "2026-11-28T12:00:00Z",
            &[("srv-a", "degraded"), ("srv-b", "healthy")],
        ),
        entry(
            "2026-11-28T13:00:00Z",
            &[("srv-a", "healthy"), ("srv-b", "healthy")],
        ),
        entry(
            "2026-11-29T00:00:00Z",
            &[("srv-a", "healthy"), ("srv-b", "failed")],
        ),
    ]
}
