//! Fake HTTP servers and a counting/rewriting proxy for tests.
//!
//! - [`FakeServer`]: a hyper server on a loopback address (127.0.0.1 by
//!   default, or e.g. 127.0.0.2 via [`FakeServer::start_on`], which Linux
//!   routes to `lo` too: handy for "another host" in redirect tests) that hands
//!   every request, body collected, to your async handler and records it.
//! - [`Proxy`]: a forwarding proxy in front of a real registry that records
//!   every request (method, path, status) so tests can count them
//!   ([`Proxy::count`]), can answer some requests itself ([`ProxyBuilder::intercept`]),
//!   can rewrite responses ([`ProxyBuilder::rewrite_response`],
//!   [`ProxyBuilder::corrupt_blobs`]) and can add tag-list pagination, which
//!   distribution 2.8 lacks ([`ProxyBuilder::paginate_tags`]). Bodies stream
//!   through without being buffered, except responses a rewrite applies to.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, LINK};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::server::{self, Body, BoxError, ServerHandle};

/// A request as received by a [`FakeServer`], body included.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method.
    pub method: Method,
    /// Request target as received (path and query; absolute for HTTP/2).
    pub uri: Uri,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The path of the request URI.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The first value of header `name` as a string, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Builds a response with `status` and `body` (no content type).
pub fn response(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .expect("valid status")
}

/// Builds a JSON response with `status`.
pub fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = response(status, body.to_string());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters
/// (slashes included) and everything else is literal.
///
/// `glob_match("/v2/*/blobs/*", "/v2/a/b/blobs/sha256:00")` is true.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn method_matches(pattern: &str, method: &Method) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(method.as_str())
}

type Handler =
    Arc<dyn Fn(Request<Bytes>) -> server::BoxFuture<Response<Full<Bytes>>> + Send + Sync>;

/// A fake HTTP server with a user-supplied handler; stops when dropped.
///
/// ```no_run
/// # async fn demo() {
/// use test_support::http::{FakeServer, response};
/// let fake = FakeServer::start(|req| async move {
///     if req.uri().path() == "/v2/" { response(200, "{}") } else { response(404, "") }
/// })
/// .await;
/// // ... point the client at fake.url() ...
/// assert_eq!(fake.request_count(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct FakeServer {
    handle: ServerHandle,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl FakeServer {
    /// Starts on 127.0.0.1, a free port.
    pub async fn start<F, Fut>(handler: F) -> FakeServer
    where
        F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        Self::start_on(server::LOCALHOST, handler).await
    }

    /// Starts on `ip` (any loopback address such as 127.0.0.2), a free port.
    pub async fn start_on<F, Fut>(ip: IpAddr, handler: F) -> FakeServer
    where
        F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |req| Box::pin(handler(req)));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let listener = server::bind(ip, 0).await;
        let handle = server::spawn(
            listener,
            Arc::new(move |req: Request<Incoming>| {
                let handler = handler.clone();
                let log = log.clone();
                Box::pin(async move {
                    let (parts, body) = req.into_parts();
                    let body = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) => {
                            return Response::builder()
                                .status(StatusCode::BAD_REQUEST)
                                .body(server::full(format!("reading request body: {e}")))
                                .expect("valid response");
                        }
                    };
                    log.lock()
                        .expect("request log poisoned")
                        .push(RecordedRequest {
                            method: parts.method.clone(),
                            uri: parts.uri.clone(),
                            headers: parts.headers.clone(),
                            body: body.clone(),
                        });
                    let resp = handler(Request::from_parts(parts, body)).await;
                    resp.map(|b| b.map_err(|never| match never {}).boxed())
                })
            }),
        );
        FakeServer { handle, requests }
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

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("request log poisoned").clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.requests.lock().expect("request log poisoned").len()
    }

    /// How many requests matched `method` (`"*"` for any) and path glob `path` (see [`glob_match`]).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests
            .lock()
            .expect("request log poisoned")
            .iter()
            .filter(|r| method_matches(method, &r.method) && glob_match(path, r.uri.path()))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.requests.lock().expect("request log poisoned").clear();
    }
}

/// A request that went through a [`Proxy`] (bodies are not recorded).
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    /// Method.
    pub method: Method,
    /// Request target as received by the proxy.
    pub uri: Uri,
    /// Request headers as received.
    pub headers: HeaderMap,
    /// Status sent back to the client (502 if the upstream failed; 0 until answered).
    pub status: u16,
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
}

/// A response rewrite: gets the request, the response head (mutable) and the
/// whole body, returns the new body (`Content-Length` is fixed up afterwards).
pub type RewriteFn =
    Arc<dyn Fn(&ProxiedRequest, &mut http::response::Parts, Bytes) -> Bytes + Send + Sync>;

/// An interception: returns `Some(response)` to answer a request without
/// forwarding it (e.g. inject a 503 or 429), `None` to forward it.
pub type InterceptFn = Arc<dyn Fn(&ProxiedRequest) -> Option<Response<Full<Bytes>>> + Send + Sync>;

struct Rewrite {
    method: String,
    path: String,
    hook: RewriteFn,
}

/// Configures a [`Proxy`]; see [`Proxy::builder`].
pub struct ProxyBuilder {
    upstream: String,
    ip: IpAddr,
    rewrites: Vec<Rewrite>,
    intercepts: Vec<InterceptFn>,
    paginate_tags: bool,
    tags_page_size: Option<usize>,
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
    /// path glob `path` ([`glob_match`]). Such responses are buffered whole.
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
        let client: Client<HttpConnector, Incoming> =
            Client::builder(TokioExecutor::new()).build_http();
        let listener = server::bind(self.ip, 0).await;
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
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
        });
        let handle = server::spawn(
            listener,
            Arc::new(move |req| {
                let state = state.clone();
                Box::pin(async move { state.handle(req).await })
            }),
        );
        Proxy {
            handle,
            upstream: self.upstream,
            requests,
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
    requests: Arc<Mutex<Vec<ProxiedRequest>>>,
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

    /// Every request answered so far, in the order their responses started.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.requests.lock().expect("request log poisoned").clone()
    }

    /// How many requests were answered so far.
    pub fn request_count(&self) -> usize {
        self.requests.lock().expect("request log poisoned").len()
    }

    /// How many requests matched `method` (`"*"` for any) and path glob `path` (see [`glob_match`]).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests
            .lock()
            .expect("request log poisoned")
            .iter()
            .filter(|r| method_matches(method, &r.method) && glob_match(path, r.uri.path()))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.requests.lock().expect("request log poisoned").clear();
    }
}

struct ProxyState {
    client: Client<HttpConnector, Incoming>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    addr: SocketAddr,
    rewrites: Vec<Rewrite>,
    intercepts: Vec<InterceptFn>,
    paginate_tags: bool,
    tags_page_size: Option<usize>,
    requests: Arc<Mutex<Vec<ProxiedRequest>>>,
}

/// Headers that apply to one connection only and must not be forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn query_params(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The repository name of a `/v2/<name>/tags/list` path.
fn tags_list_name(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/")?
        .strip_suffix("/tags/list")
        .filter(|n| !n.is_empty())
}

impl ProxyState {
    fn record(&self, info: &ProxiedRequest, status: u16) {
        let mut entry = info.clone();
        entry.status = status;
        self.requests
            .lock()
            .expect("request log poisoned")
            .push(entry);
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let info = ProxiedRequest {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
            status: 0,
        };
        for intercept in &self.intercepts {
            if let Some(resp) = intercept(&info) {
                self.record(&info, resp.status().as_u16());
                return resp.map(|b| b.map_err(|never| match never {}).boxed());
            }
        }

        let tags_name = (self.paginate_tags && info.method == Method::GET)
            .then(|| tags_list_name(info.path()))
            .flatten()
            .map(str::to_owned);
        let (mut parts, body) = req.into_parts();
        let path_and_query = match &tags_name {
            // Ask upstream for everything; the proxy does the paging.
            Some(_) => info.path().to_owned(),
            None => parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .to_owned(),
        };
        parts.uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .expect("valid upstream URI");
        strip_hop_by_hop(&mut parts.headers);
        if !parts.headers.contains_key(HOST) {
            let host = info
                .uri
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_else(|| self.addr.to_string());
            parts
                .headers
                .insert(HOST, HeaderValue::from_str(&host).expect("valid host"));
        }
        parts.version = http::Version::HTTP_11;

        let upstream = match self.client.request(Request::from_parts(parts, body)).await {
            Ok(resp) => resp,
            Err(e) => {
                self.record(&info, 502);
                return Response::builder()
                    .status(StatusCode::BAD_GATEWAY)
                    .body(server::full(format!("proxy: upstream request failed: {e}")))
                    .expect("valid response");
            }
        };
        let (mut parts, body) = upstream.into_parts();
        strip_hop_by_hop(&mut parts.headers);

        let rewrites: Vec<&Rewrite> = self
            .rewrites
            .iter()
            .filter(|r| method_matches(&r.method, &info.method) && glob_match(&r.path, info.path()))
            .collect();
        let response = if rewrites.is_empty() && tags_name.is_none() {
            Response::from_parts(parts, body.map_err(BoxError::from).boxed())
        } else {
            let mut bytes = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    self.record(&info, 502);
                    return Response::builder()
                        .status(StatusCode::BAD_GATEWAY)
                        .body(server::full(format!(
                            "proxy: reading upstream body failed: {e}"
                        )))
                        .expect("valid response");
                }
            };
            if let Some(name) = &tags_name {
                bytes = self.paginate(name, &info, &mut parts, bytes);
            }
            for rewrite in rewrites {
                bytes = (rewrite.hook)(&info, &mut parts, bytes);
            }
            if info.method != Method::HEAD {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            }
            Response::from_parts(parts, server::full(bytes))
        };
        self.record(&info, response.status().as_u16());
        response
    }

    fn paginate(
        &self,
        name: &str,
        info: &ProxiedRequest,
        parts: &mut http::response::Parts,
        body: Bytes,
    ) -> Bytes {
        if parts.status != StatusCode::OK {
            return body;
        }
        let params = query_params(&info.uri);
        let param = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let n = match param("n").map(str::parse::<usize>) {
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => None,
            None => self.tags_page_size,
        };
        let last = param("last");
        let Ok(mut doc) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        let mut tags: Vec<String> = doc["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        if let Some(last) = last {
            tags.retain(|t| t.as_str() > last);
        }
        if let Some(n) = n
            && tags.len() > n
        {
            tags.truncate(n);
            if let Some(last_tag) = tags.last() {
                let link = format!(
                    "</v2/{name}/tags/list?last={}&n={n}>; rel=\"next\"",
                    utf8_percent_encode(last_tag, NON_ALPHANUMERIC)
                );
                parts
                    .headers
                    .insert(LINK, HeaderValue::from_str(&link).expect("valid link"));
            }
        }
        doc["tags"] = Value::from(tags);
        Bytes::from(doc.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/v2/*/blobs/*", "/v2/a/b/blobs/sha256:00"));
        assert!(glob_match("/v2/", "/v2/"));
        assert!(glob_match("*", ""));
        assert!(glob_match("/v2/*/tags/list", "/v2/x/tags/list"));
        assert!(!glob_match("/v2/*/tags/list", "/v2/x/tags/list2"));
        assert!(!glob_match("/v2/*/blobs/*", "/v2/a/manifests/latest"));
        assert!(glob_match("/v2/*/blobs/uploads/*", "/v2/a/blobs/uploads/"));
        assert!(glob_match("a*b*c", "aXbYbc"));
    }

    #[test]
    fn tags_list_names() {
        assert_eq!(tags_list_name("/v2/a/b/tags/list"), Some("a/b"));
        assert_eq!(tags_list_name("/v2/tags/list"), None);
        assert_eq!(tags_list_name("/v2/a/manifests/x"), None);
    }
}
