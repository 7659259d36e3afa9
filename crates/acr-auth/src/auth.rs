//! [`AcrAuthenticator`]: Azure Container Registry authentication as a
//! registry-core [`Authenticator`].
//!
//! On a `401` with `Bearer realm=…,service=…,scope=…` it
//!
//! 1. asks the [`TokenCredential`] for an AAD access token for
//!    `{audience}/.default` (default audience
//!    `https://containerregistry.azure.net`);
//! 2. exchanges it at `POST {realm origin}/oauth2/exchange` for an ACR
//!    refresh token, cached until 5 minutes before its JWT `exp`;
//! 3. exchanges the refresh token at `POST {realm}` (`/oauth2/token`) for an
//!    access token to the needed scopes, cached per scope and sent up front
//!    on later requests.
//!
//! The exchanges run through [`AcrTokenClient`](crate::AcrTokenClient).
//! Both kinds of token live in registry-core
//! [`TokenCache`]s, so concurrent requests needing the same token wait for
//! one exchange. Without
//! credentials it asks for anonymous tokens (`grant_type=password`); with
//! Basic credentials (admin user, repository-scoped tokens) it runs the
//! normal Docker token flow through [`DockerAuth`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use registry_core::auth::{
    AuthContext, Authenticator, BoxFuture, Challenge, DockerAuth, Scopes, Token, TokenCache,
    bearer, checked_realm,
};
use registry_core::credentials::{Credential, CredentialProvider, Static};
use registry_core::{Error, ErrorKind, Secret};

use crate::credential::{StaticTokenCredential, TokenCredential, jwt_expires_on};
use crate::exchange::{AadExchangeOptions, AcrAccessToken, AcrRefreshToken, TokenService};
use crate::models::{ExchangeGrantType, TokenGrantType};

/// The AAD audience of Azure Container Registry in the public cloud.
pub const DEFAULT_AUDIENCE: &str = "https://containerregistry.azure.net";

/// How long before its `exp` an ACR refresh token is replaced.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The lifetime assumed for a refresh token whose expiry cannot be read
/// (ACR refresh tokens last about three hours).
const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(3 * 60 * 60);

#[derive(Clone)]
enum Mode {
    Aad(Arc<dyn TokenCredential>),
    Anonymous,
    Docker(DockerAuth),
}

/// Azure Container Registry authentication for registry-core's auth layer.
///
/// Cloning is cheap and clones share one token cache.
///
/// ```no_run
/// use acr_auth::{AcrAuthenticator, StaticTokenCredential};
/// use registry_core::{Body, HttpClient};
/// # async fn run() -> Result<(), registry_core::Error> {
/// let auth = AcrAuthenticator::aad(StaticTokenCredential::from_env()?)
///     .for_host("myregistry.azurecr.io");
/// let client = HttpClient::builder().authenticator(auth).build()?;
/// let resp = client
///     .send(http::Request::get("https://myregistry.azurecr.io/v2/hello/tags/list")
///         .body(Body::empty()).unwrap())
///     .await?;
/// assert!(resp.status().is_success());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AcrAuthenticator {
    mode: Mode,
    audience: String,
    tenant: Option<String>,
    hosts: Option<Vec<String>>,
    /// Registry authority → its token service, learnt from challenges.
    services: Arc<Mutex<HashMap<String, TokenService>>>,
    /// Refresh tokens per (realm origin, service), replaced
    /// [`REFRESH_MARGIN`] before they expire.
    refresh: TokenCache,
    /// Access tokens per (realm, service, scopes).
    access: TokenCache,
}

impl fmt::Debug for AcrAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Aad(_) => "aad",
            Mode::Anonymous => "anonymous",
            Mode::Docker(_) => "registry-credentials",
        };
        f.debug_struct("AcrAuthenticator")
            .field("mode", &mode)
            .field("audience", &self.audience)
            .field("tenant", &self.tenant)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl AcrAuthenticator {
    fn with_mode(mode: Mode) -> AcrAuthenticator {
        AcrAuthenticator {
            mode,
            audience: DEFAULT_AUDIENCE.to_owned(),
            tenant: None,
            hosts: None,
            services: Arc::default(),
            refresh: TokenCache::with_leeway(REFRESH_MARGIN),
            access: TokenCache::new(),
        }
    }

    /// Authenticates with AAD tokens from `credential`, exchanged for ACR
    /// refresh and access tokens.
    pub fn aad(credential: impl TokenCredential) -> AcrAuthenticator {
        Self::with_mode(Mode::Aad(Arc::new(credential)))
    }

    /// Same, with a shared credential.
    pub fn aad_arc(credential: Arc<dyn TokenCredential>) -> AcrAuthenticator {
        Self::with_mode(Mode::Aad(credential))
    }

    /// AAD authentication with the token in `AZURE_ACCESS_TOKEN`.
    pub fn from_env() -> Result<AcrAuthenticator, Error> {
        Ok(Self::aad(StaticTokenCredential::from_env()?))
    }

    /// Anonymous access (`grant_type=password` with an empty refresh token),
    /// for registries with anonymous pull enabled.
    pub fn anonymous() -> AcrAuthenticator {
        Self::with_mode(Mode::Anonymous)
    }

    /// Basic credentials: the admin user or a repository-scoped token (its
    /// name and password), through the normal Docker token flow.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> AcrAuthenticator {
        Self::registry_credentials(Static::new(Credential::basic(username, password)))
    }

    /// Any registry credentials (Basic, identity token, registry token),
    /// e.g. a [`registry_core::credentials::CredentialChain`], through the
    /// normal Docker token flow.
    pub fn registry_credentials(provider: impl CredentialProvider) -> AcrAuthenticator {
        Self::with_mode(Mode::Docker(DockerAuth::new(provider)))
    }

    /// The AAD audience for sovereign clouds, e.g.
    /// `https://containerregistry.azure.cn`; tokens are asked for
    /// `{audience}/.default`.
    pub fn audience(mut self, audience: impl Into<String>) -> AcrAuthenticator {
        self.audience = audience.into();
        self
    }

    /// Only authenticate to `host` (`name.azurecr.io`, with `:port` when
    /// not the default); may be called several times. Without it, AAD
    /// tokens go to every registry the client talks to.
    pub fn for_host(mut self, host: impl Into<String>) -> AcrAuthenticator {
        self.hosts
            .get_or_insert_with(Vec::new)
            .push(registry_core::host::normalize(&host.into()));
        self
    }

    /// Restricts to `host` unless already restricted.
    pub(crate) fn restricted_to(self, host: String) -> AcrAuthenticator {
        if self.hosts.is_some() {
            self
        } else {
            self.for_host(host)
        }
    }

    /// The OAuth2 scope asked of the [`TokenCredential`].
    pub fn aad_scope(&self) -> String {
        format!("{}/.default", self.audience.trim_end_matches('/'))
    }

    fn services(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenService>> {
        self.services.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn host_allowed(&self, authority: &str) -> bool {
        let host = registry_core::host::normalize(authority);
        self.hosts
            .as_ref()
            .is_none_or(|hosts| hosts.contains(&host))
    }

    /// The `Authorization` header with an access token for `scopes`, from
    /// the cache unless it expired or is the one just `rejected`.
    async fn access_token(
        &self,
        ctx: &AuthContext,
        svc: &TokenService,
        scopes: &Scopes,
        rejected: Option<&HeaderValue>,
    ) -> Result<Option<HeaderValue>, Error> {
        let key = svc.access_key(scopes);
        self.access.invalidate_rejected(&key, rejected).await;
        let token = self
            .access
            .get_or_fetch(&key, || async {
                let access = match &self.mode {
                    Mode::Anonymous => {
                        svc.client(ctx.client())
                            .anonymous_access_token(&svc.service, scopes)
                            .await?
                    }
                    Mode::Aad(credential) => {
                        self.access_token_from_aad(ctx, svc, scopes, credential)
                            .await?
                    }
                    Mode::Docker(_) => unreachable!("Docker mode delegates to DockerAuth"),
                };
                Ok(access.to_token())
            })
            .await?;
        bearer(&token).map(Some)
    }

    /// Exchanges the ACR refresh token for an access token; a refused
    /// refresh token (revoked, or expired early) is exchanged anew, once.
    async fn access_token_from_aad(
        &self,
        ctx: &AuthContext,
        svc: &TokenService,
        scopes: &Scopes,
        credential: &Arc<dyn TokenCredential>,
    ) -> Result<AcrAccessToken, Error> {
        let tokens = svc.client(ctx.client());
        let exchange = |refresh: AcrRefreshToken| {
            let tokens = &tokens;
            async move {
                tokens
                    .exchange_refresh_token(
                        &svc.service,
                        scopes,
                        &refresh,
                        TokenGrantType::RefreshToken,
                    )
                    .await
            }
        };
        let refresh = self.refresh_token(ctx, svc, credential, None).await?;
        match exchange(AcrRefreshToken::new(refresh.clone())).await {
            Err(e) if e.kind() == ErrorKind::Unauthorized => {
                tracing::debug!("ACR refused the refresh token; exchanging again: {e}");
                let refresh = self
                    .refresh_token(ctx, svc, credential, Some(&refresh))
                    .await?;
                exchange(AcrRefreshToken::new(refresh)).await
            }
            other => other,
        }
    }

    /// The ACR refresh token for `svc`, exchanged anew when missing, within
    /// [`REFRESH_MARGIN`] of its expiry, or equal to `stale`.
    async fn refresh_token(
        &self,
        ctx: &AuthContext,
        svc: &TokenService,
        credential: &Arc<dyn TokenCredential>,
        stale: Option<&Secret>,
    ) -> Result<Secret, Error> {
        let key = svc.refresh_key();
        if let Some(stale) = stale {
            self.refresh.invalidate_if(&key, stale).await;
        }
        self.refresh
            .get_or_fetch(&key, || async {
                let scope = self.aad_scope();
                let aad = credential
                    .get_token(&[scope.as_str()])
                    .await
                    .map_err(|e| e.context(format!("getting an AAD access token for {scope}")))?;
                let mut options = AadExchangeOptions::new().access_token(aad.token);
                if let Some(t) = &self.tenant {
                    options = options.tenant(t);
                }
                let refresh = svc
                    .client(ctx.client())
                    .exchange_aad_token(ExchangeGrantType::AccessToken, &svc.service, options)
                    .await?;
                Ok(refresh_token(refresh.secret().clone(), aad.expires_on))
            })
            .await
    }
}

/// A refresh token expiring at its JWT `exp`; when it has none, with the
/// AAD token, or after the usual three hours. The refresh cache replaces it
/// [`REFRESH_MARGIN`] before.
fn refresh_token(refresh: Secret, aad_expires_on: Option<SystemTime>) -> Token {
    let now = SystemTime::now();
    let expires = jwt_expires_on(&refresh)
        .or(aad_expires_on)
        .unwrap_or(now + DEFAULT_REFRESH_LIFETIME);
    Token::new(refresh, expires.duration_since(now).unwrap_or_default())
}

/// The token service named by a Bearer challenge, its realm checked.
fn token_service(ctx: &AuthContext, c: &Challenge) -> Result<TokenService, Error> {
    Ok(TokenService {
        realm: checked_realm(ctx, c.param("realm").unwrap_or_default())?,
        service: c.param("service").unwrap_or_default().to_owned(),
    })
}

registry_core::setters!(AcrAuthenticator {
    /// The AAD tenant sent with the exchange.
    tenant: impl Into<String>,
});

impl Authenticator for AcrAuthenticator {
    fn authorize<'a>(
        &'a self,
        ctx: &'a AuthContext,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            if !self.host_allowed(ctx.authority()) {
                return Ok(None);
            }
            if let Mode::Docker(d) = &self.mode {
                return d.authorize(ctx).await;
            }
            let Some(svc) = self.services().get(ctx.authority()).cloned() else {
                return Ok(None);
            };
            self.access_token(ctx, &svc, ctx.scopes(), None).await
        })
    }

    fn challenge<'a>(
        &'a self,
        ctx: &'a AuthContext,
        challenges: &'a [Challenge],
        rejected: Option<&'a HeaderValue>,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            if !self.host_allowed(ctx.authority()) {
                return Ok(None);
            }
            if let Mode::Docker(d) = &self.mode {
                return d.challenge(ctx, challenges, rejected).await;
            }
            let Some(c) = challenges.iter().find(|c| c.scheme() == "bearer") else {
                return Ok(None);
            };
            let svc = token_service(ctx, c)?;
            let scopes = ctx
                .scopes()
                .union(&Scopes::parse_param(c.param("scope").unwrap_or_default()));
            self.services()
                .insert(ctx.authority().to_owned(), svc.clone());
            self.access_token(ctx, &svc, &scopes, rejected).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::time::UNIX_EPOCH;
    use tokio::time::Instant;

    /// When the refresh cache replaces a refresh token.
    fn refresh_deadline(refresh: &Secret, aad_expires_on: Option<SystemTime>) -> Instant {
        TokenCache::with_leeway(REFRESH_MARGIN)
            .refresh_at(&refresh_token(refresh.clone(), aad_expires_on))
    }

    fn jwt_expiring_in(secs: u64) -> Secret {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + secs;
        // Standard, padded base64: ACR's tokens are read leniently.
        let p = base64::engine::general_purpose::STANDARD.encode(format!(r#"{{"exp":{exp}}} "#));
        Secret::new(format!("e30.{p}.sig"))
    }

    #[test]
    fn refresh_deadline_is_five_minutes_before_exp() {
        let before = Instant::now();
        let d = refresh_deadline(&jwt_expiring_in(3 * 3600), None);
        let lead = d - before;
        assert!(lead <= Duration::from_secs(3 * 3600 - 300), "{lead:?}");
        assert!(lead >= Duration::from_secs(3 * 3600 - 302), "{lead:?}");
        // Within the margin already: due now.
        let d = refresh_deadline(&jwt_expiring_in(200), None);
        assert!(d <= Instant::now());
        // Not a JWT: the AAD token's expiry, else three hours.
        let aad = SystemTime::now() + Duration::from_secs(3600);
        let lead = refresh_deadline(&Secret::new("opaque"), Some(aad)) - before;
        assert!(
            lead <= Duration::from_secs(3301) && lead >= Duration::from_secs(3298),
            "{lead:?}"
        );
        let lead = refresh_deadline(&Secret::new("opaque"), None) - before;
        assert!(lead >= Duration::from_secs(3 * 3600 - 302));
    }

    #[test]
    fn configuration_and_debug_hide_secrets() {
        let a = AcrAuthenticator::aad(StaticTokenCredential::new("super-secret-aad"))
            .audience("https://containerregistry.azure.cn/")
            .tenant("t1")
            .for_host("HTTPS://Reg.AzureCR.cn/");
        assert_eq!(a.aad_scope(), "https://containerregistry.azure.cn/.default");
        assert!(a.host_allowed("reg.azurecr.cn"));
        assert!(!a.host_allowed("evil.example"));
        let dbg = format!("{a:?}");
        assert!(dbg.contains("aad") && dbg.contains("t1"), "{dbg}");
        assert!(!dbg.contains("super-secret"), "{dbg}");
        let b = AcrAuthenticator::basic("admin", "pw-123");
        assert!(!format!("{b:?}").contains("pw-123"));
        assert_eq!(
            AcrAuthenticator::anonymous().aad_scope(),
            "https://containerregistry.azure.net/.default"
        );
    }
}
