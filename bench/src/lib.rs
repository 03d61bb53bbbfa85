//! What the benchmark binaries share: the JSON report each one writes under `target/bench/`.

pub mod report;
