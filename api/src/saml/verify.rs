//! Reading a SAML Response posted to an ACS, trusting nothing samael does not check for us.
//!
//! 1. Before any XML library builds a tree, a streaming pass ([`prescan`]) refuses what no IdP
//!    sends and attacks need: a DTD or entity declaration, comments (the NameID comment trick),
//!    processing instructions, an encoding other than UTF-8 (parser differentials), more than one
//!    Response or Assertion element anywhere (signature wrapping hides its second copy in
//!    Extensions, Objects or the Signature itself), encrypted assertions, and no signature.
//! 2. samael (xmlsec) verifies every signature against the configured certificates only, with
//!    RSA/ECDSA over SHA-256 or stronger, and reduces the document to what the signatures cover.
//! 3. Everything the sign-in uses is read from that reduced document: the signed Response, or
//!    the signed Assertion. Only Destination and Status may come from an unsigned envelope, and
//!    are checked all the same.
//! 4. Issuer, Audience, Destination, Recipient, bearer confirmation, time windows with a small
//!    leeway. InResponseTo, the request's browser and the replay cache are the Service's.

use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use quick_xml::events::Event;
use quick_xml::Reader;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};
use samael::schema::{Assertion, Response};

/// Clock skew tolerated between the IdP and us.
pub const LEEWAY: Duration = Duration::seconds(90);
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// libxml2 and xmlsec keep global state: one verification at a time (sign-ins are rare).
static XMLSEC: Mutex<()> = Mutex::new(());

/// Why a response was refused: `reason` is stable (metrics label, log), `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

/// What a response must match, for this account.
pub struct Expected<'a> {
    pub idp_entity_id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub certificates: &'a [CertificateDer],
    pub now: DateTime<Utc>,
}

/// A response that passed every check here, read from its signed part.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub assertion_id: String,
    /// The request it answers; `None` when unsolicited (IdP-initiated).
    pub in_response_to: Option<String>,
    pub name_id: String,
    /// Attribute name → values, from the signed assertion.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The latest time the assertion could still be presented (replay cache lifetime).
    pub valid_until: DateTime<Utc>,
}

/// Verifies a decoded response document (`xml`, at most the ACS body limit).
pub fn verify(xml: &[u8], expected: &Expected<'_>) -> Result<Verified, Refusal> {
    let text = std::str::from_utf8(xml)
        .map_err(|_| refuse("malformed", "the response is not UTF-8 XML"))?;
    prescan(text)?;
    verify_signed(text, expected)
}

/// Steps 2 to 4 alone. Callers use [`verify`]; this is public so that tests can show the
/// signature layer standing against wrapping attacks without the prescan in front of it.
pub fn verify_signed(text: &str, expected: &Expected<'_>) -> Result<Verified, Refusal> {
    let reduced = {
        let _one = XMLSEC.lock().unwrap_or_else(|p| p.into_inner());
        Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            text,
            expected.certificates,
            ReduceMode::ValidateAndMarkNoAncestors,
            Some(&ALGORITHMS),
        )
    }
    .map_err(|e| {
        tracing::debug!(error = %e, "SAML signature verification failed");
        refuse(
            "signature",
            "the response is not signed with the identity provider's configured certificate \
             (RSA or ECDSA with SHA-256 or stronger)",
        )
    })?;
    let envelope = Response::from_str(text)
        .map_err(|e| refuse("malformed", format!("the response cannot be read: {e}")))?;
    let root = root_name(&reduced)?;
    let (signed_response, assertion) = match root.as_str() {
        "Response" => {
            let signed = Response::from_str(&reduced).map_err(|e| {
                refuse(
                    "malformed",
                    format!("the signed response cannot be read: {e}"),
                )
            })?;
            let assertion = signed
                .assertion
                .clone()
                .ok_or_else(|| refuse("no_assertion", "the signed response holds no assertion"))?;
            (Some(signed), assertion)
        }
        "Assertion" => {
            let assertion = Assertion::from_str(&reduced).map_err(|e| {
                refuse(
                    "malformed",
                    format!("the signed assertion cannot be read: {e}"),
                )
            })?;
            (None, assertion)
        }
        _ => {
            return Err(refuse(
                "signature",
                "the signature covers neither the response nor its assertion",
            ))
        }
    };
    // The envelope's fields; the signed response's when it is signed.
    let response = signed_response.as_ref().unwrap_or(&envelope);
    check_response(response, expected)?;
    check_assertion(&assertion, response, expected)
}

/// The local name of the document's root element.
fn root_name(xml: &str) -> Result<String, Refusal> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return Ok(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Ok(Event::Eof) | Err(_) => return Err(refuse("malformed", "the document is empty")),
            Ok(_) => {}
        }
    }
}

/// The streaming pass before any tree is built (see the module's first point).
pub fn prescan(xml: &str) -> Result<(), Refusal> {
    let mut reader = Reader::from_str(xml);
    let (mut responses, mut assertions, mut signatures, mut depth, mut roots) = (0, 0, 0, 0, 0);
    loop {
        let event = reader.read_event().map_err(|e| {
            refuse(
                "malformed",
                format!("the response is not well-formed XML: {e}"),
            )
        })?;
        let start = match &event {
            Event::DocType(_) => {
                return Err(refuse(
                    "dtd",
                    "the response carries a document type declaration, which is refused",
                ))
            }
            Event::Comment(_) => {
                return Err(refuse(
                    "comment",
                    "the response carries XML comments, which are refused",
                ))
            }
            Event::PI(_) => {
                return Err(refuse(
                    "processing_instruction",
                    "the response carries processing instructions, which are refused",
                ))
            }
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        return Err(refuse("encoding", "the response must be encoded as UTF-8"));
                    }
                }
                None
            }
            Event::Start(e) => Some((e.clone(), true)),
            Event::Empty(e) => Some((e.clone(), false)),
            Event::End(_) => {
                depth -= 1;
                None
            }
            Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(refuse("malformed", "text outside the response element"))
            }
            Event::Eof => break,
            _ => None,
        };
        let Some((e, opens)) = start else { continue };
        if depth == 0 {
            roots += 1;
        }
        if opens {
            depth += 1;
            if depth > 64 {
                return Err(refuse("malformed", "the response is nested too deeply"));
            }
        }
        match e.local_name().as_ref() {
            b"Response" => responses += 1,
            b"Assertion" => assertions += 1,
            b"EncryptedAssertion" => {
                return Err(refuse(
                    "encrypted",
                    "encrypted assertions are not supported; turn assertion encryption off at \
                     the identity provider",
                ))
            }
            b"Signature" => signatures += 1,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(refuse(
            "malformed",
            "the response ends before its elements close",
        ));
    }
    if roots != 1 || responses != 1 {
        return Err(refuse(
            "malformed",
            "the document must be exactly one SAML Response",
        ));
    }
    if assertions != 1 {
        return Err(refuse(
            "assertions",
            format!("the response must hold exactly one assertion (it holds {assertions})"),
        ));
    }
    if signatures == 0 {
        return Err(refuse("unsigned", "the response is not signed"));
    }
    Ok(())
}

fn check_response(response: &Response, expected: &Expected<'_>) -> Result<(), Refusal> {
    let status = response
        .status
        .as_ref()
        .and_then(|s| s.status_code.value.as_deref());
    if status != Some(SUCCESS) {
        let message = response
            .status
            .as_ref()
            .and_then(|s| s.status_message.as_ref())
            .and_then(|m| m.value.clone())
            .unwrap_or_default();
        return Err(refuse(
            "status",
            format!(
                "the identity provider did not sign you in ({}){}",
                status.unwrap_or("no status"),
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ),
        ));
    }
    if response.destination.as_deref() != Some(expected.acs_url) {
        return Err(refuse(
            "destination",
            "the response is addressed to another service (its Destination is not this account's \
             ACS URL)",
        ));
    }
    if let Some(issuer) = response.issuer.as_ref().and_then(|i| i.value.as_deref()) {
        if issuer != expected.idp_entity_id {
            return Err(refuse(
                "issuer",
                "the response comes from another identity provider",
            ));
        }
    }
    Ok(())
}

fn check_assertion(
    assertion: &Assertion,
    response: &Response,
    expected: &Expected<'_>,
) -> Result<Verified, Refusal> {
    let now = expected.now;
    if assertion.issuer.value.as_deref() != Some(expected.idp_entity_id) {
        return Err(refuse(
            "issuer",
            "the assertion comes from another identity provider",
        ));
    }
    if assertion.id.is_empty() {
        return Err(refuse("malformed", "the assertion has no ID"));
    }
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or_else(|| refuse("conditions", "the assertion has no Conditions"))?;
    if conditions.not_before.is_some_and(|t| t - LEEWAY > now) {
        return Err(refuse(
            "not_yet_valid",
            "the assertion is not valid yet (check the clocks)",
        ));
    }
    let not_on_or_after = conditions.not_on_or_after.ok_or_else(|| {
        refuse(
            "conditions",
            "the assertion's Conditions have no NotOnOrAfter",
        )
    })?;
    if not_on_or_after + LEEWAY <= now {
        return Err(refuse(
            "expired",
            "the assertion has expired; sign in again",
        ));
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    if restrictions.is_empty()
        || !restrictions
            .iter()
            .all(|r| r.audience.iter().any(|a| a == expected.sp_entity_id))
    {
        return Err(refuse(
            "audience",
            "the assertion is meant for another service (its Audience is not this account's)",
        ));
    }
    let subject = assertion
        .subject
        .as_ref()
        .ok_or_else(|| refuse("subject", "the assertion has no Subject"))?;
    let name_id = subject
        .name_id
        .as_ref()
        .map(|n| n.value.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse("subject", "the assertion's Subject has no NameID"))?;
    let confirmations = subject.subject_confirmations.as_deref().unwrap_or_default();
    let mut last_error = refuse(
        "confirmation",
        "the assertion has no bearer SubjectConfirmation",
    );
    let mut confirmed = None;
    for c in confirmations
        .iter()
        .filter(|c| c.method.as_deref() == Some(BEARER))
    {
        let Some(data) = &c.subject_confirmation_data else {
            last_error = refuse("confirmation", "the bearer confirmation has no data");
            continue;
        };
        if data.recipient.as_deref() != Some(expected.acs_url) {
            last_error = refuse(
                "recipient",
                "the assertion is addressed to another service (its Recipient is not this \
                 account's ACS URL)",
            );
            continue;
        }
        match data.not_on_or_after {
            Some(t) if t + LEEWAY > now => {}
            Some(_) => {
                last_error = refuse("expired", "the assertion has expired; sign in again");
                continue;
            }
            None => {
                last_error = refuse(
                    "confirmation",
                    "the bearer confirmation has no NotOnOrAfter",
                );
                continue;
            }
        }
        if data.not_before.is_some_and(|t| t - LEEWAY > now) {
            last_error = refuse("not_yet_valid", "the assertion is not valid yet");
            continue;
        }
        confirmed = Some(data);
        break;
    }
    let data = confirmed.ok_or(last_error)?;
    let in_response_to = data.in_response_to.clone();
    if response.in_response_to.is_some() && response.in_response_to != in_response_to {
        return Err(refuse(
            "in_response_to",
            "the response and its assertion answer different requests",
        ));
    }
    let valid_until = data
        .not_on_or_after
        .unwrap_or(not_on_or_after)
        .max(not_on_or_after)
        + LEEWAY;
    let attributes = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .filter_map(|a| {
            let name = a.name.clone()?;
            let values = a.values.iter().filter_map(|v| v.value.clone()).collect();
            Some((name, values))
        })
        .collect();
    Ok(Verified {
        assertion_id: assertion.id.clone(),
        in_response_to,
        name_id,
        attributes,
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prescan_refuses_what_no_idp_sends() {
        let ok = r#"<?xml version="1.0" encoding="UTF-8"?><p:Response xmlns:p="p"><a:Assertion xmlns:a="a"><ds:Signature xmlns:ds="d"/></a:Assertion></p:Response>"#;
        assert_eq!(prescan(ok), Ok(()));
        let cases = [
            (
                r#"<!DOCTYPE r [<!ENTITY x "y">]><Response><Assertion/><Signature/></Response>"#,
                "dtd",
            ),
            (
                "<Response><Assertion><!-- x --></Assertion><Signature/></Response>",
                "comment",
            ),
            (
                "<Response><?pi x?><Assertion/><Signature/></Response>",
                "processing_instruction",
            ),
            (
                r#"<?xml version="1.0" encoding="UTF-16"?><Response><Assertion/><Signature/></Response>"#,
                "encoding",
            ),
            (
                "<Response><Assertion/><Assertion/><Signature/></Response>",
                "assertions",
            ),
            ("<Response><Signature/></Response>", "assertions"),
            ("<Response><Assertion/></Response>", "unsigned"),
            (
                "<Response><Response/><Assertion/><Signature/></Response>",
                "malformed",
            ),
            (
                "<Response><EncryptedAssertion/><Signature/></Response>",
                "encrypted",
            ),
            (
                "<Response><Assertion/><Signature/></Response><Response/>",
                "malformed",
            ),
            ("<Response><Assertion>", "malformed"),
        ];
        for (xml, reason) in cases {
            assert_eq!(prescan(xml).map_err(|r| r.reason), Err(reason), "{xml}");
        }
    }
}
