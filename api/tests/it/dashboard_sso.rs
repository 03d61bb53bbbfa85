//! Single sign-on through the dashboard in Chromium, on both backends, against the real test IdP
//! (tests/saml/idp.py): an administrator configures SSO in Settings, people sign in with "Sign
//! in with SSO" through the IdP's own login form and land in the dashboard with the role their
//! groups map to, IdP-initiated sign-in is refused until allowed, and a certificate rollover
//! keeps sign-in working (dashboard/e2e/sso.test.mjs).

use std::path::PathBuf;

use tandem_core::store::Backend;
use tandem_testkit::{free_port, Idp};

use crate::common::{both_backends, Server};
use crate::e2e::{node_suite, with_assets};

both_backends!(dashboard_sso_in_chromium);

async fn dashboard_sso_in_chromium(backend: Backend) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dashboard");
    assert!(
        dir.join("dist/index.html").exists() && dir.join("e2e/sso.test.mjs").exists(),
        "build the dashboard first: `make dashboard` (make test does)"
    );
    let smtp_port = free_port();
    let server = Server::start_with(backend, |c| {
        with_assets(c);
        c.smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    })
    .await;
    let t = server.tenant().await;
    let idp = Idp::start().await;
    let env = vec![
        ("TANDEM_API", server.base.clone()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("TANDEM_TOKEN", t.admin.clone()),
        ("TANDEM_ACCOUNT", t.account.id.clone()),
        ("TANDEM_BACKEND", backend.as_str().to_owned()),
        ("IDP_URL", idp.base.clone()),
        ("SSO_DOMAIN", "shop.example".to_owned()),
    ];
    let args = ["--test", "--test-concurrency=1", "e2e/sso.test.mjs"];
    node_suite(dir, &args, env).await;
    drop(idp);
    server.stop().await;
}
