//! The digest calculator of an upload session (the seed's
//! `BlobDigestCalculator`): a [`Verifier`] in computing mode fed with every
//! byte the registry accepted, in order, so the upload can be completed
//! without the caller knowing the digest, and a caller-supplied digest is
//! checked before the completing `PUT` is sent.

use registry_core::digest::{Algorithm, Verifier};
use registry_core::{Digest, Error, ErrorKind};

/// The state of a session's digest calculation.
#[derive(Debug, Clone, Default)]
pub(super) enum Calculator {
    /// Not asked for.
    #[default]
    Off,
    /// Hashing: the verifier has seen the first `bytes()` bytes of the blob.
    On(Box<Verifier>),
    /// A chunk was accepted at an offset other than the end of what was
    /// hashed (after a chunk cut part-way), so the hash is not the blob's.
    Lost(String),
}

impl Calculator {
    pub(super) fn start(algorithm: Algorithm) -> Calculator {
        Calculator::On(Box::new(Verifier::computing(algorithm)))
    }

    /// The verifier, for feeding a chunk about to be sent at `offset`
    /// (cloned: the session keeps its state until the registry accepts).
    pub(super) fn for_chunk(&self) -> Option<Verifier> {
        match self {
            Calculator::On(v) => Some((**v).clone()),
            _ => None,
        }
    }

    /// The digest of the `offset` bytes the registry holds, plus `tail`:
    /// `Ok(None)` when the session does not calculate, an error when the
    /// calculation no longer matches what the registry holds.
    pub(super) fn digest(&self, offset: u64, tail: &[u8]) -> Result<Option<Digest>, Error> {
        match self {
            Calculator::Off => Ok(None),
            Calculator::Lost(why) => Err(Error::new(
                ErrorKind::Conflict,
                format!("the upload's digest calculation was given up: {why}"),
            )),
            Calculator::On(v) if v.bytes() != offset => Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "the upload's digest calculation hashed {} bytes but the registry holds \
                     {offset} (a chunk was cut part-way, or a stream was longer than its chunk)",
                    v.bytes()
                ),
            )),
            Calculator::On(v) => {
                let mut v = v.clone();
                v.update(tail)?;
                v.finish().map(Some)
            }
        }
    }

    pub(super) fn algorithm(&self) -> Option<Algorithm> {
        match self {
            Calculator::On(v) => Some(v.algorithm()),
            _ => None,
        }
    }
}

/// Two calculators are equal when they are in the same state and have hashed
/// the same bytes (their digests so far agree).
impl PartialEq for Calculator {
    fn eq(&self, other: &Calculator) -> bool {
        match (self, other) {
            (Calculator::Off, Calculator::Off) => true,
            (Calculator::Lost(a), Calculator::Lost(b)) => a == b,
            (Calculator::On(a), Calculator::On(b)) => {
                a.bytes() == b.bytes() && a.clone().finish().ok() == b.clone().finish().ok()
            }
            _ => false,
        }
    }
}

impl Eq for Calculator {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_only_when_in_step() {
        assert_eq!(Calculator::Off.digest(0, b"").unwrap(), None);
        let mut c = Calculator::start(Algorithm::Sha256);
        let mut v = c.for_chunk().unwrap();
        v.update(b"abc").unwrap();
        c = Calculator::On(Box::new(v));
        assert_eq!(
            c.digest(3, b"def").unwrap(),
            Some(Digest::sha256_of(b"abcdef"))
        );
        assert_eq!(c.digest(5, b"").unwrap_err().kind(), ErrorKind::Conflict);
        assert_eq!(c.algorithm(), Some(Algorithm::Sha256));
        let lost = Calculator::Lost("chunk at 7".into());
        assert!(
            lost.digest(3, b"")
                .unwrap_err()
                .to_string()
                .contains("chunk at 7")
        );
    }
}
