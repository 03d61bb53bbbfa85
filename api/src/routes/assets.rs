//! `/assets/<key>/<url>`: the customer's web fonts, relayed to the viewer.
//!
//! Browsers fetch fonts with CORS, and a customer's site rarely allows another origin, so the
//! mirror (the viewer's frame, on Tandem's origin) would lose them and reflow its text in a
//! fallback font. The viewer points its `@font-face` sources here instead. The server fetches
//! each font from the customer's origin only when it is one of the account's `asset_origins`,
//! keeps it (by content hash, bounded in bytes) and serves it with CORS open.
//!
//! `<key>` is the hash of one of the agent's stream tokens (`asset_url` in
//! `/sessions/:id/tokens`): it opens nothing but this relay, for that account, while the token
//! and its session live. `<url>` is the font's absolute URL, base64url without padding.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// The largest font relayed.
const MAX_ASSET_BYTES: usize = 8 * 1024 * 1024;
/// Bytes of fonts kept in memory.
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// How long a fetched font is served before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 3;

struct Blob {
    hash: String,
    bytes: axum::body::Bytes,
    content_type: HeaderValue,
}

struct Entry {
    blob: Arc<Blob>,
    fetched: Instant,
}

/// Fonts by URL, each stored once by content hash, evicted oldest first past `CACHE_BYTES`.
#[derive(Default)]
pub struct AssetCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    urls: HashMap<String, Entry>,
    blobs: HashMap<String, Arc<Blob>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl AssetCache {
    fn get(&self, url: &str) -> Option<Arc<Blob>> {
        let inner = self.inner.lock().expect("asset cache lock");
        let entry = inner.urls.get(url)?;
        (entry.fetched.elapsed() < FRESH_FOR).then(|| entry.blob.clone())
    }

    fn put(&self, url: &str, bytes: Vec<u8>, content_type: HeaderValue) -> Arc<Blob> {
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut inner = self.inner.lock().expect("asset cache lock");
        let blob = match inner.blobs.get(&hash) {
            Some(blob) => blob.clone(),
            None => {
                let blob = Arc::new(Blob {
                    hash: hash.clone(),
                    bytes: bytes.into(),
                    content_type,
                });
                inner.bytes += blob.bytes.len();
                inner.blobs.insert(hash, blob.clone());
                blob
            }
        };
        let entry = Entry {
            blob: blob.clone(),
            fetched: Instant::now(),
        };
        if inner.urls.insert(url.to_owned(), entry).is_none() {
            inner.order.push_back(url.to_owned());
        }
        while inner.bytes > CACHE_BYTES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.urls.remove(&oldest);
            inner.drop_unused_blobs();
        }
        blob
    }
}

impl Inner {
    fn drop_unused_blobs(&mut self) {
        let unused: Vec<String> = self
            .blobs
            .iter()
            .filter(|(_, b)| Arc::strong_count(b) == 1)
            .map(|(h, _)| h.clone())
            .collect();
        for hash in unused {
            if let Some(b) = self.blobs.remove(&hash) {
                self.bytes -= b.bytes.len();
            }
        }
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // Each hop is checked against the account's origins here, not followed blindly.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tandem-asset-relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a plain HTTP client builds")
    })
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin(url: &reqwest::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// Whether a response's type is a font's (or says nothing better than "bytes" for a URL that
/// names a font file).
fn font_type(content_type: &str, url: &reqwest::Url) -> bool {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let font_file = [".woff2", ".woff", ".ttf", ".otf", ".eot"]
        .iter()
        .any(|ext| url.path().to_ascii_lowercase().ends_with(ext));
    t.starts_with("font/")
        || t.starts_with("application/font-")
        || t.starts_with("application/x-font-")
        || t == "application/vnd.ms-fontobject"
        || (font_file
            && matches!(
                t.as_str(),
                "" | "application/octet-stream" | "binary/octet-stream"
            ))
}

fn refused(status: StatusCode, id: &'static str, message: impl Into<String>) -> ApiError {
    metrics::counter!("tandem_asset_relay_requests_total", "result" => "refused").increment(1);
    ApiError::new(status, id, message)
}

fn failed(url: &reqwest::Url, why: impl std::fmt::Display) -> ApiError {
    metrics::counter!("tandem_asset_relay_requests_total", "result" => "failed").increment(1);
    tracing::warn!(url = %url, error = %why, "could not relay a customer's font");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "asset_unavailable",
        format!("the font could not be fetched from the customer's site: {why}"),
    )
}

/// Fetches a font from an allowed origin, following at most a few redirects that stay on
/// allowed origins, and reading at most `MAX_ASSET_BYTES`.
async fn fetch(
    mut url: reqwest::Url,
    allowed: impl Fn(&str) -> bool,
) -> Result<(Vec<u8>, HeaderValue), ApiError> {
    for _ in 0..=MAX_REDIRECTS {
        let mut res = client()
            .get(url.clone())
            .send()
            .await
            .map_err(|e| failed(&url, e))?;
        if res.status().is_redirection() {
            let next = res
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| failed(&url, "a redirect without a usable Location"))?;
            if !origin(&next).is_some_and(|o| allowed(&o)) {
                return Err(refused(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the font redirects to an origin outside the account's asset_origins",
                ));
            }
            url = next;
            continue;
        }
        if !res.status().is_success() {
            return Err(failed(&url, format!("the site answered {}", res.status())));
        }
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        if !font_type(content_type.to_str().unwrap_or(""), &url) {
            return Err(refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_a_font",
                "only fonts are relayed",
            ));
        }
        let mut body = Vec::new();
        while let Some(piece) = res.chunk().await.map_err(|e| failed(&url, e))? {
            if body.len() + piece.len() > MAX_ASSET_BYTES {
                return Err(failed(&url, "the font is over 8 MiB"));
            }
            body.extend_from_slice(&piece);
        }
        return Ok((body, content_type));
    }
    Err(failed(&url, "too many redirects"))
}

/// `GET /assets/<key>/<base64url of the font's URL>`.
pub async fn relay(
    State(app): State<AppState>,
    Path((key, encoded)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "not_found",
            "asset key not found",
        ));
    }
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|u| reqwest::Url::parse(&u).ok())
        .ok_or_else(|| {
            refused(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the asset's URL must be an absolute URL, base64url-encoded",
            )
        })?;
    let account = app
        .service()
        .viewer_key(&key.to_ascii_lowercase())
        .await
        .map(|(account, _)| account)
        .map_err(|e| match e {
            tandem_core::Error::NotFound(_) => {
                refused(StatusCode::NOT_FOUND, "not_found", "asset key not found")
            }
            e => ApiError::from(e),
        })?;
    let settings = &account.settings;
    let allowed = |o: &str| settings.allows_asset_origin(o);
    let Some(from) = origin(&url).filter(|o| allowed(o)) else {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the asset's origin is not one of the account's asset_origins",
        ));
    };
    let cache = app.asset_cache();
    let key = url.as_str();
    let blob = match cache.get(key) {
        Some(blob) => {
            metrics::counter!("tandem_asset_relay_requests_total", "result" => "hit").increment(1);
            blob
        }
        None => {
            let (bytes, content_type) = fetch(url.clone(), allowed).await?;
            metrics::counter!("tandem_asset_relay_requests_total", "result" => "fetched")
                .increment(1);
            tracing::debug!(origin = %from, bytes = bytes.len(), "relaying a customer's font");
            cache.put(key, bytes, content_type)
        }
    };
    metrics::counter!("tandem_asset_relay_bytes_total").increment(blob.bytes.len() as u64);
    let etag = HeaderValue::from_str(&format!("\"{}\"", blob.hash)).expect("hex is a header value");
    Ok((
        [
            (header::CONTENT_TYPE, blob.content_type.clone()),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
            (header::ETAG, etag),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        Body::from(blob.bytes.clone()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fonts_are_told_by_type_or_by_file_name() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(font_type("font/woff2", &url("https://s.example/a")));
        assert!(font_type(
            "application/font-woff; charset=binary",
            &url("https://s.example/a")
        ));
        assert!(font_type(
            "application/octet-stream",
            &url("https://s.example/f.woff2?v=3")
        ));
        assert!(font_type("", &url("https://s.example/f.TTF")));
        assert!(!font_type("text/html", &url("https://s.example/f.woff2")));
        assert!(!font_type(
            "application/octet-stream",
            &url("https://s.example/secret")
        ));
    }

    #[test]
    fn the_cache_keeps_one_copy_per_content_and_stays_bounded() {
        let cache = AssetCache::default();
        let t = HeaderValue::from_static("font/woff2");
        let a = cache.put("https://s.example/a.woff2", vec![1; 10], t.clone());
        let b = cache.put("https://s.example/b.woff2", vec![1; 10], t.clone());
        assert!(Arc::ptr_eq(&a, &b), "same bytes, one blob");
        assert_eq!(cache.inner.lock().unwrap().bytes, 10);
        drop((a, b));
        for i in 0..70 {
            cache.put(
                &format!("https://s.example/{i}.woff2"),
                vec![i as u8; 1024 * 1024],
                t.clone(),
            );
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= CACHE_BYTES, "{} bytes kept", inner.bytes);
        assert!(
            !inner.urls.contains_key("https://s.example/0.woff2"),
            "oldest evicted"
        );
        assert!(inner.urls.contains_key("https://s.example/69.woff2"));
    }
}
