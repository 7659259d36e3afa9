//! [`UserAgentLayer`]: a `User-Agent` on every request that has none.
//!
//! ```
//! use registry_core::user_agent::UserAgentLayer;
//! let layer = UserAgentLayer::new(http::HeaderValue::from_static("crctl/0.1.0"));
//! # drop(layer);
//! ```

use http::header::USER_AGENT;
use http::{HeaderValue, Request};
use tower::Layer;

use crate::body::Body;

/// The default `User-Agent`: `registry-core/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("registry-core/", env!("CARGO_PKG_VERSION"));

/// Sets a `User-Agent` on requests that have none.
#[derive(Debug, Clone)]
pub struct UserAgentLayer {
    value: HeaderValue,
}

impl UserAgentLayer {
    /// A layer setting `value`.
    pub fn new(value: HeaderValue) -> Self {
        UserAgentLayer { value }
    }
}

impl<S> Layer<S> for UserAgentLayer {
    type Service = UserAgent<S>;

    fn layer(&self, inner: S) -> UserAgent<S> {
        UserAgent {
            inner,
            value: self.value.clone(),
        }
    }
}

/// The service made by [`UserAgentLayer`].
#[derive(Debug, Clone)]
pub struct UserAgent<S> {
    inner: S,
    value: HeaderValue,
}

impl<S> tower::Service<Request<Body>> for UserAgent<S>
where
    S: tower::Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> S::Future {
        req.headers_mut()
            .entry(USER_AGENT)
            .or_insert_with(|| self.value.clone());
        self.inner.call(req)
    }
}
