//! The browser files the server hands out, built into the binary: the web SDK and the viewer
//! (`make sdk` builds `sdk-js/dist`) and the dashboard (`make dashboard` builds
//! `dashboard/dist`). A release binary carries them, so it serves everything from wherever it
//! is copied; a debug build reads them from the checkout, so a rebuilt bundle shows at once.
//! `assets_dir` (when set) serves the SDK files from another folder instead.

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../sdk-js/dist"]
#[allow_missing = true]
struct Sdk;

#[derive(RustEmbed)]
#[folder = "../dashboard/dist"]
#[allow_missing = true]
struct Dashboard;

/// A file to serve: its bytes, content type and SHA-256 (computed when the binary was built).
pub struct File {
    pub bytes: Cow<'static, [u8]>,
    pub content_type: String,
    pub sha256: [u8; 32],
}

fn file(found: rust_embed::EmbeddedFile) -> File {
    File {
        content_type: found.metadata.mimetype().to_owned(),
        sha256: found.metadata.sha256_hash(),
        bytes: found.data,
    }
}

/// A built SDK file (`tandem.js`, `viewer.js`…).
pub fn sdk(name: &str) -> Option<File> {
    Sdk::get(name).map(file)
}

/// A file of the built dashboard, by its path under `dashboard/dist`.
pub fn dashboard(path: &str) -> Option<File> {
    Dashboard::get(path).map(file)
}
