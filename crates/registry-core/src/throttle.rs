//! [`ThrottleLayer`]: when a registry says "slow down" (`429 Too Many
//! Requests`, or `503` with a `Retry-After`), every request of the client to
//! that host waits, not only the one that was refused.
//!
//! [`Retry`](crate::retry::Retry) already waits before trying the refused
//! request again; without a shared gate the other requests of a many-image
//! run (dozens in flight under `--jobs`) would keep hitting the registry and
//! keep being refused. The gate is per host (`host:port`) and shared by every
//! clone of the client, so a `Client::with_repository` per repository still
//! slows as one. Requests to other hosts are not delayed.
//!
//! How long to pause is a [`ThrottlePolicy`]; [`Pause`] is the default: the
//! `Retry-After` when the registry sends one (up to a cap), else one second.
//!
//! ```
//! use registry_core::throttle::{Pause, ThrottleLayer};
//! use std::time::Duration;
//! let layer = ThrottleLayer::new(Pause::new().default_pause(Duration::from_secs(2)));
//! # drop(layer);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use tokio::time::Instant;
use tower::{Layer, ServiceExt};

use crate::auth::BoxFuture;
use crate::body::Body;
use crate::client::HttpService;
use crate::error::Error;
use crate::retry::retry_after;

/// Decides how long a host's requests pause after a response.
pub trait ThrottlePolicy: Send + Sync + 'static {
    /// The pause for every request to the host that sent `response`, or
    /// `None` when the response asks for none.
    fn pause(&self, response: &Response<Body>) -> Option<Duration>;
}

/// The default [`ThrottlePolicy`]: `429`, and `503` with `Retry-After`,
/// pause the host for its `Retry-After` (at most [`Pause::max_pause`]),
/// or [`Pause::default_pause`] when a `429` gives none.
///
/// ```
/// use registry_core::throttle::{Pause, ThrottlePolicy};
/// use std::time::Duration;
/// let p = Pause::new();
/// let mut r = http::Response::new(registry_core::Body::empty());
/// *r.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
/// r.headers_mut().insert("retry-after", "7".parse().unwrap());
/// assert_eq!(p.pause(&r), Some(Duration::from_secs(7)));
/// *r.status_mut() = http::StatusCode::OK;
/// assert_eq!(p.pause(&r), None);
/// ```
#[derive(Debug, Clone)]
pub struct Pause {
    default: Duration,
    max: Duration,
}

impl Default for Pause {
    fn default() -> Self {
        Pause {
            default: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Pause {
    /// One second when no `Retry-After` is given, at most 60 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pause after a `429` without `Retry-After`.
    pub fn default_pause(mut self, d: Duration) -> Self {
        self.default = d;
        self
    }

    /// The longest pause (a longer `Retry-After` is cut to it: the refused
    /// request's own retry decides whether to wait that long).
    pub fn max_pause(mut self, d: Duration) -> Self {
        self.max = d;
        self
    }
}

impl ThrottlePolicy for Pause {
    fn pause(&self, response: &Response<Body>) -> Option<Duration> {
        let after = retry_after(response.headers());
        let pause = match response.status() {
            StatusCode::TOO_MANY_REQUESTS => after.unwrap_or(self.default),
            StatusCode::SERVICE_UNAVAILABLE => after?,
            _ => return None,
        };
        Some(pause.min(self.max))
    }
}

/// The hosts currently paused: host → when requests may go again.
#[derive(Default)]
struct Gates {
    until: Mutex<HashMap<String, Instant>>,
}

impl Gates {
    fn deadline(&self, host: &str) -> Option<Instant> {
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, t| *t > now);
        map.get(host).copied()
    }

    /// Pauses `host` until `until` unless it is paused longer already;
    /// whether this call extended the pause.
    fn close(&self, host: &str, until: Instant) -> bool {
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(host) {
            Some(t) if *t >= until => false,
            Some(t) => {
                *t = until;
                true
            }
            None => {
                map.insert(host.to_owned(), until);
                true
            }
        }
    }
}

/// Adds [`Throttle`] to a service. Clones share the gates.
#[derive(Clone)]
pub struct ThrottleLayer {
    policy: Arc<dyn ThrottlePolicy>,
    gates: Arc<Gates>,
}

impl ThrottleLayer {
    /// A layer pausing hosts by `policy`.
    pub fn new(policy: impl ThrottlePolicy) -> Self {
        ThrottleLayer {
            policy: Arc::new(policy),
            gates: Arc::default(),
        }
    }
}

impl Default for ThrottleLayer {
    fn default() -> Self {
        ThrottleLayer::new(Pause::new())
    }
}

impl std::fmt::Debug for ThrottleLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ThrottleLayer {
    type Service = Throttle<S>;

    fn layer(&self, inner: S) -> Throttle<S> {
        Throttle {
            inner,
            policy: self.policy.clone(),
            gates: self.gates.clone(),
        }
    }
}

/// The service made by [`ThrottleLayer`].
#[derive(Clone)]
pub struct Throttle<S> {
    inner: S,
    policy: Arc<dyn ThrottlePolicy>,
    gates: Arc<Gates>,
}

impl<S> std::fmt::Debug for Throttle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl<S: HttpService + Clone + Send + 'static> tower::Service<Request<Body>> for Throttle<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy.clone();
        let gates = self.gates.clone();
        let host = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_ascii_lowercase());
        Box::pin(async move {
            let Some(host) = host else {
                return inner.oneshot(req).await;
            };
            if let Some(until) = gates.deadline(&host) {
                tokio::time::sleep_until(until).await;
            }
            let response = inner.oneshot(req).await?;
            if let Some(pause) = policy.pause(&response)
                && gates.close(&host, Instant::now() + pause)
            {
                tracing::info!(
                    host = %host,
                    status = response.status().as_u16(),
                    "registry asked to slow down: pausing its requests for {:.1} s",
                    pause.as_secs_f64()
                );
            }
            Ok(response)
        })
    }
}
