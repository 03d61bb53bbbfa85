//! End-to-end co-browsing in real Chromium (sdk-js/e2e), against this server with the built
//! web SDK and viewer: one server, two replicas over Redis, and a short inactivity timeout.

use std::path::PathBuf;
use std::process::Command;

use tandem_api::Config;
use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tandem_core::testing::TestDb;

use crate::common::{Redis, Server, Tenant};

pub(crate) fn sdk_dir() -> PathBuf {
    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdk-js");
    assert!(
        sdk.join("dist/tandem.js").exists() && sdk.join("node_modules/playwright-core").exists(),
        "build the SDK first: `make sdk` (make test does)"
    );
    sdk
}

/// Serves the built SDK and viewer from this checkout.
pub(crate) fn with_assets(c: &mut Config) {
    c.assets_dir = sdk_dir().join("dist").to_string_lossy().into_owned();
}

/// The account redacts `.account-secret` (and has a selector browsers reject, to be dropped),
/// allows the viewer to load assets from one origin and to be embedded by pages on localhost.
async fn tenant(server: &Server) -> Tenant {
    server
        .tenant_with(AccountSettings {
            redaction_selectors: vec![".account-secret".into(), "[[invalid".into()],
            // The viewer may load the customer's assets from here, and nowhere else.
            asset_origins: vec!["http://127.0.0.2:9".into()],
            // Helpdesk pages here may embed the viewer (token_source=postMessage).
            trusted_origins: vec!["http://localhost:*".into()],
            ..AccountSettings::default()
        })
        .await
}

/// Runs one suite of sdk-js/e2e in Chromium with `env`; fails with its output, else returns it.
pub(crate) async fn chromium_suite(file: &str, env: Vec<(&'static str, String)>) -> String {
    let file = format!("e2e/{file}");
    node_suite(sdk_dir(), &["--test", &file], env).await
}

/// Runs `node <args>` in `dir` with `env` and Chromium's path: a `node --test` suite that must
/// pass at least one test and fail none. Fails with its output, else returns it.
pub(crate) async fn node_suite(
    dir: PathBuf,
    args: &[&str],
    env: Vec<(&'static str, String)>,
) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is required at {chromium} (Debian package chromium; .ci/run installs it)"
    );
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(&args)
            .current_dir(&dir)
            .envs(env)
            .env("CHROMIUM", chromium)
            .output()
            .expect("running node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("# fail 0") && !stdout.contains("# pass 0\n"),
        "the Chromium scenarios failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.into_owned()
}

pub(crate) fn suite_env(base: &str, t: &Tenant) -> Vec<(&'static str, String)> {
    vec![
        ("TANDEM_API", base.to_owned()),
        ("TANDEM_TOKEN", t.admin.clone()),
        ("TANDEM_LICENSE", t.account.license_key.clone()),
    ]
}

/// The bundles are asked for again on every load, and an unchanged one answers `304` to the
/// `ETag` the browser holds (its bytes and compiled code are reused); the viewer page loads the
/// small script that starts its first calls before the viewer's own script.
#[tokio::test]
async fn the_sdk_bundles_are_revalidated_by_their_etag() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let page = server
        .http
        .get(format!("{}/code", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let boot = page
        .find("/sdk-js/viewer-boot.js")
        .expect("the boot script");
    assert!(boot < page.find("/sdk-js/viewer.js").unwrap(), "{page}");
    for file in ["viewer.js", "viewer-boot.js", "tandem.js"] {
        let url = format!("{}/sdk-js/{file}", server.base);
        let res = server.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-cache");
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let bytes = res.bytes().await.unwrap();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let again = |held: String| {
            let http = server.http.clone();
            let url = url.clone();
            async move {
                http.get(url)
                    .header("if-none-match", held)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let same = again(etag.clone()).await;
        assert_eq!(same.status(), 304, "{file}");
        assert_eq!(same.headers()["etag"], etag.as_str());
        assert!(same.bytes().await.unwrap().is_empty());
        assert_eq!(again(format!("W/\"0\", {etag}")).await.status(), 304);
        let other = again("\"0123\"".into()).await;
        assert_eq!(other.status(), 200, "{file}");
        assert_eq!(other.bytes().await.unwrap(), bytes);
    }
    server.stop().await;
}

#[tokio::test]
async fn cobrowsing_in_chromium() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let t = tenant(&server).await;
    chromium_suite("cobrowse.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}

/// The customer's built-in UI from the keyboard and in three languages, and the server's pages.
#[tokio::test]
async fn customer_ui_in_chromium() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let t = tenant(&server).await;
    chromium_suite("customer-ui.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}

/// The agent's tools; a second account lets agents submit forms and take control without
/// asking the customer.
#[tokio::test]
async fn agent_tools_in_chromium() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let t = tenant(&server).await;
    let submitting = server
        .tenant_with(AccountSettings {
            redaction_selectors: vec![".account-secret".into()],
            agent_submit: true,
            remote_control_consent: false,
            ..AccountSettings::default()
        })
        .await;
    let mut env = suite_env(&server.base, &t);
    env.push(("TANDEM_SUBMIT_TOKEN", submitting.admin.clone()));
    env.push((
        "TANDEM_SUBMIT_LICENSE",
        submitting.account.license_key.clone(),
    ));
    chromium_suite("tools.test.mjs", env).await;
    server.stop().await;
}

#[tokio::test]
async fn customer_and_agent_on_two_replicas() {
    let db = TestDb::new(Backend::Postgres).await;
    let redis = Redis::start();
    let url = redis.url();
    let a = Server::start_on(&db.url, |c| {
        with_assets(c);
        c.redis_url = url.clone();
    })
    .await;
    let b = Server::start_on(&db.url, |c| {
        with_assets(c);
        c.redis_url = url.clone();
    })
    .await;
    a.wait_redis("ok").await;
    b.wait_redis("ok").await;
    let t = tenant(&a).await;
    let mut env = suite_env(&a.base, &t);
    env.push(("TANDEM_AGENT_API", b.base.clone()));
    chromium_suite("replicas.test.mjs", env).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_abandoned_session_times_out() {
    let server = Server::start_with(Backend::Sqlite, |c| {
        with_assets(c);
        c.inactivity_timeout_secs = 5;
        c.reaper_interval_ms = 250;
    })
    .await;
    let t = tenant(&server).await;
    chromium_suite("inactivity.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}

#[tokio::test]
async fn the_viewer_reconnects_when_its_token_expires() {
    let server = Server::start_with(Backend::Sqlite, |c| {
        with_assets(c);
        c.stream_token_ttl_secs = 3;
    })
    .await;
    let t = tenant(&server).await;
    chromium_suite("reconnect.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}

/// Large pages on the default socket limits arrive in chunks; a page over a small bound on one
/// event is reported to both sides and never resent.
#[tokio::test]
async fn large_pages_in_chromium() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let small = Server::start_with(Backend::Sqlite, |c| {
        with_assets(c);
        c.socket_max_event_bytes = 256 * 1024;
    })
    .await;
    let t = tenant(&server).await;
    let s = tenant(&small).await;
    let mut env = suite_env(&server.base, &t);
    env.push(("TANDEM_SMALL_API", small.base.clone()));
    env.push(("TANDEM_SMALL_TOKEN", s.admin.clone()));
    env.push(("TANDEM_SMALL_LICENSE", s.account.license_key.clone()));
    chromium_suite("large.test.mjs", env).await;
    server.stop().await;
    small.stop().await;
}

/// The fidelity faults of issue 19 on small pages the suite serves itself (on 127.0.0.1, and as
/// another site on localhost): the account lets the viewer load assets from both.
#[tokio::test]
async fn fidelity_faults_in_chromium() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let t = server
        .tenant_with(AccountSettings {
            asset_origins: vec!["http://127.0.0.1:*".into(), "http://localhost:*".into()],
            ..AccountSettings::default()
        })
        .await;
    chromium_suite("fidelity-faults.test.mjs", suite_env(&server.base, &t)).await;
    server.stop().await;
}

/// The agent viewer's states, end pages, toolbar, view modes and shortcuts (issue 14), with a
/// token that has expired for `/code` to report.
#[tokio::test]
async fn the_viewer_says_what_is_happening() {
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    let t = tenant(&server).await;
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": t.account.license_key, "sub": "agent@example.com", "aud": "tandem",
        "iat": now - 7200, "exp": now - 3600,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(t.key.kid.clone());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(t.private_pem.as_bytes()).unwrap();
    let expired = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let mut env = suite_env(&server.base, &t);
    env.push(("TANDEM_EXPIRED_TOKEN", expired));
    chromium_suite("viewer-states.test.mjs", env).await;
    server.stop().await;
}
