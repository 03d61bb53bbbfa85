//! The committed OpenAPI document (`api/openapi.json`) is the one the code generates (from the
//! routes, their `#[utoipa::path]` operations and the types), has resolvable references, is
//! served byte for byte at `/api/1/openapi.json`, and names exactly the fields the server sends.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use tandem_core::store::Backend;

use crate::common::Server;

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn committed_bytes() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn document() -> Value {
    serde_json::from_slice(&committed_bytes())
        .unwrap_or_else(|e| panic!("api/openapi.json is not valid JSON: {e}"))
}

#[test]
fn committed_document_is_the_generated_one() {
    let generated = tandem_api::routes::openapi_json();
    let committed = String::from_utf8(committed_bytes()).expect("api/openapi.json is UTF-8");
    if generated == committed {
        return;
    }
    let (line, (want, got)) = generated
        .lines()
        .zip(committed.lines())
        .enumerate()
        .find(|(_, (g, c))| g != c)
        .unwrap_or((
            generated.lines().count().min(committed.lines().count()),
            ("(end of document)", "(end of document)"),
        ));
    panic!(
        "api/openapi.json is not the document the code generates; regenerate it with \
         `make openapi` (or `cargo run -p tandem-api --bin tandem -- openapi > api/openapi.json`) \
         and commit it.\n  first difference at line {}:\n    generated: {want}\n    committed: {got}",
        line + 1
    );
}

#[test]
fn is_an_openapi_3_1_document() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Tandem REST API");
    assert_eq!(doc["info"]["version"], "1");
    assert!(doc["paths"].is_object(), "the document has no paths object");
    assert!(
        doc["components"]["schemas"].is_object(),
        "the document has no component schemas"
    );
}

#[test]
fn operations_have_unique_ids_tags_and_responses() {
    let doc = document();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        let item = item.as_object().expect("a path item is an object");
        for (method, operation) in item {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                operation_ids.insert(id.to_owned()),
                "operationId {id} is used twice"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| t.len() == 1),
                "{method} {path} has no tag"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no responses"
            );
        }
    }
}

fn collect_refs<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    if let Value::String(target) = v {
                        out.push((at.to_owned(), target));
                        continue;
                    }
                }
                collect_refs(v, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = document();
    let mut refs = vec![];
    collect_refs(&doc, "#", &mut refs);
    assert!(!refs.is_empty(), "the document uses no $ref at all");
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, target)| {
            !target.starts_with("#/components/")
                || doc.pointer(target.trim_start_matches('#')).is_none()
        })
        .map(|(at, target)| format!("{at}: {target}"))
        .collect();
    assert!(
        broken.is_empty(),
        "unresolved $ref:\n  {}",
        broken.join("\n  ")
    );
}

/// The property names of a component schema, following `allOf` references.
fn schema_keys(doc: &Value, name: &str) -> BTreeSet<String> {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no component schema {name}");
    let mut keys = BTreeSet::new();
    collect_keys(doc, schema, &mut keys);
    keys
}

fn collect_keys(doc: &Value, schema: &Value, keys: &mut BTreeSet<String>) {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("not a schema reference: {target}"));
        collect_keys(doc, &doc["components"]["schemas"][name], keys);
    }
    if let Some(props) = schema["properties"].as_object() {
        keys.extend(props.keys().cloned());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect_keys(doc, part, keys);
    }
}

/// Asserts that a served resource has exactly the fields its component schema names.
fn assert_fields_match(doc: &Value, schema: &str, served: &Value) {
    let fields: BTreeSet<String> = served
        .as_object()
        .unwrap_or_else(|| panic!("expected a JSON object for {schema}, got {served}"))
        .keys()
        .cloned()
        .collect();
    let documented = schema_keys(doc, schema);
    let undocumented: Vec<_> = fields.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&fields).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "the {schema} schema disagrees with what the server sends.\n  sent but not in the \
         schema: {undocumented:?}\n  in the schema but not sent: {missing:?}\n  served: {served}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_document_and_resources_match_the_committed_document() {
    let server = Server::start(Backend::Sqlite).await;
    let t = server.tenant().await;

    // The served document is the committed file, byte for byte.
    let served = server
        .http
        .get(format!("{}/api/1/openapi.json", server.base))
        .send()
        .await
        .expect("fetching the document");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let served = served.bytes().await.expect("reading the document");
    assert!(
        served.as_ref() == committed_bytes().as_slice(),
        "GET /api/1/openapi.json differs from api/openapi.json"
    );

    let doc = document();
    // Each resource schema names exactly the fields a real reply carries.
    let session = server.create_session(&t.admin, json!({})).await;
    assert_fields_match(&doc, "Session", &session);
    let registration = server
        .register_device(&t, "openapi-device-1", json!({"user_id": "u-1"}))
        .await;
    assert_fields_match(&doc, "DeviceRegistration", &registration);
    let (_, device) = server
        .get("/api/1/devices/openapi-device-1", &t.admin)
        .await;
    assert_fields_match(&doc, "Device", &device);
    let (_, me) = server.get("/api/1/users/me", &t.admin).await;
    assert_fields_match(&doc, "UserMe", &me);
    server.stop().await;
}
