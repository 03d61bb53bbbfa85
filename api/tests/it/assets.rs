//! The font relay (`/assets/<key>/<url>`): a customer's fonts reach the viewer from the
//! account's `asset_origins` only, kept once, with CORS open; the key opens nothing else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::json;
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;

use crate::common::{Server, Tenant};

const FONT: &[u8] = b"wOF2 pretend font bytes";

/// A customer's site on its own origin: a font (counting its fetches), a page, and redirects.
async fn customer_site(elsewhere: &str) -> (String, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let elsewhere = elsewhere.to_owned();
    let app = Router::new()
        .route(
            "/fonts/brand.woff2",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { ([(header::CONTENT_TYPE, "font/woff2")], FONT) }
            }),
        )
        .route(
            "/account.html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<p>private</p>") }),
        )
        .route(
            "/moved.woff2",
            get(|| async { axum::response::Redirect::temporary("/fonts/brand.woff2") }),
        )
        .route(
            "/away.woff2",
            get(move || {
                let to = format!("{elsewhere}/fonts/brand.woff2");
                async move { axum::response::Redirect::temporary(&to).into_response() }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, fetches)
}

fn b64(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
}

/// The relay's base for an agent of `t` on a new session.
async fn asset_url(server: &Server, t: &Tenant) -> (String, String) {
    let s = server
        .create_session(&t.admin, json!({"agent": "me"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let (status, tokens) = server
        .get(&format!("/api/1/sessions/{id}/tokens"), &t.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let url = tokens["asset_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/assets/", server.base)),
        "{url}"
    );
    (url, id)
}

#[tokio::test]
async fn fonts_are_relayed_from_the_accounts_origins_only() {
    let server = Server::start(Backend::Sqlite).await;
    let (other_origin, _) = customer_site("http://127.0.0.1:9").await;
    let (origin, fetches) = customer_site(&other_origin).await;
    let t = server
        .tenant_with(AccountSettings {
            asset_origins: vec![origin.clone()],
            ..AccountSettings::default()
        })
        .await;
    let (relay, id) = asset_url(&server, &t).await;
    let font = format!("{origin}/fonts/brand.woff2");

    for _ in 0..2 {
        let res = server
            .http
            .get(format!("{relay}{}", b64(&font)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h[header::CONTENT_TYPE], "font/woff2");
        assert!(h[header::ETAG].to_str().unwrap().len() == 66);
        assert_eq!(&res.bytes().await.unwrap()[..], FONT);
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the second came from the cache"
    );
    // A redirect on the same origin is followed.
    let res = server
        .http
        .get(format!("{relay}{}", b64(&format!("{origin}/moved.woff2"))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let status = |url: String| {
        let http = server.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    // Another origin, a redirect to one, a page rather than a font, a URL that is not one.
    let cases = [
        (
            format!(
                "{relay}{}",
                b64(&format!("{other_origin}/fonts/brand.woff2"))
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{relay}{}", b64(&format!("{origin}/away.woff2"))),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("{relay}{}", b64(&format!("{origin}/account.html"))),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            format!("{relay}{}", b64("file:///etc/passwd")),
            StatusCode::FORBIDDEN,
        ),
        (format!("{relay}not-base64!"), StatusCode::BAD_REQUEST),
        (
            format!("{}/assets/{}/{}", server.base, "0".repeat(64), b64(&font)),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{}/assets/short/{}", server.base, b64(&font)),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(status(url.clone()).await, expected, "{url}");
    }

    // Another tenant's key reaches only that tenant's origins.
    let other = server.tenant().await;
    let (other_relay, _) = asset_url(&server, &other).await;
    assert_eq!(
        status(format!("{other_relay}{}", b64(&font))).await,
        StatusCode::FORBIDDEN
    );

    // The key dies with its session.
    server
        .put(
            &format!("/api/1/sessions/{id}"),
            &t.admin,
            json!({"state": "ended"}),
        )
        .await;
    assert_eq!(
        status(format!("{relay}{}", b64(&font))).await,
        StatusCode::CONFLICT
    );
    assert!(server.metric("tandem_asset_relay_requests_total").await >= 10.0);
    server.stop().await;
}
