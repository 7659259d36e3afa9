//! Content digests: a validated [`Digest`] type, a streaming [`Digester`],
//! and [`VerifyingBody`], which hashes a body while it flows and fails with
//! [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) at its end.

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::error::{BoxError, Error, ErrorKind};

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

    fn from_str(s: &str) -> Result<Digest, Error> {
        let (alg, hex) = s.split_once(':').ok_or_else(|| {
            Error::invalid_input(format!(
                "invalid digest {s:?}: expected ALGORITHM:HEX, e.g. sha256:…"
            ))
        })?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(Error::invalid_input(format!(
                    "invalid digest {s:?}: unsupported algorithm {other:?} (sha256 or sha512)"
                )));
            }
        };
        Digest::new(algorithm, hex)
    }
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

/// Incremental hashing; SHA-256 uses the CPU's SHA extensions when present.
///
/// ```
/// use registry_core::digest::{Algorithm, Digester};
/// let mut d = Digester::new(Algorithm::Sha256);
/// d.update(b"hello ");
/// d.update(b"world");
/// assert_eq!(d.finish(), registry_core::Digest::sha256_of(b"hello world"));
/// ```
#[derive(Clone)]
pub struct Digester {
    state: State,
    bytes: u64,
}

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Digester {
    /// A hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Digester {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Digester { state, bytes: 0 }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// How many bytes were fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.state {
            State::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            State::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digester")
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// Checks a finished digest and byte count against expectations.
pub fn verify(
    expected: &Digest,
    expected_size: Option<u64>,
    digester: Digester,
) -> Result<(), Error> {
    let size = digester.bytes();
    if let Some(want) = expected_size
        && want != size
    {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("content of {expected} is {size} bytes, expected {want}"),
        ));
    }
    let actual = digester.finish();
    if &actual != expected {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("content hashes to {actual}, expected {expected}"),
        ));
    }
    Ok(())
}

pin_project_lite::pin_project! {
    /// A body that hashes its data frames as they pass and, at the end of the
    /// stream, yields a [`ErrorKind::DigestMismatch`] error instead of ending
    /// cleanly when the content does not match. It also refuses to yield more
    /// bytes than the expected size, so a hostile server cannot make us read
    /// forever.
    pub struct VerifyingBody<B> {
        #[pin]
        inner: B,
        expected: Digest,
        expected_size: Option<u64>,
        digester: Option<Digester>,
    }
}

impl<B> VerifyingBody<B> {
    /// Wraps `inner`, expecting it to hash to `expected` (and to be
    /// `expected_size` bytes long, when given).
    pub fn new(inner: B, expected: Digest, expected_size: Option<u64>) -> Self {
        let digester = Some(expected.digester());
        VerifyingBody {
            inner,
            expected,
            expected_size,
            digester,
        }
    }
}

impl<B> HttpBody for VerifyingBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let Some(digester) = this.digester.as_mut() else {
            return Poll::Ready(None);
        };
        match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    digester.update(data);
                    if let Some(max) = *this.expected_size
                        && digester.bytes() > max
                    {
                        *this.digester = None;
                        return Poll::Ready(Some(Err(Box::new(Error::new(
                            ErrorKind::DigestMismatch,
                            format!("content of {} is longer than {max} bytes", this.expected),
                        )))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                *this.digester = None;
                Poll::Ready(Some(Err(e.into())))
            }
            None => {
                let digester = this.digester.take().expect("checked above");
                match verify(this.expected, *this.expected_size, digester) {
                    Ok(()) => Poll::Ready(None),
                    Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.digester.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full, StreamBody};

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_rejects() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.to_string(), EMPTY);
        for bad in [
            "sha256",
            "sha256:",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
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
    fn serde_round_trip() {
        let d: Digest = serde_json::from_str(&format!("\"{EMPTY}\"")).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{EMPTY}\""));
        assert!(serde_json::from_str::<Digest>("\"sha256:xyz\"").is_err());
    }

    #[tokio::test]
    async fn verifying_body_accepts_matching_content() {
        let data = Bytes::from_static(b"hello world");
        let body = VerifyingBody::new(Full::new(data.clone()), Digest::sha256_of(&data), Some(11));
        assert_eq!(body.collect().await.unwrap().to_bytes(), data);
    }

    #[tokio::test]
    async fn verifying_body_rejects_corruption_across_frames() {
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"hello "))),
            Ok(Frame::data(Bytes::from_static(b"w0rld"))),
        ];
        let body = StreamBody::new(futures_util::stream::iter(chunks));
        let verifying = VerifyingBody::new(body, Digest::sha256_of(b"hello world"), None);
        let err = verifying.collect().await.unwrap_err();
        let err = err.downcast::<Error>().unwrap();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    }

    #[tokio::test]
    async fn verifying_body_rejects_oversized_content() {
        let body = VerifyingBody::new(
            Full::new(Bytes::from_static(b"0123456789")),
            Digest::sha256_of(b"0123"),
            Some(4),
        );
        let err = body
            .collect()
            .await
            .unwrap_err()
            .downcast::<Error>()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(err.to_string().contains("longer than 4"));
    }
}
