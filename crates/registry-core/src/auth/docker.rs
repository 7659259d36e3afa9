//! The Docker registry token flow and Basic auth.
//!
//! On a Bearer challenge the realm is asked for a token for the needed
//! scopes: `GET realm?service=…&scope=…` (with Basic credentials when we have
//! them), or, holding an identity token, the OAuth2 form `POST` with
//! `grant_type=refresh_token`. Tokens are cached per (realm, service,
//! scopes) until `expires_in` (or the JWT `exp`) minus a margin, sent up
//! front next time, and fetched once however many requests wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, StatusCode};
use serde::Deserialize;
use tower::ServiceExt;

use super::{AuthContext, Authenticator, BoxFuture, Challenge, Scopes};
use crate::body::Body;
use crate::credentials::{Credential, CredentialProvider};
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// The OAuth2 `client_id` sent with POST token requests.
const CLIENT_ID: &str = "registry-core";
/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// A token endpoint's answer (`token` or `access_token`, optional
/// `expires_in` and `refresh_token`).
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// The access token (`access_token` preferred, else `token`).
    pub fn access_token(&self) -> Option<Secret> {
        self.access_token
            .as_ref()
            .or(self.token.as_ref())
            .filter(|t| !t.is_empty())
            .map(|t| Secret::new(t.clone()))
    }

    /// The refresh token, when the server sent one.
    pub fn refresh_token(&self) -> Option<Secret> {
        self.refresh_token
            .clone()
            .filter(|t| !t.is_empty())
            .map(Secret::new)
    }
}

/// Reads the `exp` claim of a JWT without verifying it, leniently: padded
/// or unpadded, URL-safe or standard base64. `None` when it is not a JWT.
///
/// ```
/// use base64::Engine as _;
/// let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
/// let jwt = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
/// assert_eq!(registry_core::auth::jwt_expiry(&jwt), Some(1_700_000_000));
/// ```
pub fn jwt_expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let cleaned: String = payload
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(cleaned)
        .ok()?;
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<serde_json::Value>,
    }
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    match claims.exp? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        _ => None,
    }
}

/// When a token should be considered expired: the earlier of `expires_in`
/// and the JWT `exp`, minus a fifth of the lifetime (at most 30 s).
pub fn token_deadline(token: &str, expires_in: Option<u64>) -> Instant {
    let now = Instant::now();
    let from_jwt = jwt_expiry(token).map(|exp| {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        exp.saturating_sub(now_unix)
    });
    // The Docker token spec's default lifetime is 60 s.
    let lifetime = match (expires_in, from_jwt) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => 60,
    };
    let lifetime = Duration::from_secs(lifetime);
    let margin = (lifetime / 5).min(Duration::from_secs(30));
    now + lifetime - margin
}

#[derive(Clone)]
struct CachedToken {
    value: Secret,
    deadline: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostAuth {
    Basic,
    Bearer { realm: String, service: String },
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

#[derive(Default)]
struct State {
    hosts: HashMap<String, HostAuth>,
    tokens: HashMap<String, Slot>,
    refresh_tokens: HashMap<String, Secret>,
}

/// Basic auth and the Docker token flow, with a shared token cache.
///
/// ```
/// use registry_core::auth::DockerAuth;
/// use registry_core::credentials::{Credential, Static};
/// let auth = DockerAuth::new(Static::new(Credential::basic("user", "pass")).for_host("r.example"));
/// # drop(auth);
/// ```
#[derive(Clone)]
pub struct DockerAuth {
    credentials: Arc<dyn CredentialProvider>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for DockerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerAuth").finish_non_exhaustive()
    }
}

impl DockerAuth {
    /// An authenticator drawing credentials from `credentials`.
    pub fn new(credentials: impl CredentialProvider) -> DockerAuth {
        DockerAuth::from_arc(Arc::new(credentials))
    }

    /// Same, with a shared provider.
    pub fn from_arc(credentials: Arc<dyn CredentialProvider>) -> DockerAuth {
        DockerAuth {
            credentials,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn basic_header(&self, host: &str) -> Option<HeaderValue> {
        match self.credentials.credential(host)? {
            Credential::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                sensitive(format!("Basic {encoded}"))
            }
            _ => None,
        }
    }

    /// A token for `scopes`, from the cache unless `force` or expired;
    /// concurrent callers for the same key wait for one fetch.
    async fn token(
        &self,
        ctx: &AuthContext,
        realm: &str,
        service: &str,
        scopes: &Scopes,
        force: bool,
        rejected: Option<&HeaderValue>,
    ) -> Result<Secret, Error> {
        let key = format!("{realm}\n{service}\n{}", scopes.key());
        let slot = self.state().tokens.entry(key).or_default().clone();
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref() {
            let stale = force
                && rejected.is_some_and(|r| r.as_bytes() == bearer_bytes(&t.value).as_slice());
            if t.deadline > Instant::now() && !stale {
                return Ok(t.value.clone());
            }
        }
        let resp = self.fetch(ctx, realm, service, scopes).await?;
        let value = resp
            .access_token()
            .ok_or_else(|| Error::protocol(format!("token response from {realm} has no token")))?;
        if let Some(refresh) = resp.refresh_token() {
            self.state()
                .refresh_tokens
                .insert(format!("{realm}\n{service}"), refresh);
        }
        let deadline = token_deadline(value.expose(), resp.expires_in);
        *cached = Some(CachedToken {
            value: value.clone(),
            deadline,
        });
        Ok(value)
    }

    async fn fetch(
        &self,
        ctx: &AuthContext,
        realm: &str,
        service: &str,
        scopes: &Scopes,
    ) -> Result<TokenResponse, Error> {
        let host = ctx.authority();
        let refresh = self
            .state()
            .refresh_tokens
            .get(&format!("{realm}\n{service}"))
            .cloned();
        let credential = self.credentials.credential(host);
        let identity = match (&credential, refresh) {
            (_, Some(r)) => Some(r),
            (Some(Credential::IdentityToken(t)), None) => Some(t.clone()),
            _ => None,
        };
        let req = if let Some(refresh_token) = identity {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token.expose())
                .append_pair("service", service)
                .append_pair("client_id", CLIENT_ID);
            if !scopes.is_empty() {
                form.append_pair("scope", &scopes.key());
            }
            Request::post(realm)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.finish()))
        } else {
            let mut url = url::Url::parse(realm).map_err(|e| {
                Error::protocol(format!("token realm {realm:?} is not a URL")).with_source(e)
            })?;
            {
                let mut q = url.query_pairs_mut();
                if !service.is_empty() {
                    q.append_pair("service", service);
                }
                for s in scopes.iter() {
                    q.append_pair("scope", &s.to_string());
                }
                if let Some(Credential::Basic { username, .. }) = &credential {
                    q.append_pair("account", username);
                }
            }
            let mut b = Request::get(url.as_str());
            if let Some(h) = self.basic_header(host) {
                b = b.header(AUTHORIZATION, h);
            }
            b.body(Body::empty())
        }
        .map_err(|e| Error::protocol("building the token request failed").with_source(e))?;
        tracing::debug!(realm, service, scopes = %scopes.key(), "fetching registry token");
        let resp = ctx.client().clone().oneshot(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect_bytes(MAX_TOKEN_RESPONSE).await?;
        if !status.is_success() {
            let mut err = Error::from_response(status, &body);
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                err = Error::new(
                    ErrorKind::Unauthorized,
                    format!("the token service refused the credentials for {host}"),
                )
                .with_status(status);
            }
            return Err(err.context(format!("token request to {realm}")));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::protocol(format!("token response from {realm} is not valid JSON")).with_source(e)
        })
    }
}

fn bearer_bytes(token: &Secret) -> Vec<u8> {
    format!("Bearer {}", token.expose()).into_bytes()
}

fn sensitive(value: String) -> Option<HeaderValue> {
    let mut h = HeaderValue::from_str(&value).ok()?;
    h.set_sensitive(true);
    Some(h)
}

fn bearer(token: &Secret) -> Result<Option<HeaderValue>, Error> {
    sensitive(format!("Bearer {}", token.expose()))
        .map(Some)
        .ok_or_else(|| Error::protocol("token contains characters not allowed in a header"))
}

impl Authenticator for DockerAuth {
    fn authorize<'a>(
        &'a self,
        ctx: &'a AuthContext,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            let host = ctx.authority();
            if let Some(Credential::RegistryToken(t)) = self.credentials.credential(host) {
                return bearer(&t);
            }
            let known = self.state().hosts.get(host).cloned();
            match known {
                None => Ok(None),
                Some(HostAuth::Basic) => Ok(self.basic_header(host)),
                Some(HostAuth::Bearer { realm, service }) => {
                    let t = self
                        .token(ctx, &realm, &service, ctx.scopes(), false, None)
                        .await?;
                    bearer(&t)
                }
            }
        })
    }

    fn challenge<'a>(
        &'a self,
        ctx: &'a AuthContext,
        challenges: &'a [Challenge],
        rejected: Option<&'a HeaderValue>,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            let host = ctx.authority().to_owned();
            if let Some(c) = challenges.iter().find(|c| c.scheme() == "bearer") {
                let realm = c.param("realm").unwrap_or_default().to_owned();
                let realm_url = url::Url::parse(&realm).map_err(|e| {
                    Error::protocol(format!("token realm {realm:?} is not a URL")).with_source(e)
                })?;
                if realm_url.scheme() != "https" && !ctx.is_plain_http() {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("refusing token realm {realm}: not https while the registry is"),
                    ));
                }
                let service = c.param("service").unwrap_or_default().to_owned();
                let scopes = ctx
                    .scopes()
                    .union(&Scopes::parse_param(c.param("scope").unwrap_or_default()));
                self.state().hosts.insert(
                    host,
                    HostAuth::Bearer {
                        realm: realm.clone(),
                        service: service.clone(),
                    },
                );
                let t = self
                    .token(ctx, &realm, &service, &scopes, true, rejected)
                    .await?;
                return bearer(&t);
            }
            if challenges.iter().any(|c| c.scheme() == "basic") {
                let Some(h) = self.basic_header(&host) else {
                    return Ok(None);
                };
                if rejected == Some(&h) {
                    return Ok(None);
                }
                self.state().hosts.insert(host, HostAuth::Basic);
                return Ok(Some(h));
            }
            Ok(None)
        })
    }
}
