//! The `tandem` binary as an operator (or a Kubernetes pod) runs it: unknown `TANDEM_*`
//! variables are left out with a warning, the SQLite path is one absolute file whatever the
//! working directory, `tandem config` shows no secret and `tandem check` says what is wrong.

use std::process::{Command, Output};

use tandem_core::store::Backend;
use tandem_core::testing::TestDb;

fn tandem(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .env_remove("TANDEM_CONFIG")
        .env_remove("TANDEM_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("running tandem")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What Kubernetes puts in every pod of a namespace with a Service named `tandem`.
const SERVICE_LINKS: &[(&str, &str)] = &[
    ("TANDEM_PORT", "tcp://10.0.0.1:8080"),
    ("TANDEM_PORT_8080_TCP", "tcp://10.0.0.1:8080"),
    ("TANDEM_PORT_8080_TCP_ADDR", "10.0.0.1"),
    ("TANDEM_SERVICE_HOST", "10.0.0.1"),
    ("TANDEM_SERVICE_PORT", "8080"),
];

#[tokio::test]
async fn service_links_are_ignored_and_the_database_is_one_file() {
    let dir = std::env::temp_dir().join(format!("tandem-cli-{}", uuid::Uuid::new_v4()));
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let mut env: Vec<(&str, &str)> = SERVICE_LINKS.to_vec();
    env.push(("TANDEM_DATABASE_URL", &url));
    let created = tandem(&dir, &env, &["account", "create", "--name", "Shop"]);
    assert!(created.status.success(), "{}", text(&created));
    let out = text(&created);
    assert!(
        out.contains("TANDEM_PORT") && out.contains("ignoring"),
        "{out}"
    );
    assert!(out.contains(&format!("database {url}")), "{out}");
    // A relative path names the same file from any folder it was resolved in.
    let relative = tandem(
        &dir,
        &[("TANDEM_DATABASE_URL", "sqlite://t.db")],
        &["account", "list"],
    );
    assert!(text(&relative).contains("Shop"), "{}", text(&relative));
    let from_elsewhere = tandem(
        &elsewhere,
        &[("TANDEM_DATABASE_URL", &url)],
        &["account", "list"],
    );
    assert!(text(&from_elsewhere).contains("Shop"));
    // A misspelt setting in a file is still an error.
    std::fs::write(dir.join("bad.toml"), "listenn = \"127.0.0.1:1\"\n").unwrap();
    let bad = tandem(&dir, &[], &["--config", "bad.toml", "config"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("listenn"), "{}", text(&bad));
    let check = tandem(&dir, &env, &["check"]);
    assert!(check.status.success(), "{}", text(&check));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn config_hides_secrets_and_check_names_what_is_down() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = std::env::temp_dir();
    let with_password = db
        .url
        .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    let env = [
        ("TANDEM_DATABASE_URL", with_password.as_str()),
        ("TANDEM_SMTP_URL", "smtps://mailer:topsecret@127.0.0.1:1"),
        (
            "TANDEM_KEY_ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
        ("TANDEM_REDIS_URL", "redis://:redispw@127.0.0.1:1"),
    ];
    let shown = tandem(&dir, &env, &["config"]);
    let out = text(&shown);
    assert!(shown.status.success(), "{out}");
    for secret in ["hunter2", "topsecret", "redispw", "MDEyMzQ1"] {
        assert!(!out.contains(secret), "{secret} shows: {out}");
    }
    assert!(
        out.contains("smtp_url = \"smtps://mailer:<redacted>@127.0.0.1:1\""),
        "{out}"
    );
    let check = tandem(&dir, &env, &["check"]);
    let out = text(&check);
    assert!(!check.status.success(), "{out}");
    assert!(out.contains("ok    database"), "{out}");
    assert!(out.contains("FAIL  redis"), "{out}");
    assert!(out.contains("FAIL  smtp"), "{out}");
}

/// Managed databases want TLS: `?sslmode=require` connects over TLS (the local server has
/// `ssl = on` with a self-signed certificate, as Debian sets it up), and `verify-full` checks the
/// certificate against the public web roots, which refuse that one.
#[tokio::test]
async fn the_database_is_reached_over_tls_when_the_url_asks() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = std::env::temp_dir();
    let url = |mode: &str| format!("{}?sslmode={mode}", db.url);
    let required = tandem(
        &dir,
        &[("TANDEM_DATABASE_URL", &url("require"))],
        &["check"],
    );
    assert!(required.status.success(), "{}", text(&required));
    let verified = tandem(
        &dir,
        &[("TANDEM_DATABASE_URL", &url("verify-full"))],
        &["check"],
    );
    assert!(!verified.status.success());
    assert!(
        text(&verified).contains("certificate"),
        "{}",
        text(&verified)
    );
}
