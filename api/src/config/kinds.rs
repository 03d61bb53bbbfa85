//! The settings that name one of a few kinds: what a process serves, how it logs.

use serde::{Deserialize, Serialize};

/// What one process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ServerRole {
    /// REST and sockets.
    All,
    /// REST only.
    Api,
    /// Sockets only.
    Realtime,
}

impl ServerRole {
    pub fn serves_rest(self) -> bool {
        self != ServerRole::Realtime
    }
    pub fn serves_sockets(self) -> bool {
        self != ServerRole::Api
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ServerRole::All => "all",
            ServerRole::Api => "api",
            ServerRole::Realtime => "realtime",
        }
    }
}

impl std::fmt::Display for ServerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: one readable line per event.
    Text,
    /// For log pipelines: one JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use figment::providers::{Format, Toml};
    use figment::Figment;

    fn load(toml: &str) -> Result<Config, String> {
        Figment::from(figment::providers::Serialized::defaults(Config::default()))
            .merge(Toml::string(toml))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn kinds_are_read_by_name_and_others_refused_naming_the_setting() {
        let c = load("role = \"realtime\"\nlog_format = \"json\"").unwrap();
        assert_eq!(c.role, super::ServerRole::Realtime);
        assert_eq!(c.log_format, super::LogFormat::Json);
        for (toml, setting) in [
            ("role = \"worker\"", "role"),
            ("log_format = \"xml\"", "log_format"),
        ] {
            let e = load(toml).unwrap_err();
            assert!(
                e.contains(setting) && e.contains("unknown variant"),
                "{toml}: {e}"
            );
        }
    }
}
