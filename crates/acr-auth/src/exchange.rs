//! The three token requests of ACR's OAuth2 endpoints (azure-rest-api-specs,
//! containerregistry data-plane 2021-07-01):
//!
//! - `POST /oauth2/exchange` (form `grant_type=access_token`, `service`,
//!   `access_token`, optional `tenant`) → `{"refresh_token"}`: an AAD access
//!   token for an ACR refresh token;
//! - `POST /oauth2/token` (form `grant_type=refresh_token`, `service`,
//!   `scope`, `refresh_token`) → `{"access_token"}`: a refresh token for an
//!   access token to some scopes;
//! - `POST /oauth2/token` (form `grant_type=password`, `service`, `scope`,
//!   empty `refresh_token`) → `{"access_token"}`: anonymous access.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Request, StatusCode};
use registry_core::auth::{Scopes, TokenKey, TokenResponse};
use registry_core::{Body, Error, ErrorKind, HttpClient, Secret};
use url::Url;

/// Largest token response accepted.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// Where a registry's tokens come from: the challenge's `realm` (the
/// `/oauth2/token` URL) and `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenService {
    pub(crate) realm: Url,
    pub(crate) service: String,
}

impl TokenService {
    /// `{realm origin}/oauth2/exchange`.
    pub(crate) fn exchange_url(&self) -> Url {
        let mut url = self.realm.clone();
        url.set_path("/oauth2/exchange");
        url.set_query(None);
        url.set_fragment(None);
        url
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

/// Exchanges an AAD access token for an ACR refresh token.
pub(crate) async fn exchange_aad_token(
    client: &HttpClient,
    svc: &TokenService,
    aad_token: &Secret,
    tenant: Option<&str>,
) -> Result<Secret, Error> {
    let url = svc.exchange_url();
    let mut pairs = vec![
        ("grant_type", "access_token"),
        ("service", svc.service.as_str()),
    ];
    if let Some(t) = tenant {
        pairs.push(("tenant", t));
    }
    pairs.push(("access_token", aad_token.expose()));
    let what = format!("exchanging the AAD token for an ACR refresh token at {url}");
    let resp = post_form(client, &url, form(&pairs), &what).await?;
    resp.refresh_token()
        .ok_or_else(|| Error::protocol(format!("{what}: the response has no refresh_token")))
}

/// Exchanges an ACR refresh token for an access token to `scopes`.
pub(crate) async fn access_token_from_refresh(
    client: &HttpClient,
    svc: &TokenService,
    scopes: &Scopes,
    refresh_token: &Secret,
) -> Result<TokenResponse, Error> {
    let scope = scopes.key();
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("service", svc.service.as_str()),
    ];
    if !scope.is_empty() {
        pairs.push(("scope", &scope));
    }
    pairs.push(("refresh_token", refresh_token.expose()));
    let what = format!(
        "getting an ACR access token for {:?} at {}",
        scopes.key(),
        svc.realm
    );
    post_form(client, &svc.realm, form(&pairs), &what).await
}

/// Asks for an anonymous access token to `scopes`.
pub(crate) async fn anonymous_access_token(
    client: &HttpClient,
    svc: &TokenService,
    scopes: &Scopes,
) -> Result<TokenResponse, Error> {
    let scope = scopes.key();
    let mut pairs = vec![
        ("grant_type", "password"),
        ("service", svc.service.as_str()),
    ];
    if !scope.is_empty() {
        pairs.push(("scope", &scope));
    }
    pairs.push(("refresh_token", ""));
    let what = format!(
        "getting an anonymous ACR access token for {:?} at {}",
        scopes.key(),
        svc.realm
    );
    post_form(client, &svc.realm, form(&pairs), &what)
        .await
        .map_err(|e| {
            if e.kind() == ErrorKind::Unauthorized {
                Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "anonymous access is not allowed by {} (service {:?}): configure credentials",
                        svc.realm.host_str().unwrap_or_default(),
                        svc.service
                    ),
                )
                .with_status(e.status().unwrap_or(StatusCode::UNAUTHORIZED))
                .with_source(e)
            } else {
                e
            }
        })
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn post_form(
    client: &HttpClient,
    url: &Url,
    form: String,
    what: &str,
) -> Result<TokenResponse, Error> {
    let req = Request::post(url.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(Body::from(form))
        .map_err(|e| {
            Error::protocol(format!("{what}: building the request failed")).with_source(e)
        })?;
    tracing::debug!(url = %url, "ACR token request");
    let resp = client.send(req).await.map_err(|e| e.context(what))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect_bytes(MAX_TOKEN_RESPONSE)
        .await
        .map_err(|e| e.context(what))?;
    if !status.is_success() {
        return Err(Error::from_response(status, &body).context(what));
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::protocol(format!("{what}: the response is not the expected JSON")).with_source(e)
    })
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
        assert_eq!(
            svc.exchange_url().as_str(),
            "https://r.azurecr.io/oauth2/exchange"
        );
        assert_eq!(
            svc.refresh_key(),
            TokenKey::new("https://r.azurecr.io", "r.azurecr.io", Scopes::default())
        );
    }
}
