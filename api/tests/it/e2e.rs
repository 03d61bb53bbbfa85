//! End-to-end co-browsing in real Chromium (sdk-js/e2e), against this server with the built
//! web SDK and viewer.

use std::path::PathBuf;
use std::process::Command;

use tandem_core::store::Backend;

use crate::common::Server;

#[tokio::test]
async fn cobrowsing_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let sdk = root.join("sdk-js");
    assert!(
        sdk.join("dist/tandem.js").exists() && sdk.join("node_modules/playwright-core").exists(),
        "build the SDK first: `make sdk` (make test does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is required at {chromium} (Debian package chromium; .ci/run installs it)"
    );
    let assets = sdk.join("dist").to_string_lossy().into_owned();
    let server = Server::start_with(Backend::Sqlite, |c| c.assets_dir = assets).await;
    // The account redacts `.account-secret`; the page adds `.page-secret`.
    let t = server
        .tenant_with(tandem_core::model::AccountSettings {
            redaction_selectors: vec![".account-secret".into(), "[[invalid".into()],
            ..Default::default()
        })
        .await;
    let env = [
        ("TANDEM_API", server.base.clone()),
        ("TANDEM_TOKEN", t.admin.clone()),
        ("TANDEM_LICENSE", t.account.license_key.clone()),
        ("CHROMIUM", chromium),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "e2e/cobrowse.test.mjs"])
            .current_dir(&sdk)
            .envs(env)
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
    server.stop().await;
}
