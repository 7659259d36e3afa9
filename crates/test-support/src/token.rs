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

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

use crate::server::{self, Body, ServerHandle};

/// PEM of the self-signed certificate (`CN=test-token-issuer`) whose key signs every token.
///
/// Write it to a file and point the registry's `auth.token.rootcertbundle` at it.
pub const CERT_PEM: &str = include_str!("../fixtures/cert.pem");

/// PKCS#8 DER of the RSA 2048 signing key matching [`CERT_PEM`].
const KEY_PKCS8: &[u8] = include_bytes!("../fixtures/key.pk8");

/// The default `service` (JWT `aud`) of a [`TokenServer`].
pub const DEFAULT_SERVICE: &str = "test-registry";

/// The default `issuer` (JWT `iss`) of a [`TokenServer`].
pub const DEFAULT_ISSUER: &str = "test-token-issuer";

/// The default token lifetime (`expires_in`) of a [`TokenServer`].
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(300);

/// A parsed access scope such as `repository:library/alpine:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Resource type, e.g. `repository` or `registry`.
    pub kind: String,
    /// Resource name, e.g. `library/alpine` or `catalog`.
    pub name: String,
    /// Requested actions, e.g. `["pull", "push"]` or `["*"]`.
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses `type:name:actions`; the name may itself contain `:` (e.g. a port).
    pub fn parse(s: &str) -> Option<Scope> {
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

/// A custom grant function: `(user or None for anonymous, requested scope) -> granted actions`.
pub type PolicyFn = Arc<dyn Fn(Option<&str>, &Scope) -> Vec<String> + Send + Sync>;

/// Decides which of the requested actions a token grants.
#[derive(Clone, Default)]
pub enum TokenPolicy {
    /// Grant everything that is asked, to anyone (the default).
    #[default]
    GrantAll,
    /// Anonymous callers get only `pull`; authenticated users get everything asked.
    AnonymousPullOnly,
    /// Grant nothing: every token has an empty `access` list for the scopes asked.
    DenyAll,
    /// A custom decision.
    Custom(PolicyFn),
}

impl TokenPolicy {
    /// Builds a [`TokenPolicy::Custom`] from a closure.
    pub fn custom(f: impl Fn(Option<&str>, &Scope) -> Vec<String> + Send + Sync + 'static) -> Self {
        TokenPolicy::Custom(Arc::new(f))
    }

    /// The actions granted to `user` for `scope`.
    pub fn grant(&self, user: Option<&str>, scope: &Scope) -> Vec<String> {
        match self {
            TokenPolicy::GrantAll => scope.actions.clone(),
            TokenPolicy::AnonymousPullOnly if user.is_none() => scope
                .actions
                .iter()
                .filter(|a| *a == "pull")
                .cloned()
                .collect(),
            TokenPolicy::AnonymousPullOnly => scope.actions.clone(),
            TokenPolicy::DenyAll => Vec::new(),
            TokenPolicy::Custom(f) => f(user, scope),
        }
    }
}

impl fmt::Debug for TokenPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenPolicy::GrantAll => f.write_str("GrantAll"),
            TokenPolicy::AnonymousPullOnly => f.write_str("AnonymousPullOnly"),
            TokenPolicy::DenyAll => f.write_str("DenyAll"),
            TokenPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// One request received by a [`TokenServer`], as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// HTTP method (`GET` or `POST`).
    pub method: Method,
    /// Request path (normally `/token`).
    pub path: String,
    /// Decoded query parameters, in order, repeated keys kept.
    pub query: Vec<(String, String)>,
    /// Decoded form parameters of a POST body, in order; empty for GET.
    pub form: Vec<(String, String)>,
    /// Whether an `Authorization: Basic` header was present.
    pub basic_auth: bool,
    /// The authenticated user (Basic auth, password grant or refresh token), if any.
    pub user: Option<String>,
    /// All requested scopes (query and form, space-separated values split).
    pub scopes: Vec<String>,
    /// The `service` parameter, if given.
    pub service: Option<String>,
    /// The `grant_type` form parameter of a POST, if given.
    pub grant_type: Option<String>,
    /// The HTTP status the server answered.
    pub status: u16,
}

impl TokenRequest {
    /// The first value of parameter `key` in the query or, failing that, the form.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(self.form.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

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

/// Decodes (without verifying) the claims of a JWT; `None` if it is not one.
pub fn decode_jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Decodes (without verifying) the header of a JWT; `None` if it is not one.
pub fn decode_jwt_header(token: &str) -> Option<Value> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice(&bytes).ok()
}

struct Signer {
    key: RsaKeyPair,
    x5c: String,
    rng: SystemRandom,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    fn load() -> Signer {
        let key =
            RsaKeyPair::from_pkcs8(KEY_PKCS8).expect("fixtures/key.pk8 is a valid PKCS#8 RSA key");
        Signer {
            key,
            x5c: STANDARD.encode(pem_to_der(CERT_PEM)),
            rng: SystemRandom::new(),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signing");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Decodes the first PEM block of `pem` to DER.
fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD
        .decode(b64.trim())
        .expect("fixtures/cert.pem is valid PEM")
}

#[derive(Debug)]
struct Inner {
    service: String,
    issuer: String,
    expires_in: Duration,
    users: HashMap<String, String>,
    anonymous: bool,
    policy: TokenPolicy,
    signer: Signer,
    realm: String,
    requests: Mutex<Vec<TokenRequest>>,
    refresh_tokens: Mutex<HashMap<String, String>>,
    counter: AtomicU64,
}

/// Outcome of authenticating a request.
enum Auth {
    User(String),
    Denied,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp for a Unix time (seconds).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(server::full(body.to_string()))
        .expect("valid response")
}

fn split_scopes<'a>(params: impl Iterator<Item = &'a (String, String)>) -> Vec<String> {
    params
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_owned))
        .collect()
}

impl Inner {
    fn random_string(&self) -> String {
        let mut bytes = [0u8; 16];
        self.signer.rng.fill(&mut bytes).expect("system randomness");
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{n}-{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn sign_token(&self, user: Option<&str>, access: &[Scope], expires_in: Duration) -> String {
        let now = now_secs();
        let access: Vec<Value> = access
            .iter()
            .map(|s| json!({"type": s.kind, "name": s.name, "actions": s.actions}))
            .collect();
        let claims = json!({
            "iss": self.issuer,
            "sub": user.unwrap_or(""),
            "aud": self.service,
            "exp": now + expires_in.as_secs(),
            "nbf": now,
            "iat": now,
            "jti": self.random_string(),
            "access": access,
        });
        self.signer.sign(&claims)
    }

    fn basic_auth(&self, req: &Request<Incoming>) -> Option<Auth> {
        let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, creds) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD
            .decode(creds.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        Some(match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, pass)) if self.users.get(user).is_some_and(|p| p == pass) => {
                Auth::User(user.to_owned())
            }
            _ => Auth::Denied,
        })
    }

    fn grants(&self, user: Option<&str>, scopes: &[String]) -> Vec<Scope> {
        scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .map(|scope| {
                let actions = self.policy.grant(user, &scope);
                Scope { actions, ..scope }
            })
            .collect()
    }

    fn unauthorized(&self, message: &str) -> Response<Body> {
        let mut resp = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": [{"code": "UNAUTHORIZED", "message": message}], "error": "invalid_grant"}),
        );
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"test-token-server\""),
        );
        resp
    }

    fn bad_request(message: &str) -> Response<Body> {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({"errors": [{"code": "INVALID_REQUEST", "message": message}], "error": "invalid_request"}),
        )
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let basic = self.basic_auth(&req);
        let basic_auth = basic.is_some();
        let form: Vec<(String, String)> = if method == Method::POST {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            url::form_urlencoded::parse(&body).into_owned().collect()
        } else {
            Vec::new()
        };
        let mut entry = TokenRequest {
            method: method.clone(),
            path: path.clone(),
            scopes: split_scopes(query.iter().chain(form.iter())),
            query,
            form,
            basic_auth,
            user: None,
            service: None,
            grant_type: None,
            status: 0,
        };
        entry.service = entry.param("service").map(str::to_owned);
        entry.grant_type = if method == Method::POST {
            entry
                .form
                .iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.clone())
        } else {
            None
        };

        let response = if path != "/token" {
            json_response(StatusCode::NOT_FOUND, &json!({"error": "not found"}))
        } else if method == Method::GET {
            self.handle_get(&mut entry, basic)
        } else if method == Method::POST {
            self.handle_post(&mut entry)
        } else {
            json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "method not allowed"}),
            )
        };
        entry.status = response.status().as_u16();
        self.requests
            .lock()
            .expect("token log poisoned")
            .push(entry);
        response
    }

    /// A `400` response when the request names another service.
    fn wrong_service(&self, entry: &TokenRequest) -> Option<Response<Body>> {
        match &entry.service {
            Some(s) if *s != self.service => Some(Self::bad_request(&format!(
                "unknown service {s:?} (this server is {:?})",
                self.service
            ))),
            _ => None,
        }
    }

    fn handle_get(&self, entry: &mut TokenRequest, basic: Option<Auth>) -> Response<Body> {
        if let Some(resp) = self.wrong_service(entry) {
            return resp;
        }
        let user = match basic {
            Some(Auth::Denied) => return self.unauthorized("invalid username or password"),
            Some(Auth::User(u)) => Some(u),
            None if self.anonymous => None,
            None => return self.unauthorized("authentication required"),
        };
        entry.user = user.clone();
        let access = self.grants(user.as_deref(), &entry.scopes);
        let token = self.sign_token(user.as_deref(), &access, self.expires_in);
        let mut body = json!({
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in.as_secs(),
            "issued_at": rfc3339(now_secs()),
        });
        if let Some(u) = &user
            && entry.param("offline_token") == Some("true")
        {
            let refresh = self.random_string();
            self.refresh_tokens
                .lock()
                .expect("refresh tokens poisoned")
                .insert(refresh.clone(), u.clone());
            body["refresh_token"] = Value::String(refresh);
        }
        json_response(StatusCode::OK, &body)
    }

    fn handle_post(&self, entry: &mut TokenRequest) -> Response<Body> {
        if let Some(resp) = self.wrong_service(entry) {
            return resp;
        }
        let form = |key: &str| {
            entry
                .form
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let (user, refresh) = match entry.grant_type.as_deref() {
            Some("password") => {
                let (Some(name), Some(pass)) = (form("username"), form("password")) else {
                    return Self::bad_request("password grant needs username and password");
                };
                if self.users.get(&name) != Some(&pass) {
                    return self.unauthorized("invalid username or password");
                }
                let refresh = self.random_string();
                self.refresh_tokens
                    .lock()
                    .expect("refresh tokens poisoned")
                    .insert(refresh.clone(), name.clone());
                (name, refresh)
            }
            Some("refresh_token") => {
                let Some(refresh) = form("refresh_token") else {
                    return Self::bad_request("refresh_token grant needs refresh_token");
                };
                let user = self
                    .refresh_tokens
                    .lock()
                    .expect("refresh tokens poisoned")
                    .get(&refresh)
                    .cloned();
                match user {
                    Some(user) => (user, refresh),
                    None => return self.unauthorized("unknown refresh token"),
                }
            }
            Some(other) => return Self::bad_request(&format!("unsupported grant_type {other:?}")),
            None => return Self::bad_request("missing grant_type"),
        };
        entry.user = Some(user.clone());
        let access = self.grants(Some(&user), &entry.scopes);
        let token = self.sign_token(Some(&user), &access, self.expires_in);
        json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "refresh_token": refresh,
                "expires_in": self.expires_in.as_secs(),
                "scope": entry.scopes.join(" "),
                "token_type": "Bearer",
                "issued_at": rfc3339(now_secs()),
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing() {
        let s = Scope::parse("repository:foo/bar:pull,push").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(s.name, "foo/bar");
        assert_eq!(s.actions, ["pull", "push"]);
        let s = Scope::parse("repository:localhost:5000/foo:pull").unwrap();
        assert_eq!(s.name, "localhost:5000/foo");
        assert_eq!(s.to_string(), "repository:localhost:5000/foo:pull");
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().actions, ["*"]);
        assert!(Scope::parse("nonsense").is_none());
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn signed_token_shape() {
        let signer = Signer::load();
        let token = signer.sign(&json!({"aud": "x"}));
        let header = decode_jwt_header(&token).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5c"][0].as_str().unwrap(),
            STANDARD.encode(pem_to_der(CERT_PEM))
        );
        assert_eq!(decode_jwt_claims(&token).unwrap()["aud"], "x");
        assert_eq!(
            token
                .split('.')
                .nth(2)
                .map(|s| URL_SAFE_NO_PAD.decode(s).unwrap().len()),
            Some(256)
        );
    }
}
