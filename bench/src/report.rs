//! What every benchmark leaves behind besides its printed lines: `target/bench/<name>.json` in the
//! checkout, holding each figure's value in every run (with the median, least and greatest), the
//! machine's core count, the revision and the time, so that a run can be compared with the last.
//! Writing a report prints that comparison: each figure's median then and now.
//!
//! ```no_run
//! let mut report = tandem_bench::report::Report::new("realtime");
//! report.config("sockets", 10_000);
//! for _ in 0..3 {
//!     report.add("fanout.p99", "ms", 12.5);
//! }
//! report.write().unwrap();
//! ```
//! `sdk-js/bench/report.mjs` writes the same shape for the benchmarks that run in Chromium.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

/// One figure over the runs of a benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub unit: String,
    pub values: Vec<f64>,
}

/// The median, least and greatest of a figure's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    pub fn spread(&self) -> Option<Spread> {
        spread(&self.values)
    }
}

/// The median (the mean of the middle two for an even count), least and greatest of `values`,
/// or `None` for none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[v.len() - 1],
    })
}

/// A benchmark's figures, gathered run by run and written once at the end.
#[derive(Debug)]
pub struct Report {
    name: String,
    config: Map<String, Value>,
    figures: BTreeMap<String, Figure>,
}

impl Report {
    /// A report written to `target/bench/<name>.json`.
    pub fn new(name: &str) -> Report {
        Report {
            name: name.to_owned(),
            config: Map::new(),
            figures: BTreeMap::new(),
        }
    }

    /// Records how the benchmark ran (sizes, counts), written beside the figures.
    pub fn config(&mut self, key: &str, value: impl Into<Value>) {
        self.config.insert(key.to_owned(), value.into());
    }

    /// Adds one run's value of `figure`, in `unit`.
    pub fn add(&mut self, figure: &str, unit: &str, value: f64) {
        let entry = self.figures.entry(figure.to_owned()).or_insert(Figure {
            unit: unit.to_owned(),
            values: Vec::new(),
        });
        entry.values.push(value);
    }

    pub fn figure(&self, figure: &str) -> Option<&Figure> {
        self.figures.get(figure)
    }

    /// The median of each figure whose name starts with `prefix` and ends with `suffix`.
    pub fn figures_named(&self, prefix: &str, suffix: &str) -> Vec<(String, f64)> {
        self.figures
            .iter()
            .filter(|(name, _)| name.starts_with(prefix) && name.ends_with(suffix))
            .filter_map(|(name, f)| Some((name.clone(), f.spread()?.median)))
            .collect()
    }

    /// The report as it is written.
    pub fn to_json(&self) -> Value {
        let figures: Map<String, Value> = self
            .figures
            .iter()
            .map(|(name, f)| {
                let s = f.spread();
                (
                    name.clone(),
                    json!({
                        "unit": f.unit,
                        "values": f.values,
                        "median": s.map(|s| s.median),
                        "min": s.map(|s| s.min),
                        "max": s.map(|s| s.max),
                    }),
                )
            })
            .collect();
        let runs = self
            .figures
            .values()
            .map(|f| f.values.len())
            .max()
            .unwrap_or(0);
        json!({
            "bench": self.name,
            "revision": revision(),
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "runs": runs,
            "config": self.config,
            "figures": figures,
        })
    }

    /// Writes the report, after printing how each figure's median moved since the last one
    /// written under this name. Returns the file's path.
    pub fn write(&self) -> Result<PathBuf> {
        let dir = out_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.name));
        let now = self.to_json();
        if let Some(last) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        {
            for line in compare(&last, &now) {
                println!("{line}");
            }
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&now)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("figures written to {}", path.display());
        Ok(path)
    }
}

/// Lines comparing each figure's median in `now` with `last`'s (figures in both).
pub fn compare(last: &Value, now: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (last["figures"].as_object(), now["figures"].as_object())
    else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "against the last run ({}, {}):",
        last["revision"].as_str().unwrap_or("?"),
        last["time"].as_str().unwrap_or("?")
    )];
    for (name, f) in after {
        let (Some(new), Some(old)) = (
            f["median"].as_f64(),
            before.get(name).and_then(|b| b["median"].as_f64()),
        ) else {
            continue;
        };
        let unit = f["unit"].as_str().unwrap_or("");
        let change = if old != 0.0 {
            format!("{:+.1}%", (new - old) / old.abs() * 100.0)
        } else {
            "n/a".to_owned()
        };
        lines.push(format!("  {name}: {old:.3} → {new:.3} {unit} ({change})"));
    }
    if lines.len() == 1 {
        return Vec::new();
    }
    lines
}

/// A figure name's part made of a printed label: lower case, runs of anything but letters and
/// digits as one `_` ("genuine (accepted)" → "genuine_accepted").
pub fn key(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// `target/bench` in the checkout (or `BENCH_OUT`).
fn out_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BENCH_OUT") {
        return PathBuf::from(dir);
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate sits in the checkout")
        .join("target/bench")
}

/// The checkout's short revision, with `-dirty` when it has uncommitted changes.
fn revision() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(rev) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_owned();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if !s.is_empty() => format!("{rev}-dirty"),
        _ => rev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_of_odd_and_even_counts() {
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = spread(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[f64::NAN]), None);
    }

    #[test]
    fn a_report_holds_every_value_and_its_spread() {
        let mut r = Report::new("t");
        r.config("sockets", 10);
        for v in [5.0, 7.0, 6.0] {
            r.add("fanout.p99", "ms", v);
        }
        let j = r.to_json();
        assert_eq!(j["runs"], 3);
        assert_eq!(j["config"]["sockets"], 10);
        let f = &j["figures"]["fanout.p99"];
        assert_eq!(f["values"], json!([5.0, 7.0, 6.0]));
        assert_eq!(
            (f["median"].as_f64(), f["min"].as_f64(), f["max"].as_f64()),
            (Some(6.0), Some(5.0), Some(7.0))
        );
        assert!(j["cores"].as_u64().unwrap() >= 1);
    }

    #[test]
    fn keys_from_labels() {
        assert_eq!(key("genuine (accepted)"), "genuine_accepted");
        assert_eq!(key("  Wrong audience!"), "wrong_audience");
    }

    #[test]
    fn comparison_names_each_shared_figure() {
        let last = json!({"revision": "abc", "time": "t", "figures": {"a": {"median": 10.0, "unit": "ms"}, "gone": {"median": 1.0}}});
        let now = json!({"figures": {"a": {"median": 5.0, "unit": "ms"}, "new": {"median": 2.0}}});
        let lines = compare(&last, &now);
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].contains("a: 10.000 → 5.000 ms (-50.0%)"),
            "{lines:?}"
        );
        assert!(compare(&json!({}), &now).is_empty());
    }
}
