//! An account's settings: consent, code expiry, features, redaction, and the origins it trusts.

use serde::{Deserialize, Serialize};

/// The account's settings (shown to administrators only). Unknown keys are kept out; every field
/// has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    /// Whether joining waits in `authorizing` until the customer accepts.
    #[schema(required = true)]
    pub require_consent: bool,
    /// How long a session code stays usable, in seconds.
    #[schema(required = true, example = 1200)]
    pub code_expiry_secs: u32,
    /// Feature switches reported by `GET /accounts`; a missing feature is enabled.
    #[schema(required = true)]
    pub features: std::collections::BTreeMap<String, bool>,
    /// CSS selectors hidden from agents.
    #[schema(required = true)]
    pub redaction_selectors: Vec<String>,
    /// CSS selectors shown despite a redaction rule.
    #[schema(required = true)]
    pub unredaction_selectors: Vec<String>,
    /// Origins (glob patterns) allowed to embed the viewer and open sockets from a browser.
    #[schema(required = true)]
    pub trusted_origins: Vec<String>,
    /// Origins (`https://shop.example`, `https://*.cdn.example`) the agent's viewer may load the
    /// customer's images, fonts and styles from; nothing else is fetched while replaying.
    #[schema(required = true)]
    pub asset_origins: Vec<String>,
    /// Whether remote control waits for the customer to accept (otherwise their SDK accepts at
    /// once).
    #[schema(required = true)]
    pub remote_control_consent: bool,
    /// Whether an agent in control may submit forms; the customer always can.
    #[schema(required = true)]
    pub agent_submit: bool,
    /// Origins (glob patterns, as `trusted_origins`) an agent may send the customer to, besides
    /// the origin of the customer's current page.
    #[schema(required = true)]
    pub navigation_origins: Vec<String>,
    /// The custom data key that holds a customer's visitor id (`user_id`, say): a viewer opened
    /// with `visitorid=<value>` (Glance's viewer URL) finds the live session whose custom data
    /// has this key set to that value. Empty: visitor ids are not used.
    #[schema(required = true, example = "user_id")]
    pub visitor_id_key: String,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            require_consent: true,
            code_expiry_secs: 20 * 60,
            features: Default::default(),
            redaction_selectors: vec![],
            unredaction_selectors: vec![],
            trusted_origins: vec![],
            asset_origins: vec![],
            remote_control_consent: true,
            agent_submit: false,
            navigation_origins: vec![],
            visitor_id_key: String::new(),
        }
    }
}

impl AccountSettings {
    /// Whether a browser origin (`scheme://host[:port]`) matches one of `trusted_origins`,
    /// where `*` stands for any run of characters other than `/` (`https://*.example.com`),
    /// and a lone `*` for any origin.
    pub fn trusts_origin(&self, origin: &str) -> bool {
        self.trusted_origins
            .iter()
            .any(|pattern| pattern == "*" || glob_match(pattern.as_bytes(), origin.as_bytes()))
    }
}

impl AccountSettings {
    /// Whether the viewer may load the customer's assets from `origin` (`scheme://host[:port]`):
    /// it matches one of `asset_origins`, read as CSP sources (`*` for a host label or a port).
    pub fn allows_asset_origin(&self, origin: &str) -> bool {
        self.asset_origins
            .iter()
            .any(|pattern| glob_match(pattern.trim_end_matches('/').as_bytes(), origin.as_bytes()))
    }
}

impl AccountSettings {
    /// Checks what the server can check before settings are saved: code lifetimes in range,
    /// origins as `scheme://host[:port]` patterns, selectors and feature names of sane length.
    /// The error names the field. (Whether a selector parses is the browser's to say: the web
    /// SDK drops the ones it rejects.)
    pub fn validate(&self) -> Result<(), String> {
        if !(60..=7 * 24 * 3600).contains(&self.code_expiry_secs) {
            return Err(
                "code_expiry_secs must be between 60 (1 minute) and 604800 (7 days)".into(),
            );
        }
        for (field, origins) in [
            ("trusted_origins", &self.trusted_origins),
            ("asset_origins", &self.asset_origins),
            ("navigation_origins", &self.navigation_origins),
        ] {
            if origins.len() > 100 {
                return Err(format!("{field} holds at most 100 origins"));
            }
            for o in origins {
                if o != "*" && !origin_pattern(o) {
                    return Err(format!(
                        "{field}: {o:?} is not an origin like https://shop.example or https://*.example.com"
                    ));
                }
            }
        }
        for (field, selectors) in [
            ("redaction_selectors", &self.redaction_selectors),
            ("unredaction_selectors", &self.unredaction_selectors),
        ] {
            if selectors.len() > 200 {
                return Err(format!("{field} holds at most 200 selectors"));
            }
            if let Some(bad) = selectors
                .iter()
                .find(|s| s.trim().is_empty() || s.len() > 500)
            {
                return Err(format!(
                    "{field}: {bad:?} is empty or longer than 500 characters"
                ));
            }
        }
        if let Some(name) = self.features.keys().find(|k| k.is_empty() || k.len() > 64) {
            return Err(format!("features: {name:?} is not a feature name"));
        }
        if !self.visitor_id_key.is_empty() && !crate::custom_data::valid_key(&self.visitor_id_key) {
            return Err(format!(
                "visitor_id_key: {:?} is not a custom data key (1-{} letters, digits, '_' or '-'), \
                 or empty for none",
                self.visitor_id_key,
                crate::custom_data::MAX_KEY_LEN
            ));
        }
        Ok(())
    }
}

/// `scheme://host[:port]` where the host and port may hold `*`, and nothing else (no path,
/// query, spaces or quotes).
fn origin_pattern(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:*[]_".contains(&b));
    scheme_ok && host_ok
}

/// `*`-only glob matching where `*` never spans a `/` (one backtrack point).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p].eq_ignore_ascii_case(&text[t]) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star.filter(|&(_, st)| text[st] != b'/') {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusting(patterns: &[&str]) -> AccountSettings {
        AccountSettings {
            trusted_origins: patterns.iter().map(|p| p.to_string()).collect(),
            ..AccountSettings::default()
        }
    }

    #[test]
    fn asset_origins_match_as_csp_sources() {
        let s = AccountSettings {
            asset_origins: vec!["https://shop.example/".into(), "http://127.0.0.1:*".into()],
            ..AccountSettings::default()
        };
        assert!(s.allows_asset_origin("https://shop.example"));
        assert!(s.allows_asset_origin("http://127.0.0.1:8123"));
        assert!(!s.allows_asset_origin("http://127.0.0.2:8123"));
        assert!(!s.allows_asset_origin("https://shop.example.evil.net"));
        assert!(!AccountSettings::default().allows_asset_origin("https://shop.example"));
    }

    #[test]
    fn origins_match_exactly_or_by_wildcard() {
        let s = trusting(&["https://crm.example.com", "https://*.helpdesk.io"]);
        assert!(s.trusts_origin("https://crm.example.com"));
        assert!(s.trusts_origin("HTTPS://CRM.example.com"));
        assert!(s.trusts_origin("https://acme.helpdesk.io"));
        assert!(!s.trusts_origin("https://helpdesk.io"));
        assert!(!s.trusts_origin("https://crm.example.com.evil.net"));
        assert!(!s.trusts_origin("http://crm.example.com"));
        assert!(!s.trusts_origin("https://evil.net/?https://acme.helpdesk.io"));
        assert!(!trusting(&[]).trusts_origin("https://crm.example.com"));
        assert!(trusting(&["*"]).trusts_origin("https://anything.example"));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(AccountSettings::default().validate(), Ok(()));
        let bad = |s: AccountSettings| s.validate().unwrap_err();
        let short = AccountSettings {
            code_expiry_secs: 5,
            ..AccountSettings::default()
        };
        assert!(bad(short).starts_with("code_expiry_secs"));
        let origin = trusting(&["https://ok.example", "https://x.example/path"]);
        assert!(bad(origin).starts_with("trusted_origins"));
        let ok = trusting(&["https://*.ok.example", "http://127.0.0.1:*", "*"]);
        assert_eq!(ok.validate(), Ok(()));
        let selector = AccountSettings {
            redaction_selectors: vec![" ".into()],
            ..AccountSettings::default()
        };
        assert!(bad(selector).starts_with("redaction_selectors"));
        let visitor = |key: &str| AccountSettings {
            visitor_id_key: key.into(),
            ..AccountSettings::default()
        };
        assert_eq!(visitor("user_id").validate(), Ok(()));
        for key in ["user id", "a.b", &"k".repeat(65)] {
            assert!(bad(visitor(key)).starts_with("visitor_id_key"), "{key}");
        }
    }
}
