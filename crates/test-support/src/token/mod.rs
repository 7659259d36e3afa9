//! A Docker token-spec authorization server ("realm") for tests.
//!
//! [`TokenServer`] answers
//!
//! - `GET /token?service=..&scope=..&scope=..[&offline_token=true]`, optionally
//!   with HTTP Basic credentials, with
//!   `{"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}`;
//! - `POST /token` (form: `grant_type=password|refresh_token`, `service`,
//!   `scope`, `client_id`, `username`/`password` or `refresh_token`) with
//!   `{"access_token", "refresh_token", "expires_in", "scope", "token_type", "issued_at"}`.
//!
//! Tokens are RS256 JWTs whose header carries the signing certificate in
//! `x5c`, which is what distribution 2.8 (`auth: token`) needs; see
//! [`crate::TestRegistry::token`]. The key and certificate are fixtures
//! committed under `fixtures/`, so no openssl is needed at run time.
//!
//! Every request is logged ([`TokenServer::requests`]) so tests can count
//! token fetches and check what was asked for.

mod handler;
mod jwt;
mod scope;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::server::{self, ServerHandle};

use self::handler::Inner;
pub use self::handler::TokenRequest;
use self::jwt::Signer;
pub use self::jwt::{CERT_PEM, decode_jwt_claims, decode_jwt_header};
pub use self::scope::{PolicyFn, Scope, TokenPolicy};

/// The default `service` (JWT `aud`) of a [`TokenServer`].
pub const DEFAULT_SERVICE: &str = "test-registry";

/// The default `issuer` (JWT `iss`) of a [`TokenServer`].
pub const DEFAULT_ISSUER: &str = "test-token-issuer";

/// The default token lifetime (`expires_in`) of a [`TokenServer`].
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);

/// Configures and starts a [`TokenServer`]; see [`TokenServer::builder`].
#[derive(Debug, Clone)]
pub struct TokenServerBuilder {
    service: String,
    issuer: String,
    expires_in: Duration,
    users: HashMap<String, String>,
    refresh_tokens: HashMap<String, String>,
    anonymous: bool,
    policy: TokenPolicy,
    ip: IpAddr,
    port: u16,
}

impl Default for TokenServerBuilder {
    fn default() -> Self {
        TokenServerBuilder {
            service: DEFAULT_SERVICE.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            expires_in: DEFAULT_EXPIRES_IN,
            users: HashMap::new(),
            refresh_tokens: HashMap::new(),
            anonymous: true,
            policy: TokenPolicy::GrantAll,
            ip: server::LOCALHOST,
            port: 0,
        }
    }
}

impl TokenServerBuilder {
    /// Sets the service name (the JWT `aud`, the registry's `auth.token.service`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Sets the issuer (the JWT `iss`, the registry's `auth.token.issuer`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Sets the token lifetime announced in `expires_in` and used for the JWT `exp`
    /// (whole seconds; sub-second parts are dropped).
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = expires_in;
        self
    }

    /// Adds a user that may authenticate with Basic auth or the password grant.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.insert(name.into(), password.into());
        self
    }

    /// Pre-registers a refresh token (e.g. an `identitytoken`) that stands for `user`.
    pub fn refresh_token(mut self, token: impl Into<String>, user: impl Into<String>) -> Self {
        self.refresh_tokens.insert(token.into(), user.into());
        self
    }

    /// Whether requests without credentials get a token (default `true`).
    /// When `false` they get `401` with a `WWW-Authenticate: Basic` challenge.
    pub fn anonymous(mut self, allow: bool) -> Self {
        self.anonymous = allow;
        self
    }

    /// Sets the grant policy (default [`TokenPolicy::GrantAll`]).
    pub fn policy(mut self, policy: TokenPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Listens on this loopback IP instead of 127.0.0.1.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Listens on this port instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts the server on the current tokio runtime.
    pub async fn start(self) -> TokenServer {
        let signer = Signer::load();
        let cert_dir = tempfile::Builder::new()
            .prefix("test-token-server-")
            .tempdir()
            .expect("create temp dir for the token certificate");
        let cert_path = cert_dir.path().join("token-cert.pem");
        std::fs::write(&cert_path, CERT_PEM).expect("write token certificate");

        let listener = server::bind(self.ip, self.port).await;
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner {
            service: self.service,
            issuer: self.issuer,
            expires_in: self.expires_in,
            users: self.users,
            anonymous: self.anonymous,
            policy: self.policy,
            signer,
            realm: format!("http://{addr}/token"),
            requests: Mutex::new(Vec::new()),
            refresh_tokens: Mutex::new(self.refresh_tokens),
            counter: AtomicU64::new(0),
        });
        let svc_inner = inner.clone();
        let handle = server::spawn(
            listener,
            Arc::new(move |req| {
                let inner = svc_inner.clone();
                Box::pin(async move { inner.handle(req).await })
            }),
        );
        TokenServer {
            inner,
            handle,
            cert_path,
            _cert_dir: cert_dir,
        }
    }
}

/// A running token server; stops when dropped.
///
/// ```no_run
/// # async fn demo() {
/// use test_support::{TestRegistry, TokenServer};
/// let tokens = TokenServer::builder().user("alice", "secret").start().await;
/// let registry = TestRegistry::token(&tokens).await;
/// // ... exercise the client against registry.url() ...
/// assert_eq!(tokens.request_count(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct TokenServer {
    inner: Arc<Inner>,
    handle: ServerHandle,
    cert_path: PathBuf,
    _cert_dir: tempfile::TempDir,
}

impl TokenServer {
    /// A builder with defaults: service [`DEFAULT_SERVICE`], issuer
    /// [`DEFAULT_ISSUER`], `expires_in` [`DEFAULT_EXPIRES_IN`], no users,
    /// anonymous allowed, [`TokenPolicy::GrantAll`], 127.0.0.1 on a free port.
    pub fn builder() -> TokenServerBuilder {
        TokenServerBuilder::default()
    }

    /// Starts a server with the defaults of [`TokenServer::builder`].
    pub async fn start() -> TokenServer {
        Self::builder().start().await
    }

    /// The full URL of the token endpoint, e.g. `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The service name (JWT `aud`).
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The issuer (JWT `iss`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// The configured token lifetime.
    pub fn expires_in(&self) -> Duration {
        self.inner.expires_in
    }

    /// Path of a file holding [`CERT_PEM`], for the registry's `rootcertbundle`.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.inner
            .requests
            .lock()
            .expect("token log poisoned")
            .clone()
    }

    /// How many requests were received so far (successful or not).
    pub fn request_count(&self) -> usize {
        self.inner
            .requests
            .lock()
            .expect("token log poisoned")
            .len()
    }

    /// Forgets the logged requests (e.g. after a warm-up phase).
    pub fn clear_requests(&self) {
        self.inner
            .requests
            .lock()
            .expect("token log poisoned")
            .clear();
    }

    /// Signs a token for `user` (None = anonymous, `sub` is "") granting
    /// exactly `access` (each scope's actions as given), valid for `expires_in`.
    /// Handy to hand a client a ready-made token.
    pub fn issue_token(
        &self,
        user: Option<&str>,
        access: &[Scope],
        expires_in: Duration,
    ) -> String {
        self.inner.sign_token(user, access, expires_in)
    }

    /// Registers a refresh token standing for `user` while the server runs.
    pub fn add_refresh_token(&self, token: impl Into<String>, user: impl Into<String>) {
        self.inner
            .refresh_tokens
            .lock()
            .expect("refresh tokens poisoned")
            .insert(token.into(), user.into());
    }
}
