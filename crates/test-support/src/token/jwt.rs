//! JWT signing with the committed RS256 key (certificate in the `x5c` header),
//! unverified decoding helpers, and token timestamps.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

/// PEM of the self-signed certificate (`CN=test-token-issuer`) whose key signs every token.
///
/// Write it to a file and point the registry's `auth.token.rootcertbundle` at it.
pub const CERT_PEM: &str = include_str!("../../fixtures/cert.pem");

/// PKCS#8 DER of the RSA 2048 signing key matching [`CERT_PEM`].
const KEY_PKCS8: &[u8] = include_bytes!("../../fixtures/key.pk8");

/// Decodes (without verifying) the claims of a JWT; `None` if it is not one.
pub fn decode_jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Decodes (without verifying) the header of a JWT; `None` if it is not one.
pub fn decode_jwt_header(token: &str) -> Option<Value> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Signs JWT claims with the fixture key; also the server's source of randomness.
pub(super) struct Signer {
    key: RsaKeyPair,
    x5c: String,
    pub(super) rng: SystemRandom,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    pub(super) fn load() -> Signer {
        let key =
            RsaKeyPair::from_pkcs8(KEY_PKCS8).expect("fixtures/key.pk8 is a valid PKCS#8 RSA key");
        Signer {
            key,
            x5c: STANDARD.encode(pem_to_der(CERT_PEM)),
            rng: SystemRandom::new(),
        }
    }

    pub(super) fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signing");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Decodes the first PEM block of `pem` to DER.
fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD
        .decode(b64.trim())
        .expect("fixtures/cert.pem is valid PEM")
}

/// The current Unix time in whole seconds.
pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp for a Unix time (seconds).
pub(super) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn signed_token_shape() {
        let signer = Signer::load();
        let token = signer.sign(&json!({"aud": "x"}));
        let header = decode_jwt_header(&token).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5c"][0].as_str().unwrap(),
            STANDARD.encode(pem_to_der(CERT_PEM))
        );
        assert_eq!(decode_jwt_claims(&token).unwrap()["aud"], "x");
        assert_eq!(
            token
                .split('.')
                .nth(2)
                .map(|s| URL_SAFE_NO_PAD.decode(s).unwrap().len()),
            Some(256)
        );
    }
}
