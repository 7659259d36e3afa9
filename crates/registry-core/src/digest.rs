//! Content digests: a validated [`Digest`] type, a streaming [`Digester`],
//! and [`Verifier`], which checks content against its digest and size while
//! it flows and fails with [`ErrorKind::DigestMismatch`] at its end;
//! [`VerifyingBody`], [`VerifyingStream`] and [`VerifyingReader`] put it
//! around an http body, a byte stream and an `AsyncRead`.

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;
use tokio::io::{AsyncRead, ReadBuf};

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

/// The check of a wrapper: the verifier until the content ended or failed.
type Slot = Option<Verifier>;

/// Feeds `data`; a failure ends the check.
fn feed(slot: &mut Slot, data: &[u8]) -> Result<(), Error> {
    match slot.as_mut() {
        Some(v) => v.update(data).inspect_err(|_| *slot = None),
        None => Ok(()),
    }
}

/// The content ended: checks it (once).
fn end(slot: &mut Slot) -> Result<(), Error> {
    slot.take().map_or(Ok(()), |v| v.finish().map(drop))
}

pin_project_lite::pin_project! {
    /// An http body checked by a [`Verifier`] as its data frames pass: at
    /// the end of the stream it yields an [`ErrorKind::DigestMismatch`]
    /// error instead of ending cleanly when the content does not match, and
    /// it never yields more bytes than the expected size.
    pub struct VerifyingBody<B> {
        #[pin]
        inner: B,
        verifier: Slot,
    }
}

impl<B> VerifyingBody<B> {
    /// Wraps `inner`, checking it with `verifier`.
    pub fn new(inner: B, verifier: Verifier) -> Self {
        VerifyingBody {
            inner,
            verifier: Some(verifier),
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
        if this.verifier.is_none() {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => match frame.data_ref().map(|d| feed(this.verifier, d)) {
                Some(Err(e)) => Some(Err(Box::new(e))),
                _ => Some(Ok(frame)),
            },
            Some(Err(e)) => {
                *this.verifier = None;
                Some(Err(e.into()))
            }
            None => end(this.verifier)
                .err()
                .map(|e| Err(Box::new(e) as BoxError)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.verifier.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A stream of byte chunks checked by a [`Verifier`] as they pass: its
    /// last item is an [`ErrorKind::DigestMismatch`] error when the content
    /// does not match, and it never yields more bytes than the expected
    /// size. It ends after its first error.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::TryStreamExt;
    /// use registry_core::{Digest, Error, ErrorKind};
    /// use registry_core::digest::{Verifier, VerifyingStream};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let chunks = [Ok::<_, Error>(Bytes::from_static(b"abd"))];
    /// let s = VerifyingStream::new(
    ///     futures_util::stream::iter(chunks),
    ///     Verifier::new(Digest::sha256_of(b"abc"), Some(3)),
    /// );
    /// let err = s.try_collect::<Vec<Bytes>>().await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    /// # }
    /// ```
    pub struct VerifyingStream<S> {
        #[pin]
        inner: S,
        verifier: Slot,
    }
}

impl<S> VerifyingStream<S> {
    /// Wraps `inner`, checking it with `verifier`.
    pub fn new(inner: S, verifier: Verifier) -> Self {
        VerifyingStream {
            inner,
            verifier: Some(verifier),
        }
    }
}

impl<S, T, E> Stream for VerifyingStream<S>
where
    S: Stream<Item = Result<T, E>>,
    T: AsRef<[u8]>,
    E: From<Error>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if this.verifier.is_none() {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(this.inner.poll_next(cx)) {
            Some(Ok(chunk)) => match feed(this.verifier, chunk.as_ref()) {
                Ok(()) => Some(Ok(chunk)),
                Err(e) => Some(Err(e.into())),
            },
            Some(Err(e)) => {
                *this.verifier = None;
                Some(Err(e))
            }
            None => end(this.verifier).err().map(|e| Err(e.into())),
        })
    }
}

pin_project_lite::pin_project! {
    /// An [`AsyncRead`] checked by a [`Verifier`] as it is read: instead of
    /// a clean end of file it fails with [`ErrorKind::DigestMismatch`] when
    /// the content does not match, and it never hands out more bytes than
    /// the expected size. Its errors are `io::Error`s carrying an
    /// [`Error`] (`Error::from` recovers it); after one, every read fails
    /// the same way.
    pub struct VerifyingReader<R> {
        #[pin]
        inner: R,
        verifier: Slot,
        failed: Option<(ErrorKind, String)>,
    }
}

impl<R> VerifyingReader<R> {
    /// Wraps `inner`, checking it with `verifier`.
    pub fn new(inner: R, verifier: Verifier) -> Self {
        VerifyingReader {
            inner,
            verifier: Some(verifier),
            failed: None,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: AsyncRead> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        if let Some((kind, message)) = this.failed {
            return Poll::Ready(Err(Error::new(*kind, message.clone()).into()));
        }
        if this.verifier.is_none() || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let checked = match ready!(this.inner.poll_read(cx, buf)) {
            Err(e) => {
                *this.verifier = None;
                Err(Error::from(e))
            }
            Ok(()) if buf.filled().len() > before => {
                let checked = feed(this.verifier, &buf.filled()[before..]);
                if checked.is_err() {
                    buf.set_filled(before);
                }
                checked
            }
            Ok(()) => end(this.verifier),
        };
        Poll::Ready(checked.map_err(|e| {
            *this.failed = Some((e.kind(), e.to_string()));
            e.into()
        }))
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
        let body = VerifyingBody::new(
            Full::new(data.clone()),
            Verifier::new(Digest::sha256_of(&data), Some(11)),
        );
        assert_eq!(body.collect().await.unwrap().to_bytes(), data);
    }

    #[tokio::test]
    async fn verifying_body_rejects_corruption_across_frames() {
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"hello "))),
            Ok(Frame::data(Bytes::from_static(b"w0rld"))),
        ];
        let body = StreamBody::new(futures_util::stream::iter(chunks));
        let verifying =
            VerifyingBody::new(body, Verifier::new(Digest::sha256_of(b"hello world"), None));
        let err = verifying.collect().await.unwrap_err();
        let err = err.downcast::<Error>().unwrap();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    }

    #[tokio::test]
    async fn verifying_body_rejects_oversized_content() {
        let body = VerifyingBody::new(
            Full::new(Bytes::from_static(b"0123456789")),
            Verifier::new(Digest::sha256_of(b"0123"), Some(4)),
        );
        let err = body
            .collect()
            .await
            .unwrap_err()
            .downcast::<Error>()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(err.to_string().contains("longer than the expected 4 bytes"));
    }

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

    #[tokio::test]
    async fn verifying_stream_checks_digest_and_size() {
        use futures_util::TryStreamExt;
        let chunks = |parts: &[&'static [u8]]| {
            futures_util::stream::iter(
                parts
                    .iter()
                    .map(|p| Ok::<_, Error>(Bytes::from_static(p)))
                    .collect::<Vec<_>>(),
            )
        };
        let d = Digest::sha256_of(b"abc");
        let ok = VerifyingStream::new(chunks(&[b"ab", b"c"]), Verifier::new(d.clone(), Some(3)));
        let v: Vec<Bytes> = ok.try_collect().await.unwrap();
        assert_eq!(v.concat(), b"abc");
        let bad = VerifyingStream::new(chunks(&[b"ab", b"d"]), Verifier::new(d.clone(), None));
        let err = bad.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        // Never more than the size: the overlong chunk is not handed out.
        let mut long = VerifyingStream::new(chunks(&[b"ab", b"cd"]), Verifier::new(d, Some(3)));
        assert_eq!(long.try_next().await.unwrap().unwrap(), "ab");
        assert_eq!(
            long.try_next().await.unwrap_err().kind(),
            ErrorKind::DigestMismatch
        );
        assert!(long.try_next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn verifying_reader_fails_instead_of_a_clean_end() {
        use tokio::io::AsyncReadExt;
        let good: &[u8] = b"hello world";
        let mut r = VerifyingReader::new(good, Verifier::new(Digest::sha256_of(good), None));
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, good);

        let mut r = VerifyingReader::new(
            &b"hello w0rld"[..],
            Verifier::new(Digest::sha256_of(good), None),
        );
        let mut out = Vec::new();
        let err = Error::from(r.read_to_end(&mut out).await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        // Every later read fails the same way.
        let again = Error::from(r.read(&mut [0u8; 4]).await.unwrap_err());
        assert_eq!(again.to_string(), err.to_string());

        let mut r = VerifyingReader::new(
            &b"hello world!"[..],
            Verifier::new(Digest::sha256_of(good), Some(11)),
        );
        let mut out = Vec::new();
        let err = Error::from(r.read_to_end(&mut out).await.unwrap_err());
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(out.is_empty(), "{out:?}");
    }
}
