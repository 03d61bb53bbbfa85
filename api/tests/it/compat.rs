//! The real `cobrowse-agent-sdk` from npm, in Node, against this server (tests/compat).

use std::path::PathBuf;
use std::process::Command;

use tandem_core::store::Backend;

use crate::common::{both_backends, Server};

both_backends!(cobrowse_agent_sdk_works_unchanged);

async fn cobrowse_agent_sdk_works_unchanged(backend: Backend) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let compat = root.join("tests/compat");
    assert!(
        compat.join("node_modules/cobrowse-agent-sdk").exists(),
        "run `npm ci --prefix tests/compat` first (make test does)"
    );
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let agent = t.token("agent@example.com", None);
    let mut expired = t.spec("agent@example.com", None);
    expired.ttl_secs = -3600;
    let expired = t.token_with(&expired);
    let base = server.base.clone();
    let admin = t.admin.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([
                "--experimental-websocket",
                "--test",
                "tests/compat/agent-sdk.test.mjs",
            ])
            .current_dir(&root)
            .env("TANDEM_API", base)
            .env("TANDEM_TOKEN", admin)
            .env("TANDEM_AGENT_TOKEN", agent)
            .env("TANDEM_EXPIRED_TOKEN", expired)
            .output()
            .expect("running node (Node.js 20+ is required)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the cobrowse-agent-sdk scenarios failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
    server.stop().await;
}
