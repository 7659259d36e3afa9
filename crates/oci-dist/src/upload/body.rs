//! Request bodies for uploads: a slice of a shared byte stream with an
//! exact length, so a chunk or a whole blob streams with `Content-Length`
//! and nothing is buffered beyond the chunk the source yields.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use registry_core::Error;
use registry_core::digest::Verifier;

use crate::content::ByteStream;

/// The source stream of an upload, shared by the bodies of its chunks.
pub(crate) struct Reader {
    stream: ByteStream,
    leftover: Option<Bytes>,
    /// Hashes what flows, when the digest is not known up front.
    verifier: Option<Verifier>,
}

impl Reader {
    /// A reader of `stream`; with a verifier, it hashes everything it reads
    /// (see [`Verifier::computing`]).
    pub(crate) fn new(stream: ByteStream, verifier: Option<Verifier>) -> Arc<Mutex<Reader>> {
        Arc::new(Mutex::new(Reader {
            stream,
            leftover: None,
            verifier,
        }))
    }

    /// The verifier of a hashing reader, once.
    pub(crate) fn take_verifier(&mut self) -> Option<Verifier> {
        self.verifier.take()
    }

    /// Polls the source for its next chunk, feeding it to the verifier.
    fn poll_source(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        let polled = ready!(self.stream.as_mut().poll_next(cx));
        if let (Some(Ok(chunk)), Some(v)) = (&polled, self.verifier.as_mut())
            && let Err(e) = v.update(chunk)
        {
            return Poll::Ready(Some(Err(e)));
        }
        Poll::Ready(polled)
    }

    /// Polls at most `max` bytes.
    fn poll_take(&mut self, cx: &mut Context<'_>, max: u64) -> Poll<Option<Result<Bytes, Error>>> {
        let mut chunk = match self.leftover.take() {
            Some(c) => c,
            None => match ready!(self.poll_source(cx)) {
                Some(Ok(c)) => c,
                other => return Poll::Ready(other),
            },
        };
        if chunk.len() as u64 > max {
            self.leftover = Some(chunk.split_off(max as usize));
        }
        Poll::Ready(Some(Ok(chunk)))
    }

    /// Whether the source has nothing more (polls it once if needed).
    pub(crate) fn poll_at_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        if self.leftover.as_ref().is_some_and(|l| !l.is_empty()) {
            return Poll::Ready(Ok(false));
        }
        match ready!(self.poll_source(cx)) {
            None => Poll::Ready(Ok(true)),
            Some(Err(e)) => Poll::Ready(Err(e)),
            Some(Ok(c)) => {
                let empty = c.is_empty();
                self.leftover = Some(c);
                Poll::Ready(Ok(empty))
            }
        }
    }
}

/// Exactly `remaining` bytes taken from a shared [`Reader`].
pub(crate) struct SliceBody {
    reader: Arc<Mutex<Reader>>,
    remaining: u64,
    /// Unknown length: stream until the source ends.
    unbounded: bool,
    /// These are the last bytes of the source: before sending the final
    /// chunk, make sure the source ends there, and cleanly (a verifying
    /// source reports a digest mismatch only at its end), so that corrupt
    /// or overlong content never completes an upload.
    check_end: bool,
    held: Option<Bytes>,
}

impl SliceBody {
    pub(crate) fn new(reader: Arc<Mutex<Reader>>, len: u64) -> SliceBody {
        SliceBody {
            reader,
            remaining: len,
            unbounded: false,
            check_end: false,
            held: None,
        }
    }

    /// The last `len` bytes of the source (see `check_end`).
    pub(crate) fn last(reader: Arc<Mutex<Reader>>, len: u64) -> SliceBody {
        SliceBody {
            check_end: true,
            ..SliceBody::new(reader, len)
        }
    }

    pub(crate) fn to_end(reader: Arc<Mutex<Reader>>) -> SliceBody {
        SliceBody {
            unbounded: true,
            ..SliceBody::new(reader, u64::MAX)
        }
    }

    /// Ends the body with `e`.
    fn fail(&mut self, e: Error) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.remaining = 0;
        Poll::Ready(Some(Err(e)))
    }
}

impl HttpBody for SliceBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if self.held.is_some() {
            let end = {
                let mut r = self.reader.lock().expect("upload reader poisoned");
                ready!(r.poll_at_end(cx))
            };
            let chunk = self.held.take().expect("checked above");
            return match end {
                Ok(true) => {
                    self.remaining -= chunk.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Ok(false) => self.fail(Error::invalid_input(
                    "blob content is longer than its declared size",
                )),
                Err(e) => self.fail(e),
            };
        }
        let max = self.remaining;
        let polled = {
            let mut r = self.reader.lock().expect("upload reader poisoned");
            ready!(r.poll_take(cx, max))
        };
        match polled {
            Some(Ok(chunk)) if self.check_end && chunk.len() as u64 == self.remaining => {
                self.held = Some(chunk);
                self.poll_frame(cx)
            }
            Some(Ok(chunk)) => {
                if !self.unbounded {
                    self.remaining -= chunk.len() as u64;
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Some(Err(e)) => self.fail(e),
            None if self.unbounded => {
                self.remaining = 0;
                Poll::Ready(None)
            }
            None => {
                let short = self.remaining;
                self.fail(Error::invalid_input(format!(
                    "blob content ended {short} bytes before its declared size"
                )))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.unbounded {
            SizeHint::default()
        } else {
            SizeHint::with_exact(self.remaining)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use registry_core::ErrorKind;

    fn reader(parts: &[&'static str]) -> Arc<Mutex<Reader>> {
        let items: Vec<Result<Bytes, Error>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        Reader::new(Box::pin(futures_util::stream::iter(items)), None)
    }

    #[tokio::test]
    async fn slices_split_source_chunks() {
        let r = reader(&["abcde", "fgh", "ij"]);
        let a = SliceBody::new(r.clone(), 3)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let b = SliceBody::new(r.clone(), 4)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let c = SliceBody::new(r.clone(), 3)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(
            (&a[..], &b[..], &c[..]),
            (&b"abc"[..], &b"defg"[..], &b"hij"[..])
        );
        let end = std::future::poll_fn(|cx| r.lock().unwrap().poll_at_end(cx))
            .await
            .unwrap();
        assert!(end);
    }

    #[tokio::test]
    async fn last_slice_surfaces_the_source_end_error_before_its_final_bytes() {
        let items: Vec<Result<Bytes, Error>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"def")),
            Err(Error::new(ErrorKind::DigestMismatch, "bad")),
        ];
        let r = Reader::new(Box::pin(futures_util::stream::iter(items)), None);
        let mut body = SliceBody::last(r, 6);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&first[..], b"abc");
        // "def" is held back: the source's error comes instead.
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        assert!(body.frame().await.is_none());

        let r = reader(&["abc", "def", "g"]);
        let err = SliceBody::last(r, 6).collect().await.unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
        let r = reader(&["abc", "def"]);
        let all = SliceBody::last(r, 6).collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"abcdef");
    }

    #[tokio::test]
    async fn short_source_is_an_error() {
        let r = reader(&["ab"]);
        let err = SliceBody::new(r, 5).collect().await.unwrap_err();
        assert!(err.to_string().contains("3 bytes"), "{err}");
    }

    #[tokio::test]
    async fn unbounded_hashes_everything() {
        let items: Vec<Result<Bytes, Error>> = vec![Ok(Bytes::from_static(b"hello "))];
        let r = Reader::new(
            Box::pin(futures_util::stream::iter(items)),
            Some(Verifier::computing(
                registry_core::digest::Algorithm::Sha256,
            )),
        );
        let all = SliceBody::to_end(r.clone())
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&all[..], b"hello ");
        let d = r.lock().unwrap().take_verifier().unwrap().finish().unwrap();
        assert_eq!(d, registry_core::Digest::sha256_of(b"hello "));
    }
}
