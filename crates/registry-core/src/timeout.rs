//! Timeouts: one for the response head, one for silence between body
//! frames (a "read" timeout that does not cap how long a large blob may
//! take, only how long the connection may stall).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::body::Body;
use crate::error::{Error, ErrorKind};

/// Adds [`Timeout`] to a service.
///
/// ```
/// use registry_core::timeout::TimeoutLayer;
/// use std::time::Duration;
/// let layer = TimeoutLayer::new()
///     .response(Duration::from_secs(60))
///     .read(Duration::from_secs(30));
/// # drop(layer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutLayer {
    response: Option<Duration>,
    read: Option<Duration>,
}

impl TimeoutLayer {
    /// No timeouts until set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time allowed until the response head arrives.
    pub fn response(mut self, timeout: Duration) -> Self {
        self.response = Some(timeout);
        self
    }

    /// Time allowed between two body frames.
    pub fn read(mut self, timeout: Duration) -> Self {
        self.read = Some(timeout);
        self
    }
}

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            config: *self,
        }
    }
}

/// The service made by [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    config: TimeoutLayer,
}

impl<S> tower::Service<Request<Body>> for Timeout<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let fut = self.inner.call(req);
        let config = self.config;
        Box::pin(async move {
            let resp = match config.response {
                Some(limit) => tokio::time::timeout(limit, fut).await.map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("no response within {}s", limit.as_secs_f32()),
                    )
                })??,
                None => fut.await?,
            };
            Ok(match config.read {
                Some(limit) => resp.map(|b| Body::wrap(ReadTimeoutBody::new(b, limit))),
                None => resp,
            })
        })
    }
}

pin_project_lite::pin_project! {
    /// A body that fails with [`ErrorKind::Timeout`] when no frame arrives
    /// within the limit.
    pub struct ReadTimeoutBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        limit: Duration,
    }
}

impl<B> ReadTimeoutBody<B> {
    /// Wraps `inner` with an idle limit.
    pub fn new(inner: B, limit: Duration) -> Self {
        ReadTimeoutBody {
            inner,
            sleep: tokio::time::sleep(limit),
            limit,
        }
    }
}

impl<B> HttpBody for ReadTimeoutBody<B>
where
    B: HttpBody<Data = Bytes, Error = Error>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            this.sleep.as_mut().reset(Instant::now() + *this.limit);
            return Poll::Ready(frame);
        }
        ready!(this.sleep.poll(cx));
        Poll::Ready(Some(Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "no data for {}s while reading the body",
                this.limit.as_secs_f32()
            ),
        ))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
