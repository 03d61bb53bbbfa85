//! Configuration: built-in defaults (this file is where they are documented), then an optional
//! TOML file, then `TANDEM_*` environment variables (`DATABASE_URL` is honoured too). Validated
//! at start; an error names the setting.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

mod kinds;
mod urls;
mod validate;
pub use kinds::{LogFormat, ServerRole};
pub use urls::origin_of;
use urls::{absolute_sqlite, redact_url};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the server listens (`TANDEM_LISTEN`).
    pub listen: String,
    /// `sqlite://path` (embedded default) or `postgres://…` (`TANDEM_DATABASE_URL` / `DATABASE_URL`;
    /// `?sslmode=require` for TLS, `verify-full` to check the certificate against the web roots).
    pub database_url: String,
    /// The URL clients reach this server at; sockets and SDK links are built from it.
    /// Empty means `http://<listen>`.
    pub public_url: String,
    /// Accepted JWT `aud` values.
    pub jwt_audiences: Vec<String>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub jwt_leeway_secs: u64,
    /// Live sessions without activity for this long are ended (5 minutes): nothing relayed and
    /// no `ping` from the customer's page, which the web SDK sends every 30 s while it is open
    /// (keep this above that).
    pub inactivity_timeout_secs: u64,
    /// How often the reaper runs, in milliseconds.
    pub reaper_interval_ms: u64,
    /// Failed code/token redemptions allowed per agent, and per account, per minute.
    pub redeem_failures_per_agent: u32,
    pub redeem_failures_per_account: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered 408; also the shutdown drain limit.
    pub request_timeout_secs: u64,
    /// Region id reported by `GET /api/1/regions/closest`.
    pub region: String,
    /// `text` or `json` logs.
    pub log_format: LogFormat,
    /// Name of the account created on first start when there is none ("" to create none).
    pub bootstrap_account: String,
    /// What this process serves: `all` (REST and sockets), `api` (REST only) or `realtime`
    /// (sockets only). Split roles need `redis_url` so events reach the socket replicas.
    pub role: ServerRole,
    /// `redis://…` (`rediss://…` for TLS): events and session streams cross replicas through
    /// Redis pub/sub (`TANDEM_REDIS_URL` / `REDIS_URL`). Empty: one process, in-process delivery.
    pub redis_url: String,
    /// Largest socket message a client may send, in bytes. Bigger events (a large page's
    /// snapshot) travel in chunks of this size at most.
    pub socket_max_message_bytes: usize,
    /// Largest event a client may send in chunks; the web SDK reports bigger ones to the
    /// customer and the agent instead of sending them.
    pub socket_max_event_bytes: usize,
    /// Subscriptions one socket may hold.
    pub socket_max_subscriptions: usize,
    /// Frames queued for one socket before it is closed as too slow (close code 4008).
    pub socket_queue_frames: usize,
    /// How long a stream token from `/sessions/:id/tokens` lasts; a stream socket is closed with
    /// 4002 when its token expires (clients fetch a new one and reconnect).
    pub stream_token_ttl_secs: u64,
    /// How long a notification token from `/users/me` (an agent's socket credential) lasts; the
    /// socket is closed with 4002 when it expires. The Cobrowse agent SDK refetches `/users/me`
    /// at most hourly, so less than 3600 makes it retry with a stale token for a while.
    pub notification_token_ttl_secs: u64,
    /// Bytes of recording kept per session so that agents who join late see the page at once.
    pub session_replay_bytes: usize,
    /// Diagnostics: one relayed session-stream frame in this many is timed from the read that
    /// brought it in to each write that sends it on, stage by stage, into the
    /// `tandem_realtime_frame_stage_seconds{stage}` metric. 0 (the default): none.
    pub socket_trace_every: u64,
    /// Empty (the default): the web SDK and viewer built into the binary. A folder: serve them
    /// from there instead (development; `make sdk` builds them into `sdk-js/dist`).
    pub assets_dir: String,
    /// Standard base64 of 32 random bytes (`openssl rand -base64 32`). When set, the private
    /// halves of keys Tandem generates are stored sealed with it (AES-256-GCM), so `tandem
    /// token` can sign with them. Empty (the default): private halves are never stored; they
    /// are handed out once. Keep it out of the database and its backups.
    pub key_encryption_key: String,
    /// Where sign-in and invitation emails go out: `smtps://host:465` (TLS),
    /// `smtp://host:587?tls=required` (STARTTLS), or plain `smtp://host:25` (unencrypted: a relay
    /// on the same host or network), with `user:password@` when the server wants a login. Empty:
    /// links are written to the server log instead.
    pub smtp_url: String,
    /// The sender of those emails, e.g. `Tandem <tandem@example.com>`.
    pub email_from: String,
    /// Emails of the instance's superusers: they see every account, create and disable accounts.
    pub superuser_emails: Vec<String>,
    /// The email made administrator of the first account on first start; `make run` prints a
    /// sign-in link for it. Empty: none.
    pub bootstrap_admin_email: String,
    /// `TANDEM_*` variables that name no setting, left out at load.
    #[serde(skip)]
    pub ignored_env: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/tandem.db".into(),
            public_url: String::new(),
            jwt_audiences: vec!["tandem".into(), "https://cobrowse.io".into()],
            jwt_leeway_secs: 30,
            inactivity_timeout_secs: 300,
            reaper_interval_ms: 5000,
            redeem_failures_per_agent: 10,
            redeem_failures_per_account: 100,
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            region: "default".into(),
            log_format: LogFormat::Text,
            bootstrap_account: "Default".into(),
            role: ServerRole::All,
            redis_url: String::new(),
            socket_max_message_bytes: 64 * 1024,
            socket_max_event_bytes: 32 * 1024 * 1024,
            socket_max_subscriptions: 1000,
            socket_queue_frames: 256,
            stream_token_ttl_secs: 3600,
            notification_token_ttl_secs: 24 * 3600,
            session_replay_bytes: 8 * 1024 * 1024,
            socket_trace_every: 0,
            assets_dir: String::new(),
            key_encryption_key: String::new(),
            smtp_url: String::new(),
            email_from: "Tandem <tandem@localhost>".into(),
            superuser_emails: vec![],
            bootstrap_admin_email: "admin@example.com".into(),
            ignored_env: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &self.database_shown())
            .field("public_url", &self.public_url)
            .field("inactivity_timeout_secs", &self.inactivity_timeout_secs)
            .field("role", &self.role)
            .field("redis", &!self.redis_url.is_empty())
            .field("key_encryption_key", &!self.key_encryption_key.is_empty())
            .field("smtp", &!self.smtp_url.is_empty())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then `file` (if given), then the environment, and validates. A SQLite
    /// path is made absolute here, once, so every command opens the same file wherever it runs.
    /// `TANDEM_*` variables that name no setting are left out (Kubernetes sets such variables
    /// for a Service named `tandem`) and listed in [`Config::ignored_env`]; a misspelt setting
    /// in the file is still an error.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "the configuration file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        if let Ok(url) = std::env::var("DATABASE_URL") {
            fig = fig.merge(("database_url", url));
        }
        if let Ok(url) = std::env::var("REDIS_URL") {
            fig = fig.merge(("redis_url", url));
        }
        let known = setting_names();
        let mut ignored: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter_map(|k| {
                let name = k.strip_prefix("TANDEM_")?.to_ascii_lowercase();
                (!known.contains(&name) && name != "config").then_some(k)
            })
            .collect();
        ignored.sort();
        fig = fig.merge(
            Env::prefixed("TANDEM_")
                .ignore(&["config"])
                .filter(move |k| known.contains(&k.as_str().to_ascii_lowercase())),
        );
        let mut config: Config = fig.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.database_url = absolute_sqlite(&config.database_url)?;
        config.ignored_env = ignored;
        config.validate()?;
        Ok(config)
    }

    /// The `TANDEM_*` variables that named no setting and were left out.
    pub fn ignored_env(&self) -> &[String] {
        &self.ignored_env
    }

    /// The effective configuration with every secret replaced: passwords in URLs and the key
    /// encryption key (`tandem config`).
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for url in [&mut c.database_url, &mut c.redis_url, &mut c.smtp_url] {
            *url = redact_url(url);
        }
        if !c.key_encryption_key.is_empty() {
            c.key_encryption_key = "<redacted>".into();
        }
        c
    }

    /// The database URL with its password (if any) replaced, for logs and messages.
    pub fn database_shown(&self) -> String {
        redact_url(&self.database_url)
    }

    /// The key that seals stored private halves, when one is configured.
    pub fn key_encryption_key(&self) -> Option<crate::keys::KeyEncryptionKey> {
        crate::keys::KeyEncryptionKey::parse(&self.key_encryption_key)
            .ok()
            .flatten()
    }

    /// The base URL clients use, without a trailing slash.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if self.public_url.is_empty() {
            format!("http://{bound}")
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    pub fn service(&self) -> tandem_core::service::ServiceConfig {
        tandem_core::service::ServiceConfig {
            inactivity_timeout: Duration::from_secs(self.inactivity_timeout_secs),
            reaper_interval: Duration::from_millis(self.reaper_interval_ms),
            redeem_failures_per_agent: self.redeem_failures_per_agent,
            redeem_failures_per_account: self.redeem_failures_per_account,
            redeem_window: Duration::from_secs(60),
            superuser_emails: self.superuser_emails.clone(),
        }
    }

    /// The realtime hub's settings, for a server reachable at `public_base`.
    pub fn realtime(&self, public_base: &str) -> tandem_realtime::Settings {
        let origin = origin_of(public_base);
        tandem_realtime::Settings {
            limits: tandem_realtime::Limits {
                max_message_bytes: self.socket_max_message_bytes,
                max_event_bytes: self.socket_max_event_bytes,
                max_subscriptions: self.socket_max_subscriptions,
                queue_frames: self.socket_queue_frames,
                replay_bytes: self.session_replay_bytes,
            },
            public_origin: origin.to_owned(),
            redis_url: (!self.redis_url.is_empty()).then(|| self.redis_url.clone()),
            trace_every: self.socket_trace_every,
        }
    }
}

/// The names of every setting, as the file and `TANDEM_<NAME>` spell them.
fn setting_names() -> std::collections::HashSet<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = Box<dyn FnOnce(&mut Config)>;

    fn with(f: impl FnOnce(&mut Config)) -> Result<(), ConfigError> {
        let mut c = Config::default();
        f(&mut c);
        c.validate()
    }

    #[test]
    fn defaults_are_valid_and_errors_name_the_setting() {
        assert!(Config::default().validate().is_ok());
        let cases: Vec<(&str, Change)> = vec![
            ("listen", Box::new(|c| c.listen = "localhost".into())),
            (
                "database_url",
                Box::new(|c| c.database_url = "mysql://x".into()),
            ),
            ("public_url", Box::new(|c| c.public_url = "ftp://x".into())),
            ("jwt_audiences", Box::new(|c| c.jwt_audiences.clear())),
            (
                "inactivity_timeout_secs",
                Box::new(|c| c.inactivity_timeout_secs = 0),
            ),
            ("reaper_interval_ms", Box::new(|c| c.reaper_interval_ms = 0)),
            ("max_body_bytes", Box::new(|c| c.max_body_bytes = 10)),
            ("redis_url", Box::new(|c| c.redis_url = "http://x".into())),
            ("redis_url", Box::new(|c| c.role = ServerRole::Realtime)),
            (
                "socket_queue_frames",
                Box::new(|c| c.socket_queue_frames = 1),
            ),
            (
                "key_encryption_key",
                Box::new(|c| c.key_encryption_key = "c2hvcnQ=".into()),
            ),
            (
                "key_encryption_key",
                Box::new(|c| c.key_encryption_key = "not base64!".into()),
            ),
            (
                "notification_token_ttl_secs",
                Box::new(|c| c.notification_token_ttl_secs = 0),
            ),
        ];
        for (setting, change) in cases {
            let err = with(change).expect_err(setting).to_string();
            assert!(err.contains(setting), "{err}");
        }
    }

    #[test]
    fn the_key_encryption_key_is_never_shown() {
        let kek = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let c = Config {
            key_encryption_key: kek.into(),
            ..Config::default()
        };
        assert!(c.validate().is_ok());
        assert!(c.key_encryption_key().is_some());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains(kek) && shown.contains("key_encryption_key: true"),
            "{shown}"
        );
        let err = Config {
            key_encryption_key: "bm90IDMyIGJ5dGVz".into(),
            ..c
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(!err.contains("bm90IDMyIGJ5dGVz"), "{err}");
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = std::env::temp_dir().join(format!("tandem-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tandem.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ninactivity_timeout_secs = 60\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.inactivity_timeout_secs, 60);
        assert_eq!(c.region, "default");
        // Only this test reads TANDEM_* variables, so setting them here races with nothing.
        std::env::set_var("TANDEM_REGION", "eu-west");
        std::env::set_var("TANDEM_INACTIVITY_TIMEOUT_SECS", "90");
        let c = Config::load(Some(&file));
        std::env::remove_var("TANDEM_REGION");
        std::env::remove_var("TANDEM_INACTIVITY_TIMEOUT_SECS");
        let c = c.unwrap();
        assert_eq!(
            (c.region.as_str(), c.inactivity_timeout_secs),
            ("eu-west", 90)
        );
        assert_eq!(
            c.listen, "0.0.0.0:9000",
            "the file still applies where the environment is silent"
        );
        std::fs::write(&file, "inactivity_timeout_secs = \"soon\"\n").unwrap();
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("inactivity_timeout_secs"), "{err}");
        std::fs::write(&file, "no_such_setting = 1\n").unwrap();
        assert!(Config::load(Some(&file)).is_err());
        assert!(Config::load(Some(&dir.join("missing.toml"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
