//! The Docker registry token flow and Basic auth.
//!
//! On a Bearer challenge the realm is asked for a token for the needed
//! scopes: `GET realm?service=…&scope=…` (with Basic credentials when we have
//! them), or, holding an identity token, the OAuth2 form `POST` with
//! `grant_type=refresh_token`. Tokens live in a [`TokenCache`]: per
//! (realm, service, scopes) until `expires_in` (or the JWT `exp`) minus a
//! margin, sent up front next time, and fetched once however many requests
//! wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, StatusCode};
use tower::ServiceExt;
use url::Url;

use super::{
    AuthContext, Authenticator, BoxFuture, Challenge, Scopes, TokenCache, TokenKey, TokenResponse,
    bearer, checked_realm,
};
use crate::body::Body;
use crate::credentials::{Credential, CredentialProvider};
use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// The OAuth2 `client_id` sent with POST token requests.
const CLIENT_ID: &str = "registry-core";
/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostAuth {
    Basic,
    Bearer { realm: Url, service: String },
}

#[derive(Default)]
struct State {
    hosts: HashMap<String, HostAuth>,
    /// Refresh tokens sent by token services, per (realm, service).
    refresh_tokens: HashMap<(Url, String), Secret>,
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
    tokens: TokenCache,
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
            tokens: TokenCache::new(),
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
                let mut h = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
                h.set_sensitive(true);
                Some(h)
            }
            _ => None,
        }
    }

    /// The `Authorization` header with a token for `scopes`: cached unless
    /// it is the one just `rejected`.
    async fn token(
        &self,
        ctx: &AuthContext,
        realm: &Url,
        service: &str,
        scopes: &Scopes,
        rejected: Option<&HeaderValue>,
    ) -> Result<Option<HeaderValue>, Error> {
        let key = TokenKey::new(realm.as_str(), service, scopes.clone());
        self.tokens.invalidate_rejected(&key, rejected).await;
        let token = self
            .tokens
            .get_or_fetch(&key, || async {
                let resp = self.fetch(ctx, realm, service, scopes).await?;
                if let Some(refresh) = resp.refresh_token() {
                    self.state()
                        .refresh_tokens
                        .insert((realm.clone(), service.to_owned()), refresh);
                }
                resp.token().ok_or_else(|| {
                    Error::protocol(format!("token response from {realm} has no token"))
                })
            })
            .await?;
        bearer(&token).map(Some)
    }

    async fn fetch(
        &self,
        ctx: &AuthContext,
        realm: &Url,
        service: &str,
        scopes: &Scopes,
    ) -> Result<TokenResponse, Error> {
        let host = ctx.authority();
        let refresh = self
            .state()
            .refresh_tokens
            .get(&(realm.clone(), service.to_owned()))
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
            Request::post(realm.as_str())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.finish()))
        } else {
            let mut url = realm.clone();
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
        tracing::debug!(realm = %realm, service, scopes = %scopes.key(), "fetching registry token");
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

impl Authenticator for DockerAuth {
    fn authorize<'a>(
        &'a self,
        ctx: &'a AuthContext,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            let host = ctx.authority();
            if let Some(Credential::RegistryToken(t)) = self.credentials.credential(host) {
                return bearer(&t).map(Some);
            }
            let known = self.state().hosts.get(host).cloned();
            match known {
                None => Ok(None),
                Some(HostAuth::Basic) => Ok(self.basic_header(host)),
                Some(HostAuth::Bearer { realm, service }) => {
                    self.token(ctx, &realm, &service, ctx.scopes(), None).await
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
                let realm = checked_realm(ctx, c.param("realm").unwrap_or_default())?;
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
                return self.token(ctx, &realm, &service, &scopes, rejected).await;
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
