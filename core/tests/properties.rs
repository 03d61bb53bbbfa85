//! Property tests of what integrators send in queries and bodies: random input never panics
//! and gets a clear error, and valid input reads back as it was written.

use proptest::prelude::*;
use serde_json::{Map, Value};
use tandem_core::custom_data::{self, MAX_KEYS, MAX_VALUE_LEN};
use tandem_core::query::{DeviceQuery, SessionQuery, MAX_FILTERS, MAX_LIMIT};

/// Query pairs as a browser could send them, with the keys we read mixed in.
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        Just("state".to_owned()),
        Just("state[]".to_owned()),
        Just("agent".to_owned()),
        Just("limit".to_owned()),
        Just("activated_before".to_owned()),
        Just("seen_after".to_owned()),
        "filter_.{0,70}",
        ".{0,12}",
    ];
    proptest::collection::vec((key, ".{0,40}"), 0..16)
}

fn custom_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

fn custom_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,64}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// Any JSON object: nested, null, long, odd keys.
fn any_json_object() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,1100}".prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map(".{0,70}", value, 0..60).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn any_query_is_read_or_refused_without_panicking(pairs in pairs()) {
        for e in [SessionQuery::parse(&pairs).err(), DeviceQuery::parse(&pairs).err()]
            .into_iter()
            .flatten()
        {
            prop_assert!(matches!(e, tandem_core::Error::Invalid { id: "invalid_query", .. }), "{e:?}");
        }
    }

    #[test]
    fn valid_filters_read_back(
        filters in proptest::collection::btree_map(custom_key(), ".{0,100}", 0..=MAX_FILTERS),
        limit in 1..=MAX_LIMIT,
    ) {
        let mut pairs: Vec<(String, String)> = filters
            .iter()
            .map(|(k, v)| (format!("filter_{k}"), v.clone()))
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        let want: Vec<(String, String)> = filters.into_iter().collect();
        let s = SessionQuery::parse(&pairs).unwrap();
        prop_assert_eq!(&s.filters, &want);
        prop_assert_eq!(s.page.limit, limit);
        let d = DeviceQuery::parse(&pairs).unwrap();
        prop_assert_eq!(&d.filters, &want);
    }

    #[test]
    fn any_custom_data_is_accepted_or_refused_without_panicking(data in any_json_object()) {
        if let Err(e) = custom_data::validate(&data) {
            prop_assert!(matches!(e, tandem_core::Error::Invalid { id: "invalid_custom_data", .. }), "{e:?}");
        }
        let _ = custom_data::merge(&Map::new(), &data);
    }

    #[test]
    fn valid_custom_data_reads_back_and_filters_on_every_key(
        data in proptest::collection::btree_map(custom_key(), custom_value(), 0..=MAX_KEYS / 4),
    ) {
        let data: Map<String, Value> = data.into_iter().collect();
        prop_assert!(custom_data::validate(&data).is_ok());
        let merged = custom_data::merge(&Map::new(), &data).unwrap();
        prop_assert_eq!(&merged, &data);
        let pairs = custom_data::filter_pairs(&data);
        prop_assert_eq!(pairs.len(), data.len());
        for (k, v) in pairs {
            prop_assert_eq!(custom_data::filter_value(&data[&k]), Some(v));
        }
        // Removing every key with null empties it.
        let nulls: Map<String, Value> = data.keys().map(|k| (k.clone(), Value::Null)).collect();
        prop_assert!(custom_data::merge(&data, &nulls).unwrap().is_empty());
    }

    #[test]
    fn values_over_the_bound_are_refused(key in custom_key(), extra in 1..100usize) {
        let mut data = Map::new();
        data.insert(key, Value::String("x".repeat(MAX_VALUE_LEN + extra)));
        prop_assert!(custom_data::validate(&data).is_err());
    }
}
