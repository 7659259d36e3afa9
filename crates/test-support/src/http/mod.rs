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
//!   [`ProxyBuilder::corrupt_blobs`], [`ProxyBuilder::corrupt_blobs_larger_than`])
//!   and can add tag-list pagination, which distribution 2.8 lacks
//!   ([`ProxyBuilder::paginate_tags`]), or extra (hostile) tag and repository
//!   names ([`ProxyBuilder::add_tags`], [`ProxyBuilder::add_repositories`]).
//!   Bodies stream through without being buffered, except responses a
//!   rewrite applies to. It counts the body bytes it delivers
//!   ([`Proxy::body_bytes_sent`]) and forwards
//!   ([`ProxiedRequest::request_body_bytes`]).
//! - [`Fault`]s, injected by the proxy where a [`FaultRule`] says
//!   ([`ProxyBuilder::fault`]): cut or reset connections mid-body, stalls
//!   before or after the head, trickled bodies, ignored `Range` headers,
//!   lying `Docker-Content-Digest` headers, and uploads cut mid-request-body
//!   ([`Fault::CutRequestAfter`]).
//!
//! The free functions here ([`response`], [`json_response`], [`glob_match`])
//! are shared by both and handy in handlers and interceptions.

mod conn;
mod fake;
mod fault;
mod forward;
mod log;
mod proxy;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Response, Uri};
use http_body_util::Full;
use serde_json::Value;

pub use self::fake::{FakeServer, RecordedRequest};
pub use self::fault::{Fault, FaultRule};
pub use self::proxy::{InterceptFn, ProxiedRequest, Proxy, ProxyBuilder, RewriteFn};

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

/// The decoded query pairs of `uri`, in order (none without a query), into
/// a `Vec<(String, String)>`, a `HashMap` or any other collection of pairs.
pub(crate) fn query_params<C: FromIterator<(String, String)>>(uri: &Uri) -> C {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn method_matches(pattern: &str, method: &Method) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(method.as_str())
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
}
