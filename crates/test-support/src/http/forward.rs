//! The proxy's request path: forwarding to the upstream with hop-by-hop
//! headers stripped, interceptions, response rewrites and tag-list pagination.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, LINK};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::log::RequestLog;
use super::proxy::{InterceptFn, ProxiedRequest, Rewrite};
use super::{glob_match, method_matches, query_params};
use crate::server::{self, Body, BoxError};

/// The shared state of a running [`Proxy`](super::Proxy).
pub(super) struct ProxyState {
    pub(super) client: Client<HttpConnector, Incoming>,
    pub(super) scheme: http::uri::Scheme,
    pub(super) authority: http::uri::Authority,
    pub(super) addr: SocketAddr,
    pub(super) rewrites: Vec<Rewrite>,
    pub(super) intercepts: Vec<InterceptFn>,
    pub(super) paginate_tags: bool,
    pub(super) tags_page_size: Option<usize>,
    pub(super) requests: RequestLog<ProxiedRequest>,
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

impl ProxyState {
    fn record(&self, info: &ProxiedRequest, status: u16) {
        let mut entry = info.clone();
        entry.status = status;
        self.requests.push(entry);
    }

    pub(super) async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
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
