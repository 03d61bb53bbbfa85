//! OpenAPI schemas of the free-form JSON objects the resources carry (`custom_data`, `device`),
//! stored as plain JSON maps, so that the REST API's document states their limits, which are the
//! ones `custom_data` and the service enforce.

use std::borrow::Cow;

use serde_json::{json, Value};
use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::custom_data::{MAX_KEYS, MAX_KEY_LEN, MAX_TOTAL_BYTES, MAX_VALUE_LEN};
use crate::policy::{Policy, Rule, RESOURCES};

/// `custom_data`: integrator-defined tags (see [`crate::custom_data`]).
pub struct CustomData;

/// A partial update of `custom_data` (`PUT /sessions/{id}`).
pub struct CustomDataPatch;

/// `device`: the customer's device as the device SDK reports it.
pub struct DeviceInfo;

fn key_pattern() -> String {
    format!("^[A-Za-z0-9_-]{{1,{MAX_KEY_LEN}}}$")
}

const SCALAR: [&str; 3] = ["string", "number", "boolean"];
const SCALAR_OR_NULL: [&str; 4] = ["string", "number", "boolean", "null"];

/// A schema written as JSON: the literal is the document's text, checked by a test to survive
/// the trip through utoipa's types unchanged.
fn object(value: Value) -> Object {
    serde_json::from_value(value).unwrap_or_default()
}

impl CustomData {
    fn json() -> Value {
        json!({
            "type": "object",
            "description": format!(
                "Integrator-defined tags: a flat object of at most {MAX_KEYS} keys (1-{MAX_KEY_LEN} \
                 letters, digits, `_` or `-`) whose values are strings (at most {MAX_VALUE_LEN} \
                 characters), numbers or booleans; at most {} KiB as JSON. Lists filter on it with \
                 `filter_<key>=<value>`, matching the value's string form (`5`, `true`).",
                MAX_TOTAL_BYTES / 1024
            ),
            "maxProperties": MAX_KEYS,
            "propertyNames": {"type": "string", "pattern": key_pattern()},
            "additionalProperties": {"type": SCALAR, "maxLength": MAX_VALUE_LEN},
            "example": {"user_id": "u-123", "plan": "pro", "seats": 5},
        })
    }
}

impl CustomDataPatch {
    fn json() -> Value {
        json!({
            "type": "object",
            "description": "A partial update of `custom_data`: the keys given replace their values, \
                `null` removes a key, keys not given are kept. The merged result must satisfy the \
                CustomData limits.",
            "propertyNames": {"type": "string", "pattern": key_pattern()},
            "additionalProperties": {"type": SCALAR_OR_NULL, "maxLength": MAX_VALUE_LEN},
            "example": {"ticket": "T-42", "plan": null},
        })
    }
}

impl DeviceInfo {
    fn json() -> Value {
        let any = || json!({"type": SCALAR_OR_NULL});
        let described = |d: &str| json!({"type": SCALAR_OR_NULL, "description": d});
        json!({
            "type": "object",
            "description": format!(
                "The customer's device as the device SDK reports it: a flat object of strings, \
                 numbers, booleans or nulls (no nested objects or arrays), at most {} KiB as JSON. \
                 The properties below are the ones the SDKs send; others are kept as given.",
                MAX_TOTAL_BYTES / 1024
            ),
            "properties": {
                "app_id": any(),
                "app_name": any(),
                "device": described("A human-readable device or browser name."),
                "device_locale": any(),
                "device_timezone": any(),
                "os_version": any(),
                "platform": described("`web`, `ios`, `android`, `windows` or `macos`."),
                "sdk_version": any(),
            },
            "additionalProperties": any(),
        })
    }
}

/// `Policy` flattens its rules into one object keyed by resource: the schema names each.
impl Policy {
    fn json() -> Value {
        let rule = json!({"$ref": format!("#/components/schemas/{}", Rule::name())});
        let mut properties = json!({"version": {"type": "integer", "minimum": 0, "example": 3}});
        for resource in RESOURCES {
            properties[resource] = rule.clone();
        }
        json!({
            "type": "object",
            "description": "The policy carried by the caller's JWT, keyed by resource. When a policy \
                is present, whatever no rule names is out of reach; `*` applies to resources without \
                their own rule. A token without a policy reaches everything, reported as \
                `{\"*\": {}}`.",
            "properties": properties,
            "additionalProperties": false,
            "example": {
                "version": 3,
                "sessions": {"custom_data": {"user_id": "u-123"}, "permissions": ["read", "write"]},
            },
        })
    }
}

macro_rules! json_schema {
    ($($ty:ident),*) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object(object($ty::json())))
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($ty))
            }
        }
    )*};
}

json_schema!(CustomData, CustomDataPatch, DeviceInfo);

impl PartialSchema for Policy {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(object(Policy::json())))
    }
}

impl ToSchema for Policy {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Rule::name().into(), Rule::schema()));
        <Rule as ToSchema>::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_survive_utoipas_types_unchanged() {
        for (name, value) in [
            ("CustomData", CustomData::json()),
            ("CustomDataPatch", CustomDataPatch::json()),
            ("DeviceInfo", DeviceInfo::json()),
            ("Policy", Policy::json()),
        ] {
            let back = serde_json::to_value(object(value.clone())).expect("serialises");
            assert_eq!(back, value, "{name} lost or changed keys on the way");
        }
    }
}
