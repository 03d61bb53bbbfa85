//! The `tandem` command line: serve (default), migrate, and operator commands for accounts,
//! keys and test tokens.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;
use tandem_core::model::{Account, AccountKey, AccountSettings};
use tandem_core::service::Service;

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
        #[arg(long, value_enum)]
        role: Option<crate::config::ServerRole>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage the keys that verify an account's JWTs.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Mint an agent JWT with one of an account's keys (for testing and first steps).
    Token(TokenArgs),
    /// Print the REST API's OpenAPI document, generated from the routes (`make openapi` writes
    /// it to api/openapi.json). Needs neither configuration nor a database.
    Openapi,
    /// Print the effective configuration (defaults, file, environment) as TOML, secrets
    /// redacted.
    Config,
    /// Check the configuration, and that the database, Redis and the SMTP server (those
    /// configured) answer; changes nothing. Exits non-zero with the reason when one does not.
    Check,
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
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        #[arg(long)]
        settings: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate an RS256 key pair for the account and register its public half. The private
    /// half is printed once (or written to `--out`); it is stored only sealed, when
    /// `key_encryption_key` is set.
    Generate {
        /// Account id or license key.
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        /// Write the private key (PEM) to this new file, readable by you alone, instead of
        /// printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Register a public key (PEM file) whose private half stays with you.
    Add {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
        #[arg(long)]
        public_key: PathBuf,
    },
    /// List the account's keys.
    List {
        #[arg(long, allow_hyphen_values = true)]
        account: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// Account id or license key.
    #[arg(long, allow_hyphen_values = true)]
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
    /// The key to sign with (default: the newest one that can sign). Generated kids may start
    /// with `-`.
    #[arg(long, allow_hyphen_values = true)]
    pub kid: Option<String>,
    /// A private key (PEM) whose public half is registered for the account, such as the file
    /// `tandem keys generate --out` wrote. Without it, a private half stored sealed is used.
    #[arg(long)]
    pub key: Option<PathBuf>,
}

async fn find_account(service: &Service, id_or_license: &str) -> anyhow::Result<Account> {
    service
        .find_account(id_or_license)
        .await
        .with_context(|| format!("no account has the id or license key {id_or_license:?}"))
}

/// Runs a non-serve command, printing JSON results on stdout.
pub async fn run(command: Command, config: &Config) -> anyhow::Result<()> {
    match command {
        Command::Config => {
            print!("{}", toml::to_string(&config.redacted())?);
            return Ok(());
        }
        Command::Check => return crate::check::run(config).await,
        _ => {}
    }
    eprintln!("tandem: database {}", config.database_shown());
    let service = crate::open_service(config).await?;
    let out = match command {
        Command::Serve { .. } | Command::Openapi | Command::Config | Command::Check => {
            unreachable!("handled above")
        }
        Command::Migrate => json!({"migrated": true, "backend": service.backend().as_str()}),
        Command::Account(AccountCommand::Create { name, no_consent }) => {
            let settings = AccountSettings {
                require_consent: !no_consent,
                ..AccountSettings::default()
            };
            json!(service.create_account(&name, &settings).await?)
        }
        Command::Account(AccountCommand::List) => json!(service.accounts().await?),
        Command::Account(AccountCommand::Update { account, settings }) => {
            let account = find_account(&service, &account).await?;
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
                service
                    .update_account_settings(&account.id, &settings)
                    .await?
            )
        }
        Command::Keys(KeysCommand::Generate { account, out }) => {
            let account = find_account(&service, &account).await?;
            let pair = keys::generate(&account.id)?;
            if let Some(path) = &out {
                write_private_key(path, &pair.private_pem)?;
            }
            let kek = config.key_encryption_key();
            let key = match &kek {
                Some(kek) => keys::sealed(&pair, kek)?,
                None => pair.key.clone(),
            };
            service.add_key(&key).await?;
            let mut reply = json!({
                "account": account.id, "kid": key.kid, "algorithm": key.algorithm,
                "public_key": key.public_pem,
                "private_key_stored": if kek.is_some() { "sealed" } else { "no" },
            });
            match &out {
                Some(path) => reply["private_key_file"] = json!(path.display().to_string()),
                None if kek.is_none() => {
                    eprintln!(
                        "The private key below is not stored: keep it now (--out FILE writes it \
                         to a file only you can read). `tandem token --key FILE` signs with it."
                    );
                    reply["private_key"] = json!(pair.private_pem);
                }
                None => {}
            }
            reply
        }
        Command::Keys(KeysCommand::Add {
            account,
            kid,
            public_key,
        }) => {
            let account = find_account(&service, &account).await?;
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
            service.add_key(&key).await?;
            json!({"account": account.id, "kid": key.kid, "algorithm": key.algorithm})
        }
        Command::Keys(KeysCommand::List { account }) => {
            let account = find_account(&service, &account).await?;
            let keys: Vec<_> = service
                .keys(&account.id)
                .await?
                .into_iter()
                .map(|k| {
                    let private = match k.private_pem.as_deref() {
                        None => "no",
                        Some(p) if p.starts_with(keys::SEALED_PREFIX) => "sealed",
                        Some(_) => "unsealed (not used)",
                    };
                    json!({"kid": k.kid, "algorithm": k.algorithm, "private_key_stored": private, "created": tandem_core::time::to_rfc3339(k.created)})
                })
                .collect();
            json!(keys)
        }
        Command::Token(args) => {
            let account = find_account(&service, &args.account).await?;
            let token = mint_for(&service, &account, config, &args).await?;
            println!("{token}");
            return Ok(());
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn mint_for(
    service: &Service,
    account: &Account,
    config: &Config,
    args: &TokenArgs,
) -> anyhow::Result<String> {
    let keys = service.keys(&account.id).await?;
    let candidates = keys
        .iter()
        .filter(|k| args.kid.as_ref().is_none_or(|kid| &k.kid == kid));
    let (kid, private_pem) = match &args.key {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let key = candidates
                .into_iter()
                .find(|k| keys::matches(k, &pem))
                .with_context(|| {
                    format!(
                        "the private key in {} is not the private half of any key registered \
                         for this account{}",
                        path.display(),
                        args.kid
                            .as_ref()
                            .map(|k| format!(" with kid {k:?}"))
                            .unwrap_or_default()
                    )
                })?;
            (key.kid.clone(), pem)
        }
        None => {
            let kek = config.key_encryption_key();
            let mut found = None;
            let mut why = None;
            for key in candidates {
                match keys::stored_private(key, kek.as_ref()) {
                    Ok(Some(pem)) => {
                        found = Some((key.kid.clone(), pem));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => why = why.or(Some(e)),
                }
            }
            match (found, why) {
                (Some(found), _) => found,
                (None, Some(why)) => return Err(why),
                (None, None) => bail!(
                    "no private half is stored for this account's keys: pass --key FILE (as \
                     written by `tandem keys generate --out FILE`), or set key_encryption_key \
                     and run `tandem keys generate`"
                ),
            }
        }
    };
    let policy = match &args.policy {
        Some(p) => Some(serde_json::from_str(p).context("--policy must be JSON")?),
        None => None,
    };
    if args.ttl <= 0 {
        bail!("--ttl must be positive");
    }
    keys::mint(
        &kid,
        &private_pem,
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

/// Writes a private key to a new file that only its owner can read.
fn write_private_key(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing file is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}
