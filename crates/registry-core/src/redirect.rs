//! Redirects for reads: blob downloads are often sent to object storage.
//!
//! GET and HEAD follow 301/302/303/307/308, at most [`RedirectLayer::max_hops`]
//! times. Credential headers (`Authorization`, `Cookie`,
//! `Proxy-Authorization`, `X-API-Key`, and any added with
//! [`RedirectLayer::sensitive_header`]) are removed when the scheme, host or
//! port changes, and an https -> http redirect is refused: credentials never
//! leave the origin they were meant for.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, COOKIE, LOCATION, PROXY_AUTHORIZATION};
use http::uri::{Parts, Scheme};
use http::{HeaderName, Method, Request, Response, Uri};
use tower::ServiceExt;

use crate::auth::BoxFuture;
use crate::body::Body;
use crate::client::HttpService;
use crate::error::{Error, ErrorKind};

/// Adds [`Redirect`] to a service.
///
/// ```
/// use registry_core::redirect::RedirectLayer;
/// let layer = RedirectLayer::new().max_hops(5);
/// # drop(layer);
/// ```
#[derive(Debug, Clone)]
pub struct RedirectLayer {
    max_hops: usize,
    sensitive: Arc<Vec<HeaderName>>,
}

impl Default for RedirectLayer {
    fn default() -> Self {
        RedirectLayer {
            max_hops: 10,
            sensitive: Arc::new(vec![
                AUTHORIZATION,
                COOKIE,
                PROXY_AUTHORIZATION,
                HeaderName::from_static("x-api-key"),
            ]),
        }
    }
}

impl RedirectLayer {
    /// Follows up to 10 redirects.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most redirects followed for one request.
    pub fn max_hops(mut self, n: usize) -> Self {
        self.max_hops = n;
        self
    }

    /// Another header to drop when a redirect leaves the origin.
    pub fn sensitive_header(mut self, name: HeaderName) -> Self {
        Arc::make_mut(&mut self.sensitive).push(name);
        self
    }
}

impl<S> tower::Layer<S> for RedirectLayer {
    type Service = Redirect<S>;

    fn layer(&self, inner: S) -> Redirect<S> {
        Redirect {
            inner,
            max_hops: self.max_hops,
            sensitive: self.sensitive.clone(),
        }
    }
}

/// The service made by [`RedirectLayer`].
#[derive(Debug, Clone)]
pub struct Redirect<S> {
    inner: S,
    max_hops: usize,
    sensitive: Arc<Vec<HeaderName>>,
}

fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port_of(a) == port_of(b)
}

fn port_of(u: &Uri) -> Option<u16> {
    u.port_u16().or(match u.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// Resolves a `Location` value against the URI it came from.
pub fn resolve_location(base: &Uri, location: &str) -> Result<Uri, Error> {
    let base_url = url::Url::parse(&base.to_string())
        .map_err(|e| Error::protocol(format!("bad request URI {base}")).with_source(e))?;
    let next = base_url.join(location).map_err(|e| {
        Error::protocol(format!("bad redirect location {location:?}")).with_source(e)
    })?;
    next.as_str()
        .parse()
        .map_err(|e| Error::protocol(format!("bad redirect location {location:?}")).with_source(e))
}

impl<S: HttpService + Clone + Send + 'static> tower::Service<Request<Body>> for Redirect<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Box::pin(inner.oneshot(req));
        }
        let max_hops = self.max_hops;
        let sensitive = self.sensitive.clone();
        Box::pin(async move {
            let (mut parts, _) = req.into_parts();
            let mut hops = 0;
            loop {
                let this = Request::from_parts(parts.clone(), Body::empty());
                let resp = inner.clone().oneshot(this).await?;
                if !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                    return Ok(resp);
                }
                let Some(location) = resp.headers().get(LOCATION) else {
                    return Ok(resp);
                };
                let location = location
                    .to_str()
                    .map_err(|_| Error::protocol("redirect Location is not valid text"))?;
                let next = resolve_location(&parts.uri, location)?;
                hops += 1;
                if hops > max_hops {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("more than {max_hops} redirects"),
                    ));
                }
                if parts.uri.scheme() == Some(&Scheme::HTTPS)
                    && next.scheme() != Some(&Scheme::HTTPS)
                {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!(
                            "refusing redirect from https to {}",
                            crate::trace::redact_uri(&next)
                        ),
                    ));
                }
                if !same_origin(&parts.uri, &next) {
                    for name in sensitive.iter() {
                        parts.headers.remove(name);
                    }
                }
                tracing::debug!(to = %crate::trace::redact_uri(&next), hops, "following redirect");
                let mut p = Parts::from(next);
                if p.path_and_query.is_none() {
                    p.path_and_query = Some("/".parse().expect("static"));
                }
                parts.uri = Uri::from_parts(p)
                    .map_err(|e| Error::protocol("bad redirect").with_source(e))?;
                parts.headers.remove(http::header::HOST);
            }
        })
    }
}
