//! The real `cobrowse-agent-sdk` from npm, in Node, against this server (tests/compat), and our
//! own agent SDK (`@tandem/agent`, sdk-js/packages/agent) the same way.

use std::path::PathBuf;
use std::process::Command;

use tandem_core::store::Backend;

use crate::common::{both_backends, Server, Tenant};

/// Runs one Node test file of tests/compat with `env`; fails with Node's output.
async fn node_test(script: &str, env: Vec<(&'static str, String)>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("tests/compat/node_modules/cobrowse-agent-sdk")
            .exists(),
        "run `npm ci --prefix tests/compat` first (make test does)"
    );
    run_node(format!("tests/compat/{script}"), env).await;
}

/// Runs a Node test file (a path from the repository's root) with `env`.
async fn run_node(script: String, env: Vec<(&'static str, String)>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let file = script.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--experimental-websocket", "--test", &script])
            .current_dir(&root)
            .envs(env)
            .output()
            .expect("running node (Node.js 20+ is required)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Node scenarios of {file} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(!stdout.contains("# pass 0\n"), "no scenario ran:\n{stdout}");
}

/// The server, an administrator's JWT and the account's license key.
fn admin_env(server: &Server, t: &Tenant) -> Vec<(&'static str, String)> {
    vec![
        ("TANDEM_API", server.base.clone()),
        ("TANDEM_TOKEN", t.admin.clone()),
        ("TANDEM_LICENSE", t.account.license_key.clone()),
    ]
}

both_backends!(cobrowse_agent_sdk_works_unchanged);

async fn cobrowse_agent_sdk_works_unchanged(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.tenant().await;
    let agent = t.token("agent@example.com", None);
    let mut expired = t.spec("agent@example.com", None);
    expired.ttl_secs = -3600;
    let expired = t.token_with(&expired);
    node_test(
        "agent-sdk.test.mjs",
        vec![
            ("TANDEM_API", server.base.clone()),
            ("TANDEM_TOKEN", t.admin.clone()),
            ("TANDEM_AGENT_TOKEN", agent),
            ("TANDEM_EXPIRED_TOKEN", expired),
        ],
    )
    .await;
    server.stop().await;
}

both_backends!(cobrowse_agent_sdk_receives_realtime_updates);

async fn cobrowse_agent_sdk_receives_realtime_updates(backend: Backend) {
    // Short enough for the reaper scenario to wait for, long enough that a loaded machine does
    // not reap the other scenarios' sessions under them.
    let server = Server::start_with(backend, |c| {
        c.inactivity_timeout_secs = 6;
        c.reaper_interval_ms = 250;
    })
    .await;
    let t = server.tenant().await;
    node_test("realtime.test.mjs", admin_env(&server, &t)).await;
    server.stop().await;
}

/// `@tandem/agent` (built by `make sdk`) in Node: lists, filters, subscriptions and presence.
#[tokio::test]
async fn tandem_agent_sdk_in_node() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        root.join("sdk-js/packages/agent/dist/index.js").exists(),
        "build the agent SDK first: `make sdk` (make test does)"
    );
    let server = Server::start(Backend::Sqlite).await;
    let t = server.tenant().await;
    run_node(
        "sdk-js/packages/agent/test-node/agent.test.mjs".into(),
        admin_env(&server, &t),
    )
    .await;
    server.stop().await;
}
