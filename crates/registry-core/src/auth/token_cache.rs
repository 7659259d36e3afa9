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
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::HeaderValue;
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::{AuthContext, Scopes};
use crate::error::Error;
use crate::secret::Secret;

/// The lifetime assumed for a token that states none (neither `expires_in`
/// nor a JWT `exp`): the Docker token spec's default, 60 s.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The most a [`TokenCache::new`] cache replaces a token before it expires
/// (and at most a fifth of its lifetime).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

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
    value: Secret,
    issued: Instant,
    expires: Instant,
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

/// How long before its expiry a cached token is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leeway {
    /// At most this, and at most a fifth of the token's lifetime.
    Proportional(Duration),
    /// Exactly this (a shorter-lived token is replaced on every use).
    Fixed(Duration),
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// Bearer tokens cached per [`TokenKey`], fetched once however many callers
/// wait for them, and replaced a leeway before they expire.
///
/// Cloning is cheap; clones share the cache. See the [module
/// documentation](crate::auth::token_cache) for an authenticator built on it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), registry_core::Error> {
/// use std::time::Duration;
/// use registry_core::auth::{Scopes, Token, TokenCache, TokenKey};
/// let cache = TokenCache::new();
/// let key = TokenKey::new("https://auth.example/token", "registry.example", Scopes::default());
/// let fetch = || async { Ok(Token::new("t1", Duration::from_secs(300))) };
/// assert_eq!(cache.get_or_fetch(&key, fetch).await?.expose(), "t1");
/// // Cached: the second fetch is never called.
/// let t = cache.get_or_fetch(&key, || async { unreachable!() }).await?;
/// assert_eq!(t.expose(), "t1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<TokenKey, Slot>>>,
    leeway: Leeway,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("keys", &self.lock().len())
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl TokenCache {
    /// A cache replacing tokens [`DEFAULT_LEEWAY`] (at most a fifth of their
    /// lifetime) before they expire: a 300 s token is used for 270 s, a 2 s
    /// one for 1.6 s.
    pub fn new() -> TokenCache {
        TokenCache::with(Leeway::Proportional(DEFAULT_LEEWAY))
    }

    /// A cache replacing tokens `leeway` before they expire, however long
    /// they live (a token living less than `leeway` is fetched anew on every
    /// use).
    pub fn with_leeway(leeway: Duration) -> TokenCache {
        TokenCache::with(Leeway::Fixed(leeway))
    }

    fn with(leeway: Leeway) -> TokenCache {
        TokenCache {
            slots: Arc::default(),
            leeway,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self, key: &TokenKey) -> Slot {
        self.lock().entry(key.clone()).or_default().clone()
    }

    /// When this cache replaces `token`.
    pub fn refresh_at(&self, token: &Token) -> Instant {
        let leeway = match self.leeway {
            Leeway::Proportional(max) => (token.lifetime() / 5).min(max),
            Leeway::Fixed(leeway) => leeway,
        };
        token
            .expires
            .checked_sub(leeway)
            .map_or(token.issued, |t| t.max(token.issued))
    }

    fn is_fresh(&self, token: &Token) -> bool {
        Instant::now() < self.refresh_at(token)
    }

    /// The token for `key`: the cached one while it is fresh, else the one
    /// `fetch` returns (cached unless it failed). Callers asking for the same
    /// key meanwhile wait for this fetch; other keys are not held up.
    pub async fn get_or_fetch<F, Fut>(&self, key: &TokenKey, fetch: F) -> Result<Secret, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, Error>>,
    {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref()
            && self.is_fresh(t)
        {
            return Ok(t.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets the token of `key`: the next [`get_or_fetch`](Self::get_or_fetch)
    /// fetches.
    pub async fn invalidate(&self, key: &TokenKey) {
        let slot = self.slot(key);
        *slot.lock().await = None;
    }

    /// Forgets the token of `key` if it is `stale`; a token another caller
    /// fetched meanwhile is kept. Returns whether it was forgotten.
    pub async fn invalidate_if(&self, key: &TokenKey, stale: &Secret) -> bool {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == *stale) {
            *cached = None;
            true
        } else {
            false
        }
    }

    /// After a `401`: forgets the token of `key` if `rejected` (the refused
    /// `Authorization` header) is `Bearer <it>`. Returns whether it was
    /// forgotten; `false` when `rejected` is `None`.
    pub async fn invalidate_rejected(
        &self,
        key: &TokenKey,
        rejected: Option<&HeaderValue>,
    ) -> bool {
        let Some(token) = rejected
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.invalidate_if(key, &Secret::new(token)).await
    }
}

/// The `Authorization: Bearer …` header for `token`, marked sensitive (so
/// that it is never logged).
///
/// ```
/// let h = registry_core::auth::bearer(&registry_core::Secret::new("t0k3n")).unwrap();
/// assert_eq!(h, "Bearer t0k3n");
/// assert!(h.is_sensitive());
/// ```
pub fn bearer(token: &Secret) -> Result<HeaderValue, Error> {
    let mut h = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| Error::protocol("the token contains characters not allowed in a header"))?;
    h.set_sensitive(true);
    Ok(h)
}

/// The `realm` of a Bearer challenge, checked before credentials go to it:
/// it must be an `https` URL, or `http` when the registry itself is spoken
/// to over plain HTTP.
pub fn checked_realm(ctx: &AuthContext, realm: &str) -> Result<Url, Error> {
    let url = Url::parse(realm).map_err(|e| {
        Error::protocol(format!(
            "the token realm {realm:?} of {} is not a URL",
            ctx.authority()
        ))
        .with_source(e)
    })?;
    let allowed = match url.scheme() {
        "https" => true,
        // Credentials go over plain HTTP only to a registry that is itself
        // spoken to over plain HTTP (a realm on a loopback host is no
        // exception: an HTTPS registry must not send them in clear text).
        "http" => ctx.is_plain_http(),
        _ => false,
    };
    if !allowed {
        let why = if ctx.is_plain_http() {
            "neither https nor http".to_owned()
        } else {
            format!("not https while the registry {} is", ctx.authority())
        };
        return Err(Error::protocol(format!(
            "refusing token realm {url}: {why}"
        )));
    }
    Ok(url)
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
    /// `expires_in`), ready for a [`TokenCache`].
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http::{Method, Uri};

    use super::*;
    use crate::auth::Scope;
    use crate::client::HttpClient;

    fn key(repo: &str) -> TokenKey {
        TokenKey::new(
            "https://auth.example/token",
            "registry.example",
            Scopes::new([Scope::repository(repo, &["pull"])]),
        )
    }

    /// A fetch counting its calls, taking `delay`, returning `t<n>` valid
    /// for `lifetime`.
    fn counted(
        calls: &Arc<AtomicUsize>,
        delay: Duration,
        lifetime: Duration,
    ) -> impl Future<Output = Result<Token, Error>> + Send + 'static {
        let calls = calls.clone();
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            Ok(Token::new(format!("t{n}"), lifetime))
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_for_one_key_share_one_fetch() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&key("a"), || counted(&calls, Duration::from_secs(1), HOUR))
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Later callers get it from the cache.
        let t = cache
            .get_or_fetch(&key("a"), || counted(&calls, Duration::ZERO, HOUR))
            .await
            .unwrap();
        assert_eq!(t.expose(), "t1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn distinct_keys_fetch_concurrently_and_independently() {
        let cache = TokenCache::new();
        // Each fetch waits for the other to have started: they can only both
        // finish when they run at the same time.
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let fetch = |name: &'static str| {
            let (cache, barrier) = (cache.clone(), barrier.clone());
            tokio::spawn(async move {
                cache
                    .get_or_fetch(&key(name), || async move {
                        barrier.wait().await;
                        Ok(Token::new(name, HOUR))
                    })
                    .await
            })
        };
        let (a, b) = (fetch("a"), fetch("b"));
        let both = tokio::time::timeout(Duration::from_secs(10), async {
            (a.await.unwrap().unwrap(), b.await.unwrap().unwrap())
        })
        .await
        .expect("a fetch for another key held this one up");
        assert_eq!((both.0.expose(), both.1.expose()), ("a", "b"));
        // Invalidating one key leaves the other alone.
        cache.invalidate(&key("a")).await;
        let calls = Arc::new(AtomicUsize::new(0));
        let b = cache
            .get_or_fetch(&key("b"), || counted(&calls, Duration::ZERO, HOUR))
            .await
            .unwrap();
        assert_eq!(b.expose(), "b");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let a = cache
            .get_or_fetch(&key("a"), || counted(&calls, Duration::ZERO, HOUR))
            .await
            .unwrap();
        assert_eq!(a.expose(), "t1");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_within_the_leeway_are_fetched_again() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let a = key("a");
        let get = || {
            cache.get_or_fetch(&a, || {
                counted(&calls, Duration::ZERO, Duration::from_secs(60))
            })
        };
        assert_eq!(get().await.unwrap().expose(), "t1");
        // A 60 s token is replaced a fifth of its lifetime early, at 48 s.
        tokio::time::advance(Duration::from_secs(47)).await;
        assert_eq!(get().await.unwrap().expose(), "t1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(get().await.unwrap().expose(), "t2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Long-lived tokens: at most DEFAULT_LEEWAY early.
        let t = Token::new("x", HOUR);
        assert_eq!(t.expires_at() - cache.refresh_at(&t), DEFAULT_LEEWAY);

        // A fixed leeway, however short the token's life.
        let cache = TokenCache::with_leeway(Duration::from_secs(300));
        let t = Token::new("x", 3 * HOUR);
        assert_eq!(
            t.expires_at() - cache.refresh_at(&t),
            Duration::from_secs(300)
        );
        let calls = Arc::new(AtomicUsize::new(0));
        for n in 1..=2 {
            let t = cache
                .get_or_fetch(&key("a"), || {
                    counted(&calls, Duration::ZERO, Duration::from_secs(240))
                })
                .await
                .unwrap();
            assert_eq!(
                t.expose(),
                format!("t{n}"),
                "within the leeway from the start"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_drops_only_the_token_it_names() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let a = key("a");
        let get = || cache.get_or_fetch(&a, || counted(&calls, Duration::ZERO, HOUR));
        assert_eq!(get().await.unwrap().expose(), "t1");
        cache.invalidate(&key("a")).await;
        assert_eq!(get().await.unwrap().expose(), "t2");

        // A 401 to t2: dropped, once. A second 401 to t2 (another request
        // sent with it) keeps the t3 fetched meanwhile.
        let t2 = bearer(&Secret::new("t2")).unwrap();
        assert!(cache.invalidate_rejected(&key("a"), Some(&t2)).await);
        assert_eq!(get().await.unwrap().expose(), "t3");
        assert!(!cache.invalidate_rejected(&key("a"), Some(&t2)).await);
        assert!(!cache.invalidate_rejected(&key("a"), None).await);
        let basic = HeaderValue::from_static("Basic dDM=");
        assert!(!cache.invalidate_rejected(&key("a"), Some(&basic)).await);
        assert_eq!(get().await.unwrap().expose(), "t3");

        assert!(!cache.invalidate_if(&key("a"), &Secret::new("t1")).await);
        assert!(cache.invalidate_if(&key("a"), &Secret::new("t3")).await);
        assert_eq!(get().await.unwrap().expose(), "t4");
        // Other keys never had anything to drop.
        assert!(!cache.invalidate_if(&key("b"), &Secret::new("t4")).await);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_not_cached() {
        let cache = TokenCache::new();
        let err = cache
            .get_or_fetch(&key("a"), || async {
                Err(Error::protocol("token service down"))
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("down"), "{err}");
        let calls = Arc::new(AtomicUsize::new(0));
        let t = cache
            .get_or_fetch(&key("a"), || counted(&calls, Duration::ZERO, HOUR))
            .await
            .unwrap();
        assert_eq!(t.expose(), "t1");
    }

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

    #[test]
    fn realms_must_be_https_unless_the_registry_is_plain_http() {
        let client = HttpClient::builder().build().unwrap();
        let ctx = |registry: &str| {
            AuthContext::new(
                Method::GET,
                registry.parse::<Uri>().unwrap(),
                Scopes::default(),
                client.clone(),
            )
        };
        let tls = ctx("https://registry.example/v2/");
        let plain = ctx("http://registry.example:5000/v2/");
        let ok = |c: &AuthContext, realm: &str| checked_realm(c, realm).is_ok();
        assert!(ok(&tls, "https://auth.example/token"));
        assert!(ok(&plain, "https://auth.example/token"));
        assert!(ok(&plain, "http://auth.example/token"));
        // An HTTPS registry never sends credentials in clear text, not
        // even to a loopback realm.
        assert!(!ok(&tls, "http://127.0.0.1:5001/token"));
        assert!(!ok(&tls, "http://localhost:5001/token"));
        let err = checked_realm(&tls, "http://auth.example/token").unwrap_err();
        assert!(err.to_string().contains("refusing token realm"), "{err}");
        assert!(err.to_string().contains("registry.example"), "{err}");
        // Only http(s), even for a plain-HTTP registry.
        assert!(!ok(&plain, "ftp://auth.example/token"));
        assert!(!ok(&plain, "file:///etc/passwd"));
        let err = checked_realm(&plain, "").unwrap_err();
        assert!(err.to_string().contains("is not a URL"), "{err}");
        assert_eq!(
            checked_realm(&tls, "https://Auth.Example/token")
                .unwrap()
                .as_str(),
            "https://auth.example/token"
        );
    }
}
