//! `custom_data`: the flat key → value map integrators tag sessions and devices with, and filter
//! on (`filter_<key>=<value>`).

use serde_json::Value;

use crate::model::Json;
use crate::{Error, Result};

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_LEN: usize = 64;
pub const MAX_VALUE_LEN: usize = 1024;
pub const MAX_TOTAL_BYTES: usize = 8 * 1024;

/// Keys are short identifiers, so they can be named in a query string and indexed.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The form a value is matched in: `filter_plan=pro`, `filter_seats=5`, `filter_vip=true`.
pub fn filter_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Checks a complete custom data object.
pub fn validate(data: &Json) -> Result<()> {
    if data.len() > MAX_KEYS {
        return Err(Error::invalid(
            "invalid_custom_data",
            format!("custom_data has more than {MAX_KEYS} keys"),
        ));
    }
    for (key, value) in data {
        if !valid_key(key) {
            return Err(Error::invalid(
                "invalid_custom_data",
                format!(
                    "custom_data key {key:?} must be 1-{MAX_KEY_LEN} letters, digits, '_' or '-'"
                ),
            ));
        }
        match value {
            Value::String(s) if s.chars().count() > MAX_VALUE_LEN => {
                return Err(Error::invalid(
                    "invalid_custom_data",
                    format!("custom_data.{key} is longer than {MAX_VALUE_LEN} characters"),
                ))
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            _ => {
                return Err(Error::invalid(
                    "invalid_custom_data",
                    format!("custom_data.{key} must be a string, number or boolean"),
                ))
            }
        }
    }
    let size = serde_json::to_string(data)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > MAX_TOTAL_BYTES {
        return Err(Error::invalid(
            "invalid_custom_data",
            format!("custom_data is larger than {MAX_TOTAL_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Applies a partial update: keys given replace, `null` removes. The result is validated.
pub fn merge(current: &Json, patch: &Json) -> Result<Json> {
    let mut next = current.clone();
    for (key, value) in patch {
        if value.is_null() {
            next.remove(key);
        } else {
            next.insert(key.clone(), value.clone());
        }
    }
    validate(&next)?;
    Ok(next)
}

/// The `(key, value)` pairs that filters match against.
pub fn filter_pairs(data: &Json) -> Vec<(String, String)> {
    data.iter()
        .filter_map(|(k, v)| filter_value(v).map(|v| (k.clone(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Json {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_flat_scalars_and_rejects_the_rest() {
        assert!(validate(&obj(json!({"user_id": "u1", "seats": 5, "vip": true}))).is_ok());
        assert!(validate(&obj(json!({"nested": {"a": 1}}))).is_err());
        assert!(validate(&obj(json!({"list": [1]}))).is_err());
        assert!(validate(&obj(json!({"bad key": "x"}))).is_err());
        assert!(validate(&obj(json!({"": "x"}))).is_err());
        assert!(validate(&obj(json!({"k": "x".repeat(MAX_VALUE_LEN + 1)}))).is_err());
        let many: Json = (0..=MAX_KEYS)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert!(validate(&many).is_err());
    }

    #[test]
    fn merge_sets_and_removes() {
        let cur = obj(json!({"a": "1", "b": "2"}));
        let next = merge(&cur, &obj(json!({"b": null, "c": 3}))).unwrap();
        assert_eq!(Value::Object(next), json!({"a": "1", "c": 3}));
        assert!(merge(&cur, &obj(json!({"d": {"x": 1}}))).is_err());
    }

    #[test]
    fn filter_values_are_strings() {
        let pairs = filter_pairs(&obj(json!({"a": "x", "n": 5, "b": false})));
        assert!(pairs.contains(&("n".into(), "5".into())));
        assert!(pairs.contains(&("b".into(), "false".into())));
    }
}
