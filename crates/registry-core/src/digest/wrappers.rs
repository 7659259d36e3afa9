//! [`Verifier`] around an http body ([`VerifyingBody`]), a byte stream
//! ([`VerifyingStream`]) and an `AsyncRead` ([`VerifyingReader`]).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use super::Verifier;
use crate::error::{BoxError, Error, ErrorKind};

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
    use http_body_util::{BodyExt, Full, StreamBody};

    use super::*;
    use crate::digest::Digest;

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
