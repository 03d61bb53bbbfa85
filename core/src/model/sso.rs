//! Single sign-on: an account's SAML identity provider and what its sign-ins may do.

use serde::{Deserialize, Serialize};

use super::Role;

/// Certificates an IdP may sign with at once: the current one and, during a rollover, the next.
pub const MAX_IDP_CERTIFICATES: usize = 2;

/// An account's SAML identity provider, as administrators configure it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    /// The IdP's entity id: every response's Issuer must equal it.
    pub idp_entity_id: String,
    /// Where sign-in requests go (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// The IdP's signing certificates (PEM), one or two during a rollover.
    pub idp_certificates: Vec<String>,
    /// The attribute holding the email; empty for the NameID.
    #[serde(default)]
    pub email_attribute: String,
    /// The attribute holding the display name; empty for none.
    #[serde(default)]
    pub name_attribute: String,
    /// The attribute holding the groups; empty for none.
    #[serde(default)]
    pub groups_attribute: String,
    /// Groups that give a role; the strongest role among the matching groups wins.
    #[serde(default)]
    pub group_roles: Vec<GroupRole>,
    /// Whether an unknown email signed in by the IdP becomes a member.
    #[serde(default)]
    pub jit: bool,
    /// The role of a member created just in time when no group gives one.
    #[serde(default = "agent")]
    pub default_role: Role,
    /// Whether the account's members must sign in through the IdP (email links are refused).
    #[serde(default)]
    pub require_sso: bool,
    /// Whether responses the IdP sends unasked (IdP-initiated sign-in) are accepted.
    #[serde(default)]
    pub idp_initiated: bool,
    /// Email domains whose addresses the sign-in page sends to this IdP.
    #[serde(default)]
    pub email_domains: Vec<String>,
}

fn agent() -> Role {
    Role::Agent
}

/// A group named by the IdP and the role it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRole {
    pub group: String,
    pub role: Role,
}

/// A sign-in request on its way through the IdP, bound to the browser that asked.
#[derive(Debug, Clone, PartialEq)]
pub struct SamlRequest {
    /// The AuthnRequest's ID, which the response's InResponseTo must give back.
    pub id: String,
    pub account_id: String,
    /// SHA-256 of the nonce in the browser's cookie.
    pub browser_hash: String,
    /// Our own path the browser goes to once signed in.
    pub next: String,
    pub expires: crate::time::Micros,
}

/// What a verified assertion says about the person signing in.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoIdentity {
    pub email: String,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

impl SsoConfig {
    /// Checks what does not need the certificates parsed (the API parses them): the field is
    /// named in the error.
    pub fn validate(&self) -> Result<(), String> {
        let text = |field: &str, v: &str, max: usize| {
            if v.len() > max || v.chars().any(char::is_control) {
                Err(format!(
                    "{field} is longer than {max} characters or holds control characters"
                ))
            } else {
                Ok(())
            }
        };
        if self.idp_entity_id.trim().is_empty() {
            return Err("idp_entity_id: the IdP's entity id is required".into());
        }
        text("idp_entity_id", &self.idp_entity_id, 1024)?;
        let url = self.idp_sso_url.as_str();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
            return Err(
                "idp_sso_url: the IdP's sign-in URL (http:// or https://) is required".into(),
            );
        }
        text("idp_sso_url", url, 2048)?;
        if self.idp_certificates.is_empty() {
            return Err("idp_certificates: a signing certificate is required".into());
        }
        if self.idp_certificates.len() > MAX_IDP_CERTIFICATES {
            return Err(format!(
                "idp_certificates: at most {MAX_IDP_CERTIFICATES} (the current one and the next)"
            ));
        }
        for (field, v) in [
            ("email_attribute", &self.email_attribute),
            ("name_attribute", &self.name_attribute),
            ("groups_attribute", &self.groups_attribute),
        ] {
            text(field, v, 256)?;
        }
        if self.group_roles.len() > 100 {
            return Err("group_roles: at most 100 mappings".into());
        }
        if let Some(g) = self
            .group_roles
            .iter()
            .find(|g| g.group.trim().is_empty() || g.group.len() > 256)
        {
            return Err(format!("group_roles: {:?} is not a group name", g.group));
        }
        if self.email_domains.len() > 50 {
            return Err("email_domains: at most 50 domains".into());
        }
        if let Some(d) = self.email_domains.iter().find(|d| !domain(d)) {
            return Err(format!(
                "email_domains: {d:?} is not a domain like shop.example"
            ));
        }
        Ok(())
    }

    /// The same configuration with domains lower-cased, trimmed and without repeats.
    pub fn normalised(mut self) -> Self {
        let mut domains: Vec<String> = self
            .email_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        domains.sort();
        domains.dedup();
        self.email_domains = domains;
        self.idp_entity_id = self.idp_entity_id.trim().to_owned();
        self.idp_sso_url = self.idp_sso_url.trim().to_owned();
        self
    }

    /// The role for a member in these groups: the strongest a mapping gives, else `None`.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        let given = self
            .group_roles
            .iter()
            .filter(|m| groups.iter().any(|g| g == &m.group))
            .map(|m| m.role);
        given.max_by_key(|r| matches!(r, Role::Administrator))
    }
}

/// A DNS name of at least two labels, letters, digits and hyphens.
fn domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SsoConfig {
        SsoConfig {
            idp_entity_id: "https://idp.example/metadata".into(),
            idp_sso_url: "https://idp.example/sso".into(),
            idp_certificates: vec!["PEM".into()],
            email_attribute: String::new(),
            name_attribute: "displayName".into(),
            groups_attribute: "groups".into(),
            group_roles: vec![
                GroupRole {
                    group: "leads".into(),
                    role: Role::Administrator,
                },
                GroupRole {
                    group: "support".into(),
                    role: Role::Agent,
                },
            ],
            jit: true,
            default_role: Role::Agent,
            require_sso: false,
            idp_initiated: false,
            email_domains: vec!["Shop.Example ".into(), "@shop.example".into()],
        }
    }

    #[test]
    fn validation_names_the_field() {
        let c = config().normalised();
        assert_eq!(c.email_domains, vec!["shop.example".to_owned()]);
        assert_eq!(c.validate(), Ok(()));
        let no_cert = SsoConfig {
            idp_certificates: vec![],
            ..config()
        };
        assert!(no_cert
            .validate()
            .unwrap_err()
            .starts_with("idp_certificates"));
        let three = SsoConfig {
            idp_certificates: vec!["a".into(), "b".into(), "c".into()],
            ..config()
        };
        assert!(three
            .validate()
            .unwrap_err()
            .starts_with("idp_certificates"));
        let url = SsoConfig {
            idp_sso_url: "javascript:alert(1)".into(),
            ..config()
        };
        assert!(url.validate().unwrap_err().starts_with("idp_sso_url"));
        let dom = SsoConfig {
            email_domains: vec!["localhost".into()],
            ..config()
        };
        assert!(dom.validate().unwrap_err().starts_with("email_domains"));
    }

    #[test]
    fn the_strongest_mapped_role_wins() {
        let c = config();
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            c.role_for(&g(&["support", "leads"])),
            Some(Role::Administrator)
        );
        assert_eq!(c.role_for(&g(&["support"])), Some(Role::Agent));
        assert_eq!(c.role_for(&g(&["sales"])), None);
    }
}
