//! Render's service events (`GET /services/{serviceId}/events`), as its
//! OpenAPI description declares them: `serviceEventWithCursor` items whose
//! `details` differ by event type. Only what a deploy's phases need is
//! read; every other type and field passes untouched.

use jiff::Timestamp;
use serde::Deserialize;

/// The event types that time a deploy's phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    BuildStarted,
    BuildEnded,
    PreDeployStarted,
    PreDeployEnded,
    DeployStarted,
    DeployEnded,
    /// Any of the other 33 types (servers, disks, autoscaling, …).
    Other(String),
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "build_started" => EventKind::BuildStarted,
            "build_ended" => EventKind::BuildEnded,
            "pre_deploy_started" => EventKind::PreDeployStarted,
            "pre_deploy_ended" => EventKind::PreDeployEnded,
            "deploy_started" => EventKind::DeployStarted,
            "deploy_ended" => EventKind::DeployEnded,
            other => EventKind::Other(other.to_string()),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServiceEvent {
    pub timestamp: Timestamp,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(default, deserialize_with = "or_default")]
    pub details: EventDetails,
}

/// `details` is required, but a null or missing one must not lose the
/// other events of the answer.
fn or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<EventDetails, D::Error> {
    Ok(Option::<EventDetails>::deserialize(d)?.unwrap_or_default())
}

/// The fields of the build and deploy events' details. Deploy events name
/// their deploy (`deployId`); build events only their build (`buildId`),
/// which a failed deploy's end names in `reason.buildFailed`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventDetails {
    pub deploy_id: Option<String>,
    pub build_id: Option<String>,
    /// `succeeded`, `failed` or `canceled`, in the event type's own field.
    pub build_status: Option<String>,
    pub pre_deploy_status: Option<String>,
    pub reason: Option<EndReason>,
}

/// Why a build or deploy ended.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EndReason {
    pub build_failed: Option<Named>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Named {
    pub id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct EventItem {
    pub(super) event: ServiceEvent,
}
