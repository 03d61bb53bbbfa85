//! Extractors that answer bad input in our `{id, message}` shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// A JSON object body read into `T`. Malformed JSON, a non-object, a wrong content type or an
/// oversized body is a 4xx with a message saying which; so is a field of the wrong type or one
/// `T` does not know (bodies deny unknown fields: nothing sent is silently ignored), the message
/// naming the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let object = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(object @ Value::Object(_))) => object,
            Ok(_) => {
                return Err(ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "the request body must be a JSON object",
                ))
            }
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        serde_path_to_error::deserialize(object)
            .map(Body)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                ApiError::bad_request(if path == "." {
                    inner.to_string()
                } else {
                    format!("{path}: {inner}")
                })
            })
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let id = match &r {
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        JsonRejection::BytesRejection(_) => "body_too_large",
        _ => "invalid_json",
    };
    ApiError::new(r.status(), id, r.body_text())
}

/// The query string as ordered `(key, value)` pairs, percent-decoded (`state[]` arrays stay as
/// repeated keys).
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// A string of at most `N` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Bounded<const N: usize>(pub String);

impl<'de, const N: usize> Deserialize<'de> for Bounded<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().count() > N {
            return Err(serde::de::Error::custom(format!(
                "longer than {N} characters"
            )));
        }
        Ok(Bounded(s))
    }
}
