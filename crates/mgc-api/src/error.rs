//! [`Error`]: what went wrong, with the API's `{slug, message, detail}` body
//! and the ids a support ticket needs.
//!
//! Branch on [`Error::kind`], never on message text.

use std::fmt;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// A boxed error cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The response header with the server's own request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The response header with Magalu's trace id.
pub const TRACE_ID_HEADER: &str = "x-mgc-trace-id";

/// The broad category of an [`Error`].
///
/// ```
/// use mgc_api::ErrorKind;
/// assert_eq!(ErrorKind::from_status(http::StatusCode::CONFLICT), ErrorKind::Conflict);
/// assert_eq!(ErrorKind::from_status(http::StatusCode::BAD_GATEWAY), ErrorKind::Server);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API refused the request as malformed (HTTP 400 or 422).
    BadRequest,
    /// Missing or wrong credentials (HTTP 401).
    Unauthorized,
    /// Valid credentials that may not do this (HTTP 403).
    Forbidden,
    /// The resource does not exist (HTTP 404).
    NotFound,
    /// The request conflicts with existing state, e.g. a name in use (HTTP 409).
    Conflict,
    /// Too many requests (HTTP 429).
    RateLimited,
    /// The API failed (HTTP 5xx).
    Server,
    /// Any other non-success status.
    UnexpectedStatus,
    /// The API could not be reached, or the connection broke.
    Transport,
    /// A connect, response or read timeout elapsed.
    Timeout,
    /// A caller-supplied value was rejected before any request was sent.
    InvalidInput,
    /// A success response whose body is not the documented JSON.
    Decode,
    /// The API answered something that breaks its own rules (e.g. a list
    /// that repeats a page), or a redirect was refused.
    Protocol,
}

impl ErrorKind {
    /// The kind for an HTTP error status.
    pub fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            400 | 422 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::UnexpectedStatus,
        }
    }

    /// A short lowercase name, used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Server => "server error",
            ErrorKind::UnexpectedStatus => "unexpected status",
            ErrorKind::Transport => "transport error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Decode => "undecodable response",
            ErrorKind::Protocol => "protocol error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The API's error body (`Error` in the spec): `{slug, message, detail}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiErrorBody {
    /// Identifier of the error type, e.g. `not_found`.
    pub slug: String,
    /// Human-readable message.
    pub message: String,
    /// Details about the error (a JSON object), when sent.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}

/// Every failure of this crate.
///
/// Carries the operation (the spec's `operationId`), the HTTP status, the
/// API's `slug`/`message`/`detail`, the `X-Request-ID` we sent, and the
/// `X-Request-ID`/`X-Mgc-Trace-Id` the API answered with. Never contains a
/// credential.
///
/// ```
/// use mgc_api::{Error, ErrorKind};
/// use http::{HeaderMap, StatusCode};
/// let body = br#"{"slug":"not_found","message":"error when getting resource: not found","detail":{}}"#;
/// let err = Error::from_response("getRegistry", StatusCode::NOT_FOUND, &HeaderMap::new(), body, "9b1d…");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.slug(), Some("not_found"));
/// assert_eq!(err.message(), "error when getting resource: not found");
/// assert!(err.to_string().starts_with("getRegistry: HTTP 404 Not Found: not_found: error when getting resource"));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    operation: Option<&'static str>,
    message: String,
    status: Option<StatusCode>,
    slug: Option<String>,
    detail: Option<serde_json::Value>,
    request_id: Option<String>,
    response_request_id: Option<String>,
    trace_id: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                operation: None,
                message: message.into(),
                status: None,
                slug: None,
                detail: None,
                request_id: None,
                response_request_id: None,
                trace_id: None,
                source: None,
            }),
        }
    }

    /// An invalid-input error for `operation`.
    pub fn invalid_input(operation: &'static str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message).with_operation(operation)
    }

    /// The error for a non-success response of `operation`: the status, the
    /// parsed `{slug, message, detail}` body (or the start of a non-JSON body
    /// as text) and the ids from the response headers.
    pub fn from_response(
        operation: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        request_id: &str,
    ) -> Error {
        let mut err = Error::new(ErrorKind::from_status(status), String::new())
            .with_operation(operation)
            .with_status(status)
            .with_request_id(request_id);
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        err.inner.response_request_id = header(REQUEST_ID_HEADER);
        err.inner.trace_id = header(TRACE_ID_HEADER);
        match serde_json::from_slice::<ApiErrorBody>(body) {
            Ok(api) => {
                err.inner.slug = Some(api.slug);
                err.inner.message = api.message;
                err.inner.detail = api.detail;
            }
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                let text: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                err.inner.message = match text.trim() {
                    "" => "(empty response body)".to_owned(),
                    t => format!("(not a JSON error body) {t}"),
                };
            }
        }
        err
    }

    /// Wraps a transport failure from `registry-core`.
    pub fn from_transport(operation: &'static str, err: registry_core::Error) -> Error {
        use registry_core::ErrorKind as K;
        let kind = match err.kind() {
            K::Transport | K::Tls | K::UnknownHost => ErrorKind::Transport,
            K::Timeout => ErrorKind::Timeout,
            K::InvalidInput => ErrorKind::InvalidInput,
            _ => match err.status() {
                Some(s) => ErrorKind::from_status(s),
                None => ErrorKind::Protocol,
            },
        };
        let message = match kind {
            ErrorKind::Transport => "could not reach the API",
            ErrorKind::Timeout => "the API did not answer in time",
            _ => "request failed",
        };
        let status = err.status();
        let mut e = Error::new(kind, message)
            .with_operation(operation)
            .with_source(err);
        e.inner.status = status;
        e
    }

    /// Sets the operation (`operationId`).
    pub fn with_operation(mut self, operation: &'static str) -> Error {
        self.inner.operation = Some(operation);
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Error {
        self.inner.status = Some(status);
        self
    }

    /// Sets the `X-Request-ID` that was sent.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Error {
        self.inner.request_id = Some(id.into());
        self
    }

    /// Sets the cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The spec's `operationId` of the failed call, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The API's error `slug` (e.g. `conflict`), when it sent one.
    pub fn slug(&self) -> Option<&str> {
        self.inner.slug.as_deref()
    }

    /// The API's `message`, or this crate's description of the failure.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The API's `detail` object, when it sent one.
    pub fn detail(&self) -> Option<&serde_json::Value> {
        self.inner.detail.as_ref()
    }

    /// The `X-Request-ID` this client sent.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The `X-Request-ID` the API answered with.
    pub fn response_request_id(&self) -> Option<&str> {
        self.inner.response_request_id.as_deref()
    }

    /// The `X-Mgc-Trace-Id` the API answered with.
    pub fn trace_id(&self) -> Option<&str> {
        self.inner.trace_id.as_deref()
    }

    /// Whether the same request may succeed later (429, 5xx, transport).
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimited => true,
            ErrorKind::Server => !matches!(self.inner.status.map(|s| s.as_u16()), Some(501 | 505)),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.inner.operation {
            write!(f, "{op}: ")?;
        }
        if let Some(status) = self.inner.status {
            write!(f, "HTTP {status}: ")?;
        }
        if let Some(slug) = &self.inner.slug {
            write!(f, "{slug}: ")?;
        }
        f.write_str(&self.inner.message)?;
        if let Some(source) = &self.inner.source {
            write!(f, ": {source}")?;
        }
        let ids: Vec<String> = [
            ("request id", &self.inner.request_id),
            ("response request id", &self.inner.response_request_id),
            ("trace id", &self.inner.trace_id),
        ]
        .into_iter()
        .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
        .collect();
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|e| e as _)
    }
}

impl From<Error> for registry_core::Error {
    /// For callers that unify errors on `registry-core`'s type (the facade,
    /// the CLI): the kind is mapped, the message is this error's `Display`.
    fn from(e: Error) -> registry_core::Error {
        use registry_core::ErrorKind as K;
        let kind = match e.inner.kind {
            ErrorKind::BadRequest | ErrorKind::InvalidInput => K::InvalidInput,
            ErrorKind::Unauthorized => K::Unauthorized,
            ErrorKind::Forbidden => K::Denied,
            ErrorKind::NotFound => K::NotFound,
            ErrorKind::Conflict => K::Conflict,
            ErrorKind::RateLimited => K::RateLimited,
            ErrorKind::Server => K::Server,
            ErrorKind::Transport => K::Transport,
            ErrorKind::Timeout => K::Timeout,
            ErrorKind::UnexpectedStatus | ErrorKind::Decode | ErrorKind::Protocol => K::Protocol,
        };
        let mut out = registry_core::Error::new(kind, e.to_string());
        if let Some(s) = e.inner.status {
            out = out.with_status(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_and_client_are_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_send_sync::<crate::MgcClient>();
    }

    #[test]
    fn non_json_body_is_shown_as_text() {
        let e = Error::from_response(
            "getRegistries",
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>\n<h1>502 Bad Gateway</h1></html>",
            "rid",
        );
        assert_eq!(e.kind(), ErrorKind::Server);
        assert_eq!(e.slug(), None);
        assert!(e.message().contains("502 Bad Gateway</h1>"), "{e}");
        assert!(!e.message().contains('\n'));
        let empty = Error::from_response("x", StatusCode::FORBIDDEN, &HeaderMap::new(), b"", "r");
        assert_eq!(empty.kind(), ErrorKind::Forbidden);
        assert_eq!(empty.message(), "(empty response body)");
    }

    #[test]
    fn ids_are_reported() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "srv-1".parse().unwrap());
        h.insert("x-mgc-trace-id", "trace-9".parse().unwrap());
        let e = Error::from_response(
            "deleteRegistry",
            StatusCode::CONFLICT,
            &h,
            br#"{"slug":"conflict","message":"resource already exists","detail":{"a":1}}"#,
            "mine",
        );
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.detail(), Some(&serde_json::json!({"a": 1})));
        assert_eq!(
            e.to_string(),
            "deleteRegistry: HTTP 409 Conflict: conflict: resource already exists \
             (request id mine, response request id srv-1, trace id trace-9)"
        );
        let core: registry_core::Error = e.into();
        assert_eq!(core.kind(), registry_core::ErrorKind::Conflict);
        assert_eq!(core.status(), Some(StatusCode::CONFLICT));
    }
}
