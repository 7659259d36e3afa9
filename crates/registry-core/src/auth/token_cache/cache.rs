//! [`TokenCache`]: tokens per [`TokenKey`], fetched once however many
//! callers wait (single flight per key), replaced a leeway before they
//! expire, and invalidated after a `401`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderValue;
use tokio::time::Instant;

use super::token::{Token, TokenKey};
use crate::error::Error;
use crate::secret::Secret;

/// The most a [`TokenCache::new`] cache replaces a token before it expires
/// (and at most a fifth of its lifetime).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::auth::token_cache::bearer;
    use crate::auth::{Scope, Scopes};

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
}
