//! The real-page corpus in Chromium (issue 19, sdk-js/e2e/fidelity.test.mjs): pages nobody here
//! wrote (tests/corpus/pages.json, fetched by tests/corpus/fetch.sh), each served from its own
//! origin with the web SDK, mirrored in the viewer and compared pixel by pixel and by their
//! visible text, at rest, after scrolling and after an interaction.

use std::path::PathBuf;

use tandem_core::model::AccountSettings;
use tandem_core::store::Backend;

use crate::common::Server;
use crate::e2e::{chromium_suite, suite_env, with_assets};

/// The fetched corpus: `TANDEM_CORPUS`, else tests/corpus/pages.
fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("TANDEM_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/pages"),
        PathBuf::from,
    );
    assert!(
        dir.join(".stamp").exists(),
        "the real-page corpus is missing from {}: run `make corpus` (make test does)",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn real_pages_mirror_faithfully() {
    let corpus = corpus_dir();
    // The server's default limits, as `make run` has them: large events travel in chunks.
    let server = Server::start_with(Backend::Sqlite, with_assets).await;
    // Each page is served from 127.0.0.1 on a port of its own; the viewer may load its assets.
    let t = server
        .tenant_with(AccountSettings {
            asset_origins: vec!["http://127.0.0.1:*".into()],
            ..AccountSettings::default()
        })
        .await;
    let mut env = suite_env(&server.base, &t);
    env.push(("TANDEM_CORPUS", corpus.to_string_lossy().into_owned()));
    let out = chromium_suite("fidelity.test.mjs", env).await;
    println!("{out}");
    server.stop().await;
}

/// Tandem's recorder (sdk-js/packages/web/src/recorder, its full snapshot in time slices) against
/// stock rrweb in Chromium (sdk-js/e2e/recorder.test.mjs): each corpus page, a page changing
/// while the snapshot is taken, and redacted regions, recorded by both and replayed, give the
/// same document; nothing of a redacted region is in any event. No server is needed.
#[tokio::test]
async fn recorder_replays_as_stock_rrweb() {
    let env = vec![("TANDEM_CORPUS", corpus_dir().to_string_lossy().into_owned())];
    chromium_suite("recorder.test.mjs", env).await;
}
