//! The `tandem` command line: serve (default), migrate, and operator commands for accounts,
//! keys and test tokens.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;
use tandem_core::model::{Account, AccountKey, AccountSettings};
use tandem_core::service::Service;
use tandem_core::store::Store;

use crate::config::Config;
use crate::keys::{self, TokenSpec};

#[derive(Parser, Debug)]
#[command(name = "tandem", version, about = "Tandem co-browsing server")]
pub struct Cli {
    /// A TOML configuration file (settings in `TANDEM_*` variables override it).
    #[arg(long, global = true, env = "TANDEM_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve {
        /// `all` (default), `api` (REST only) or `realtime` (sockets only); overrides `role`.
        #[arg(long)]
        role: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage the keys that verify an account's JWTs.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Mint an agent JWT with an account's generated key (for testing and first steps).
    Token(TokenArgs),
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account; prints its id and license key.
    Create {
        #[arg(long)]
        name: String,
        /// Skip the consent step when an agent joins.
        #[arg(long)]
        no_consent: bool,
    },
    /// List accounts.
    List,
    /// Change an account's settings: a JSON object merged over the current ones, e.g.
    /// '{"asset_origins": ["https://shop.example"], "redaction_selectors": [".card"]}'.
    Update {
        /// Account id or license key.
        #[arg(long)]
        account: String,
        #[arg(long)]
        settings: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate and store an RS256 key pair for the account.
    Generate {
        /// Account id or license key.
        #[arg(long)]
        account: String,
    },
    /// Register a public key (PEM file) whose private half stays with you.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        kid: String,
        #[arg(long)]
        public_key: PathBuf,
    },
    /// List the account's keys.
    List {
        #[arg(long)]
        account: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// Account id or license key.
    #[arg(long)]
    pub account: String,
    /// The agent's email (the `sub` claim).
    #[arg(long)]
    pub email: String,
    #[arg(long, value_parser = ["administrator", "agent"])]
    pub role: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
    /// A policy as JSON.
    #[arg(long)]
    pub policy: Option<String>,
    /// The key to sign with (default: the newest generated key).
    #[arg(long)]
    pub kid: Option<String>,
}

async fn find_account(store: &dyn Store, id_or_license: &str) -> anyhow::Result<Account> {
    match store.account(id_or_license).await {
        Ok(a) => Ok(a),
        Err(tandem_core::Error::NotFound(_)) => store
            .account_by_license(id_or_license)
            .await
            .with_context(|| format!("no account has the id or license key {id_or_license:?}")),
        Err(e) => Err(e.into()),
    }
}

/// Runs a non-serve command, printing JSON results on stdout.
pub async fn run(command: Command, config: &Config) -> anyhow::Result<()> {
    let store = crate::open_store(config).await?;
    let out = match command {
        Command::Serve { .. } => unreachable!("serve is handled by main"),
        Command::Migrate => json!({"migrated": true, "backend": store.backend().as_str()}),
        Command::Account(AccountCommand::Create { name, no_consent }) => {
            let settings = AccountSettings {
                require_consent: !no_consent,
                ..AccountSettings::default()
            };
            json!(store.create_account(&name, &settings).await?)
        }
        Command::Account(AccountCommand::List) => json!(store.accounts().await?),
        Command::Account(AccountCommand::Update { account, settings }) => {
            let account = find_account(store.as_ref(), &account).await?;
            let patch: serde_json::Value =
                serde_json::from_str(&settings).context("--settings must be a JSON object")?;
            let serde_json::Value::Object(patch) = patch else {
                bail!("--settings must be a JSON object");
            };
            let mut merged = serde_json::to_value(&account.settings)?;
            for (k, v) in patch {
                merged[k] = v;
            }
            let settings: AccountSettings = serde_json::from_value(merged)
                .context("invalid settings (unknown key or wrong type)")?;
            json!(
                store
                    .update_account_settings(&account.id, &settings)
                    .await?
            )
        }
        Command::Keys(KeysCommand::Generate { account }) => {
            let account = find_account(store.as_ref(), &account).await?;
            let key = keys::generate(&account.id)?;
            store.add_key(&key).await?;
            json!({"account": account.id, "kid": key.kid, "algorithm": key.algorithm, "public_key": key.public_pem})
        }
        Command::Keys(KeysCommand::Add {
            account,
            kid,
            public_key,
        }) => {
            let account = find_account(store.as_ref(), &account).await?;
            let pem = std::fs::read_to_string(&public_key)
                .with_context(|| format!("reading {}", public_key.display()))?;
            jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                .context("the file is not an RSA public key in PEM form")?;
            let key = AccountKey {
                account_id: account.id.clone(),
                kid,
                algorithm: "RS256".into(),
                public_pem: pem,
                private_pem: None,
                created: tandem_core::time::now(),
            };
            store.add_key(&key).await?;
            json!({"account": account.id, "kid": key.kid, "algorithm": key.algorithm})
        }
        Command::Keys(KeysCommand::List { account }) => {
            let account = find_account(store.as_ref(), &account).await?;
            let keys: Vec<_> = store
                .keys(&account.id)
                .await?
                .into_iter()
                .map(|k| json!({"kid": k.kid, "algorithm": k.algorithm, "generated": k.private_pem.is_some(), "created": tandem_core::time::to_rfc3339(k.created)}))
                .collect();
            json!(keys)
        }
        Command::Token(args) => {
            let account = find_account(store.as_ref(), &args.account).await?;
            let token = mint_for(store.as_ref(), &account, config, &args).await?;
            println!("{token}");
            return Ok(());
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn mint_for(
    store: &dyn Store,
    account: &Account,
    config: &Config,
    args: &TokenArgs,
) -> anyhow::Result<String> {
    let keys = store.keys(&account.id).await?;
    let key = keys
        .iter()
        .filter(|k| k.private_pem.is_some())
        .find(|k| args.kid.as_ref().is_none_or(|kid| &k.kid == kid))
        .context(
            "the account has no generated key to sign with; run `tandem keys generate` first",
        )?;
    let policy = match &args.policy {
        Some(p) => Some(serde_json::from_str(p).context("--policy must be JSON")?),
        None => None,
    };
    if args.ttl <= 0 {
        bail!("--ttl must be positive");
    }
    keys::mint(
        key,
        &TokenSpec {
            license_key: account.license_key.clone(),
            email: args.email.clone(),
            audience: config.jwt_audiences[0].clone(),
            ttl_secs: args.ttl,
            display_name: args.name.clone(),
            role: args.role.clone(),
            policy,
        },
    )
}

/// On first start (no accounts yet) creates the first account with a generated key, and says
/// how to get an administrator token.
pub async fn bootstrap(
    service: &Arc<Service>,
    name: &str,
    public_base: &str,
) -> anyhow::Result<()> {
    let store = service.store();
    if !store.accounts().await?.is_empty() {
        return Ok(());
    }
    let account = store
        .create_account(name, &AccountSettings::default())
        .await?;
    let key = tokio::task::spawn_blocking({
        let id = account.id.clone();
        move || keys::generate(&id)
    })
    .await??;
    store.add_key(&key).await?;
    let token = keys::mint(
        &key,
        &TokenSpec {
            license_key: account.license_key.clone(),
            email: "admin@example.com".into(),
            audience: "tandem".into(),
            ttl_secs: 3600,
            display_name: Some("Administrator".into()),
            role: Some("administrator".into()),
            policy: None,
        },
    )?;
    tracing::info!(
        account = %account.id,
        license_key = %account.license_key,
        "created the first account; an administrator token (1 hour) follows. Mint more with \
         `tandem token --account {} --email you@example.com --role administrator`",
        account.license_key
    );
    println!(
        "\nFirst account created. License key: {license}\nAdministrator token (valid 1 hour):\n{token}\n\n\
         Co-browse between two browser tabs:\n  \
         customer: {public_base}/demo?license={license}   (click \"Get a support code\")\n  \
         agent:    {public_base}/code?token={token}&end_action=code   (enter the code)\n",
        license = account.license_key
    );
    Ok(())
}
