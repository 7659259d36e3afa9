//! [`TokenCache`]: the bearer-token cache every token authenticator shares,
//! with the pieces around it ([`TokenKey`], [`Token`], [`TokenResponse`],
//! [`bearer`], [`checked_realm`]).
//!
//! Tokens are cached per [`TokenKey`] (realm, service, scope set) and
//! replaced a leeway before they expire. Concurrent callers needing the same
//! key wait for one fetch; callers needing different keys fetch at the same
//! time. After a `401` to a cached token, [`TokenCache::invalidate_rejected`]
//! drops it — unless another caller already replaced it.
//!
//! [`DockerAuth`](super::DockerAuth) and Azure's `AcrAuthenticator` are built
//! on it; so can any other token flow be. An authenticator trading an API
//! key for registry tokens at the challenge's realm:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use http::HeaderValue;
//! use registry_core::auth::{
//!     AuthContext, Authenticator, BoxFuture, Challenge, Scopes, TokenCache, TokenKey,
//!     TokenResponse, bearer, checked_realm,
//! };
//! use registry_core::{Body, Error, HttpClient, Secret};
//!
//! struct ApiKeyAuth {
//!     api_key: Secret,
//!     tokens: TokenCache,
//!     /// Registry authority -> (realm, service), learnt from challenges.
//!     services: Mutex<HashMap<String, (url::Url, String)>>,
//! }
//!
//! impl ApiKeyAuth {
//!     async fn token(
//!         &self,
//!         ctx: &AuthContext,
//!         (realm, service): &(url::Url, String),
//!         scopes: &Scopes,
//!         rejected: Option<&HeaderValue>,
//!     ) -> Result<Option<HeaderValue>, Error> {
//!         let key = TokenKey::new(realm.as_str(), service, scopes.clone());
//!         self.tokens.invalidate_rejected(&key, rejected).await;
//!         let token = self
//!             .tokens
//!             .get_or_fetch(&key, || async {
//!                 let mut url = realm.clone();
//!                 url.query_pairs_mut()
//!                     .append_pair("service", service)
//!                     .append_pair("scope", &scopes.key());
//!                 let req = http::Request::get(url.as_str())
//!                     .header("x-api-key", self.api_key.expose())
//!                     .body(Body::empty())
//!                     .map_err(|e| Error::protocol("bad token request").with_source(e))?;
//!                 let resp = ctx.client().send(req).await?;
//!                 let status = resp.status();
//!                 let body = resp.into_body().collect_bytes(1 << 20).await?;
//!                 if !status.is_success() {
//!                     return Err(Error::from_response(status, &body));
//!                 }
//!                 let resp: TokenResponse = serde_json::from_slice(&body)
//!                     .map_err(|e| Error::protocol("bad token response").with_source(e))?;
//!                 resp.token()
//!                     .ok_or_else(|| Error::protocol("the token response has no token"))
//!             })
//!             .await?;
//!         bearer(&token).map(Some)
//!     }
//! }
//!
//! impl Authenticator for ApiKeyAuth {
//!     fn authorize<'a>(
//!         &'a self,
//!         ctx: &'a AuthContext,
//!     ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
//!         Box::pin(async move {
//!             let known = self.services.lock().unwrap().get(ctx.authority()).cloned();
//!             match known {
//!                 Some(svc) => self.token(ctx, &svc, ctx.scopes(), None).await,
//!                 None => Ok(None),
//!             }
//!         })
//!     }
//!
//!     fn challenge<'a>(
//!         &'a self,
//!         ctx: &'a AuthContext,
//!         challenges: &'a [Challenge],
//!         rejected: Option<&'a HeaderValue>,
//!     ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
//!         Box::pin(async move {
//!             let Some(c) = challenges.iter().find(|c| c.scheme() == "bearer") else {
//!                 return Ok(None);
//!             };
//!             let realm = checked_realm(ctx, c.param("realm").unwrap_or_default())?;
//!             let svc = (realm, c.param("service").unwrap_or_default().to_owned());
//!             let scopes = ctx
//!                 .scopes()
//!                 .union(&Scopes::parse_param(c.param("scope").unwrap_or_default()));
//!             self.services
//!                 .lock()
//!                 .unwrap()
//!                 .insert(ctx.authority().to_owned(), svc.clone());
//!             self.token(ctx, &svc, &scopes, rejected).await
//!         })
//!     }
//! }
//!
//! let client = HttpClient::builder()
//!     .authenticator(ApiKeyAuth {
//!         api_key: Secret::new("key-123"),
//!         tokens: TokenCache::new(),
//!         services: Mutex::default(),
//!     })
//!     .build()?;
//! # drop(client);
//! # Ok::<(), Error>(())

mod cache;
mod realm;
mod token;

pub use cache::{DEFAULT_LEEWAY, TokenCache};
pub use realm::{bearer, checked_realm};
pub use token::{DEFAULT_TOKEN_LIFETIME, Token, TokenKey, TokenResponse, jwt_expiry};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::secret::Secret;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn secrets_stay_out_of_debug() {
        let t = Token::new("s3cr3t-token", HOUR);
        assert!(!format!("{t:?}").contains("s3cr3t"), "{t:?}");
        let cache = TokenCache::new();
        assert!(!format!("{cache:?}").contains("s3cr3t"));
        let r: TokenResponse =
            serde_json::from_str(r#"{"token":"s3cr3t","refresh_token":"s3cr3t-r"}"#).unwrap();
        assert!(!format!("{r:?}").contains("s3cr3t"), "{r:?}");
        let h = bearer(&Secret::new("s3cr3t")).unwrap();
        assert!(h.is_sensitive());
        assert!(bearer(&Secret::new("bad\nvalue")).is_err());
    }
}
