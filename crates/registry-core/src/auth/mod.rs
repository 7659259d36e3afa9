//! Authentication as a tower layer.
//!
//! [`AuthLayer`] asks an [`Authenticator`] for an `Authorization` header
//! before each request (a cached token is sent up front, with no 401 round
//! trip) and, when the registry answers 401, hands it the parsed
//! [`Challenge`]s and retries once with what it returns. Bodies that cannot
//! be replayed are never sent just to be refused: when nothing is known about
//! the registry yet, the layer first learns its challenge from `GET /v2/`.
//! A registry whose `GET /v2/` asked for nothing is remembered as open (per
//! `scheme://authority`, for the life of the layer), so that later streamed
//! bodies are sent without probing again; a `401` challenge from it makes
//! the layer forget that. Concurrent streamed requests wait for one probe.
//!
//! [`DockerAuth`] implements the Docker token flow and Basic auth;
//! other crates (Azure's token exchange) plug in their own authenticator.
//! Token authenticators share [`TokenCache`] (tokens per realm, service and
//! scopes, fetched once, replaced before they expire), [`bearer`] and
//! [`checked_realm`]; [`token_cache`] shows a custom authenticator.

mod challenge;
mod docker;
mod scope;
pub mod token_cache;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use tower::ServiceExt;

pub use challenge::Challenge;
pub use docker::DockerAuth;
pub use scope::{RequiredScopes, Scope, Scopes, infer_scopes};
pub use token_cache::{
    DEFAULT_LEEWAY, DEFAULT_TOKEN_LIFETIME, Token, TokenCache, TokenKey, TokenResponse, bearer,
    checked_realm, jwt_expiry,
};

use crate::body::Body;
use crate::client::{HttpClient, HttpService};
use crate::error::Error;

/// A boxed future, as returned by [`Authenticator`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an [`Authenticator`] knows about the request being authorized.
#[derive(Debug, Clone)]
pub struct AuthContext {
    method: Method,
    uri: Uri,
    scopes: Scopes,
    client: HttpClient,
}

impl AuthContext {
    /// Builds a context (for authenticators tested on their own).
    pub fn new(method: Method, uri: Uri, scopes: Scopes, client: HttpClient) -> AuthContext {
        AuthContext {
            method,
            uri,
            scopes,
            client,
        }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// `host[:port]` of the registry.
    pub fn authority(&self) -> &str {
        self.uri.authority().map_or("", |a| a.as_str())
    }

    /// Whether the registry is spoken to over plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.uri.scheme_str() == Some("http")
    }

    /// The scopes the request needs.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// A client for token requests: the stack below authentication
    /// (retries, redirects, timeouts, TLS), without this layer.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }
}

/// Produces `Authorization` headers for registry requests.
///
/// Implementations cache what they fetch and must be cheap to call for every
/// request. See [`DockerAuth`] for the Docker token flow.
pub trait Authenticator: Send + Sync + 'static {
    /// The header to send up front, when one is already known (a cached
    /// token, Basic credentials for a host known to want them).
    fn authorize<'a>(
        &'a self,
        ctx: &'a AuthContext,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>>;

    /// The registry answered 401 with `challenges`; `rejected` is the header
    /// that was refused, if any. Returns the header to retry with, or `None`
    /// to give the 401 to the caller.
    fn challenge<'a>(
        &'a self,
        ctx: &'a AuthContext,
        challenges: &'a [Challenge],
        rejected: Option<&'a HeaderValue>,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>>;
}

/// Adds [`Auth`] to a service.
///
/// ```
/// use registry_core::auth::{AuthLayer, DockerAuth};
/// use registry_core::credentials::Anonymous;
/// let layer = AuthLayer::new(DockerAuth::new(Anonymous));
/// # drop(layer);
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<dyn Authenticator>,
}

impl AuthLayer {
    /// A layer authenticating with `authenticator`.
    pub fn new(authenticator: impl Authenticator) -> Self {
        AuthLayer {
            authenticator: Arc::new(authenticator),
        }
    }

    /// A layer sharing an authenticator (and its token cache).
    pub fn from_arc(authenticator: Arc<dyn Authenticator>) -> Self {
        AuthLayer { authenticator }
    }
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl<S: HttpService + Clone + Send + Sync + 'static> tower::Layer<S> for AuthLayer {
    type Service = Auth;

    fn layer(&self, inner: S) -> Auth {
        Auth {
            inner: HttpClient::from_service(inner),
            authenticator: self.authenticator.clone(),
            open: Arc::default(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct Auth {
    inner: HttpClient,
    authenticator: Arc<dyn Authenticator>,
    /// Per `scheme://authority`: whether its `GET /v2/` probe asked for no
    /// credentials (locked while a probe runs).
    open: Arc<Mutex<HashMap<String, OpenSlot>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl tower::Service<Request<Body>> for Auth {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let authn = self.authenticator.clone();
        let open = self.open.clone();
        Box::pin(async move {
            if req.headers().contains_key(AUTHORIZATION) {
                return inner.send(req).await;
            }
            let ctx = AuthContext::new(
                req.method().clone(),
                req.uri().clone(),
                infer_scopes(&req),
                inner.clone(),
            );
            let replay = req.body().try_clone().map(|b| {
                let mut r = Request::new(b);
                *r.method_mut() = req.method().clone();
                *r.uri_mut() = req.uri().clone();
                *r.headers_mut() = req.headers().clone();
                *r.version_mut() = req.version();
                r.extensions_mut().clone_from(req.extensions());
                r
            });
            let mut header = authn.authorize(&ctx).await?;
            let slot = open_slot(&open, req.uri());
            if header.is_none() && replay.is_none() {
                let mut is_open = slot.lock().await;
                if !*is_open {
                    // A probe that ran meanwhile may have fetched a token.
                    header = authn.authorize(&ctx).await?;
                }
                if !*is_open && header.is_none() {
                    match probe(&inner, &ctx, authn.as_ref()).await? {
                        Probe::Open => *is_open = true,
                        Probe::Challenged(h) => header = h,
                    }
                }
            }
            if let Some(h) = &header {
                req.headers_mut().insert(AUTHORIZATION, h.clone());
            }
            let resp = inner.send(req).await?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if resp.headers().contains_key(WWW_AUTHENTICATE) {
                *slot.lock().await = false;
            }
            let Some(mut retry) = replay else {
                return Ok(resp);
            };
            let challenges = Challenge::parse_headers(resp.headers());
            if challenges.is_empty() {
                return Ok(resp);
            }
            match authn.challenge(&ctx, &challenges, header.as_ref()).await? {
                Some(h) if Some(&h) != header.as_ref() => {
                    retry.headers_mut().insert(AUTHORIZATION, h);
                    inner.send(retry).await
                }
                _ => Ok(resp),
            }
        })
    }
}

/// Whether a registry's `GET /v2/` asked for no credentials.
type OpenSlot = Arc<tokio::sync::Mutex<bool>>;

/// The slot of `uri`'s `scheme://authority`.
fn open_slot(open: &Mutex<HashMap<String, OpenSlot>>, uri: &Uri) -> OpenSlot {
    let origin = format!(
        "{}://{}",
        uri.scheme_str().unwrap_or(""),
        uri.authority().map_or("", |a| a.as_str())
    );
    open.lock()
        .expect("poisoned")
        .entry(origin)
        .or_default()
        .clone()
}

/// Learns the registry's challenge from `GET /v2/` so that a streamed body
/// is sent with credentials on its first and only attempt.
async fn probe(
    inner: &HttpClient,
    ctx: &AuthContext,
    authn: &dyn Authenticator,
) -> Result<Probe, Error> {
    let mut parts = ctx.uri().clone().into_parts();
    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/v2/"));
    let Ok(uri) = Uri::from_parts(parts) else {
        return Ok(Probe::Challenged(None));
    };
    let req = Request::get(uri)
        .body(Body::empty())
        .map_err(|e| Error::protocol("building the auth probe failed").with_source(e))?;
    let resp = inner.clone().oneshot(req).await?;
    if resp.status().is_success() {
        return Ok(Probe::Open);
    }
    if resp.status() != StatusCode::UNAUTHORIZED || !resp.headers().contains_key(WWW_AUTHENTICATE) {
        return Ok(Probe::Challenged(None));
    }
    let challenges = Challenge::parse_headers(resp.headers());
    Ok(Probe::Challenged(
        authn.challenge(ctx, &challenges, None).await?,
    ))
}

/// What [`probe`] learned.
enum Probe {
    /// `GET /v2/` answered `2xx` without credentials.
    Open,
    /// It did not (a challenge, another status, or no probe possible):
    /// the header to send, if any.
    Challenged(Option<HeaderValue>),
}
