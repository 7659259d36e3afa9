//! The proxy's request path: forwarding to the upstream with hop-by-hop
//! headers stripped, interceptions, response rewrites, extra tag and
//! repository names, tag-list pagination, faults and body byte counting (of
//! both directions).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, IF_RANGE, LINK, RANGE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::conn::{Conn, UpstreamIo};
use super::fault::{BodyFault, CountingBody, CutRequestBody, FaultBody, FaultSet, RequestCut};
use super::log::RequestLog;
use super::proxy::{InterceptFn, ProxiedRequest, Rewrite};
use super::{glob_match, method_matches, query_params};
use crate::server::{self, Body, BoxError};

/// The shared state of a running [`Proxy`](super::Proxy).
pub(super) struct ProxyState {
    pub(super) client: Client<HttpConnector, Body>,
    pub(super) scheme: http::uri::Scheme,
    pub(super) authority: http::uri::Authority,
    pub(super) addr: SocketAddr,
    pub(super) rewrites: Vec<Rewrite>,
    pub(super) intercepts: Vec<InterceptFn>,
    pub(super) paginate_tags: bool,
    pub(super) tags_page_size: Option<usize>,
    pub(super) requests: RequestLog<ProxiedRequest>,
    pub(super) faults: Arc<FaultSet>,
    /// Extra tags by repository-name glob, for `GET /v2/<name>/tags/list`.
    pub(super) extra_tags: Vec<(String, Vec<String>)>,
    /// Extra repositories for the last page of `GET /v2/_catalog`.
    pub(super) extra_repositories: Vec<String>,
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

/// The repository name of a `/v2/<name>/tags/list` path.
fn tags_list_name(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/")?
        .strip_suffix("/tags/list")
        .filter(|n| !n.is_empty())
}

/// Appends `names` to the array `key` of the JSON object `body` (creating it
/// when missing or null); anything else is returned unchanged.
fn append_names<'a>(body: Bytes, key: &str, names: impl IntoIterator<Item = &'a str>) -> Bytes {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let list = doc.entry(key).or_insert(Value::Null);
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let Some(list) = list.as_array_mut() else {
        return body;
    };
    list.extend(names.into_iter().map(Value::from));
    Bytes::from(Value::Object(doc).to_string())
}

impl ProxyState {
    fn record(&self, info: &ProxiedRequest, status: u16) {
        let mut entry = info.clone();
        entry.status = status;
        self.requests.push(entry);
    }

    /// Answers `req`, which came on connection `conn`.
    pub(super) async fn handle(&self, req: Request<Incoming>, conn: Arc<Conn>) -> Response<Body> {
        let info = ProxiedRequest {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
            status: 0,
            body_bytes: Arc::new(AtomicU64::new(0)),
            request_bytes: Arc::new(AtomicU64::new(0)),
        };
        let response = self.respond(req, &info, &conn).await;
        let counter = info.body_bytes.clone();
        response.map(|body| CountingBody::new(body, counter).boxed())
    }

    async fn respond(
        &self,
        req: Request<Incoming>,
        info: &ProxiedRequest,
        conn: &Arc<Conn>,
    ) -> Response<Body> {
        for intercept in &self.intercepts {
            if let Some(resp) = intercept(info) {
                self.record(info, resp.status().as_u16());
                return resp.map(|b| b.map_err(|never| match never {}).boxed());
            }
        }

        let is_get = info.method == Method::GET;
        let tags_repo = is_get.then(|| tags_list_name(info.path())).flatten();
        let tags_name = tags_repo.filter(|_| self.paginate_tags).map(str::to_owned);
        let extra_tags: Vec<&str> = tags_repo
            .map(|repo| {
                self.extra_tags
                    .iter()
                    .filter(|(glob, _)| glob_match(glob, repo))
                    .flat_map(|(_, tags)| tags.iter().map(String::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let extra_repositories =
            is_get && info.path() == "/v2/_catalog" && !self.extra_repositories.is_empty();
        let ranged = info.headers.contains_key(RANGE);
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
        if ranged && self.faults.ignore_range(&info.method, info.path(), ranged) {
            parts.headers.remove(RANGE);
            parts.headers.remove(IF_RANGE);
        }
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

        let body_len = body.size_hint().exact();
        let body = body.map_err(BoxError::from).boxed();
        let counter = info.request_bytes.clone();
        let cut = self
            .faults
            .request_cut(&info.method, info.path(), ranged, body_len);
        let sent = match cut {
            None => self
                .client
                .request(Request::from_parts(
                    parts,
                    CountingBody::new(body, counter).boxed(),
                ))
                .await
                .map_err(BoxError::from),
            Some(cut) => {
                let (sent, was_cut) =
                    send_cuttable(&self.authority, parts, body, counter, cut).await;
                if was_cut {
                    // No response: reset the client's connection instead.
                    self.record(info, 0);
                    conn.reset();
                    std::future::poll_fn(|cx| conn.poll_closed(cx)).await;
                    return Response::builder()
                        .status(StatusCode::BAD_GATEWAY)
                        .body(server::full("proxy: request cut"))
                        .expect("valid response");
                }
                sent
            }
        };
        let upstream = match sent {
            Ok(resp) => resp,
            Err(e) => {
                self.record(info, 502);
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
        let buffer = !rewrites.is_empty()
            || tags_name.is_some()
            || !extra_tags.is_empty()
            || extra_repositories;
        let (parts, body) = if !buffer {
            (parts, body.map_err(BoxError::from).boxed())
        } else {
            let mut bytes = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    self.record(info, 502);
                    return Response::builder()
                        .status(StatusCode::BAD_GATEWAY)
                        .body(server::full(format!(
                            "proxy: reading upstream body failed: {e}"
                        )))
                        .expect("valid response");
                }
            };
            if parts.status == StatusCode::OK {
                if !extra_tags.is_empty() {
                    bytes = append_names(bytes, "tags", extra_tags);
                }
                if extra_repositories && !parts.headers.contains_key(LINK) {
                    let names = self.extra_repositories.iter().map(String::as_str);
                    bytes = append_names(bytes, "repositories", names);
                }
            }
            if let Some(name) = &tags_name {
                bytes = self.paginate(name, info, &mut parts, bytes);
            }
            for rewrite in rewrites {
                bytes = (rewrite.hook)(info, &mut parts, bytes);
            }
            if info.method != Method::HEAD {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            }
            (parts, server::full(bytes))
        };
        self.apply_faults(info, conn, parts, body).await
    }

    /// Records the response and sends it with the faults its rules pick.
    async fn apply_faults(
        &self,
        info: &ProxiedRequest,
        conn: &Arc<Conn>,
        mut parts: http::response::Parts,
        body: Body,
    ) -> Response<Body> {
        let content_length = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let faults = self.faults.on_response(
            &info.method,
            info.path(),
            info.headers.contains_key(RANGE),
            parts.status.as_u16(),
            content_length,
        );
        if let Some(lie) = faults.lie_digest {
            parts.headers.insert("docker-content-digest", lie);
        }
        self.record(info, parts.status.as_u16());
        let body = match faults.body {
            None => body,
            Some(BodyFault::StallBeforeHeaders) => {
                drop(body);
                // Never answer; the connection's end (client gone, or the
                // proxy dropped) drops this future or ends the wait.
                std::future::poll_fn(|cx| conn.poll_closed(cx)).await;
                return Response::builder()
                    .status(StatusCode::BAD_GATEWAY)
                    .body(server::full("proxy: stalled"))
                    .expect("valid response");
            }
            Some(fault) => FaultBody::new(body, fault, conn.clone()).boxed(),
        };
        Response::from_parts(parts, body)
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
        let params: Vec<(String, String)> = query_params(&info.uri);
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

/// Sends a request that `cut` may cut on a connection of its own (whose
/// flushes the cut waits for, and which it closes), counting the body bytes
/// forwarded in `counter`; also says whether it cut. Past the cut the
/// connection is gone, so the request fails unless the registry answered first.
async fn send_cuttable(
    authority: &http::uri::Authority,
    mut parts: http::request::Parts,
    body: Body,
    counter: Arc<AtomicU64>,
    cut: RequestCut,
) -> (Result<Response<Incoming>, BoxError>, bool) {
    let io = match UpstreamIo::connect(authority).await {
        Ok(io) => io,
        Err(e) => return (Err(e.into()), false),
    };
    let flushes = io.flushes();
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(io)).await {
            Ok(handshake) => handshake,
            Err(e) => return (Err(e.into()), false),
        };
    // Driven until the response body is done (or the cut drops it).
    tokio::spawn(connection);
    // A connection of its own: origin-form target.
    parts.uri = parts
        .uri
        .path_and_query()
        .map(|p| Uri::from(p.clone()))
        .unwrap_or_else(|| Uri::from_static("/"));
    let body = CutRequestBody::new(body, cut, flushes);
    let was_cut = body.cut_flag();
    let body = CountingBody::new(body.boxed(), counter);
    let sent = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(BoxError::from);
    let was_cut = was_cut.load(Ordering::SeqCst);
    (sent, was_cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_list_names() {
        assert_eq!(tags_list_name("/v2/a/b/tags/list"), Some("a/b"));
        assert_eq!(tags_list_name("/v2/tags/list"), None);
        assert_eq!(tags_list_name("/v2/a/manifests/x"), None);
    }
}
