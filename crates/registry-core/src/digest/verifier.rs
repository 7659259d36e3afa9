//! [`Verifier`]: checks content against its digest and size while it
//! flows.

use super::{Algorithm, Digest, Digester};
use crate::error::{Error, ErrorKind};

/// Checks content against the digest (and size) it must have while the
/// bytes flow: the one state object behind [`VerifyingBody`],
/// [`VerifyingStream`] and [`VerifyingReader`], used directly by code that
/// moves the bytes itself (a read resumed across responses, a partial file
/// hashed before the rest is appended to it).
///
/// [`update`](Self::update) refuses more bytes than the expected size (so a
/// hostile peer cannot make us read forever); [`finish`](Self::finish)
/// fails with [`ErrorKind::DigestMismatch`], naming the expected and actual
/// digest and the size, when the content does not match.
///
/// ```
/// use registry_core::{Digest, ErrorKind};
/// use registry_core::digest::Verifier;
/// let expected = Digest::sha256_of(b"hello world");
/// let mut v = Verifier::new(expected.clone(), Some(11));
/// v.update(b"hello ")?;
/// v.update(b"world")?;
/// assert_eq!(v.bytes(), 11);
/// assert_eq!(v.finish()?, expected);
///
/// let mut v = Verifier::new(expected, None);
/// v.update(b"hello w0rld")?;
/// assert_eq!(v.finish().unwrap_err().kind(), ErrorKind::DigestMismatch);
/// # Ok::<(), registry_core::Error>(())
/// ```
///
/// [`VerifyingBody`]: super::VerifyingBody
/// [`VerifyingStream`]: super::VerifyingStream
/// [`VerifyingReader`]: super::VerifyingReader
#[derive(Debug, Clone)]
pub struct Verifier {
    mode: Mode,
    size: Option<u64>,
    bytes: u64,
}

#[derive(Debug, Clone)]
enum Mode {
    /// Hash and compare with the digest.
    Check {
        expected: Digest,
        digester: Digester,
    },
    /// Hash; the digest is not known up front.
    Compute(Digester),
    /// Count only: something else checks the digest.
    Count(Digest),
}

impl Verifier {
    /// Checks content against `expected` and, when given, `size`.
    pub fn new(expected: Digest, size: Option<u64>) -> Verifier {
        Verifier {
            mode: Mode::Check {
                digester: expected.digester(),
                expected,
            },
            size,
            bytes: 0,
        }
    }

    /// Hashes content whose digest is not known up front;
    /// [`finish`](Self::finish) returns it.
    pub fn computing(algorithm: Algorithm) -> Verifier {
        Verifier {
            mode: Mode::Compute(Digester::new(algorithm)),
            size: None,
            bytes: 0,
        }
    }

    /// Checks only the size of content whose digest something else checks
    /// (a stream that verifies itself); [`finish`](Self::finish) returns
    /// `expected`.
    pub fn counting(expected: Digest, size: Option<u64>) -> Verifier {
        Verifier {
            mode: Mode::Count(expected),
            size,
            bytes: 0,
        }
    }

    /// The digest the content must have, when known.
    pub fn expected(&self) -> Option<&Digest> {
        match &self.mode {
            Mode::Check { expected, .. } | Mode::Count(expected) => Some(expected),
            Mode::Compute(_) => None,
        }
    }

    /// The algorithm the content is hashed with.
    ///
    /// ```
    /// use registry_core::digest::{Algorithm, Verifier};
    /// assert_eq!(Verifier::computing(Algorithm::Sha512).algorithm(), Algorithm::Sha512);
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        match &self.mode {
            Mode::Check { digester, .. } | Mode::Compute(digester) => digester.algorithm(),
            Mode::Count(expected) => expected.algorithm(),
        }
    }

    /// The size the content must have, when known.
    pub fn expected_size(&self) -> Option<u64> {
        self.size
    }

    /// How many bytes were fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Feeds bytes; fails with [`ErrorKind::DigestMismatch`] once there
    /// are more than the expected size.
    pub fn update(&mut self, data: &[u8]) -> Result<(), Error> {
        self.bytes += data.len() as u64;
        if let Some(max) = self.size
            && self.bytes > max
        {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "content of {} is longer than the expected {max} bytes",
                    self.name()
                ),
            ));
        }
        match &mut self.mode {
            Mode::Check { digester, .. } | Mode::Compute(digester) => digester.update(data),
            Mode::Count(_) => {}
        }
        Ok(())
    }

    /// Ends the content: its digest when it has the expected size and
    /// digest, else an [`ErrorKind::DigestMismatch`] error saying what
    /// differs.
    pub fn finish(self) -> Result<Digest, Error> {
        let size = self.bytes;
        if let Some(want) = self.size
            && want != size
        {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "content of {} is {size} bytes, expected {want}",
                    self.name()
                ),
            ));
        }
        match self.mode {
            Mode::Check { expected, digester } => {
                let actual = digester.finish();
                if actual != expected {
                    return Err(Error::new(
                        ErrorKind::DigestMismatch,
                        format!("content ({size} bytes) hashes to {actual}, expected {expected}"),
                    ));
                }
                Ok(actual)
            }
            Mode::Compute(digester) => Ok(digester.finish()),
            Mode::Count(expected) => Ok(expected),
        }
    }

    fn name(&self) -> String {
        self.expected()
            .map_or_else(|| "the content".to_owned(), Digest::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_names_digests_and_sizes() {
        let expected = Digest::sha256_of(b"abc");
        let mut v = Verifier::new(expected.clone(), Some(3));
        v.update(b"abd").unwrap();
        let err = v.finish().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        let msg = err.to_string();
        assert!(msg.contains(&expected.to_string()), "{msg}");
        assert!(
            msg.contains(&Digest::sha256_of(b"abd").to_string()),
            "{msg}"
        );
        assert!(msg.contains("3 bytes"), "{msg}");

        let mut short = Verifier::new(expected.clone(), Some(4));
        short.update(b"abc").unwrap();
        let err = short.finish().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(err.to_string().contains("is 3 bytes, expected 4"), "{err}");

        let mut long = Verifier::new(expected.clone(), Some(2));
        let err = long.update(b"abc").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(err.to_string().contains("longer than the expected 2 bytes"));

        // Continued from a state object, as a resumed read does.
        let mut v = Verifier::new(expected.clone(), None);
        v.update(b"a").unwrap();
        let mut resumed = v.clone();
        resumed.update(b"bc").unwrap();
        assert_eq!(resumed.bytes(), 3);
        assert_eq!(resumed.finish().unwrap(), expected);
    }

    #[test]
    fn computing_and_counting_verifiers() {
        let mut v = Verifier::computing(Algorithm::Sha256);
        v.update(b"hello ").unwrap();
        assert_eq!(v.expected(), None);
        assert_eq!(v.finish().unwrap(), Digest::sha256_of(b"hello "));

        let d = Digest::sha256_of(b"abc");
        let mut c = Verifier::counting(d.clone(), Some(3));
        c.update(b"xyz").unwrap();
        assert_eq!(c.finish().unwrap(), d);
        let mut c = Verifier::counting(d.clone(), Some(3));
        c.update(b"xy").unwrap();
        assert_eq!(c.finish().unwrap_err().kind(), ErrorKind::DigestMismatch);
        let mut c = Verifier::counting(d, Some(3));
        assert!(c.update(b"wxyz").is_err());
    }
}
