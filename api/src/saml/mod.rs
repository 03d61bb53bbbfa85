//! SAML 2.0 single sign-on, as a service provider per account: our metadata, the AuthnRequest
//! over HTTP-Redirect, the IdP's metadata and certificates read for administrators, and the
//! response checks in [`verify`].

pub mod verify;

use std::io::Write;

use base64::Engine;
use samael::crypto::CertificateDer;
use samael::metadata::EntityDescriptor;
use serde::Serialize;
use utoipa::ToSchema;

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Our service provider's addresses for one account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sp {
    /// The SP entity id (also where the metadata is): every Audience must equal it.
    pub entity_id: String,
    /// The Assertion Consumer Service (HTTP-POST binding).
    pub acs_url: String,
    pub metadata_url: String,
    /// Where SP-initiated sign-in starts.
    pub login_url: String,
}

impl Sp {
    pub fn new(public_base: &str, account_id: &str) -> Self {
        let base = format!("{public_base}/api/1/saml/{account_id}");
        Sp {
            entity_id: format!("{base}/metadata"),
            acs_url: format!("{base}/acs"),
            metadata_url: format!("{base}/metadata"),
            login_url: format!("{base}/login"),
        }
    }

    /// SAML metadata for the IdP's administrators: entity id, ACS, NameID format.
    pub fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{POST}" Location="{acs}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
            entity = xml_escape(&self.entity_id),
            acs = xml_escape(&self.acs_url),
        )
    }

    /// The IdP's sign-in URL carrying an AuthnRequest with this `id` (HTTP-Redirect binding:
    /// deflated, base64, in the query).
    pub fn authn_request_url(&self, idp_sso_url: &str, id: &str, relay_state: &str) -> String {
        let instant = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{POST}"><saml:Issuer>{entity}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>"#,
            id = xml_escape(id),
            dest = xml_escape(idp_sso_url),
            acs = xml_escape(&self.acs_url),
            entity = xml_escape(&self.entity_id),
        );
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate
            .write_all(xml.as_bytes())
            .expect("writing to memory");
        let deflated = deflate.finish().expect("writing to memory");
        let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("SAMLRequest", &encoded);
        if !relay_state.is_empty() {
            query.append_pair("RelayState", relay_state);
        }
        let sep = if idp_sso_url.contains('?') { '&' } else { '?' };
        format!("{idp_sso_url}{sep}{}", query.finish())
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What administrators see of a configured certificate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateInfo {
    pub subject: String,
    /// When it stops being valid (RFC 3339).
    pub not_after: String,
    /// SHA-256 fingerprint, colon-separated hex.
    pub sha256: String,
}

/// A certificate as PEM or bare base64 DER: its DER and what administrators see of it.
pub fn certificate(text: &str) -> Result<(CertificateDer, CertificateInfo), String> {
    let text = text.trim();
    let x509 = if text.starts_with("-----BEGIN") {
        openssl::x509::X509::from_pem(text.as_bytes())
    } else {
        let compact: String = text.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| "not a PEM or base64 certificate".to_owned())?;
        openssl::x509::X509::from_der(&der)
    }
    .map_err(|_| "not an X.509 certificate".to_owned())?;
    let der = x509.to_der().map_err(|e| e.to_string())?;
    let subject = x509
        .subject_name()
        .entries()
        .filter_map(|e| {
            let key = e.object().nid().short_name().ok()?;
            let value = e.data().to_string().ok()?;
            Some(format!("{key}={value}"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let not_after = openssl::asn1::Asn1Time::from_unix(0)
        .ok()
        .and_then(|epoch| epoch.diff(x509.not_after()).ok())
        .map(|d| {
            let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let digest = openssl::sha::sha256(&der);
    let sha256 = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok((
        CertificateDer::from(der),
        CertificateInfo {
            subject,
            not_after,
            sha256,
        },
    ))
}

/// The PEM form of a DER certificate (how configurations store them).
pub fn pem(der: &CertificateDer) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.der_data());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
        lines.join("\n")
    )
}

/// What an IdP's metadata gives: entity id, HTTP-Redirect sign-in URL, signing certificates
/// (PEM).
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<String>,
}

/// Reads an IdP's metadata (one EntityDescriptor with an IDPSSODescriptor).
pub fn idp_metadata(xml: &str) -> Result<IdpMetadata, String> {
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err("metadata_xml: document type declarations are refused".into());
    }
    let entity: EntityDescriptor = xml
        .trim()
        .parse()
        .map_err(|e| format!("metadata_xml: not SAML metadata ({e})"))?;
    let entity_id = entity
        .entity_id
        .clone()
        .ok_or("metadata_xml: the EntityDescriptor has no entityID")?;
    let idp = entity
        .idp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or("metadata_xml: no IDPSSODescriptor (is this an IdP's metadata?)")?;
    let sso_url = idp
        .single_sign_on_services
        .iter()
        .find(|s| s.binding == REDIRECT)
        .map(|s| s.location.clone())
        .ok_or("metadata_xml: the IdP offers no HTTP-Redirect SingleSignOnService")?;
    let mut certificates = Vec::new();
    for key in idp
        .key_descriptors
        .iter()
        .filter(|k| k.key_use.is_none() || k.is_signing())
    {
        for cert in key.key_info.x509_data.iter().flat_map(|d| &d.certificates) {
            let (der, _) = certificate(cert).map_err(|e| format!("metadata_xml: {e}"))?;
            let pem = pem(&der);
            if !certificates.contains(&pem) {
                certificates.push(pem);
            }
        }
    }
    if certificates.is_empty() {
        return Err("metadata_xml: the metadata holds no signing certificate".into());
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificates,
    })
}

/// A path of ours to send a browser to after sign-in (RelayState, `next`): absolute, on this
/// server, no scheme-relative `//` or backslash tricks, no control characters.
pub fn own_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 1024
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_paths_are_followed() {
        assert_eq!(own_path("/dashboard/sessions"), Some("/dashboard/sessions"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "dashboard",
            "/a\nb",
            "",
        ] {
            assert_eq!(own_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_authn_request_goes_in_the_query() {
        let sp = Sp::new("https://t.example", "acc");
        let url = sp.authn_request_url("https://idp.example/sso?x=1", "_abc", "/dashboard/");
        assert!(url.starts_with("https://idp.example/sso?x=1&SAMLRequest="));
        assert!(url.ends_with("&RelayState=%2Fdashboard%2F"));
        assert_eq!(sp.acs_url, "https://t.example/api/1/saml/acc/acs");
        assert!(sp
            .metadata()
            .contains(r#"entityID="https://t.example/api/1/saml/acc/metadata""#));
    }
}
