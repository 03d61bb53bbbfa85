//! The dashboard (dashboard/) end to end in Chromium, on both backends: sign-in by email link
//! through a real SMTP server that the Node suite runs, invitations, roles, the live console,
//! settings, keys, CSRF, superusers and sign-out (dashboard/e2e/dashboard.test.mjs).

use std::path::PathBuf;

use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tandem_testkit::free_port;

use crate::common::{both_backends, Server};
use crate::e2e::{node_suite, with_assets};

const SUPERUSER: &str = "root@example.com";

fn dashboard_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dashboard");
    assert!(
        dir.join("dist/index.html").exists() && dir.join("node_modules/playwright-core").exists(),
        "build the dashboard first: `make dashboard` (make test does)"
    );
    dir
}

both_backends!(dashboard_in_chromium);

async fn dashboard_in_chromium(backend: Backend) {
    let dir = dashboard_dir();
    let smtp_port = free_port();
    let server = Server::start_with(backend, |c| {
        with_assets(c);
        c.smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
        c.superuser_emails = vec![SUPERUSER.into()];
    })
    .await;
    let t = server
        .tenant_with(AccountSettings {
            trusted_origins: vec!["http://127.0.0.1:*".into()],
            ..AccountSettings::default()
        })
        .await;
    let env = vec![
        ("TANDEM_API", server.base.clone()),
        ("SMTP_PORT", smtp_port.to_string()),
        ("TANDEM_TOKEN", t.admin.clone()),
        ("TANDEM_LICENSE", t.account.license_key.clone()),
        ("TANDEM_ACCOUNT", t.account.id.clone()),
        ("TANDEM_SUPERUSER", SUPERUSER.to_owned()),
        ("TANDEM_BACKEND", backend.as_str().to_owned()),
    ];
    let args = ["--test", "--test-concurrency=1", "e2e/dashboard.test.mjs"];
    let stdout = node_suite(dir, &args, env).await;
    // Figures the suite prints for the notes (shown with --nocapture).
    for line in stdout.lines() {
        if let Some(at) = line.find("first load") {
            eprintln!("{backend:?}: {}", &line[at..]);
        }
    }
    server.stop().await;
}
