//! [`AcrTokenClient`]: the token requests of ACR's OAuth2 endpoints
//! (azure-rest-api-specs, containerregistry data-plane 2021-07-01), for
//! callers who run the exchanges themselves; the Go SDK's
//! `AuthenticationClient`. [`AcrAuthenticator`](crate::AcrAuthenticator)
//! runs them through this client.
//!
//! - `POST /oauth2/exchange` (form `grant_type` =
//!   [`ExchangeGrantType`], `service`, optional `tenant`, the AAD
//!   `access_token` and/or `refresh_token`) → `{"refresh_token"}`: AAD
//!   tokens for an [`AcrRefreshToken`];
//! - `POST /oauth2/token` (form `grant_type` = [`TokenGrantType`],
//!   `service`, `scope`, `refresh_token`) → `{"access_token"}`: an ACR
//!   refresh token for an [`AcrAccessToken`] to some scopes;
//!   `grant_type=password` with an empty `refresh_token` is anonymous
//!   access.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Request, StatusCode};
use registry_core::auth::{Scopes, Token, TokenKey, TokenResponse};
use registry_core::{Body, Error, ErrorKind, HttpClient, Secret};
use url::Url;

use crate::client::Endpoint;
use crate::client::request::{parse_json, send_checked};
use crate::credential::jwt_expires_on;
use crate::models::{ExchangeGrantType, TokenGrantType};

/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// An ACR refresh token, from [`AcrTokenClient::exchange_aad_token`] (the
/// Go SDK's `ACRRefreshToken`). Its `Debug` hides the token; read it with
/// [`expose`](Self::expose).
///
/// ```
/// use acr_auth::AcrRefreshToken;
/// let t = AcrRefreshToken::new("eyJ.secret.sig");
/// assert!(!format!("{t:?}").contains("secret"));
/// assert_eq!(t.expose(), "eyJ.secret.sig");
/// assert_eq!(t.expires_on(), None); // not a readable JWT
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AcrRefreshToken {
    token: Secret,
}

impl AcrRefreshToken {
    /// Wraps a refresh token (e.g. one kept from an earlier exchange).
    pub fn new(token: impl Into<Secret>) -> AcrRefreshToken {
        AcrRefreshToken {
            token: token.into(),
        }
    }

    /// The token itself, to send.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// The token as a [`Secret`].
    pub fn secret(&self) -> &Secret {
        &self.token
    }

    /// When it expires: its JWT `exp`, when it has one.
    pub fn expires_on(&self) -> Option<SystemTime> {
        jwt_expires_on(&self.token)
    }
}

impl fmt::Debug for AcrRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcrRefreshToken")
            .field("token", &self.token)
            .field("expires_on", &self.expires_on())
            .finish()
    }
}

/// An ACR access token for some scopes, from
/// [`AcrTokenClient::exchange_refresh_token`] (the Go SDK's
/// `ACRAccessToken`). Its `Debug` hides the token; read it with
/// [`expose`](Self::expose).
///
/// ```
/// use acr_auth::AcrAccessToken;
/// let t = AcrAccessToken::new("opaque-secret", Some(std::time::Duration::from_secs(300)));
/// assert!(!format!("{t:?}").contains("opaque-secret"));
/// assert_eq!(t.expose(), "opaque-secret");
/// assert_eq!(t.to_token().lifetime().as_secs(), 300);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AcrAccessToken {
    token: Secret,
    expires_in: Option<Duration>,
}

impl AcrAccessToken {
    /// Wraps an access token and the lifetime the service stated
    /// (`expires_in`), if any.
    pub fn new(token: impl Into<Secret>, expires_in: Option<Duration>) -> AcrAccessToken {
        AcrAccessToken {
            token: token.into(),
            expires_in,
        }
    }

    /// The token itself, to send as `Authorization: Bearer …`.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// The token as a [`Secret`].
    pub fn secret(&self) -> &Secret {
        &self.token
    }

    /// The lifetime the response stated (`expires_in`), if any.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// When it expires: its JWT `exp`, when it has one.
    pub fn expires_on(&self) -> Option<SystemTime> {
        jwt_expires_on(&self.token)
    }

    /// A registry-core [`Token`] expiring at the earlier of `expires_in`
    /// and the JWT `exp` ([`Token::expiring`]), for a
    /// [`TokenCache`](registry_core::auth::TokenCache).
    pub fn to_token(&self) -> Token {
        Token::expiring(self.token.clone(), self.expires_in)
    }
}

impl fmt::Debug for AcrAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcrAccessToken")
            .field("token", &self.token)
            .field("expires_in", &self.expires_in)
            .field("expires_on", &self.expires_on())
            .finish()
    }
}

/// What [`AcrTokenClient::exchange_aad_token`] sends besides the grant type
/// and service (the Go SDK's
/// `AuthenticationClientExchangeAADAccessTokenForACRRefreshTokenOptions`):
/// the AAD access token (needed by the `access_token` and
/// `access_token_refresh_token` grants), the AAD refresh token (needed by
/// `refresh_token` and `access_token_refresh_token`) and the tenant. Its
/// `Debug` hides the tokens.
///
/// ```
/// use acr_auth::AadExchangeOptions;
/// let o = AadExchangeOptions::new().access_token("aad-secret").tenant("my-tenant");
/// let dbg = format!("{o:?}");
/// assert!(dbg.contains("my-tenant") && !dbg.contains("aad-secret"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AadExchangeOptions {
    access_token: Option<Secret>,
    refresh_token: Option<Secret>,
    tenant: Option<String>,
}

impl AadExchangeOptions {
    /// Nothing set (only a grant of unknown needs is sent this way).
    ///
    /// ```
    /// let o = acr_auth::AadExchangeOptions::new().refresh_token("r");
    /// assert!(format!("{o:?}").contains("refresh_token: Some(<redacted>)"));
    /// ```
    pub fn new() -> AadExchangeOptions {
        AadExchangeOptions::default()
    }
}

registry_core::setters!(AadExchangeOptions {
    /// The AAD access token.
    access_token: impl Into<Secret>,
    /// The AAD refresh token.
    refresh_token: impl Into<Secret>,
    /// The AAD tenant of the credentials.
    tenant: impl Into<String>,
});

/// A client for a registry's token endpoints, `/oauth2/exchange` and
/// `/oauth2/token` (the Go SDK's `AuthenticationClient`):
/// [`exchange_aad_token`](Self::exchange_aad_token) is
/// `ExchangeAADAccessTokenForACRRefreshToken`,
/// [`exchange_refresh_token`](Self::exchange_refresh_token) is
/// `ExchangeACRRefreshTokenForACRAccessToken`.
///
/// Errors: a refused token is [`ErrorKind::Unauthorized`] with ACR's
/// message; tokens never appear in errors or logs.
///
/// ```no_run
/// use acr_auth::{AadExchangeOptions, AcrTokenClient, ExchangeGrantType, TokenGrantType};
/// use registry_core::auth::Scopes;
/// # async fn run(aad_access_token: String) -> Result<(), registry_core::Error> {
/// let tokens = AcrTokenClient::new("https://myregistry.azurecr.io")?;
/// let refresh = tokens
///     .exchange_aad_token(
///         ExchangeGrantType::AccessToken,
///         "myregistry.azurecr.io",
///         AadExchangeOptions::new().access_token(aad_access_token),
///     )
///     .await?;
/// let access = tokens
///     .exchange_refresh_token(
///         "myregistry.azurecr.io",
///         &Scopes::parse_param("repository:hello-world:pull"),
///         &refresh,
///         TokenGrantType::RefreshToken,
///     )
///     .await?;
/// println!("Authorization: Bearer {}", access.expose());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AcrTokenClient {
    http: HttpClient,
    token_url: Url,
    exchange_url: Url,
}

impl AcrTokenClient {
    /// A client for the registry at `endpoint` (its login server,
    /// `https://name.azurecr.io` or `name.azurecr.io`; `http://` for
    /// tests) over the default transport, without authentication.
    ///
    /// ```
    /// use acr_auth::AcrTokenClient;
    /// let c = AcrTokenClient::new("https://myregistry.azurecr.io").unwrap();
    /// assert_eq!(c.token_url().as_str(), "https://myregistry.azurecr.io/oauth2/token");
    /// ```
    pub fn new(endpoint: &str) -> Result<AcrTokenClient, Error> {
        AcrTokenClient::from_http(endpoint, HttpClient::builder().build()?)
    }

    /// Same, over a transport the caller assembled (it should carry no
    /// authenticator: these requests carry their own credentials).
    ///
    /// ```
    /// use acr_auth::AcrTokenClient;
    /// let c = AcrTokenClient::from_http("myregistry.azurecr.io", registry_core::HttpClient::builder().build().unwrap()).unwrap();
    /// assert_eq!(c.token_url().as_str(), "https://myregistry.azurecr.io/oauth2/token");
    /// assert_eq!(c.exchange_url().as_str(), "https://myregistry.azurecr.io/oauth2/exchange");
    /// ```
    pub fn from_http(endpoint: &str, http: HttpClient) -> Result<AcrTokenClient, Error> {
        let base = Endpoint::parse(endpoint)?.url();
        let realm = Url::parse(&format!("{base}/oauth2/token")).map_err(|e| {
            Error::invalid_input(format!("registry endpoint {endpoint:?} is not a URL"))
                .with_source(e)
        })?;
        Ok(AcrTokenClient::for_realm_url(http, realm))
    }

    /// A client for the token service a `Bearer` challenge names: tokens
    /// from `realm` (e.g. `https://name.azurecr.io/oauth2/token`), the
    /// exchange at `/oauth2/exchange` on the realm's origin.
    ///
    /// ```
    /// use acr_auth::AcrTokenClient;
    /// let http = registry_core::HttpClient::builder().build().unwrap();
    /// let c = AcrTokenClient::for_realm("https://r.azurecr.io/oauth2/token?x=1", http).unwrap();
    /// assert_eq!(c.exchange_url().as_str(), "https://r.azurecr.io/oauth2/exchange");
    /// ```
    pub fn for_realm(realm: &str, http: HttpClient) -> Result<AcrTokenClient, Error> {
        let url = Url::parse(realm).map_err(|e| {
            Error::invalid_input(format!("token realm {realm:?} is not a URL")).with_source(e)
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::invalid_input(format!(
                "token realm {realm:?} is not an https:// (or http://) URL"
            )));
        }
        Ok(AcrTokenClient::for_realm_url(http, url))
    }

    pub(crate) fn for_realm_url(http: HttpClient, realm: Url) -> AcrTokenClient {
        let mut exchange_url = realm.clone();
        exchange_url.set_path("/oauth2/exchange");
        exchange_url.set_query(None);
        exchange_url.set_fragment(None);
        AcrTokenClient {
            http,
            token_url: realm,
            exchange_url,
        }
    }

    /// Where access tokens are asked for (`/oauth2/token`).
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// Where AAD tokens are exchanged (`/oauth2/exchange`).
    pub fn exchange_url(&self) -> &Url {
        &self.exchange_url
    }

    /// Exchanges AAD tokens for an ACR refresh token for `service` (the
    /// registry's name, e.g. `name.azurecr.io`): `POST /oauth2/exchange`
    /// with `grant_type`, `service`, and the `tenant`, `access_token` and
    /// `refresh_token` of `options` that are set.
    ///
    /// A known grant type without the AAD token it needs is
    /// [`ErrorKind::InvalidInput`], before anything is sent.
    ///
    /// ```no_run
    /// use acr_auth::{AadExchangeOptions, AcrTokenClient, ExchangeGrantType};
    /// # async fn run(aad_refresh_token: String) -> Result<(), registry_core::Error> {
    /// let tokens = AcrTokenClient::new("myregistry.azurecr.io")?;
    /// // With an AAD refresh token (a deprecated grant ACR still documents).
    /// let refresh = tokens
    ///     .exchange_aad_token(
    ///         ExchangeGrantType::RefreshToken,
    ///         "myregistry.azurecr.io",
    ///         AadExchangeOptions::new().refresh_token(aad_refresh_token).tenant("my-tenant-id"),
    ///     )
    ///     .await?;
    /// println!("{refresh:?}"); // the token itself is redacted
    /// # Ok(()) }
    /// ```
    pub async fn exchange_aad_token(
        &self,
        grant_type: ExchangeGrantType,
        service: &str,
        options: AadExchangeOptions,
    ) -> Result<AcrRefreshToken, Error> {
        let url = &self.exchange_url;
        let what = format!("exchanging the AAD token for an ACR refresh token at {url}");
        if grant_type.needs_access_token() && options.access_token.is_none() {
            return Err(Error::invalid_input(format!(
                "{what}: grant_type {grant_type} needs the AAD access token"
            )));
        }
        if grant_type.needs_refresh_token() && options.refresh_token.is_none() {
            return Err(Error::invalid_input(format!(
                "{what}: grant_type {grant_type} needs the AAD refresh token"
            )));
        }
        let mut pairs = vec![("grant_type", grant_type.as_str()), ("service", service)];
        if let Some(t) = &options.tenant {
            pairs.push(("tenant", t));
        }
        if let Some(t) = &options.access_token {
            pairs.push(("access_token", t.expose()));
        }
        if let Some(t) = &options.refresh_token {
            pairs.push(("refresh_token", t.expose()));
        }
        let resp = self.post_form(url, form(&pairs), &what).await?;
        resp.refresh_token()
            .map(AcrRefreshToken::new)
            .ok_or_else(|| Error::protocol(format!("{what}: the response has no refresh_token")))
    }

    /// Exchanges an ACR refresh token for an access token to `scopes`:
    /// `POST /oauth2/token` with `grant_type`, `service`, `scope` (the
    /// scopes space-separated; left out when there are none) and
    /// `refresh_token`.
    ///
    /// ```no_run
    /// use acr_auth::{AcrRefreshToken, AcrTokenClient, TokenGrantType};
    /// use registry_core::auth::Scopes;
    /// # async fn run(kept: String) -> Result<(), registry_core::Error> {
    /// let tokens = AcrTokenClient::new("myregistry.azurecr.io")?;
    /// let access = tokens
    ///     .exchange_refresh_token(
    ///         "myregistry.azurecr.io",
    ///         &Scopes::parse_param("registry:catalog:*"),
    ///         &AcrRefreshToken::new(kept),
    ///         TokenGrantType::RefreshToken,
    ///     )
    ///     .await?;
    /// assert!(!access.expose().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn exchange_refresh_token(
        &self,
        service: &str,
        scopes: &Scopes,
        refresh_token: &AcrRefreshToken,
        grant_type: TokenGrantType,
    ) -> Result<AcrAccessToken, Error> {
        let refresh = refresh_token.expose();
        self.access_token(service, scopes, refresh, grant_type, "an ACR")
            .await
    }

    /// An anonymous access token to `scopes`, for registries with
    /// anonymous pull enabled: `grant_type=password` with an empty
    /// `refresh_token`. A refusal is an [`ErrorKind::Unauthorized`] error
    /// saying so.
    ///
    /// ```no_run
    /// use acr_auth::AcrTokenClient;
    /// use registry_core::auth::Scopes;
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let tokens = AcrTokenClient::new("mcr-like.azurecr.io")?;
    /// let access = tokens
    ///     .anonymous_access_token("mcr-like.azurecr.io", &Scopes::parse_param("repository:public/app:pull"))
    ///     .await?;
    /// # drop(access);
    /// # Ok(()) }
    /// ```
    pub async fn anonymous_access_token(
        &self,
        service: &str,
        scopes: &Scopes,
    ) -> Result<AcrAccessToken, Error> {
        self.access_token(service, scopes, "", TokenGrantType::Password, "an anonymous ACR")
            .await
            .map_err(|e| {
                if e.kind() == ErrorKind::Unauthorized {
                    Error::new(
                        ErrorKind::Unauthorized,
                        format!(
                            "anonymous access is not allowed by {} (service {service:?}): configure credentials",
                            self.token_url.host_str().unwrap_or_default(),
                        ),
                    )
                    .with_status(e.status().unwrap_or(StatusCode::UNAUTHORIZED))
                    .with_source(e)
                } else {
                    e
                }
            })
    }

    /// `POST /oauth2/token`; `kind` names the token in errors ("an ACR").
    async fn access_token(
        &self,
        service: &str,
        scopes: &Scopes,
        refresh_token: &str,
        grant_type: TokenGrantType,
        kind: &str,
    ) -> Result<AcrAccessToken, Error> {
        let scope = scopes.key();
        let url = &self.token_url;
        let what = &format!("getting {kind} access token for {scope:?} at {url}");
        let mut pairs = vec![("grant_type", grant_type.as_str()), ("service", service)];
        if !scope.is_empty() {
            pairs.push(("scope", &scope));
        }
        pairs.push(("refresh_token", refresh_token));
        let resp = self.post_form(url, form(&pairs), what).await?;
        let token = resp
            .access_token()
            .ok_or_else(|| Error::protocol(format!("{what}: the response has no access_token")))?;
        Ok(AcrAccessToken::new(
            token,
            resp.expires_in.map(Duration::from_secs),
        ))
    }

    async fn post_form(&self, url: &Url, form: String, what: &str) -> Result<TokenResponse, Error> {
        let req = Request::post(url.as_str())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(Body::from(form))
            .map_err(|e| {
                Error::protocol(format!("{what}: building the request failed")).with_source(e)
            })?;
        tracing::debug!(url = %url, "ACR token request");
        let what = || what.to_owned();
        let (_, body) = send_checked(&self.http, req, MAX_TOKEN_RESPONSE, what).await?;
        parse_json(&body, what)
    }
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Where a registry's tokens come from: the challenge's `realm` (the
/// `/oauth2/token` URL) and `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenService {
    pub(crate) realm: Url,
    pub(crate) service: String,
}

impl TokenService {
    /// The token client for this service over `http`.
    pub(crate) fn client(&self, http: &HttpClient) -> AcrTokenClient {
        AcrTokenClient::for_realm_url(http.clone(), self.realm.clone())
    }

    /// The cache key of refresh tokens: realm origin and service (a
    /// refresh token serves every scope).
    pub(crate) fn refresh_key(&self) -> TokenKey {
        TokenKey::new(
            self.realm.origin().ascii_serialization(),
            &self.service,
            Scopes::default(),
        )
    }

    /// The cache key of access tokens: realm, service and scopes.
    pub(crate) fn access_key(&self, scopes: &Scopes) -> TokenKey {
        TokenKey::new(self.realm.as_str(), &self.service, scopes.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_url_keeps_the_realm_origin() {
        let svc = TokenService {
            realm: Url::parse("https://r.azurecr.io/oauth2/token?x=1").unwrap(),
            service: "r.azurecr.io".into(),
        };
        let http = HttpClient::builder().build().unwrap();
        assert_eq!(
            svc.client(&http).exchange_url().as_str(),
            "https://r.azurecr.io/oauth2/exchange"
        );
        assert_eq!(
            svc.refresh_key(),
            TokenKey::new("https://r.azurecr.io", "r.azurecr.io", Scopes::default())
        );
        assert!(AcrTokenClient::for_realm("ftp://r/oauth2/token", http.clone()).is_err());
        assert!(AcrTokenClient::from_http("https://r.azurecr.io/v2/", http).is_err());
    }
}
