//! [`Error`]: what went wrong, with the API's `{slug, message, detail}` body
//! and the ids a support ticket needs; its [`ErrorKind`] is registry-core's,
//! and it converts into [`registry_core::Error`] losing nothing
//! ([`ApiErrorExt`] reads the Magalu details back).
//!
//! Branch on [`Error::kind`], never on message text.

use std::fmt;

mod api;
mod convert;

use http::{HeaderMap, StatusCode};

pub use self::api::{ApiDetails, ApiErrorBody, ApiErrorExt};

/// A boxed error cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The response header with the server's own request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The response header with Magalu's trace id.
pub const TRACE_ID_HEADER: &str = "x-mgc-trace-id";

/// The category of an [`Error`]: the kinds of `registry-core`, one set for
/// the whole stack. An HTTP status maps as everywhere else
/// ([`ErrorKind::from_status`]): 400 and 422 (the API refused the request)
/// are [`ErrorKind::Protocol`], 403 is [`ErrorKind::Denied`]; a success
/// response whose body is not the documented JSON is
/// [`ErrorKind::Protocol`]; a value refused before anything is sent is
/// [`ErrorKind::InvalidInput`].
///
/// ```
/// use mgc_api::ErrorKind;
/// assert_eq!(ErrorKind::from_status(http::StatusCode::CONFLICT), ErrorKind::Conflict);
/// assert_eq!(ErrorKind::from_status(http::StatusCode::FORBIDDEN), ErrorKind::Denied);
/// assert_eq!(ErrorKind::from_status(http::StatusCode::BAD_GATEWAY), ErrorKind::Server);
/// ```
pub use registry_core::ErrorKind;

/// Every failure of this crate.
///
/// Carries the [`ErrorKind`] (registry-core's), the operation (the spec's
/// `operationId`), the HTTP status, the API's `slug`/`message`/`detail`,
/// the `X-Request-ID` we sent, and the `X-Request-ID`/`X-Mgc-Trace-Id` the
/// API answered with; a transport failure keeps the
/// [`registry_core::Error`] it came from ([`Error::transport`]). Never
/// contains a credential.
///
/// It converts into [`registry_core::Error`] without losing anything: the
/// kind and status are kept, the text is the same, and the Magalu part
/// stays readable, typed, through [`ApiErrorExt`].
///
/// ```
/// use mgc_api::error::ApiErrorExt;
/// use mgc_api::{Error, ErrorKind};
/// use http::{HeaderMap, StatusCode};
/// let body = br#"{"slug":"not_found","message":"error when getting resource: not found","detail":{}}"#;
/// let err = Error::from_response("getRegistry", StatusCode::NOT_FOUND, &HeaderMap::new(), body, "9b1d…");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.slug(), Some("not_found"));
/// assert_eq!(err.message(), "error when getting resource: not found");
/// assert!(err.to_string().starts_with("getRegistry: HTTP 404 Not Found: not_found: error when getting resource"));
///
/// let text = err.to_string();
/// let core: registry_core::Error = err.into();
/// assert_eq!(core.kind(), registry_core::ErrorKind::NotFound);
/// assert_eq!(core.to_string(), text);
/// assert_eq!(core.request_id(), Some("9b1d…"));
/// assert_eq!(core.api_details().unwrap().slug(), Some("not_found"));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    details: ApiDetails,
}

/// What failed beneath an [`Error`].
#[derive(Debug)]
enum Cause {
    /// The transport's own error (kept whole: kind, status, chain).
    Transport(registry_core::Error),
    /// Anything else (a serialiser, a request builder).
    Other(BoxError),
}

impl Cause {
    fn as_error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Cause::Transport(e) => e,
            Cause::Other(e) => e.as_ref(),
        }
    }
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                details: ApiDetails::new(message.into()),
            }),
        }
    }

    /// An invalid-input error for `operation`.
    pub fn invalid_input(operation: &'static str, message: impl Into<String>) -> Error {
        Error::invalid(message).with_operation(operation)
    }

    /// An invalid-input error raised before any operation (a setting, an id).
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
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
        let d = &mut err.inner.details;
        d.response_request_id = header(REQUEST_ID_HEADER);
        d.trace_id = header(TRACE_ID_HEADER);
        match serde_json::from_slice::<ApiErrorBody>(body) {
            Ok(api) => {
                d.slug = Some(api.slug);
                d.message = api.message;
                d.detail = api.detail;
            }
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                let text: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                d.message = match text.trim() {
                    "" => "(empty response body)".to_owned(),
                    t => format!("(not a JSON error body) {t}"),
                };
            }
        }
        err
    }

    /// Wraps a transport failure from `registry-core`, keeping it whole
    /// ([`Error::transport`]): its kind and status become this error's.
    pub fn from_transport(operation: &'static str, err: registry_core::Error) -> Error {
        let kind = err.kind();
        let message = match kind {
            ErrorKind::Transport | ErrorKind::UnknownHost | ErrorKind::Tls => {
                "could not reach the API"
            }
            ErrorKind::Timeout => "the API did not answer in time",
            _ => "request failed",
        };
        let status = err.status();
        let mut e = Error::new(kind, message).with_operation(operation);
        e.inner.details.status = status;
        e.inner.details.cause = Some(Cause::Transport(err));
        e
    }

    /// Sets the operation (`operationId`).
    pub fn with_operation(mut self, operation: &'static str) -> Error {
        self.inner.details.operation = Some(operation);
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Error {
        self.inner.details.status = Some(status);
        self
    }

    /// Sets the `X-Request-ID` that was sent.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Error {
        self.inner.details.request_id = Some(id.into());
        self
    }

    /// Sets the cause (a [`registry_core::Error`] is kept as the transport
    /// error).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        let source = source.into();
        self.inner.details.cause = Some(match source.downcast::<registry_core::Error>() {
            Ok(core) => Cause::Transport(*core),
            Err(other) => Cause::Other(other),
        });
        self
    }

    /// The category (registry-core's kinds).
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Everything the API said and the ids, as one value.
    pub fn details(&self) -> &ApiDetails {
        &self.inner.details
    }

    /// The spec's `operationId` of the failed call, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.details.operation
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.details.status
    }

    /// The API's error `slug` (e.g. `conflict`), when it sent one.
    pub fn slug(&self) -> Option<&str> {
        self.inner.details.slug()
    }

    /// The API's `message`, or this crate's description of the failure.
    pub fn message(&self) -> &str {
        self.inner.details.message()
    }

    /// The API's `detail` object, when it sent one.
    pub fn detail(&self) -> Option<&serde_json::Value> {
        self.inner.details.detail()
    }

    /// The `X-Request-ID` this client sent.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.details.request_id()
    }

    /// The `X-Request-ID` the API answered with.
    pub fn response_request_id(&self) -> Option<&str> {
        self.inner.details.response_request_id()
    }

    /// The `X-Mgc-Trace-Id` the API answered with.
    pub fn trace_id(&self) -> Option<&str> {
        self.inner.details.trace_id()
    }

    /// The transport's error, when the call failed below HTTP.
    pub fn transport(&self) -> Option<&registry_core::Error> {
        self.inner.details.transport()
    }

    /// Whether the same request may succeed later (429, 5xx, transport).
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimited => true,
            ErrorKind::Server => !matches!(
                self.inner.details.status.map(|s| s.as_u16()),
                Some(501 | 505)
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.inner.details.operation {
            write!(f, "{op}: ")?;
        }
        self.inner.details.fmt(f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.details.cause.as_ref().map(Cause::as_error)
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
        assert_eq!(empty.kind(), ErrorKind::Denied);
        assert_eq!(empty.message(), "(empty response body)");
    }
}
