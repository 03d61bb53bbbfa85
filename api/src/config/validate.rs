//! Checks of the configuration at start: an error names the setting.

use std::net::SocketAddr;

use super::{Config, ConfigError, ServerRole};

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |setting: &str, why: &str| Err(ConfigError(format!("setting `{setting}` {why}")));
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad("listen", "must be an address and port, e.g. 127.0.0.1:8080");
        }
        if tandem_core::Backend::from_url(&self.database_url).is_none() {
            return bad("database_url", "must start with sqlite:// or postgres://");
        }
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|p| self.public_url.starts_with(p));
        if !self.public_url.is_empty() && !scheme_ok {
            return bad("public_url", "must be an http:// or https:// URL");
        }
        if self.jwt_audiences.is_empty() {
            return bad("jwt_audiences", "must name at least one audience");
        }
        if self.inactivity_timeout_secs == 0 {
            return bad("inactivity_timeout_secs", "must be at least 1");
        }
        if self.reaper_interval_ms == 0 {
            return bad("reaper_interval_ms", "must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes", "must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            return bad("request_timeout_secs", "must be at least 1");
        }
        let redis_ok = ["redis://", "rediss://"]
            .iter()
            .any(|p| self.redis_url.starts_with(p));
        if !self.redis_url.is_empty() && !redis_ok {
            return bad("redis_url", "must be a redis:// or rediss:// URL");
        }
        if self.role != ServerRole::All && self.redis_url.is_empty() {
            return bad(
                "redis_url",
                "is required when role is \"api\" or \"realtime\" (events must cross processes)",
            );
        }
        if self.socket_max_message_bytes < 4096 {
            return bad("socket_max_message_bytes", "must be at least 4096");
        }
        if self.socket_max_event_bytes < self.socket_max_message_bytes {
            return bad(
                "socket_max_event_bytes",
                "must be at least socket_max_message_bytes",
            );
        }
        if self.socket_max_subscriptions == 0 {
            return bad("socket_max_subscriptions", "must be at least 1");
        }
        if self.stream_token_ttl_secs == 0 {
            return bad("stream_token_ttl_secs", "must be at least 1");
        }
        if self.notification_token_ttl_secs == 0 {
            return bad("notification_token_ttl_secs", "must be at least 1");
        }
        if self.socket_queue_frames < 8 {
            return bad("socket_queue_frames", "must be at least 8");
        }
        if let Err(why) = crate::keys::KeyEncryptionKey::parse(&self.key_encryption_key) {
            return bad("key_encryption_key", &why);
        }
        if let Err(why) = crate::mail::Mailer::check(self) {
            return bad("smtp_url", &why);
        }
        if crate::mail::mailbox(&self.email_from).is_none() {
            return bad(
                "email_from",
                "must be an address, e.g. `Tandem <tandem@example.com>`",
            );
        }
        for email in &self.superuser_emails {
            if tandem_core::email::Email::parse(email).is_none() {
                return bad(
                    "superuser_emails",
                    &format!("holds {email:?}, not an email address"),
                );
            }
        }
        if !self.bootstrap_admin_email.is_empty()
            && tandem_core::email::Email::parse(&self.bootstrap_admin_email).is_none()
        {
            return bad("bootstrap_admin_email", "must be an email address or empty");
        }
        Ok(())
    }
}
