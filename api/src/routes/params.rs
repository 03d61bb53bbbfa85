//! Path and query parameters of the REST operations. The path ids are what the handlers extract;
//! the list queries are parsed from the raw pairs by `tandem_core::query` (`filter_<key>` names
//! are open-ended and `state[]` repeats, which no derived extractor reads), so the query types
//! here only describe them for the OpenAPI document.

use serde::Deserialize;
use serde_json::json;
use tandem_core::custom_data::{MAX_KEY_LEN, MAX_VALUE_LEN};
use tandem_core::model::SessionState;
use tandem_core::query::{AgentParam, MAX_FILTERS};
use utoipa::openapi::path::{Parameter, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

/// `{id}` of a session.
#[derive(Deserialize, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct SessionHandle(
    /// The session's id (a UUID). Agents may instead pass its 6-digit code (while the session is
    /// pending and the code has not expired) or its 9-digit access token (while the session is
    /// live); failed code and token lookups are rate-limited.
    pub String,
);

/// `{id}` of a device an agent (or the device itself) addresses.
#[derive(Deserialize, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct DeviceId(
    /// The device's id.
    pub String,
);

/// `{id}` of a device registering itself.
#[derive(Deserialize, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct RegistrationDeviceId(
    /// The device's id, chosen by the device SDK: 1-128 letters, digits, `-`, `_`, `.` or `:`.
    /// When `X-CobrowseDevice` is sent it must be the same.
    #[param(pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    pub String,
);

/// `{id}` of a user.
#[derive(Deserialize, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct UserId(
    /// A user id of the caller's account, or `me`.
    pub String,
);

/// `filter_<key>=<value>`, for both lists: one exploded object parameter, whose property names
/// are the query keys.
pub struct CustomDataFilter;

impl IntoParams for CustomDataFilter {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let value = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_VALUE_LEN));
        let key = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^filter_[A-Za-z0-9_-]{{1,{MAX_KEY_LEN}}}$")));
        let filters = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(key))
            .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
            .max_properties(Some(MAX_FILTERS));
        let description = format!(
            "Any number of parameters named `filter_<key>`, each matching resources whose \
             `custom_data.<key>` equals the value (compared as a string: `filter_seats=5`, \
             `filter_vip=true`). `<key>` is 1-{MAX_KEY_LEN} letters, digits, `_` or `-`; values \
             are at most {MAX_VALUE_LEN} characters; at most {MAX_FILTERS} filters, each key \
             once; filters are ANDed."
        );
        vec![Parameter::builder()
            .name("filter_{key}")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .style(Some(ParameterStyle::Form))
            .explode(Some(true))
            .schema(Some(filters))
            .example(Some(
                json!({"filter_user_id": "u-123", "filter_plan": "pro"}),
            ))
            .build()]
    }
}

/// `state`, `state[]` and `agent` of `GET /sessions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only described: `tandem_core::query` parses the pairs"
)]
pub struct SessionFilter {
    /// Only sessions in this state; repeat it (or use `state[]`) for several states. Without it,
    /// sessions in every state are listed.
    #[param(style = Form, explode, nullable = false)]
    state: Option<Vec<SessionState>>,
    /// The bracketed array form of `state`, as the agent SDK sends it:
    /// `state[]=active&state[]=ended`.
    #[param(rename = "state[]", style = Form, explode, nullable = false)]
    state_array: Option<Vec<SessionState>>,
    /// `me` (the default): only sessions the caller has joined as an agent. `all`: every session
    /// of the account, for administrators only (`403` otherwise).
    #[param(inline, nullable = false)]
    agent: Option<AgentParam>,
}

/// `limit`, for both lists.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only described: `tandem_core::query` parses the pairs"
)]
pub struct Limit {
    /// The most items to return.
    #[param(nullable = false, minimum = 1, maximum = 100, default = 50)]
    limit: Option<u32>,
}

/// The paging bounds of `GET /sessions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only described: `tandem_core::query` parses the pairs"
)]
pub struct SessionPage {
    /// Only sessions whose paging time is strictly before this instant. The paging time is
    /// `activated`, or `created` for a session never activated; lists are ordered by it, newest
    /// first, so pass the last item's paging time to fetch the next page.
    #[param(value_type = Option<String>, format = DateTime, nullable = false)]
    activated_before: Option<String>,
    /// Only sessions whose paging time (`activated`, else `created`) is strictly after this
    /// instant.
    #[param(value_type = Option<String>, format = DateTime, nullable = false)]
    activated_after: Option<String>,
}

/// The paging bounds of `GET /devices`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only described: `tandem_core::query` parses the pairs"
)]
pub struct DevicePage {
    /// Only devices whose `last_active` is strictly before this instant. Devices are ordered by
    /// `last_active`, newest first.
    #[param(value_type = Option<String>, format = DateTime, nullable = false)]
    seen_before: Option<String>,
    /// Only devices whose `last_active` is strictly after this instant.
    #[param(value_type = Option<String>, format = DateTime, nullable = false)]
    seen_after: Option<String>,
}
