//! Policies carried in an agent's JWT (`policy` claim) that narrow what the token reaches.
//!
//! ```json
//! {"version": 3,
//!  "sessions": {"custom_data": {"user_id": "u-1"}, "permissions": ["read", "write"]},
//!  "devices":  {"custom_data": {"user_id": "u-1"}},
//!  "features": {"permissions": ["laser", "drawing"]}}
//! ```
//! Resources are `sessions`, `devices`, `push`, `features`, or `*` for any of them. A rule
//! matches a resource when every `custom_data` entry equals the resource's value and, when `id`
//! is given, the resource's id is among them; `permissions`, when given, lists what may be done.
//! With a policy present, whatever no rule names is out of reach. Without one, nothing is limited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::custom_data;
use crate::model::Json;
use crate::{Error, Result};

pub const RESOURCES: [&str; 5] = ["sessions", "devices", "push", "features", "*"];

/// What a token may reach of one resource: a resource matches when its id is among `id` (when
/// given) and every `custom_data` entry equals the resource's value; `permissions` (when given)
/// lists the allowed actions (`read`, `write`, `create`, feature names, or `*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PolicyRule)]
pub struct Rule {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "one_or_many"
    )]
    #[schema(nullable = false)]
    pub id: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schemas::CustomData>, nullable = false)]
    pub custom_data: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub permissions: Option<Vec<String>>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(flatten)]
    pub rules: BTreeMap<String, Rule>,
}

/// What a list query must add to honour a policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Nothing is reachable.
    pub none: bool,
    pub ids: Option<Vec<String>>,
    pub custom_data: Vec<(String, String)>,
}

impl Policy {
    /// Parses the `policy` claim; any shape other than the documented one is refused.
    pub fn parse(value: &Value) -> Result<Self> {
        let bad = |m: String| Error::invalid("invalid_policy", m);
        let obj = value
            .as_object()
            .ok_or_else(|| bad("policy must be an object".into()))?;
        let mut version = None;
        let mut rules = BTreeMap::new();
        for (key, v) in obj {
            if key == "version" {
                version = Some(
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| bad("policy version must be a number".into()))?,
                );
                continue;
            }
            if !RESOURCES.contains(&key.as_str()) {
                return Err(bad(format!("policy names an unknown resource {key:?}")));
            }
            let rule: Rule = serde_json::from_value(v.clone())
                .map_err(|e| bad(format!("policy rule for {key}: {e}")))?;
            if let Some(cd) = &rule.custom_data {
                for (k, v) in cd {
                    if !custom_data::valid_key(k) || custom_data::filter_value(v).is_none() {
                        return Err(bad(format!(
                            "policy rule for {key}: custom_data.{k} must be a scalar under a valid key"
                        )));
                    }
                }
            }
            rules.insert(key.clone(), rule);
        }
        Ok(Policy { version, rules })
    }

    fn rule(&self, resource: &str) -> Option<&Rule> {
        self.rules.get(resource).or_else(|| self.rules.get("*"))
    }

    /// Whether `action` on the resource with this id and custom data is allowed.
    pub fn allows(&self, resource: &str, action: &str, id: &str, data: &Json) -> bool {
        let Some(rule) = self.rule(resource) else {
            return false;
        };
        let permitted = rule
            .permissions
            .as_ref()
            .is_none_or(|p| p.iter().any(|a| a == action || a == "*"));
        let id_ok = rule
            .id
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i == id));
        let data_ok = rule.custom_data.as_ref().is_none_or(|want| {
            want.iter().all(|(k, v)| {
                data.get(k).and_then(custom_data::filter_value) == custom_data::filter_value(v)
            })
        });
        permitted && id_ok && data_ok
    }

    /// Whether a feature (e.g. `remote_control`) is allowed.
    pub fn allows_feature(&self, feature: &str) -> bool {
        match self.rules.get("features") {
            Some(rule) => rule
                .permissions
                .as_ref()
                .is_none_or(|p| p.iter().any(|a| a == feature || a == "*")),
            None => self.rules.contains_key("*"),
        }
    }

    /// The constraints a list of `resource` must carry for `read`.
    pub fn scope(&self, resource: &str) -> Scope {
        let Some(rule) = self.rule(resource) else {
            return Scope {
                none: true,
                ..Scope::default()
            };
        };
        let readable = rule
            .permissions
            .as_ref()
            .is_none_or(|p| p.iter().any(|a| a == "read" || a == "*"));
        Scope {
            none: !readable,
            ids: rule.id.clone(),
            custom_data: rule
                .custom_data
                .as_ref()
                .map(custom_data::filter_pairs)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Json {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn rules_match_custom_data_and_ids() {
        let p = Policy::parse(&json!({
            "version": 3,
            "sessions": {"custom_data": {"user_id": "u1"}, "permissions": ["read"]},
            "devices": {"id": "d1"}
        }))
        .unwrap();
        assert!(p.allows("sessions", "read", "s", &data(json!({"user_id": "u1"}))));
        assert!(!p.allows("sessions", "write", "s", &data(json!({"user_id": "u1"}))));
        assert!(!p.allows("sessions", "read", "s", &data(json!({"user_id": "u2"}))));
        assert!(p.allows("devices", "read", "d1", &data(json!({}))));
        assert!(!p.allows("devices", "read", "d2", &data(json!({}))));
        assert!(!p.allows("push", "create", "x", &data(json!({}))));
        assert!(p.scope("push").none);
        assert_eq!(
            p.scope("sessions").custom_data,
            vec![("user_id".into(), "u1".into())]
        );
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(Policy::parse(&json!("all")).is_err());
        assert!(Policy::parse(&json!({"planets": {}})).is_err());
        assert!(Policy::parse(&json!({"sessions": {"custom_data": {"a": {"b": 1}}}})).is_err());
        assert!(Policy::parse(&json!({"sessions": {"colour": "red"}})).is_err());
    }
}
