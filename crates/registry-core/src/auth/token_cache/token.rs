//! Tokens and what they are for: [`TokenKey`], [`Token`] (with its expiry,
//! from `expires_in` or a JWT `exp`), [`TokenResponse`] and [`jwt_expiry`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;
use tokio::time::Instant;

use crate::auth::Scopes;
use crate::secret::Secret;

/// The lifetime assumed for a token that states none (neither `expires_in`
/// nor a JWT `exp`): the Docker token spec's default, 60 s.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// What a cached token is for: its token service (`realm`, `service`) and
/// the scopes it was asked for.
///
/// ```
/// use registry_core::auth::{Scope, Scopes, TokenKey};
/// let pull = Scopes::new([Scope::repository("app", &["pull"])]);
/// let a = TokenKey::new("https://auth.example/token", "registry.example", pull.clone());
/// assert_eq!(a, TokenKey::new("https://auth.example/token", "registry.example", pull));
/// assert_ne!(a, TokenKey::new("https://auth.example/token", "registry.example", Scopes::default()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    realm: String,
    service: String,
    scopes: Scopes,
}

impl TokenKey {
    /// The key of tokens from `realm` for `service` and `scopes`.
    pub fn new(realm: impl Into<String>, service: impl Into<String>, scopes: Scopes) -> TokenKey {
        TokenKey {
            realm: realm.into(),
            service: service.into(),
            scopes,
        }
    }

    /// The token endpoint.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `service` parameter.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
}

/// A fetched token and when it expires. Its `Debug` hides the value.
#[derive(Clone)]
pub struct Token {
    pub(super) value: Secret,
    pub(super) issued: Instant,
    pub(super) expires: Instant,
}

impl Token {
    /// A token valid for `lifetime` from now.
    pub fn new(value: impl Into<Secret>, lifetime: Duration) -> Token {
        let issued = Instant::now();
        Token {
            value: value.into(),
            issued,
            expires: issued + lifetime,
        }
    }

    /// A token valid until the earlier of `expires_in` and its JWT `exp`
    /// ([`jwt_expiry`]); [`DEFAULT_TOKEN_LIFETIME`] when it states neither.
    ///
    /// ```
    /// use std::time::Duration;
    /// use registry_core::auth::Token;
    /// let t = Token::expiring("opaque", Some(Duration::from_secs(300)));
    /// assert_eq!(t.lifetime(), Duration::from_secs(300));
    /// assert_eq!(Token::expiring("opaque", None).lifetime(), Duration::from_secs(60));
    /// ```
    pub fn expiring(value: impl Into<Secret>, expires_in: Option<Duration>) -> Token {
        let value = value.into();
        let from_jwt = jwt_expiry(value.expose()).map(|exp| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            Duration::from_secs(exp.saturating_sub(now))
        });
        let lifetime = match (expires_in, from_jwt) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => DEFAULT_TOKEN_LIFETIME,
        };
        Token::new(value, lifetime)
    }

    /// The token itself.
    pub fn value(&self) -> &Secret {
        &self.value
    }

    /// When it expires.
    pub fn expires_at(&self) -> Instant {
        self.expires
    }

    /// How long it was valid for when it was made.
    pub fn lifetime(&self) -> Duration {
        self.expires - self.issued
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &self.value)
            .field("lifetime", &self.lifetime())
            .finish_non_exhaustive()
    }
}

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

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

    /// The access token with its expiry ([`Token::expiring`] with
    /// `expires_in`), ready for a [`TokenCache`](super::TokenCache).
    ///
    /// ```
    /// let r: registry_core::auth::TokenResponse =
    ///     serde_json::from_str(r#"{"token":"t","expires_in":300}"#).unwrap();
    /// assert_eq!(r.token().unwrap().lifetime().as_secs(), 300);
    /// ```
    pub fn token(&self) -> Option<Token> {
        self.access_token()
            .map(|t| Token::expiring(t, self.expires_in.map(Duration::from_secs)))
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn token_lifetime_from_expires_in_and_jwt_exp() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"exp":{}}}"#, now + 100));
        let jwt = format!("e30.{payload}.sig");
        let secs = |t: Token| t.lifetime().as_secs();
        // The earlier of the two wins.
        assert!((99..=100).contains(&secs(Token::expiring(jwt.as_str(), None))));
        let long = Some(Duration::from_secs(600));
        assert!((99..=100).contains(&secs(Token::expiring(jwt.as_str(), long))));
        let short = Some(Duration::from_secs(10));
        assert_eq!(secs(Token::expiring(jwt.as_str(), short)), 10);
        assert_eq!(secs(Token::expiring("opaque", None)), 60);
        assert_eq!(jwt_expiry("not.a-jwt.at-all"), None);
    }
}
