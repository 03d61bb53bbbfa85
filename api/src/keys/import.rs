//! Public keys an administrator uploads: a PEM, or a JWK's modulus and exponent turned into one
//! (SPKI DER written here: the two integers in a SEQUENCE, under the rsaEncryption algorithm).

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::DecodingKey;

use super::pem;

/// DER: a tag, its length, its content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from big-endian magnitude bytes (positive: a leading zero when the top bit is
/// set, no other leading zeros).
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

/// The SPKI PEM of an RSA public key given as a JWK's `n` and `e` (base64url).
pub fn rsa_jwk_to_pem(n: &str, e: &str) -> anyhow::Result<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = URL_SAFE_NO_PAD
        .decode(n.trim_end_matches('='))
        .context("the key's n is not base64url")?;
    let e = URL_SAFE_NO_PAD
        .decode(e.trim_end_matches('='))
        .context("the key's e is not base64url")?;
    if n.len() < 256 {
        bail!("the RSA key is shorter than 2048 bits");
    }
    let rsa_public = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_public);
    // rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    let algorithm = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let spki = der(0x30, &[algorithm, der(0x03, &bits)].concat());
    let pem = pem("PUBLIC KEY", &spki);
    DecodingKey::from_rsa_pem(pem.as_bytes()).context("the JWK is not a usable RSA key")?;
    Ok(pem)
}

/// Checks a PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`) for RS256 of at least
/// 2048 bits; returns it normalised to end with a newline.
pub fn check_public_pem(text: &str) -> anyhow::Result<String> {
    let text = text.trim();
    if text.contains("PRIVATE KEY") {
        bail!("this is a private key: upload only the public half");
    }
    DecodingKey::from_rsa_pem(text.as_bytes())
        .context("not an RSA public key in PEM (-----BEGIN PUBLIC KEY-----)")?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD
        .decode(body)
        .context("the PEM body is not base64")?;
    if der.len() < 270 {
        bail!("the RSA key is shorter than 2048 bits");
    }
    Ok(format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwk_becomes_the_pem_of_the_same_key() {
        let pair = crate::keys::generate("acct").unwrap();
        let pem = check_public_pem(&pair.key.public_pem).unwrap();
        // The SPKI's modulus and exponent, read back out of the DER, as a JWK would carry them.
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        let n_at = der
            .windows(4)
            .position(|w| w == [0x02, 0x82, 0x01, 0x01])
            .unwrap();
        let n = &der[n_at + 4..n_at + 4 + 257];
        let e = &der[n_at + 4 + 257 + 2..];
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let again = rsa_jwk_to_pem(&URL_SAFE_NO_PAD.encode(n), &URL_SAFE_NO_PAD.encode(e)).unwrap();
        assert_eq!(again, pem);
        assert!(check_public_pem(&pair.private_pem).is_err());
        assert!(check_public_pem("not a key").is_err());
        assert!(rsa_jwk_to_pem("AQAB", "AQAB").is_err());
    }
}
