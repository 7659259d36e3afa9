//! Request plumbing of [`Client`]: building and sending requests, turning
//! unexpected responses into errors, and header helpers.

use std::fmt;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use registry_core::{Body, Error, ErrorKind};

use super::{Client, ERROR_BODY_LIMIT};

impl Client {
    /// Builds a request.
    pub(crate) fn request(
        &self,
        method: Method,
        url: &str,
        body: Body,
    ) -> Result<Request<Body>, Error> {
        Request::builder()
            .method(method)
            .uri(url)
            .body(body)
            .map_err(|e| Error::invalid_input(format!("invalid request URL {url}")).with_source(e))
    }

    /// Sends a request; a status outside `ok` becomes an error carrying the
    /// registry's error body, prefixed by `what`.
    pub(crate) async fn send_expect(
        &self,
        req: Request<Body>,
        ok: &[StatusCode],
        what: impl fmt::Display,
    ) -> Result<Response<Body>, Error> {
        let resp = self
            .shared
            .http
            .send(req)
            .await
            .map_err(|e| e.context(&what))?;
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        Err(error_from(resp, what).await)
    }

    /// `DELETE url`, answered `202`, `200` or `204` (else an error, as
    /// [`send_expect`](Self::send_expect)).
    pub(crate) async fn send_delete(&self, url: &str, what: &str) -> Result<(), Error> {
        let req = self.request(Method::DELETE, url, Body::empty())?;
        let ok = [StatusCode::ACCEPTED, StatusCode::OK, StatusCode::NO_CONTENT];
        self.send_expect(req, &ok, what).await.map(drop)
    }
}

/// An error from a response with an unexpected status.
pub(crate) async fn error_from(resp: Response<Body>, what: impl fmt::Display) -> Error {
    let status = resp.status();
    let attempts = resp
        .extensions()
        .get::<registry_core::retry::Attempts>()
        .map_or(1, |a| a.0);
    let body = resp
        .into_body()
        .collect_bytes(ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let mut err = Error::from_response(status, &body);
    if status.is_success() || status.is_redirection() {
        err = Error::new(ErrorKind::Protocol, format!("unexpected HTTP {status}"))
            .with_status(status);
    }
    if attempts > 1 {
        err = err.context(format!("gave up after {attempts} attempts"));
    }
    err.context(what)
}

/// The value of a header as a string, if present and visible ASCII.
pub(crate) fn header_str<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Header `name` of `resp`, parsed (`None` when absent or unparsable).
pub(crate) fn parsed_header<T: std::str::FromStr>(resp: &Response<Body>, name: &str) -> Option<T> {
    header_str(resp, name).and_then(|v| v.parse().ok())
}

/// The `Content-Length` of a response, if present and a number.
pub(crate) fn content_length(resp: &Response<Body>) -> Option<u64> {
    parsed_header(resp, CONTENT_LENGTH.as_str())
}

/// The media type of a response.
pub(crate) fn content_type(resp: &Response<Body>) -> Option<&str> {
    header_str(resp, CONTENT_TYPE.as_str())
}

/// `application/octet-stream`, for upload bodies.
pub(crate) const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");
