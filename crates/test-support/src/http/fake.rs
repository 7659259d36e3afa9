//! [`FakeServer`]: a loopback HTTP server answering with a user-supplied async
//! handler, recording every request with its body.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::log::{Logged, RequestLog};
use crate::server::{self, ServerHandle};

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

impl Logged for RecordedRequest {
    fn method(&self) -> &Method {
        &self.method
    }

    fn path(&self) -> &str {
        self.uri.path()
    }
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
    requests: RequestLog<RecordedRequest>,
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
        let requests = RequestLog::new();
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
                    log.push(RecordedRequest {
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
        self.requests.all()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.requests.len()
    }

    /// How many requests matched `method` (`"*"` for any) and path glob `path` (see [`glob_match`](super::glob_match)).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests.count(method, path)
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.requests.clear();
    }
}
