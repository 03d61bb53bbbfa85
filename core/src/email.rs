//! An email address as Tandem keeps it: trimmed, lower-cased, at most 254 bytes, with a local
//! part and a domain. It names an agent within an account.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Reads an address; `None` when it is not one (no `@`, nothing on one side of it, longer
    /// than 254 bytes, or containing whitespace or control characters).
    pub fn parse(text: &str) -> Option<Email> {
        let email = text.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@')?;
        let well_formed = email.len() <= 254
            && !local.is_empty()
            && !domain.is_empty()
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        well_formed.then_some(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What comes before the `@`: a display name when nothing better is known.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Email::parse(&text).ok_or_else(|| serde::de::Error::custom("not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn reads_addresses_as_kept() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.local_part(), "ada.lovelace");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a\u{7}@x.io",
        ] {
            assert_eq!(Email::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Email::parse(&format!("{}@x.io", "a".repeat(250))), None);
    }
}
