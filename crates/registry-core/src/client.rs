//! [`HttpClient`]: the assembled stack, and [`ClientBuilder`] to assemble it.
//!
//! From the outside in: auth → retry → throttle → redirect → timeout → trace →
//! user agent → connector (so every attempt and redirect hop is logged).
//! Each piece is a layer in its own module ([`UserAgentLayer`] lives in
//! [`crate::user_agent`] and is re-exported here), so a caller wanting a
//! different stack can compose them directly.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceBuilder, ServiceExt};

use crate::auth::{AuthLayer, Authenticator};
use crate::body::Body;
use crate::connector::ConnectorOptions;
use crate::error::Error;
use crate::redirect::RedirectLayer;
use crate::retry::{Backoff, RetryLayer, RetryPolicy};
use crate::throttle::{ThrottleLayer, ThrottlePolicy};
use crate::timeout::{LowSpeed, TimeoutLayer};
use crate::trace::TraceLayer;

pub use crate::user_agent::{DEFAULT_USER_AGENT, UserAgent, UserAgentLayer};

/// A service of the HTTP stack: a request with a [`Body`] in, a response
/// with a [`Body`] or an [`Error`] out, and a future that may move between
/// threads. Each layer of the stack wraps one (and is one); implemented for
/// every such service.
///
/// ```
/// use registry_core::client::HttpService;
/// use registry_core::{Body, Error, HttpClient};
/// fn wrap(service: impl HttpService + Clone + Send + Sync + 'static) -> HttpClient {
///     HttpClient::from_service(service)
/// }
/// let client = wrap(tower::service_fn(|_req: http::Request<Body>| async {
///     Ok::<_, Error>(http::Response::new(Body::empty()))
/// }));
/// # drop(client);
/// ```
pub trait HttpService:
    tower::Service<Request<Body>, Response = Response<Body>, Error = Error, Future: Send + 'static>
{
}

impl<S> HttpService for S where
    S: tower::Service<
            Request<Body>,
            Response = Response<Body>,
            Error = Error,
            Future: Send + 'static,
        >
{
}

/// A cheap-to-clone, `Send + Sync` HTTP client: a boxed tower service from
/// `Request<Body>` to `Response<Body>`.
///
/// ```no_run
/// use registry_core::{Body, HttpClient};
/// # async fn run() -> Result<(), registry_core::Error> {
/// let client = HttpClient::builder().build()?;
/// let req = http::Request::get("https://registry.example/v2/").body(Body::empty()).unwrap();
/// let resp = client.send(req).await?;
/// println!("{}", resp.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: BoxCloneSyncService<Request<Body>, Response<Body>, Error>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A builder with the default stack.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Wraps any service (e.g. a custom stack, or a test double's transport).
    pub fn from_service<S>(service: S) -> HttpClient
    where
        S: HttpService + Clone + Send + Sync + 'static,
    {
        HttpClient {
            inner: BoxCloneSyncService::new(service),
        }
    }

    /// Sends a request through the stack.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Body>, Error> {
        self.inner.clone().oneshot(req).await
    }
}

impl tower::Service<Request<Body>> for HttpClient {
    type Response = Response<Body>;
    type Error = Error;
    type Future = <BoxCloneSyncService<Request<Body>, Response<Body>, Error> as tower::Service<
        Request<Body>,
    >>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.inner.call(req)
    }
}

/// Builds an [`HttpClient`].
///
/// ```
/// use registry_core::{HttpClient, auth::DockerAuth, credentials::CredentialChain};
/// use std::time::Duration;
/// let client = HttpClient::builder()
///     .user_agent("crctl/0.1.0")
///     .max_attempts(3)
///     .connect_timeout(Duration::from_secs(5))
///     .authenticator(DockerAuth::new(CredentialChain::standard("USER", "PASS")))
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
pub struct ClientBuilder {
    connector: ConnectorOptions,
    user_agent: String,
    backoff: Backoff,
    retry: Option<Arc<dyn RetryPolicy>>,
    authenticator: Option<Arc<dyn Authenticator>>,
    redirect: RedirectLayer,
    throttle: ThrottleLayer,
    timeouts: TimeoutLayer,
    extra_root_pem: Vec<Vec<u8>>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            connector: ConnectorOptions::new(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            backoff: Backoff::new(),
            retry: None,
            authenticator: None,
            redirect: RedirectLayer::new(),
            throttle: ThrottleLayer::default(),
            timeouts: TimeoutLayer::defaults(),
            extra_root_pem: Vec::new(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("connector", &self.connector)
            .field("user_agent", &self.user_agent)
            .field("authenticator", &self.authenticator.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The `User-Agent` header, e.g. `crctl/0.1.0`.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// TLS and connection options.
    pub fn connector(mut self, options: ConnectorOptions) -> Self {
        self.connector = options;
        self
    }

    /// Accept any TLS certificate (test registries only).
    pub fn insecure_skip_verify(mut self, yes: bool) -> Self {
        self.connector = self.connector.insecure_skip_verify(yes);
        self
    }

    /// Trust extra root certificates (PEM).
    pub fn add_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_root_pem.push(pem.into());
        self
    }

    /// TCP connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connector = self.connector.connect_timeout(Some(d));
        self
    }

    /// Time allowed from the end of the request body until the response
    /// head arrives (default 30 s).
    pub fn response_timeout(mut self, d: Duration) -> Self {
        self.timeouts = self.timeouts.response(d);
        self
    }

    /// Time allowed between two frames of a response body (default 30 s).
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.timeouts = self.timeouts.read(d);
        self
    }

    /// Fail bodies that move slower than this (default 1 KiB/s over 30 s;
    /// see [`crate::timeout`]). Blob reads resume after such a failure.
    pub fn low_speed_limit(mut self, limit: LowSpeed) -> Self {
        self.timeouts = self.timeouts.low_speed(limit);
        self
    }

    /// No low-speed limit.
    pub fn no_low_speed_limit(mut self) -> Self {
        self.timeouts = self.timeouts.no_low_speed();
        self
    }

    /// Total attempts for retryable requests (1 disables retries), with the
    /// default backoff.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.backoff = self.backoff.max_attempts(n);
        self
    }

    /// The wall time one request may take across its retries (default
    /// 2 minutes; see [`RetryPolicy::budget`]).
    pub fn retry_budget(mut self, d: Duration) -> Self {
        self.backoff = self.backoff.budget(d);
        self
    }

    /// A custom retry policy (replaces `max_attempts` and `retry_budget`).
    pub fn retry_policy(mut self, policy: impl RetryPolicy) -> Self {
        self.retry = Some(Arc::new(policy));
        self
    }

    /// Redirect settings.
    pub fn redirects(mut self, layer: RedirectLayer) -> Self {
        self.redirect = layer;
        self
    }

    /// The authenticator (none: requests go out as they are).
    pub fn authenticator(mut self, a: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(a));
        self
    }

    /// A shared authenticator.
    pub fn authenticator_arc(mut self, a: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(a);
        self
    }

    /// How a host's requests pause after it answers `429 Too Many
    /// Requests` (default [`Pause`](crate::throttle::Pause): its `Retry-After`, else one second):
    /// every request of this client to that host waits, not only the
    /// refused one (see [`throttle`](crate::throttle)).
    ///
    /// ```
    /// use registry_core::{HttpClient, throttle::Pause};
    /// use std::time::Duration;
    /// let client = HttpClient::builder()
    ///     .throttle_policy(Pause::new().max_pause(Duration::from_secs(10)))
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn throttle_policy(mut self, policy: impl ThrottlePolicy) -> Self {
        self.throttle = ThrottleLayer::new(policy);
        self
    }

    /// Builds the stack.
    pub fn build(self) -> Result<HttpClient, Error> {
        let mut connector_opts = self.connector;
        for pem in &self.extra_root_pem {
            connector_opts = connector_opts.add_root_pem(pem)?;
        }
        let connector = connector_opts.build()?;
        let ua = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::invalid_input("user agent is not a valid header value"))?;
        let below_auth = ServiceBuilder::new()
            .layer(RetryLayer::from_arc(
                self.retry.unwrap_or_else(|| Arc::new(self.backoff)),
            ))
            .layer(self.throttle)
            .layer(self.redirect)
            .layer(self.timeouts)
            .layer(TraceLayer::new())
            .layer(UserAgentLayer::new(ua))
            .service(connector);
        let below_auth = HttpClient::from_service(below_auth);
        Ok(match self.authenticator {
            Some(a) => HttpClient::from_service(AuthLayer::from_arc(a).layer(below_auth)),
            None => below_auth,
        })
    }
}
