//! `tandem keys generate` and `tandem token` as an operator runs them: a private half never
//! reaches the database as it is (the table is read directly), with or without
//! `key_encryption_key`, and what was stored in plain text before is erased by a migration.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;
use tandem_core::model::{AccountKey, AccountSettings};
use tandem_core::service::new_account;
use tandem_core::store::{AccountStore, Backend, SqlStore, Store};
use tandem_core::testing::TestDb;

use crate::common::{both_backends, Server};

both_backends!(
    generated_private_keys_are_handed_out_not_stored,
    generated_private_keys_are_stored_sealed_with_a_key_encryption_key,
    plain_private_keys_from_before_are_erased
);

const KEK: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Runs the `tandem` binary on `url` with `args`, `key_encryption_key` set or not.
fn tandem(url: &str, kek: Option<&str>, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"));
    command
        .args(args)
        .env("TANDEM_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("TANDEM_KEY_ENCRYPTION_KEY")
        .env_remove("TANDEM_CONFIG");
    if let Some(kek) = kek {
        command.env("TANDEM_KEY_ENCRYPTION_KEY", kek);
    }
    command.output().expect("running tandem")
}

#[track_caller]
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "tandem failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[track_caller]
fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "tandem should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every `account_keys` row as text, read past the Store.
async fn key_rows(store: &SqlStore) -> Vec<(String, Option<String>)> {
    sqlx::query("SELECT kid, public_pem, private_pem FROM account_keys ORDER BY kid")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let kid: String = r.get("kid");
            let public: String = r.get("public_pem");
            let private: Option<String> = r.get("private_pem");
            assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
            (kid, private)
        })
        .collect()
}

#[track_caller]
fn assert_no_private_pem(rows: &[(String, Option<String>)]) {
    for (kid, private) in rows {
        let private = private.as_deref().unwrap_or_default();
        assert!(
            !private.contains("PRIVATE KEY"),
            "key {kid} holds a private key in plain text"
        );
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks a minted token against a server on the same database.
async fn token_works(url: &str, token: &str) {
    let server = Server::start_on(url, |_| {}).await;
    let (status, me) = server.get("/api/1/users/me", token.trim()).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "administrator");
    server.stop().await;
}

async fn setup(backend: Backend) -> (TestDb, SqlStore, String) {
    let db = TestDb::new(backend).await;
    let store = SqlStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let account = new_account("keys", &AccountSettings::default());
    store.create_account(&account).await.unwrap();
    (db, store, account.license_key)
}

async fn generated_private_keys_are_handed_out_not_stored(backend: Backend) {
    let (db, store, license) = setup(backend).await;
    let url = db.url.as_str();

    // Printed once, stored nowhere.
    let out = ok(&tandem(
        url,
        None,
        &["keys", "generate", "--account", &license],
    ));
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert!(printed["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(printed["private_key_stored"], "no");
    let rows = key_rows(&store).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, None);

    // License keys may start with "-": still the value of --account, not an option.
    let err = failed(&tandem(
        url,
        None,
        &["keys", "list", "--account", "-Xno-such"],
    ));
    assert!(
        err.contains("no account has the id or license key"),
        "{err}"
    );

    // Nothing stored to sign with: `token` says to bring the key.
    let err = failed(&tandem(
        url,
        None,
        &["token", "--account", &license, "--email", "a@example.com"],
    ));
    assert!(err.contains("--key"), "{err}");

    // Written to a file only its owner can read, and never over an existing file.
    let dir = temp_dir();
    let file = dir.join("key.pem");
    let file_arg = file.to_str().unwrap();
    let args = ["keys", "generate", "--account", &license, "--out", file_arg];
    let out = ok(&tandem(url, None, &args));
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    let pem = std::fs::read_to_string(&file).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    failed(&tandem(url, None, &args));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pem);
    let rows = key_rows(&store).await;
    assert_eq!(rows.len(), 2, "the failed run stored no key");
    assert_no_private_pem(&rows);
    assert!(rows.iter().all(|(_, private)| private.is_none()));

    // `token --key` signs with the file, under the kid its public half is registered with.
    let token = ok(&tandem(
        url,
        None,
        &[
            "token",
            "--account",
            &license,
            "--email",
            "a@example.com",
            "--role",
            "administrator",
            "--key",
            file_arg,
        ],
    ));
    token_works(url, &token).await;
    // A key the account does not know is refused before anything is signed.
    let stranger = tandem_api::keys::generate("elsewhere").unwrap();
    let stranger_file = dir.join("stranger.pem");
    std::fs::write(&stranger_file, &stranger.private_pem).unwrap();
    let err = failed(&tandem(
        url,
        None,
        &[
            "token",
            "--account",
            &license,
            "--email",
            "a@example.com",
            "--key",
            stranger_file.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("not the private half"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn generated_private_keys_are_stored_sealed_with_a_key_encryption_key(backend: Backend) {
    let (db, store, license) = setup(backend).await;
    let url = db.url.as_str();

    let out = ok(&tandem(
        url,
        Some(KEK),
        &["keys", "generate", "--account", &license],
    ));
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["private_key_stored"], "sealed");
    let rows = key_rows(&store).await;
    assert_no_private_pem(&rows);
    let sealed = rows[0].1.as_deref().expect("a sealed private half");
    assert!(sealed.starts_with("sealed:v1:"), "{sealed}");

    let args = [
        "token",
        "--account",
        &license,
        "--email",
        "a@example.com",
        "--role",
        "administrator",
    ];
    token_works(url, &ok(&tandem(url, Some(KEK), &args))).await;
    // Without the key encryption key, or with another, the sealed half is of no use.
    let err = failed(&tandem(url, None, &args));
    assert!(err.contains("key_encryption_key"), "{err}");
    let other = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let err = failed(&tandem(url, Some(other), &args));
    assert!(err.contains("does not open"), "{err}");

    // A sealed half moved onto another key's row does not open there.
    let pair = tandem_api::keys::generate(&rows_account(&store).await).unwrap();
    let moved = AccountKey {
        private_pem: Some(sealed.to_owned()),
        ..pair.key.clone()
    };
    store.add_key(&moved).await.unwrap();
    let err = failed(&tandem(
        url,
        Some(KEK),
        &[
            "token",
            "--account",
            &license,
            "--email",
            "a@example.com",
            "--kid",
            &moved.kid,
        ],
    ));
    assert!(err.contains("does not open"), "{err}");
}

async fn rows_account(store: &SqlStore) -> String {
    store.accounts().await.unwrap()[0].id.clone()
}

/// The migrations before the one that erases plain private halves, copied into `dir`.
fn migrations_before_erasure(backend: Backend, dir: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/migrations")
        .join(backend.as_str());
    let mut names: Vec<String> = std::fs::read_dir(&source)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let erasure = names
        .iter()
        .position(|n| n.ends_with("_private_keys_unstored.sql"))
        .expect("the erasing migration");
    for name in &names[..erasure] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
}

async fn plain_private_keys_from_before_are_erased(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = SqlStore::connect(&db.url).await.unwrap();
    let dir = temp_dir();
    migrations_before_erasure(backend, &dir);
    sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .unwrap()
        .run(store.pool())
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // As an older Tandem stored them: one plain, one (hypothetically) sealed, one public only.
    // Written as that schema has it (later migrations add columns the Store now writes).
    let account = new_account("old", &AccountSettings::default());
    sqlx::query(
        "INSERT INTO accounts (id, name, license_key, settings, created) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&account.id)
    .bind(&account.name)
    .bind(&account.license_key)
    .bind(serde_json::to_string(&account.settings).unwrap())
    .bind(account.created)
    .execute(store.pool())
    .await
    .unwrap();
    let mut kids = Vec::new();
    for private in [Some("plain"), Some("sealed"), None] {
        let pair = tandem_api::keys::generate(&account.id).unwrap();
        let key = AccountKey {
            private_pem: private.map(|p| match p {
                "plain" => pair.private_pem.clone(),
                _ => "sealed:v1:AAAA".to_owned(),
            }),
            ..pair.key
        };
        kids.push(key.kid.clone());
        store.add_key(&key).await.unwrap();
    }
    let before = key_rows(&store).await;
    assert!(
        before
            .iter()
            .any(|(_, p)| p.as_deref().unwrap_or("").contains("PRIVATE KEY")),
        "the old state holds a plain private key"
    );

    store.migrate().await.unwrap();
    let after = key_rows(&store).await;
    assert_no_private_pem(&after);
    let private_of = |kid: &str| {
        after
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, p)| p.clone())
            .unwrap()
    };
    assert_eq!(private_of(&kids[0]), None, "the plain half is gone");
    assert_eq!(private_of(&kids[1]).as_deref(), Some("sealed:v1:AAAA"));
    assert_eq!(private_of(&kids[2]), None);
    assert_eq!(after.len(), 3, "every public half stays");
}
