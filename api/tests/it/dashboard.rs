//! The dashboard (dashboard/) end to end in Chromium, on both backends: sign-in by email link
//! through a real SMTP server that the Node suite runs, invitations, roles, the live console,
//! settings, keys, CSRF, superusers and sign-out (dashboard/e2e/dashboard.test.mjs).

use std::path::PathBuf;
use std::process::Command;

use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;
use tandem_testkit::free_port;

use crate::common::{both_backends, Server};
use crate::e2e::with_assets;

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
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "e2e/dashboard.test.mjs"])
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
        "the dashboard scenarios failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Figures the suite prints for the notes (shown with --nocapture).
    for line in stdout.lines() {
        if let Some(at) = line.find("first load") {
            eprintln!("{backend:?}: {}", &line[at..]);
        }
    }
    server.stop().await;
}
