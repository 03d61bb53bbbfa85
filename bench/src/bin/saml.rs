//! How fast the ACS answers: genuine SAML responses and the forgery matrix's refusals, timed
//! at the client against a release build, on SQLite, with the real test IdP
//! (tests/saml/idp.py; `make saml-venv`). The responses are unsolicited (IdP-initiated sign-in
//! is on for the bench's account), so each post stands alone; minting is not timed.
//!
//!     make bench-saml            # or: cargo run --release -p tandem-bench --bin tandem-bench-saml
//!
//! Prints, per case: tries, refused, median and slowest answer in milliseconds.

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use tandem_core::store::Backend;
use tandem_testkit::{forgeries, Idp, Server};

#[derive(Parser)]
struct Args {
    /// Posts per case.
    #[arg(long, default_value_t = 30)]
    tries: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
    println!(
        "{:<24} {:>6} {:>8} {:>9} {:>9}",
        "case", "tries", "refused", "p50 ms", "max ms"
    );
    let mut slowest_refusal = Duration::ZERO;
    for (name, extra) in &cases {
        let mut took = Vec::with_capacity(args.tries);
        let mut refused = 0;
        for _ in 0..args.tries {
            let mut fields = json!({"acs": acs, "audience": audience});
            for (k, v) in extra.as_object().into_iter().flatten() {
                fields[k] = v.clone();
            }
            let response = idp.mint(fields).await;
            let body = form_urlencoded_pair("SAMLResponse", &response);
            let began = Instant::now();
            let res = http
                .post(&acs)
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
        println!(
            "{name:<24} {:>6} {refused:>8} {:>9.2} {:>9.2}",
            took.len(),
            ms(took[took.len() / 2]),
            ms(*took.last().unwrap_or(&Duration::ZERO))
        );
    }
    println!(
        "slowest refusal: {:.2} ms",
        slowest_refusal.as_secs_f64() * 1000.0
    );
    server.stop().await;
    Ok(())
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
