//! [`Proxy`] and its builder: the public face of the recording proxy (request
//! log, rewrite and interception hooks, tag pagination switches, fault rules,
//! extra tag and repository names). The forwarding itself lives in the
//! `forward` module, the faults in `fault`, the connection handling in `conn`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Method, Response, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::conn;
use super::fault::{FaultRule, FaultSet};
use super::forward::ProxyState;
use super::log::{Logged, RequestLog};
use super::{glob_match, method_matches};
use crate::server::{self, Body, ServerHandle};

/// A request that went through a [`Proxy`] (bodies are not recorded).
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    /// Method.
    pub method: Method,
    /// Request target as received by the proxy.
    pub uri: Uri,
    /// Request headers as received.
    pub headers: HeaderMap,
    /// Status of the response head (502 if the upstream failed; 0 until
    /// answered). For a faulted response it is the status the registry
    /// answered, even if a fault kept the head from the client; 0 for a
    /// request that a [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter)
    /// cut (no response was sent).
    pub status: u16,
    /// Response body bytes handed to the client so far.
    pub(super) body_bytes: Arc<AtomicU64>,
    /// Request body bytes forwarded upstream so far.
    pub(super) request_bytes: Arc<AtomicU64>,
}

impl ProxiedRequest {
    /// The path of the request URI.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// A request header as a string (`None` if missing or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request's `Range` header (as the client sent it, also when a
    /// [`Fault::IgnoreRange`](super::Fault::IgnoreRange) kept it from the registry).
    pub fn range(&self) -> Option<&str> {
        self.header("range")
    }

    /// Response body bytes the proxy has handed to the client so far for this
    /// request (only those sent before a cut or reset; still growing while the
    /// body streams).
    pub fn body_bytes_sent(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }

    /// Request body bytes the proxy has forwarded to the registry so far for
    /// this request (with a [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter)
    /// cut, only those before the cut; 0 for an intercepted request; still
    /// growing while the body streams).
    pub fn request_body_bytes(&self) -> u64 {
        self.request_bytes.load(Ordering::Relaxed)
    }
}

impl Logged for ProxiedRequest {
    fn method(&self) -> &Method {
        &self.method
    }

    fn path(&self) -> &str {
        self.uri.path()
    }
}

/// A response rewrite: gets the request, the response head (mutable) and the
/// whole body, returns the new body (`Content-Length` is fixed up afterwards).
pub type RewriteFn =
    Arc<dyn Fn(&ProxiedRequest, &mut http::response::Parts, Bytes) -> Bytes + Send + Sync>;

/// An interception: returns `Some(response)` to answer a request without
/// forwarding it (e.g. inject a 503 or 429), `None` to forward it.
pub type InterceptFn = Arc<dyn Fn(&ProxiedRequest) -> Option<Response<Full<Bytes>>> + Send + Sync>;

/// A response rewrite registered with [`ProxyBuilder::rewrite_response`].
pub(super) struct Rewrite {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) hook: RewriteFn,
}

/// Configures a [`Proxy`]; see [`Proxy::builder`].
pub struct ProxyBuilder {
    upstream: String,
    ip: IpAddr,
    rewrites: Vec<Rewrite>,
    intercepts: Vec<InterceptFn>,
    paginate_tags: bool,
    tags_page_size: Option<usize>,
    faults: Vec<FaultRule>,
    extra_tags: Vec<(String, Vec<String>)>,
    extra_repositories: Vec<String>,
}

impl std::fmt::Debug for ProxyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyBuilder")
            .field("upstream", &self.upstream)
            .field("ip", &self.ip)
            .field("rewrites", &self.rewrites.len())
            .field("intercepts", &self.intercepts.len())
            .field("paginate_tags", &self.paginate_tags)
            .field("tags_page_size", &self.tags_page_size)
            .field("faults", &self.faults)
            .field("extra_tags", &self.extra_tags)
            .field("extra_repositories", &self.extra_repositories)
            .finish()
    }
}

impl ProxyBuilder {
    /// Listens on this loopback IP instead of 127.0.0.1.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Rewrites responses to requests matching `method` (`"*"` for any) and
    /// path glob `path` ([`glob_match`](super::glob_match)). Such responses are buffered whole.
    /// Rewrites run in the order added.
    pub fn rewrite_response(
        mut self,
        method: &str,
        path: &str,
        hook: impl Fn(&ProxiedRequest, &mut http::response::Parts, Bytes) -> Bytes
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.rewrites.push(Rewrite {
            method: method.to_owned(),
            path: path.to_owned(),
            hook: Arc::new(hook),
        });
        self
    }

    /// Corrupts blob downloads: every non-empty `200`/`206` body of
    /// `GET /v2/*/blobs/*` gets its first byte flipped (same length, wrong digest).
    pub fn corrupt_blobs(self) -> Self {
        self.rewrite_response("GET", "/v2/*/blobs/*", |_req, parts, body| {
            if !matches!(parts.status.as_u16(), 200 | 206) || body.is_empty() {
                return body;
            }
            let mut bytes = body.to_vec();
            bytes[0] ^= 0xff;
            Bytes::from(bytes)
        })
    }

    /// Corrupts the larger blob downloads: every `200`/`206` body of
    /// `GET /v2/*/blobs/*` longer than `min_len` bytes gets its middle byte
    /// flipped (same length, wrong digest); shorter ones pass untouched. With
    /// a `min_len` above the config's size, a client fetches the image config
    /// cleanly and must catch the bad layers.
    pub fn corrupt_blobs_larger_than(self, min_len: usize) -> Self {
        self.rewrite_response("GET", "/v2/*/blobs/*", move |_req, parts, body| {
            if !matches!(parts.status.as_u16(), 200 | 206) || body.len() <= min_len {
                return body;
            }
            let mut bytes = body.to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            Bytes::from(bytes)
        })
    }

    /// Answers some requests itself: `f` returns `Some(response)` to answer,
    /// `None` to forward. Interceptions run before forwarding, in the order added.
    pub fn intercept(
        mut self,
        f: impl Fn(&ProxiedRequest) -> Option<Response<Full<Bytes>>> + Send + Sync + 'static,
    ) -> Self {
        self.intercepts.push(Arc::new(f));
        self
    }

    /// Implements `n`/`last` pagination of `GET /v2/<name>/tags/list` (which
    /// distribution 2.8 ignores): tags are sorted, those `<= last` dropped, at
    /// most `n` returned, and a `Link: </v2/<name>/tags/list?last=..&n=..>; rel="next"`
    /// header is added when more remain. Without `n` the full list is returned
    /// unless [`ProxyBuilder::tags_page_size`] is set.
    pub fn paginate_tags(mut self) -> Self {
        self.paginate_tags = true;
        self
    }

    /// Like [`ProxyBuilder::paginate_tags`], and pages by `n` even when the
    /// client does not ask (as Docker Hub and others do).
    pub fn tags_page_size(mut self, n: usize) -> Self {
        self.paginate_tags = true;
        self.tags_page_size = Some(n);
        self
    }

    /// Injects a fault into the forwarded responses `rule` selects (see
    /// [`FaultRule`] for how rules combine, [`Proxy::fault_counts`] for how
    /// often each fired). Intercepted requests get no faults.
    ///
    /// ```no_run
    /// use test_support::{Fault, FaultRule};
    /// # async fn demo() {
    /// let registry = test_support::TestRegistry::anonymous().await;
    /// let proxy = registry
    ///     .proxy_builder()
    ///     .fault(FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAtHalf).times_per_path(1))
    ///     .start()
    ///     .await;
    /// // ... pull through proxy.url(): every blob download is cut once ...
    /// assert!(proxy.faults_applied() > 0);
    /// # }
    /// ```
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Appends `tags` (which may be hostile: control characters, escapes) to
    /// the `tags` of every `200` answer to `GET /v2/<name>/tags/list` whose
    /// `<name>` matches `repo_glob`. With [`ProxyBuilder::paginate_tags`] they
    /// are paged like the others.
    pub fn add_tags(mut self, repo_glob: &str, tags: Vec<String>) -> Self {
        self.extra_tags.push((repo_glob.to_owned(), tags));
        self
    }

    /// Appends `repositories` (which may be hostile) to the `repositories` of
    /// every `200` answer to `GET /v2/_catalog` that is the last page (has no
    /// `Link` header).
    pub fn add_repositories(mut self, repositories: Vec<String>) -> Self {
        self.extra_repositories.extend(repositories);
        self
    }

    /// Starts the proxy on the current tokio runtime.
    pub async fn start(self) -> Proxy {
        let upstream: Uri = self.upstream.parse().expect("upstream is a valid URL");
        let authority = upstream
            .authority()
            .expect("upstream URL has a host")
            .clone();
        let scheme = upstream
            .scheme()
            .cloned()
            .unwrap_or(http::uri::Scheme::HTTP);
        let client: Client<HttpConnector, Body> =
            Client::builder(TokioExecutor::new()).build_http();
        let listener = server::bind(self.ip, 0).await;
        let addr = listener.local_addr().expect("local addr");
        let requests = RequestLog::new();
        let faults = Arc::new(FaultSet::new(self.faults));
        let state = Arc::new(ProxyState {
            client,
            scheme,
            authority,
            addr,
            rewrites: self.rewrites,
            intercepts: self.intercepts,
            paginate_tags: self.paginate_tags,
            tags_page_size: self.tags_page_size,
            requests: requests.clone(),
            faults: faults.clone(),
            extra_tags: self.extra_tags,
            extra_repositories: self.extra_repositories,
        });
        let handle = conn::spawn(
            listener,
            Arc::new(move |req, conn| {
                let state = state.clone();
                Box::pin(async move { state.handle(req, conn).await })
            }),
        );
        Proxy {
            handle,
            upstream: self.upstream,
            requests,
            faults,
        }
    }
}

/// A running proxy in front of an upstream (normally a [`crate::TestRegistry`]);
/// stops when dropped. The client's `Host` header is forwarded unchanged, so
/// the registry's upload `Location`s point back at the proxy.
///
/// ```no_run
/// # async fn demo() {
/// let registry = test_support::TestRegistry::anonymous().await;
/// let proxy = registry.proxy_builder().paginate_tags().start().await;
/// // ... point the client at proxy.url() ...
/// assert_eq!(proxy.count("PUT", "/v2/*/blobs/uploads/*"), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct Proxy {
    handle: ServerHandle,
    upstream: String,
    requests: RequestLog<ProxiedRequest>,
    faults: Arc<FaultSet>,
}

impl Proxy {
    /// A builder forwarding to `upstream` (e.g. `http://127.0.0.1:5000`).
    pub fn builder(upstream: impl Into<String>) -> ProxyBuilder {
        ProxyBuilder {
            upstream: upstream.into(),
            ip: server::LOCALHOST,
            rewrites: Vec::new(),
            intercepts: Vec::new(),
            paginate_tags: false,
            tags_page_size: None,
            faults: Vec::new(),
            extra_tags: Vec::new(),
            extra_repositories: Vec::new(),
        }
    }

    /// Starts a plain pass-through proxy to `upstream`.
    pub async fn start(upstream: impl Into<String>) -> Proxy {
        Self::builder(upstream).start().await
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr()
    }

    /// `IP:PORT`.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The upstream URL.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Every request answered so far, in the order their responses started
    /// (a request cut by [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter)
    /// when it was cut).
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.requests.all()
    }

    /// How many requests were answered so far.
    pub fn request_count(&self) -> usize {
        self.requests.len()
    }

    /// How many requests matched `method` (`"*"` for any) and path glob `path` (see [`glob_match`](super::glob_match)).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests.count(method, path)
    }

    /// Forgets the recorded requests (and with them the byte counts of
    /// [`Proxy::body_bytes_sent`]; fault counts stay).
    pub fn clear_requests(&self) {
        self.requests.clear();
    }

    /// The response body bytes the proxy handed to the client for the recorded
    /// requests matching `method` (`"*"` for any) and path glob `path`: with a
    /// cut or reset, only the bytes sent before it. Counted as the body streams.
    pub fn body_bytes_sent(&self, method: &str, path: &str) -> u64 {
        self.requests
            .all()
            .iter()
            .filter(|r| method_matches(method, &r.method) && glob_match(path, r.path()))
            .map(ProxiedRequest::body_bytes_sent)
            .sum()
    }

    /// How many times a fault fired, all rules together.
    pub fn faults_applied(&self) -> usize {
        self.faults.counts().iter().sum()
    }

    /// How many times each [`FaultRule`] fired, in the order they were added.
    pub fn fault_counts(&self) -> Vec<usize> {
        self.faults.counts()
    }
}
