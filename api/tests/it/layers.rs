//! The layering the code relies on: `core` → `realtime` → `api`, and every change through
//! `core`'s `Service`. The Store is compiled public only with core's `testing` feature, which
//! test suites and benchmarks turn on; these checks keep the crates that serve requests off it.

use std::path::Path;

/// The `[dependencies]` table of a manifest, as lines.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest))
        .unwrap_or_else(|e| panic!("reading {manifest}: {e}"));
    text.lines()
        .skip_while(|l| l.trim() != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_serving_crates_cannot_reach_the_store() {
    for manifest in ["Cargo.toml", "../realtime/Cargo.toml"] {
        let deps = dependencies(manifest);
        assert!(
            deps.iter().any(|l| l.starts_with("tandem-core")),
            "{manifest} depends on tandem-core"
        );
        for line in deps.iter().filter(|l| l.starts_with("tandem-core")) {
            assert!(
                !line.contains("testing"),
                "{manifest}: `{line}` turns on core's testing feature outside the test build, \
                 which makes the Store reachable around Service"
            );
        }
    }
}

#[test]
fn no_arrow_runs_back_up() {
    let core = dependencies("../core/Cargo.toml");
    let realtime = dependencies("../realtime/Cargo.toml");
    for (manifest, deps, above) in [
        ("core", &core, &["tandem-realtime", "tandem-api"][..]),
        ("realtime", &realtime, &["tandem-api"][..]),
    ] {
        for name in above {
            assert!(
                !deps.iter().any(|l| l.starts_with(name)),
                "{manifest} depends on {name}, a layer above it"
            );
        }
    }
}
