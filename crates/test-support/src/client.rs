//! A minimal plain-HTTP client for test set-up and assertions, independent of
//! the crates under test (so a broken client cannot hide a broken fixture).

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Sends `req` (absolute `http://` URI) and returns the response with its body collected.
///
/// # Panics
/// On connection or protocol errors: these are test fixtures, not code under test.
pub async fn send(req: Request<Full<Bytes>>) -> Response<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let what = format!("{} {}", req.method(), req.uri());
    let resp = client
        .request(req)
        .await
        .unwrap_or_else(|e| panic!("test-support client: {what}: {e}"));
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("test-support client: {what}: reading body: {e}"))
        .to_bytes();
    Response::from_parts(parts, body)
}

/// `GET url` with optional `Authorization` header value.
pub async fn get(url: &str, authorization: Option<&str>) -> Response<Bytes> {
    let mut req = Request::get(url);
    if let Some(auth) = authorization {
        req = req.header(http::header::AUTHORIZATION, auth);
    }
    send(req.body(Full::default()).expect("valid request")).await
}

/// The value of `Authorization` for HTTP Basic credentials.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
