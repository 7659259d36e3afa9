//! Azure AD (Entra ID) credentials: the [`TokenCredential`] trait the
//! [`AcrAuthenticator`](crate::AcrAuthenticator) asks for AAD access tokens,
//! and a static token ([`StaticTokenCredential`], also from the
//! `AZURE_ACCESS_TOKEN` environment variable).
//!
//! With the `azure-identity` cargo feature, `AzureIdentityCredential`
//! adapts any credential of the Azure SDK for Rust (managed identity,
//! workload identity, client secret, Azure CLI, …).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use registry_core::auth::BoxFuture;
use registry_core::{Error, ErrorKind, Secret};

/// The environment variable [`StaticTokenCredential::from_env`] reads.
pub const AZURE_ACCESS_TOKEN_ENV: &str = "AZURE_ACCESS_TOKEN";

/// An AAD access token and when it expires (what a [`TokenCredential`]
/// hands out; ACR's own tokens are [`AcrRefreshToken`](crate::AcrRefreshToken)
/// and [`AcrAccessToken`](crate::AcrAccessToken)). Its `Debug` hides the
/// token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// When it stops being valid, when known.
    pub expires_on: Option<SystemTime>,
}

impl AccessToken {
    /// A token with a known (or unknown) expiry.
    pub fn new(token: impl Into<Secret>, expires_on: Option<SystemTime>) -> AccessToken {
        AccessToken {
            token: token.into(),
            expires_on,
        }
    }

    /// A token whose expiry is read from its JWT `exp` claim, if it has one.
    ///
    /// ```
    /// use base64::Engine as _;
    /// let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
    /// let t = acr_auth::AccessToken::from_jwt(format!("e30.{payload}.sig"));
    /// let exp = t.expires_on.unwrap().duration_since(std::time::UNIX_EPOCH).unwrap();
    /// assert_eq!(exp.as_secs(), 1_700_000_000);
    /// ```
    pub fn from_jwt(token: impl Into<String>) -> AccessToken {
        let token = Secret::new(token.into());
        AccessToken {
            expires_on: jwt_expires_on(&token),
            token,
        }
    }
}

/// When a token expires: its JWT `exp`, when it has one.
pub(crate) fn jwt_expires_on(token: &Secret) -> Option<SystemTime> {
    registry_core::jwt_expiry(token.expose()).map(|exp| UNIX_EPOCH + Duration::from_secs(exp))
}

/// Something that hands out AAD access tokens for OAuth2 scopes (for ACR:
/// `https://containerregistry.azure.net/.default`).
///
/// Implementations may cache; the authenticator calls it only when it needs
/// a new ACR refresh token (about every three hours).
pub trait TokenCredential: Send + Sync + 'static {
    /// An access token valid for `scopes`.
    fn get_token<'a>(&'a self, scopes: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, Error>>;
}

impl<T: TokenCredential + ?Sized> TokenCredential for Arc<T> {
    fn get_token<'a>(&'a self, scopes: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, Error>> {
        (**self).get_token(scopes)
    }
}

/// A fixed AAD access token, e.g. from `az account get-access-token
/// --resource https://containerregistry.azure.net`.
///
/// ```
/// use acr_auth::StaticTokenCredential;
/// let cred = StaticTokenCredential::new("eyJ0eXAi...");
/// assert!(!format!("{cred:?}").contains("eyJ0"));
/// ```
#[derive(Clone)]
pub struct StaticTokenCredential {
    token: AccessToken,
}

impl StaticTokenCredential {
    /// Wraps a token; its expiry is read from the JWT `exp` when present.
    pub fn new(token: impl Into<String>) -> StaticTokenCredential {
        StaticTokenCredential {
            token: AccessToken::from_jwt(token),
        }
    }

    /// Reads the token from `AZURE_ACCESS_TOKEN`.
    pub fn from_env() -> Result<StaticTokenCredential, Error> {
        Self::from_env_var(AZURE_ACCESS_TOKEN_ENV)
    }

    /// Reads the token from the environment variable `name`.
    pub fn from_env_var(name: &str) -> Result<StaticTokenCredential, Error> {
        match std::env::var(name) {
            Ok(t) if !t.trim().is_empty() => Ok(StaticTokenCredential::new(t.trim())),
            _ => Err(Error::invalid_input(format!(
                "no AAD access token: the environment variable {name} is unset or empty"
            ))),
        }
    }
}

impl fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenCredential")
            .field("expires_on", &self.token.expires_on)
            .finish_non_exhaustive()
    }
}

impl TokenCredential for StaticTokenCredential {
    fn get_token<'a>(
        &'a self,
        _scopes: &'a [&'a str],
    ) -> BoxFuture<'a, Result<AccessToken, Error>> {
        Box::pin(async move {
            if let Some(exp) = self.token.expires_on
                && exp <= SystemTime::now()
            {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    "the static AAD access token has expired: get a new one",
                ));
            }
            Ok(self.token.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(exp: u64) -> String {
        let p =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
        format!("e30.{p}.sig")
    }

    #[tokio::test]
    async fn static_token_is_returned_until_it_expires() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let live = StaticTokenCredential::new(jwt(now + 600));
        let t = live.get_token(&["s/.default"]).await.unwrap();
        assert_eq!(t.token.expose(), jwt(now + 600));
        let dead = StaticTokenCredential::new(jwt(now - 10));
        let err = dead.get_token(&["s/.default"]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.to_string().contains("expired"));
        // Opaque tokens (not JWTs) have no known expiry and are always handed out.
        let opaque = StaticTokenCredential::new("opaque");
        assert!(opaque.get_token(&[]).await.is_ok());
    }

    #[test]
    fn env_var_missing_is_a_clear_error() {
        let err = StaticTokenCredential::from_env_var("ACR_AUTH_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("ACR_AUTH_TEST_SURELY_UNSET"));
    }
}
