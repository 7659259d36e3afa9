//! Content digests: a validated [`Digest`] type, a streaming [`Digester`],
//! and [`Verifier`], which checks content against its digest and size while
//! it flows and fails with [`ErrorKind::DigestMismatch`] at its end;
//! [`VerifyingBody`], [`VerifyingStream`] and [`VerifyingReader`] put it
//! around an http body, a byte stream and an `AsyncRead`.

mod digester;
mod verifier;
mod wrappers;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind};

pub use digester::Digester;
pub use verifier::Verifier;
pub use wrappers::{VerifyingBody, VerifyingReader, VerifyingStream};

/// A digest algorithm registered by the OCI image spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, 64 lowercase hex characters.
    Sha256,
    /// SHA-512, 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings: `sha256` or `sha512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated content digest such as `sha256:e3b0c442…`.
///
/// ```
/// use registry_core::Digest;
/// let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse().unwrap();
/// assert_eq!(d, Digest::sha256_of(b""));
/// assert_eq!(d.hex().len(), 64);
/// assert!("sha256:ABC".parse::<Digest>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Builds a digest from an algorithm and its hex encoding, validating it.
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Digest, Error> {
        if hex.len() != algorithm.hex_len() {
            return Err(Error::invalid_input(format!(
                "invalid digest: {} needs {} hex characters, got {}",
                algorithm.as_str(),
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::invalid_input(format!(
                "invalid digest: {}:{hex} is not lowercase hex",
                algorithm.as_str()
            )));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The SHA-256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(data);
        d.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex-encoded hash.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// A hasher for this digest's algorithm.
    pub fn digester(&self) -> Digester {
        Digester::new(self.algorithm)
    }

    /// Whether `data` hashes to this digest.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut d = self.digester();
        d.update(data);
        &d.finish() == self
    }
}

impl FromStr for Digest {
    type Err = Error;

    /// Parses `ALGORITHM:HEX`. A digest that follows the OCI digest grammar
    /// but names an algorithm other than sha256 or sha512 is an
    /// [`ErrorKind::UnsupportedDigestAlgorithm`] error; anything else that
    /// is wrong (no `:`, bad characters, wrong length, uppercase hex) is
    /// [`ErrorKind::InvalidInput`].
    ///
    /// ```
    /// use registry_core::{Digest, ErrorKind};
    /// let sha384 = format!("sha384:{}", "0".repeat(96));
    /// assert_eq!(sha384.parse::<Digest>().unwrap_err().kind(), ErrorKind::UnsupportedDigestAlgorithm);
    /// let md5 = "md5:d41d8cd98f00b204e9800998ecf8427e";
    /// assert_eq!(md5.parse::<Digest>().unwrap_err().kind(), ErrorKind::UnsupportedDigestAlgorithm);
    /// assert_eq!("sha256:xyz".parse::<Digest>().unwrap_err().kind(), ErrorKind::InvalidInput);
    /// assert_eq!("MD5:abc".parse::<Digest>().unwrap_err().kind(), ErrorKind::InvalidInput);
    /// ```
    fn from_str(s: &str) -> Result<Digest, Error> {
        let (alg, hex) = s.split_once(':').ok_or_else(|| {
            Error::invalid_input(format!(
                "invalid digest {s:?}: expected ALGORITHM:HEX, e.g. sha256:…"
            ))
        })?;
        let algorithm = match alg.parse::<Algorithm>() {
            Ok(a) => a,
            Err(e) if e.kind() == ErrorKind::UnsupportedDigestAlgorithm && is_encoded(hex) => {
                return Err(Error::new(
                    ErrorKind::UnsupportedDigestAlgorithm,
                    format!("digest {s:?}: {}", e.message()),
                ));
            }
            Err(e) if e.kind() == ErrorKind::UnsupportedDigestAlgorithm => {
                return Err(Error::invalid_input(format!(
                    "invalid digest {s:?}: the encoded part is not [a-zA-Z0-9=_-]+"
                )));
            }
            Err(e) => {
                return Err(Error::invalid_input(format!(
                    "invalid digest {s:?}: {}",
                    e.message()
                )));
            }
        };
        Digest::new(algorithm, hex)
    }
}

/// Parses an algorithm name as in a digest string.
///
/// ```
/// use registry_core::ErrorKind;
/// use registry_core::digest::Algorithm;
/// assert_eq!("sha512".parse::<Algorithm>()?, Algorithm::Sha512);
/// // Well-formed, but not one we can hash:
/// assert_eq!("blake3".parse::<Algorithm>().unwrap_err().kind(), ErrorKind::UnsupportedDigestAlgorithm);
/// // Not an algorithm name at all (OCI: lowercase components joined by `+._-`):
/// assert_eq!("SHA256".parse::<Algorithm>().unwrap_err().kind(), ErrorKind::InvalidInput);
/// # Ok::<(), registry_core::Error>(())
/// ```
impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Algorithm, Error> {
        match s {
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            other if is_algorithm_name(other) => Err(Error::new(
                ErrorKind::UnsupportedDigestAlgorithm,
                format!("digest algorithm {other:?} is not supported (only sha256 and sha512 are)"),
            )),
            other => Err(Error::invalid_input(format!(
                "{other:?} is not a digest algorithm name"
            ))),
        }
    }
}

/// OCI: `algorithm ::= algorithm-component (algorithm-separator
/// algorithm-component)*`, components `[a-z0-9]+`, separators `[+._-]`.
fn is_algorithm_name(s: &str) -> bool {
    !s.is_empty()
        && s.split(['+', '.', '_', '-'])
            .all(|c| !c.is_empty() && c.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9')))
}

/// OCI: `encoded ::= [a-zA-Z0-9=_-]+`.
fn is_encoded(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_rejects() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.to_string(), EMPTY);
        for bad in [
            "sha256",
            "sha256:",
            ":abc",
            "SHA256:abc",
            "sha256+:abc",
            "md5:not/hex",
            "md5:",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            let err = bad.parse::<Digest>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(
            sha512.parse::<Digest>().unwrap().algorithm(),
            Algorithm::Sha512
        );
    }

    #[test]
    fn unsupported_algorithms_are_their_own_kind() {
        for odd in [
            format!("sha384:{}", "a".repeat(96)),
            "md5:d41d8cd98f00b204e9800998ecf8427e".to_owned(),
            "blake3:abc".to_owned(),
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8".to_owned(),
            "sha256.v2:AbC=_-".to_owned(),
        ] {
            let err = odd.parse::<Digest>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedDigestAlgorithm, "{odd}");
            assert!(err.to_string().contains("not supported"), "{err}");
            assert!(!err.is_retryable());
        }
        // Registered algorithms with bad hex stay malformed.
        for bad in ["sha256:xyz", "sha512:abc"] {
            assert_eq!(
                bad.parse::<Digest>().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        assert_eq!(
            "sha384".parse::<Algorithm>().unwrap_err().kind(),
            ErrorKind::UnsupportedDigestAlgorithm
        );
        assert_eq!("sha256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert_eq!(
            "sha-".parse::<Algorithm>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn serde_round_trip() {
        let d: Digest = serde_json::from_str(&format!("\"{EMPTY}\"")).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{EMPTY}\""));
        assert!(serde_json::from_str::<Digest>("\"sha256:xyz\"").is_err());
    }
}
