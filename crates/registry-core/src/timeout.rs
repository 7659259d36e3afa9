//! Bounded waits: how long a response head may take, how long a body may
//! stay silent, and how slow a transfer may get.
//!
//! - **Response timeout**: the time from the end of the request body to the
//!   response head. A large upload is never cut by it: the clock starts
//!   only once the last byte of the body was handed to the connection.
//! - **Read (idle) timeout**: the longest silence between two frames of a
//!   response body.
//! - **Low-speed limit** (curl's `--speed-limit`/`--speed-time`): a body,
//!   sent or received, that moves fewer than `bytes_per_second × window`
//!   bytes in a window of `window` fails. A registry that trickles a few
//!   bytes every few seconds is cut off instead of taking hours.
//!
//! Every failure here is [`ErrorKind::Timeout`], which the retry layer and
//! resumed blob reads treat as transient.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::auth::BoxFuture;
use crate::body::Body;
use crate::client::HttpService;
use crate::error::{Error, ErrorKind};

/// The default response timeout: 30 s from the end of the request body.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default read (idle) timeout: 30 s without a body frame.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The default low-speed limit: 1 KiB/s ...
pub const DEFAULT_LOW_SPEED_LIMIT: u64 = 1024;
/// ... averaged over 30 s windows.
pub const DEFAULT_LOW_SPEED_WINDOW: Duration = Duration::from_secs(30);

/// Fail a body that moves fewer than `bytes_per_second` on average over
/// `window` (curl's `--speed-limit` and `--speed-time`).
///
/// ```
/// use registry_core::timeout::LowSpeed;
/// use std::time::Duration;
/// let slow = LowSpeed::new(1024, Duration::from_secs(30));
/// assert_eq!(slow.min_bytes_per_window(), 30 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowSpeed {
    bytes_per_second: u64,
    window: Duration,
}

impl LowSpeed {
    /// At least `bytes_per_second` on average over every `window`.
    pub fn new(bytes_per_second: u64, window: Duration) -> LowSpeed {
        LowSpeed {
            bytes_per_second,
            window: window.max(Duration::from_millis(1)),
        }
    }

    /// The bytes a window must carry.
    pub fn min_bytes_per_window(&self) -> u64 {
        (self.bytes_per_second as f64 * self.window.as_secs_f64()).ceil() as u64
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The limit in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }
}

/// Adds [`Timeout`] to a service.
///
/// ```
/// use registry_core::timeout::{LowSpeed, TimeoutLayer};
/// use std::time::Duration;
/// let layer = TimeoutLayer::new()
///     .response(Duration::from_secs(60))
///     .read(Duration::from_secs(30))
///     .low_speed(LowSpeed::new(1024, Duration::from_secs(30)));
/// # drop(layer);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutLayer {
    response: Option<Duration>,
    read: Option<Duration>,
    low_speed: Option<LowSpeed>,
}

impl TimeoutLayer {
    /// No timeouts until set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults of [`HttpClient::builder`](crate::HttpClient::builder):
    /// [`DEFAULT_RESPONSE_TIMEOUT`], [`DEFAULT_READ_TIMEOUT`] and a low-speed
    /// limit of [`DEFAULT_LOW_SPEED_LIMIT`] over [`DEFAULT_LOW_SPEED_WINDOW`].
    pub fn defaults() -> Self {
        TimeoutLayer::new()
            .response(DEFAULT_RESPONSE_TIMEOUT)
            .read(DEFAULT_READ_TIMEOUT)
            .low_speed(LowSpeed::new(
                DEFAULT_LOW_SPEED_LIMIT,
                DEFAULT_LOW_SPEED_WINDOW,
            ))
    }

    /// Time allowed from the end of the request body to the response head.
    pub fn response(mut self, timeout: Duration) -> Self {
        self.response = Some(timeout);
        self
    }

    /// Time allowed between two response body frames.
    pub fn read(mut self, timeout: Duration) -> Self {
        self.read = Some(timeout);
        self
    }

    /// The low-speed limit for request and response bodies.
    pub fn low_speed(mut self, limit: LowSpeed) -> Self {
        self.low_speed = Some(limit);
        self
    }

    /// No low-speed limit.
    pub fn no_low_speed(mut self) -> Self {
        self.low_speed = None;
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

/// How far a request body got: bytes handed to the connection, and when it
/// ended (in milliseconds since `start`, `u64::MAX` while it has not).
#[derive(Debug)]
struct Sent {
    start: Instant,
    bytes: AtomicU64,
    ended_ms: AtomicU64,
}

impl Sent {
    fn new(ended: bool) -> Arc<Sent> {
        Arc::new(Sent {
            start: Instant::now(),
            bytes: AtomicU64::new(0),
            ended_ms: AtomicU64::new(if ended { 0 } else { u64::MAX }),
        })
    }

    fn ended_at(&self) -> Option<Instant> {
        match self.ended_ms.load(Ordering::Acquire) {
            u64::MAX => None,
            ms => Some(self.start + Duration::from_millis(ms)),
        }
    }

    fn end(&self) {
        let ms = self.start.elapsed().as_millis().min(u64::MAX as u128 - 1) as u64;
        let _ = self
            .ended_ms
            .compare_exchange(u64::MAX, ms, Ordering::AcqRel, Ordering::Acquire);
    }
}

impl<S: HttpService> tower::Service<Request<Body>> for Timeout<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let config = self.config;
        // Buffered bodies go out at once: the response clock starts now.
        // Streamed ones are watched, so the clock starts at their end.
        let streamed = req.body().try_clone().is_none();
        let sent = Sent::new(!streamed);
        let req = if streamed {
            let sent = sent.clone();
            req.map(|b| Body::wrap(SentBody { inner: b, sent }))
        } else {
            req
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = wait_for_head(fut, &sent, &config).await?;
            let (read, low_speed) = (config.read, config.low_speed);
            Ok(if read.is_some() || low_speed.is_some() {
                resp.map(|b| Body::wrap(WatchedBody::new(b, read, low_speed)))
            } else {
                resp
            })
        })
    }
}

/// Waits for the response head: while the request body is being sent, it
/// must move faster than the low-speed limit; once it has ended, the head
/// must come within the response timeout.
async fn wait_for_head<F>(
    fut: F,
    sent: &Sent,
    config: &TimeoutLayer,
) -> Result<Response<Body>, Error>
where
    F: Future<Output = Result<Response<Body>, Error>>,
{
    if config.response.is_none() && config.low_speed.is_none() {
        return fut.await;
    }
    let mut fut = std::pin::pin!(fut);
    // Re-check at least this often while the body is being sent.
    let poll_every = config
        .low_speed
        .map(|l| l.window())
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1));
    let mut window_start = Instant::now();
    let mut window_bytes = 0u64;
    loop {
        let deadline = match sent.ended_at() {
            Some(end) => match config.response {
                Some(limit) => end + limit,
                None => return fut.await,
            },
            None => Instant::now() + poll_every,
        };
        tokio::select! {
            out = &mut fut => return out,
            () = tokio::time::sleep_until(deadline) => {}
        }
        if let Some(end) = sent.ended_at() {
            if let Some(limit) = config.response
                && Instant::now() >= end + limit
            {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no response within {}s", limit.as_secs_f32()),
                ));
            }
            continue;
        }
        // The body is still being sent: is it moving?
        if let Some(low) = config.low_speed
            && window_start.elapsed() >= low.window()
        {
            let total = sent.bytes.load(Ordering::Acquire);
            let moved = total - window_bytes;
            check_speed("sending the request body", moved, &low)?;
            window_start = Instant::now();
            window_bytes = total;
        }
    }
}

/// A [`ErrorKind::Timeout`] error when `moved` bytes in a window are below
/// the limit `low`.
fn check_speed(what: &str, moved: u64, low: &LowSpeed) -> Result<(), Error> {
    if moved >= low.min_bytes_per_window() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Timeout,
        format!(
            "{what} is too slow: {moved} bytes in {}s, below the limit of {} bytes/s",
            low.window().as_secs_f32(),
            low.bytes_per_second()
        ),
    ))
}

pin_project_lite::pin_project! {
    /// A request body that counts the bytes handed to the connection and
    /// notes when it ended.
    struct SentBody {
        #[pin]
        inner: Body,
        sent: Arc<Sent>,
    }
}

impl HttpBody for SentBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(d) = f.data_ref() {
                    this.sent.bytes.fetch_add(d.len() as u64, Ordering::AcqRel);
                }
            }
            Some(Err(_)) | None => this.sent.end(),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.sent.end();
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A response body that fails with [`ErrorKind::Timeout`] when no frame
    /// arrives within the read timeout, or when fewer bytes than the
    /// low-speed limit arrive in a window.
    pub struct WatchedBody<B> {
        #[pin]
        inner: B,
        #[pin]
        idle: Sleep,
        read: Option<Duration>,
        #[pin]
        window_end: Sleep,
        low_speed: Option<LowSpeed>,
        window_bytes: u64,
        failed: bool,
    }
}

impl<B> WatchedBody<B> {
    /// Wraps `inner` with an idle limit and a low-speed limit (either may
    /// be off).
    pub fn new(inner: B, read: Option<Duration>, low_speed: Option<LowSpeed>) -> Self {
        let far = Duration::from_secs(86400 * 365);
        let now = Instant::now();
        WatchedBody {
            inner,
            idle: tokio::time::sleep_until(now + read.unwrap_or(far)),
            read,
            window_end: tokio::time::sleep_until(now + low_speed.map_or(far, |l| l.window())),
            low_speed,
            window_bytes: 0,
            failed: false,
        }
    }
}

impl<B> HttpBody for WatchedBody<B>
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
        if *this.failed {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            if let Some(read) = this.read {
                this.idle.as_mut().reset(Instant::now() + *read);
            }
            if let Some(Ok(f)) = &frame
                && let Some(d) = f.data_ref()
            {
                *this.window_bytes += d.len() as u64;
            }
            return Poll::Ready(frame);
        }
        if let Some(low) = *this.low_speed
            && this.window_end.as_mut().poll(cx).is_ready()
        {
            if let Err(e) = check_speed("reading the response body", *this.window_bytes, &low) {
                *this.failed = true;
                return Poll::Ready(Some(Err(e)));
            }
            *this.window_bytes = 0;
            this.window_end
                .as_mut()
                .reset(Instant::now() + low.window());
            // Register the new deadline with the waker.
            let _ = this.window_end.as_mut().poll(cx);
        }
        if let Some(read) = *this.read {
            ready!(this.idle.poll(cx));
            *this.failed = true;
            return Poll::Ready(Some(Err(Error::new(
                ErrorKind::Timeout,
                format!("no data for {}s while reading the body", read.as_secs_f32()),
            ))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;
    use http_body_util::BodyExt;

    fn trickle(n: usize, every: Duration) -> Body {
        let s = futures_util::stream::unfold(0usize, move |i| async move {
            if i == n {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, Error>(Bytes::from_static(b"x")), i + 1))
        });
        Body::from_stream(s)
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_fails_the_low_speed_limit() {
        let body = WatchedBody::new(
            trickle(1000, Duration::from_secs(2)),
            Some(Duration::from_secs(30)),
            Some(LowSpeed::new(1024, Duration::from_secs(30))),
        );
        let started = Instant::now();
        let err = Body::wrap(body)
            .into_data_stream()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.to_string().contains("too slow"), "{err}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(30) && took < Duration::from_secs(31),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_enough_body_passes() {
        // 2 bytes/s against a limit of 1 byte/s.
        let body = WatchedBody::new(
            trickle(20, Duration::from_millis(500)),
            Some(Duration::from_secs(30)),
            Some(LowSpeed::new(1, Duration::from_secs(3))),
        );
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn silence_fails_the_read_timeout() {
        let body = WatchedBody::new(
            trickle(2, Duration::from_secs(10)),
            Some(Duration::from_secs(5)),
            None,
        );
        let err = body.collect().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.to_string().contains("no data for 5s"), "{err}");
    }
}
