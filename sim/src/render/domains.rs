//! A service's custom domains, as `GET /services/{id}/custom-domains`
//! lists them.

use serde_json::{json, Value};

use super::{bad_request, page, Svc};
use crate::wire::{Request, Response};
use crate::{now_rfc3339, Sim};

pub(crate) struct Domain {
    id: String,
    name: String,
    verified: bool,
    created_at: String,
}

impl Domain {
    fn json(&self, svc: &Svc) -> Value {
        // The simulator takes a name with one dot for an apex domain
        // (`example.com`); `www.example.com` is a subdomain.
        let apex = self.name.matches('.').count() == 1;
        json!({
            "id": self.id,
            "name": self.name,
            "domainType": if apex { "apex" } else { "subdomain" },
            "publicSuffix": self.name.rsplit('.').next().unwrap_or_default(),
            "redirectForName": "",
            "verificationStatus": if self.verified { "verified" } else { "unverified" },
            "createdAt": self.created_at,
            "server": {"id": svc.id, "name": svc.spec.name},
        })
    }
}

/// The service's domains, oldest first, filtered by `verificationStatus`
/// and paged.
pub(super) fn list(svc: &Svc, request: &Request) -> Response {
    let verified = match request.param("verificationStatus") {
        None => None,
        Some("verified") => Some(true),
        Some("unverified") => Some(false),
        Some(_) => return bad_request("verificationStatus must be verified or unverified"),
    };
    let items = svc
        .domains
        .iter()
        .filter(|d| verified.is_none_or(|v| d.verified == v))
        .map(|d| (d.id.clone(), d.json(svc)))
        .collect();
    page(items, request, "customDomain")
}

impl Sim {
    /// Adds the custom domain `name` to a service, its DNS verified or not.
    pub fn add_custom_domain(&self, service: &str, name: &str, verified: bool) {
        let mut state = self.lock();
        let render = &mut state.render;
        let id = render.next_id("cdm");
        if let Some(svc) = render.find(service) {
            svc.domains.push(Domain {
                id,
                name: name.to_string(),
                verified,
                created_at: now_rfc3339(),
            });
        }
    }
}
