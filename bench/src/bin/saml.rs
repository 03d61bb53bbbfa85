//! How fast the ACS answers: genuine SAML responses and the forgery matrix's refusals, timed
//! at the client against a release build, on SQLite, with the real test IdP
//! (tests/saml/idp.py; `make saml-venv`). The responses are unsolicited (IdP-initiated sign-in
//! is on for the bench's account), so each post stands alone; minting is not timed.
//!
//!     make bench-saml            # or: cargo run --release -p tandem-bench --bin tandem-bench-saml
//!
//! Prints, per case and round: tries, refused, median and slowest answer in milliseconds; writes
//! every round's figures to target/bench/saml.json. `--smoke`: one round of two tries per case.

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use tandem_bench::report::{self, Report};
use tandem_core::store::Backend;
use tandem_testkit::{forgeries, Idp, Server};

#[derive(Parser)]
struct Args {
    /// Posts per case.
    #[arg(long, default_value_t = 30)]
    tries: usize,
    /// Rounds over every case.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// One round of two tries per case (what `make test` runs).
    #[arg(long)]
    smoke: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        (args.tries, args.runs) = (2, 1);
    }
    anyhow::ensure!(
        args.tries > 0 && args.runs > 0,
        "--tries and --runs must be at least 1"
    );
    let mut report = Report::new("saml");
    report.config("tries", args.tries as u64);
    let server = Server::start(Backend::Sqlite).await;
    let t = server.tenant().await;
    let idp = Idp::start().await;
    let (status, view) = server
        .put(
            "/api/1/sso",
            &t.admin,
            json!({"metadata_xml": idp.get("/metadata").await, "jit": true, "idp_initiated": true}),
        )
        .await;
    anyhow::ensure!(status.is_success(), "configuring SSO: {status} {view}");
    let acs = view["sp"]["acs_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let audience = view["sp"]["entity_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut cases: Vec<(&str, Value)> = vec![("genuine (accepted)", json!({}))];
    cases.extend(forgeries());
    for round in 1..=args.runs {
        println!("\nround {round} of {}", args.runs);
        let slowest = one_round(&args, &cases, &idp, &http, &acs, &audience, &mut report).await?;
        println!("slowest refusal: {slowest:.2} ms");
        report.add("slowest_refusal", "ms", slowest);
    }
    server.stop().await;
    report.write()?;
    Ok(())
}

/// Every case once, `tries` posts each; returns the slowest refusal in milliseconds.
async fn one_round(
    args: &Args,
    cases: &[(&str, Value)],
    idp: &Idp,
    http: &reqwest::Client,
    acs: &str,
    audience: &str,
    report: &mut Report,
) -> anyhow::Result<f64> {
    println!(
        "{:<24} {:>6} {:>8} {:>9} {:>9}",
        "case", "tries", "refused", "p50 ms", "max ms"
    );
    let mut slowest_refusal = Duration::ZERO;
    for (name, extra) in cases {
        let mut took = Vec::with_capacity(args.tries);
        let mut refused = 0u32;
        for _ in 0..args.tries {
            let mut fields = json!({"acs": acs, "audience": audience});
            for (k, v) in extra.as_object().into_iter().flatten() {
                fields[k] = v.clone();
            }
            let response = idp.mint(fields).await;
            let body = form_urlencoded_pair("SAMLResponse", &response);
            let began = Instant::now();
            let res = http
                .post(acs)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await?;
            let status = res.status();
            res.bytes().await?;
            let elapsed = began.elapsed();
            took.push(elapsed);
            if status.as_u16() != 303 {
                refused += 1;
                slowest_refusal = slowest_refusal.max(elapsed);
            }
        }
        took.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (p50, max) = (
            ms(took[took.len() / 2]),
            ms(*took.last().unwrap_or(&Duration::ZERO)),
        );
        println!(
            "{name:<24} {:>6} {refused:>8} {p50:>9.2} {max:>9.2}",
            took.len()
        );
        let key = report::key(name);
        report.add(&format!("{key}.p50"), "ms", p50);
        report.add(&format!("{key}.max"), "ms", max);
        report.add(&format!("{key}.refused"), "posts", f64::from(refused));
    }
    Ok(slowest_refusal.as_secs_f64() * 1000.0)
}

/// `name=value`, form-encoded (base64's `+`, `/` and `=` escaped).
fn form_urlencoded_pair(name: &str, value: &str) -> String {
    let escaped: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{name}={escaped}")
}
