//! Retries: idempotent requests with replayable bodies, on connect errors,
//! timeouts and 408/429/500/502/503/504, with exponential backoff, jitter and
//! `Retry-After`, within a wall-time budget per request.
//!
//! Only what can succeed is retried: a host that does not resolve
//! ([`ErrorKind::UnknownHost`]), a TLS failure and 4xx answers other than
//! 408 and 429 are final at once; a refused connection is tried a few
//! times only (a registry restarting). The final error says how many
//! attempts were made; each retry is logged at `info` (`crctl -v`).
//!
//! What to retry and how long to wait is a [`RetryPolicy`]; [`Backoff`] is
//! the default one.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, Request, Response, StatusCode};
use tower::ServiceExt;

use crate::auth::BoxFuture;
use crate::body::Body;
use crate::client::HttpService;
use crate::error::{Error, ErrorKind};

/// Which attempt a request is; set as a request extension by [`Retry`] so
/// lower layers (logging) can report it. The first attempt is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub u32);

/// Decides whether and when to try a request again.
pub trait RetryPolicy: Send + Sync + 'static {
    /// Called after attempt number `attempt` (1-based) of an idempotent
    /// request with a replayable body. Returns the delay before the next
    /// attempt, or `None` to hand `outcome` to the caller.
    fn next_delay(
        &self,
        attempt: u32,
        method: &Method,
        outcome: &Result<Response<Body>, Error>,
    ) -> Option<Duration>;

    /// The wall time one request may take across all its attempts: no
    /// attempt starts once `elapsed + delay` would pass it. `None`: no
    /// limit beyond the attempt count.
    fn budget(&self) -> Option<Duration> {
        None
    }
}

/// How many attempts a request took, set as a response extension by
/// [`Retry`] so that callers can say so in their errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// The default retry budget: 2 minutes of wall time per request.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(120);

/// Exponential backoff with full jitter, honouring `Retry-After`.
///
/// ```
/// use registry_core::retry::Backoff;
/// use std::time::Duration;
/// let policy = Backoff::new()
///     .max_attempts(4)
///     .base_delay(Duration::from_millis(200))
///     .max_delay(Duration::from_secs(10))
///     .max_retry_after(Duration::from_secs(60))
///     .budget(Duration::from_secs(90));
/// # drop(policy);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    max_attempts: u32,
    refused_attempts: u32,
    base: Duration,
    cap: Duration,
    max_retry_after: Duration,
    budget: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_attempts: 5,
            refused_attempts: 3,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            budget: Some(DEFAULT_RETRY_BUDGET),
        }
    }
}

impl Backoff {
    /// Defaults: 5 attempts (3 when the connection is refused), 250 ms
    /// base, 10 s cap, `Retry-After` up to 60 s, 2 minutes of wall time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total attempts including the first (1 disables retries).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Total attempts when the connection is refused (nothing listens:
    /// worth a short wait for a restarting registry, not more).
    pub fn refused_attempts(mut self, n: u32) -> Self {
        self.refused_attempts = n.max(1);
        self
    }

    /// The wall time one request may take across its attempts (see
    /// [`RetryPolicy::budget`]); default [`DEFAULT_RETRY_BUDGET`].
    pub fn budget(mut self, d: Duration) -> Self {
        self.budget = Some(d);
        self
    }

    /// No wall-time budget: only the attempt count bounds retries.
    pub fn no_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// Delay before the first retry (doubled each time, then jittered).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base = d;
        self
    }

    /// Largest computed delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.cap = d;
        self
    }

    /// Longest `Retry-After` we are willing to wait; a longer one ends the
    /// retries and the response goes to the caller.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
}

/// A random delay in `[d/2, d]` ("equal jitter"), so that clients that
/// failed together do not come back together.
///
/// ```
/// use std::time::Duration;
/// let d = registry_core::retry::jittered(Duration::from_secs(2));
/// assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(2));
/// ```
pub fn jittered(d: Duration) -> Duration {
    let half = d / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// The delay before try `n` + 1 of an exponential backoff: `base` for the
/// first retry (`n` = 1), doubled for each further one up to `cap`, then
/// [`jittered`]. [`Backoff`]'s delays, and those of other loops that wait
/// between tries (oci-dist's resumed blob reads).
///
/// ```
/// use std::time::Duration;
/// use registry_core::retry::backoff_delay;
/// let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
/// let third = backoff_delay(base, cap, 3);
/// assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
/// assert!(backoff_delay(base, cap, 30) <= cap);
/// ```
pub fn backoff_delay(base: Duration, cap: Duration, n: u32) -> Duration {
    jittered(
        base.saturating_mul(1 << n.saturating_sub(1).min(16))
            .min(cap),
    )
}

/// Whether a status is worth another try.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Parses `Retry-After` (delta seconds or an HTTP date).
///
/// ```
/// use http::HeaderMap;
/// let mut h = HeaderMap::new();
/// h.insert("retry-after", "3".parse().unwrap());
/// assert_eq!(registry_core::retry::retry_after(&h), Some(std::time::Duration::from_secs(3)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

impl RetryPolicy for Backoff {
    fn next_delay(
        &self,
        attempt: u32,
        _method: &Method,
        outcome: &Result<Response<Body>, Error>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exponential = backoff_delay(self.base, self.cap, attempt);
        match outcome {
            Ok(resp) if is_retryable_status(resp.status()) => match retry_after(resp.headers()) {
                Some(wait) if wait > self.max_retry_after => None,
                Some(wait) => Some(wait),
                None => Some(exponential),
            },
            Ok(_) => None,
            Err(e) if e.is_connection_refused() => {
                (attempt < self.refused_attempts).then_some(exponential)
            }
            Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
                Some(exponential)
            }
            Err(_) => None,
        }
    }

    fn budget(&self) -> Option<Duration> {
        self.budget
    }
}

/// Adds [`Retry`] to a service.
///
/// ```
/// use registry_core::retry::{Backoff, RetryLayer};
/// let layer = RetryLayer::new(Backoff::new().max_attempts(3));
/// # drop(layer);
/// ```
#[derive(Clone)]
pub struct RetryLayer {
    policy: Arc<dyn RetryPolicy>,
}

impl RetryLayer {
    /// A layer retrying by `policy`.
    pub fn new(policy: impl RetryPolicy) -> Self {
        RetryLayer {
            policy: Arc::new(policy),
        }
    }

    /// A layer sharing a policy.
    pub fn from_arc(policy: Arc<dyn RetryPolicy>) -> Self {
        RetryLayer { policy }
    }
}

impl std::fmt::Debug for RetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryLayer").finish_non_exhaustive()
    }
}

impl<S> tower::Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`RetryLayer`].
#[derive(Clone)]
pub struct Retry<S> {
    inner: S,
    policy: Arc<dyn RetryPolicy>,
}

impl<S> std::fmt::Debug for Retry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry").finish_non_exhaustive()
    }
}

/// GET, HEAD, PUT, DELETE and OPTIONS may be repeated; POST and PATCH may not.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

impl<S: HttpService + Clone + Send + 'static> tower::Service<Request<Body>> for Retry<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        let policy = self.policy.clone();
        if !is_idempotent(req.method()) || req.body().try_clone().is_none() {
            req.extensions_mut().insert(Attempt(1));
            return Box::pin(inner.oneshot(req));
        }
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let started = tokio::time::Instant::now();
            let mut attempt = 1;
            loop {
                let mut this =
                    Request::from_parts(parts.clone(), body.try_clone().expect("replayable"));
                this.extensions_mut().insert(Attempt(attempt));
                let outcome = inner.clone().oneshot(this).await;
                let delay = policy
                    .next_delay(attempt, &parts.method, &outcome)
                    .filter(|d| {
                        policy
                            .budget()
                            .is_none_or(|budget| started.elapsed() + *d < budget)
                    });
                let Some(delay) = delay else {
                    return finish(outcome, attempt, started.elapsed());
                };
                let why = match &outcome {
                    Ok(resp) => format!("HTTP {}", resp.status()),
                    Err(e) => e.to_string(),
                };
                tracing::info!(
                    method = %parts.method,
                    url = %crate::trace::redact_uri(&parts.uri),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "retrying after {why}"
                );
                drop(outcome);
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        })
    }
}

/// Marks the outcome of the last attempt with the number of attempts: an
/// [`Attempts`] extension on a response, a note in an error's message.
fn finish(
    outcome: Result<Response<Body>, Error>,
    attempts: u32,
    elapsed: Duration,
) -> Result<Response<Body>, Error> {
    match outcome {
        Ok(mut resp) => {
            resp.extensions_mut().insert(Attempts(attempts));
            Ok(resp)
        }
        Err(e) if attempts > 1 => Err(e.context(format!(
            "gave up after {attempts} attempts in {:.0}s",
            elapsed.as_secs_f64()
        ))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, retry_after: Option<&str>) -> Result<Response<Body>, Error> {
        let mut b = Response::builder().status(status);
        if let Some(v) = retry_after {
            b = b.header("retry-after", v);
        }
        Ok(b.body(Body::empty()).unwrap())
    }

    #[test]
    fn statuses() {
        let p = Backoff::new().max_attempts(3);
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                p.next_delay(1, &Method::GET, &resp(s, None)).is_some(),
                "{s}"
            );
        }
        for s in [200, 400, 401, 403, 404, 501] {
            assert!(
                p.next_delay(1, &Method::GET, &resp(s, None)).is_none(),
                "{s}"
            );
        }
        assert!(p.next_delay(3, &Method::GET, &resp(503, None)).is_none());
    }

    #[test]
    fn retry_after_forms() {
        let p = Backoff::new();
        assert_eq!(
            p.next_delay(1, &Method::GET, &resp(429, Some("2"))),
            Some(Duration::from_secs(2))
        );
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
        let d = p
            .next_delay(1, &Method::GET, &resp(503, Some(&date)))
            .unwrap();
        assert!(
            d <= Duration::from_secs(5) && d >= Duration::from_secs(3),
            "{d:?}"
        );
        assert_eq!(
            p.next_delay(1, &Method::GET, &resp(429, Some("3600"))),
            None
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = Backoff::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(400));
        let d1 = backoff_delay(p.base, p.cap, 1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d5 = backoff_delay(p.base, p.cap, 5);
        assert!(d5 >= Duration::from_millis(200) && d5 <= Duration::from_millis(400));
    }
}
