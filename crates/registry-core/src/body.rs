//! [`Body`]: the one request and response body type of the stack.
//!
//! A body is empty, a buffer (replayable, so it can be retried or re-sent
//! after an authentication challenge) or a stream (sent once, never
//! buffered).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStream, TryStreamExt};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};

use crate::error::{BoxError, Error, ErrorKind};

/// A request or response body.
///
/// ```
/// use registry_core::Body;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let body = Body::from("hello");
/// let copy = body.try_clone().expect("buffers are replayable");
/// assert_eq!(copy.collect_bytes(1024).await.unwrap(), "hello");
/// let streamed = Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]));
/// assert!(streamed.try_clone().is_none());
/// # }
/// ```
pub struct Body {
    inner: Inner,
}

enum Inner {
    /// A buffer: the part not yet sent (none once sent, or when empty) and
    /// all of it, for replays.
    Full(Option<Bytes>, Bytes),
    Incoming(hyper::body::Incoming),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body::full(Bytes::new())
    }

    /// A buffered, replayable body.
    pub fn full(data: impl Into<Bytes>) -> Body {
        let data: Bytes = data.into();
        let unsent = (!data.is_empty()).then(|| data.clone());
        Body {
            inner: Inner::Full(unsent, data),
        }
    }

    /// A streaming body from a stream of byte chunks. It is sent once and
    /// cannot be replayed.
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: TryStream<Ok = Bytes> + Send + 'static,
        S::Error: Into<BoxError>,
    {
        let frames = stream.map_ok(Frame::data).map_err(Into::into);
        Body::wrap(StreamBody::new(frames))
    }

    /// Wraps any `http_body::Body`.
    pub fn wrap<B>(body: B) -> Body
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body {
            inner: Inner::Boxed(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// A copy of this body if it is replayable (empty or buffered).
    pub fn try_clone(&self) -> Option<Body> {
        match &self.inner {
            Inner::Full(_, all) => Some(Body::full(all.clone())),
            _ => None,
        }
    }

    /// The exact length, when known.
    pub fn content_length(&self) -> Option<u64> {
        self.size_hint().exact()
    }

    /// Reads the whole body into memory, failing with
    /// [`ErrorKind::Protocol`] when it is longer than `limit` bytes. Use it
    /// for manifests, JSON and error bodies, never for blobs.
    pub async fn collect_bytes(self, limit: usize) -> Result<Bytes, Error> {
        if let Inner::Full(Some(data), _) = self.inner {
            if data.len() > limit {
                return Err(too_large(limit));
            }
            return Ok(data);
        }
        let mut out = bytes::BytesMut::new();
        let mut stream = self.into_data_stream();
        while let Some(chunk) = stream.try_next().await? {
            if out.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// The body as a stream of data chunks (trailers are skipped).
    pub fn into_data_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Send + Unpin {
        BodyExt::into_data_stream(self)
    }
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("response body is larger than the {limit}-byte limit"),
    )
}

/// Turns a body error into our [`Error`], keeping ours when it is one.
pub(crate) fn body_error(e: BoxError) -> Error {
    match e.downcast::<Error>() {
        Ok(e) => *e,
        Err(e) => match e.downcast::<hyper::Error>() {
            Ok(h) => Error::transport("reading the response body failed", h),
            Err(other) => Error::transport("body stream failed", other),
        },
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.inner {
            Inner::Full(data, _) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Inner::Incoming(b) => Pin::new(b).poll_frame(cx).map_err(|e| {
                if e.is_timeout() {
                    Error::new(ErrorKind::Timeout, "reading the response body timed out")
                        .with_source(e)
                } else {
                    Error::transport("reading the response body failed", e)
                }
            }),
            Inner::Boxed(b) => Pin::new(b).poll_frame(cx).map_err(body_error),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(data, _) => data.is_none(),
            Inner::Incoming(b) => b.is_end_stream(),
            Inner::Boxed(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(data, _) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Inner::Incoming(b) => b.size_hint(),
            Inner::Boxed(b) => b.size_hint(),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Full(_, all) if all.is_empty() => "empty",
            Inner::Full(..) => "full",
            Inner::Incoming(_) => "incoming",
            Inner::Boxed(_) => "stream",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("size_hint", &self.size_hint().exact())
            .finish()
    }
}

impl From<hyper::body::Incoming> for Body {
    fn from(b: hyper::body::Incoming) -> Body {
        Body {
            inner: Inner::Incoming(b),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body::full(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body::full(b)
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::full(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::full(Bytes::from_static(s))
    }
}
