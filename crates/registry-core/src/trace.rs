//! Logging with `tracing`: one span per request with method, redacted URL,
//! attempt, status, latency and response size. Secrets never appear: URLs
//! lose their user info and secret-looking query values, and no header is
//! logged.

use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response, Uri};
use tracing::Instrument;

use crate::auth::BoxFuture;
use crate::body::Body;
use crate::client::HttpService;
use crate::error::Error;
use crate::retry::Attempt;

const SECRET_QUERY_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "password",
    "secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "se",
    "skoid",
    "sktid",
    "client_secret",
    "code",
];

/// A URI made safe for logs and error messages: user info is dropped and
/// the values of secret-looking query parameters become `REDACTED`.
///
/// ```
/// let uri: http::Uri = "https://user:pw@r.example/v2/x/blobs/sha256:1?X-Amz-Signature=abc&n=2".parse().unwrap();
/// let shown = registry_core::trace::redact_uri(&uri);
/// assert_eq!(shown, "https://r.example/v2/x/blobs/sha256:1?X-Amz-Signature=REDACTED&n=2");
/// ```
pub fn redact_uri(uri: &Uri) -> String {
    let mut out = String::new();
    if let Some(s) = uri.scheme_str() {
        out.push_str(s);
        out.push_str("://");
    }
    if let Some(a) = uri.authority() {
        let host = a.as_str().rsplit('@').next().unwrap_or("");
        out.push_str(host);
    }
    out.push_str(uri.path());
    if let Some(q) = uri.query() {
        out.push('?');
        let mut first = true;
        for pair in q.split('&') {
            if !first {
                out.push('&');
            }
            first = false;
            match pair.split_once('=') {
                Some((k, _)) if SECRET_QUERY_KEYS.contains(&k.to_ascii_lowercase().as_str()) => {
                    out.push_str(k);
                    out.push_str("=REDACTED");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

/// Adds [`Trace`] to a service.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl TraceLayer {
    /// The layer.
    pub fn new() -> Self {
        TraceLayer
    }
}

impl<S> tower::Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S: HttpService> tower::Service<Request<Body>> for Trace<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let attempt = req.extensions().get::<Attempt>().map_or(1, |a| a.0);
        let span = tracing::debug_span!(
            "http",
            method = %req.method(),
            url = %redact_uri(req.uri()),
            attempt,
            status = tracing::field::Empty,
        );
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(
            async move {
                let result = fut.await;
                let latency_ms = started.elapsed().as_millis() as u64;
                match &result {
                    Ok(resp) => {
                        tracing::Span::current().record("status", resp.status().as_u16());
                        tracing::debug!(
                            latency_ms,
                            bytes = resp.body().content_length(),
                            "response"
                        );
                    }
                    Err(e) => tracing::debug!(latency_ms, error = %e, "request failed"),
                }
                result
            }
            .instrument(span),
        )
    }
}
