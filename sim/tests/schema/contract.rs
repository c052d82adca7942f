//! Render's and GitHub's OpenAPI descriptions as JSON Schema validators.
//!
//! OpenAPI 3.0 schemas are mapped to JSON Schema (draft 4, which shares
//! their `$ref` and `exclusiveMinimum` rules): `nullable: true` adds
//! `"null"` to the type (and enum), or becomes `anyOf: [null, <schema>]`
//! next to a `$ref` or `allOf`; and `oneOf` becomes `anyOf`, because OpenAPI
//! objects are open and, without a discriminator, a web service's details
//! also match the private service branch (references into a `oneOf` follow
//! it). What `oneOf` would have caught is checked directly: a service's
//! details, and an event's, must match the schema of its type.

use std::collections::HashMap;

use jsonschema::Validator;
use render_sim::{API_KEY, GITHUB_TOKEN};
use serde_json::{json, Value};

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/specs");

/// One API description, mapped to JSON Schema.
pub struct Contract {
    pub name: &'static str,
    /// What the simulator's paths start with, in place of the spec's
    /// `servers` (`/v1`) or path prefix (`/repos/{owner}/{repo}`).
    pub prefix: &'static str,
    spec_prefix: &'static str,
    pub authorization: String,
    document: Value,
    validators: HashMap<String, Validator>,
}

impl Contract {
    pub fn render() -> Contract {
        let authorization = format!("Bearer {API_KEY}");
        // The previews subset repeats, unchanged, the service paths and
        // schemas of the first (`load` checks it): previews and
        // `parentServer` are validated against both. The logs subset
        // shares the error responses and time parameters, unchanged too.
        let files = [
            "render-api-subset.json",
            "render-services-preview-subset.json",
            "render-logs-subset.json",
        ];
        let mut contract = Contract::load("render", &files, "/v1", "", authorization);
        // Where the real API is known to send null though the description
        // does not declare it (shared/reference/render-api.md): an image
        // deploy's `commit` (johnbeynon#13).
        contract.document["components"]["schemas"]["deploy"]["properties"]["commit"]["type"] =
            json!(["object", "null"]);
        contract
    }

    pub fn github() -> Contract {
        let authorization = format!("Bearer {GITHUB_TOKEN}");
        let prefix = "/repos/{owner}/{repo}";
        let files = ["github-api-subset.json", "github-deployments-subset.json"];
        let mut contract =
            Contract::load("github", &files, "/repos/acme/shop", prefix, authorization);
        // GitHub sends "" for a status's URLs when none was given, though
        // the description declares them URIs.
        let status = &mut contract.document["components"]["schemas"]["deployment-status"];
        for url in ["target_url", "log_url", "environment_url"] {
            let schema = &mut status["properties"][url];
            *schema = json!({"anyOf": [schema.take(), {"type": "string", "maxLength": 0}]});
        }
        contract
    }

    /// The first file with the paths and components of the others, which
    /// are cut from the same description: a member they share must be the
    /// same in each.
    fn load(
        name: &'static str,
        files: &[&str],
        prefix: &'static str,
        spec_prefix: &'static str,
        authorization: String,
    ) -> Contract {
        let read = |file: &str| -> Value {
            let path = format!("{SPECS}/{file}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{path}: {e}; the specs are copies of the published descriptions in sim/tests/specs")
            });
            serde_json::from_str(&text).expect("the spec is JSON")
        };
        let mut document = read(files[0]);
        for file in &files[1..] {
            let other = read(file);
            merge(&mut document["paths"], &other["paths"], file);
            let kinds = other["components"].as_object().into_iter().flatten();
            for (kind, members) in kinds {
                merge(&mut document["components"][kind], members, file);
            }
        }
        to_json_schema(&mut document);
        Contract {
            name,
            prefix,
            spec_prefix,
            authorization,
            document,
            validators: HashMap::new(),
        }
    }

    /// The spec's path template that `path` (after the prefix, without a
    /// query) matches, literal segments winning over parameters.
    pub fn template(&self, path: &str) -> Option<String> {
        let wanted: Vec<&str> = path.split('/').collect();
        let paths = self.document["paths"].as_object()?;
        paths
            .keys()
            .filter_map(|template| {
                let short = template.strip_prefix(self.spec_prefix)?;
                let segments: Vec<&str> = short.split('/').collect();
                let fits = segments.len() == wanted.len()
                    && segments
                        .iter()
                        .zip(&wanted)
                        .all(|(s, w)| s == w || s.starts_with('{'));
                let literals = segments.iter().filter(|s| !s.starts_with('{')).count();
                fits.then_some((literals, short.to_string()))
            })
            .max()
            .map(|(_, short)| short)
    }

    /// The pointer to the JSON schema of `method template` answering
    /// `status`; `Ok(None)` when that answer has no body.
    pub fn response_schema(
        &self,
        template: &str,
        method: &str,
        status: u16,
    ) -> Result<Option<String>, String> {
        let full = format!("{}{template}", self.spec_prefix);
        let operation = format!("/paths/{}/{}", escape(&full), method.to_lowercase());
        let responses = self
            .document
            .pointer(&format!("{operation}/responses"))
            .ok_or_else(|| format!("{method} {template} is not in the {} spec", self.name))?;
        let Some(response) = responses.get(status.to_string()) else {
            return Err(format!("{method} {template} declares no {status} answer"));
        };
        let key = match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference.trim_start_matches('#').to_string(),
            None => format!("{operation}/responses/{status}"),
        };
        let pointer = format!("{key}/content/application~1json/schema");
        Ok(self.document.pointer(&pointer).map(|_| pointer))
    }

    /// A validator for the schema at `pointer` (a JSON pointer into the
    /// spec). The root is the whole spec, so every `#/components/…` and
    /// `#/paths/…` reference resolves as written; its other keys are not
    /// JSON Schema keywords and are ignored.
    fn validator(&mut self, pointer: &str) -> &Validator {
        let document = &self.document;
        self.validators
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let mut root = document.clone();
                let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
                root["$ref"] = json!(format!("#{fragment}"));
                jsonschema::draft4::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"))
            })
    }

    /// Why `value` does not match the schema at `pointer`; empty when it does.
    pub fn errors(&mut self, pointer: &str, value: &Value) -> Vec<String> {
        self.validator(pointer)
            .iter_errors(value)
            .map(|e| format!("  at {}: {e}", e.instance_path()))
            .collect()
    }
}

/// Adds the members of `from` to `into`; a path item may bring other
/// methods, any other member must be the same in both.
fn merge(into: &mut Value, from: &Value, file: &str) {
    for (key, value) in from.as_object().into_iter().flatten() {
        match into.get_mut(key) {
            None => into[key] = value.clone(),
            Some(Value::Object(mine)) if key.starts_with('/') => {
                for (member, theirs) in value.as_object().into_iter().flatten() {
                    let same = mine.get(member).is_none_or(|m| m == theirs);
                    assert!(same, "{file}: {key} {member} differs from the other spec's");
                    mine.insert(member.clone(), theirs.clone());
                }
            }
            Some(mine) => assert_eq!(mine, value, "{file}: {key} differs from the other spec's"),
        }
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0 to JSON Schema, everywhere in the document (examples
/// included, which no validation reads).
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        Value::Object(map) => {
            map.values_mut().for_each(to_json_schema);
            if let Some(branches) = map.remove("oneOf") {
                map.insert("anyOf".into(), branches);
            }
            // The service events' details refer into each other's branches.
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = reference.replace("/oneOf/", "/anyOf/");
            }
            if !map.get("nullable").is_some_and(Value::is_boolean) {
                return;
            }
            if map.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            // With a type, null joins it (and the enum), so errors inside
            // an object still name the field; otherwise null is a branch.
            match map.get("type").and_then(Value::as_str).map(String::from) {
                Some(kind) => {
                    map.insert("type".into(), json!([kind, "null"]));
                    if let Some(Value::Array(values)) = map.get_mut("enum") {
                        values.push(Value::Null);
                    }
                }
                None => {
                    let schema = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([{"type": "null"}, schema]));
                }
            }
        }
        _ => {}
    }
}

/// The pointer to the details schema of an event type: the branch of
/// `details` whose title names the type ("Build Started" for
/// `build_started`).
pub fn event_details_schema(contract: &Contract, kind: &str) -> Option<String> {
    let details =
        "/components/schemas/serviceEventWithCursor/properties/event/properties/details/anyOf";
    let branches = contract.document.pointer(details)?.as_array()?;
    branches
        .iter()
        .position(|b| {
            let title = b["title"].as_str().unwrap_or_default();
            title.to_lowercase().replace(' ', "_") == kind
        })
        .map(|i| format!("{details}/{i}"))
}

/// The details schema of each service type.
pub fn details_schema(kind: &str) -> &'static str {
    match kind {
        "web_service" => "webServiceDetails",
        "private_service" => "privateServiceDetails",
        "background_worker" => "backgroundWorkerDetails",
        "cron_job" => "cronJobDetails",
        "static_site" => "staticSiteDetails",
        _ => panic!("unknown service type {kind}"),
    }
}
