//! The API's side of an [`Error`](super::Error): its error body, the
//! details (slug, request and trace ids) and [`ApiErrorExt`], which reads
//! them back from a [`registry_core::Error`].

use std::fmt;

use http::StatusCode;
use serde::Deserialize;

use super::Cause;

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

/// The Magalu side of a failed call: the operation, the HTTP status, what
/// the API said (`slug`, `message`, `detail`) and the ids to quote to its
/// support.
///
/// Every [`Error`](super::Error) has one ([`Error::details`](super::Error::details)); a [`registry_core::Error`]
/// converted from an [`Error`](super::Error) keeps it as its source, read back with
/// [`ApiErrorExt::api_details`]. Its `Display` is the error's text after the
/// operation, cause included; [`source`](std::error::Error::source) is
/// `None` (the cause is part of the text, so a chain printer does not
/// repeat it; [`transport`](Self::transport) gives it typed).
#[derive(Debug)]
pub struct ApiDetails {
    pub(super) operation: Option<&'static str>,
    pub(super) status: Option<StatusCode>,
    pub(super) message: String,
    pub(super) slug: Option<String>,
    pub(super) detail: Option<serde_json::Value>,
    pub(super) request_id: Option<String>,
    pub(super) response_request_id: Option<String>,
    pub(super) trace_id: Option<String>,
    pub(super) cause: Option<Cause>,
}

impl ApiDetails {
    pub(super) fn new(message: String) -> ApiDetails {
        ApiDetails {
            operation: None,
            status: None,
            message,
            slug: None,
            detail: None,
            request_id: None,
            response_request_id: None,
            trace_id: None,
            cause: None,
        }
    }

    /// The spec's `operationId` of the failed call, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The API's error `slug` (e.g. `conflict`), when it sent one.
    pub fn slug(&self) -> Option<&str> {
        self.slug.as_deref()
    }

    /// The API's `message`, or this crate's description of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The API's `detail` object, when it sent one.
    pub fn detail(&self) -> Option<&serde_json::Value> {
        self.detail.as_ref()
    }

    /// The `X-Request-ID` this client sent.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The `X-Request-ID` the API answered with.
    pub fn response_request_id(&self) -> Option<&str> {
        self.response_request_id.as_deref()
    }

    /// The `X-Mgc-Trace-Id` the API answered with.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// The transport's error, when the call failed below HTTP (connecting,
    /// TLS, a timeout, a broken body).
    pub fn transport(&self) -> Option<&registry_core::Error> {
        match &self.cause {
            Some(Cause::Transport(e)) => Some(e),
            _ => None,
        }
    }

    /// Whether anything beyond a message is known (an operation, a slug,
    /// an id): then a conversion keeps these details.
    pub(super) fn is_api_call(&self) -> bool {
        self.operation.is_some()
            || self.slug.is_some()
            || self.request_id.is_some()
            || self.response_request_id.is_some()
            || self.trace_id.is_some()
    }
}

impl fmt::Display for ApiDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status}: ")?;
        }
        if let Some(slug) = &self.slug {
            write!(f, "{slug}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {}", cause.as_error())?;
        }
        let ids: Vec<String> = [
            ("request id", &self.request_id),
            ("response request id", &self.response_request_id),
            ("trace id", &self.trace_id),
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

impl std::error::Error for ApiDetails {}

/// The Magalu details of a [`registry_core::Error`] converted from an
/// [`Error`](super::Error) (through `?` or `From`), typed: the facade and the CLI carry
/// one error type and still read the request id.
///
/// ```
/// use mgc_api::error::ApiErrorExt;
/// use mgc_api::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::Conflict, "name in use")
///     .with_operation("createRegistry")
///     .with_request_id("rid-1");
/// let core = registry_core::Error::from(err).context("creating myregistry");
/// assert_eq!(core.kind(), registry_core::ErrorKind::Conflict);
/// assert_eq!(core.request_id(), Some("rid-1"));
/// assert_eq!(core.api_details().unwrap().operation(), Some("createRegistry"));
/// assert_eq!(core.to_string(), "creating myregistry: createRegistry: name in use (request id rid-1)");
/// ```
pub trait ApiErrorExt {
    /// The Magalu details, when this error came from the Magalu API.
    fn api_details(&self) -> Option<&ApiDetails>;

    /// The `X-Request-ID` sent with the failed call.
    fn request_id(&self) -> Option<&str> {
        self.api_details()?.request_id()
    }
}

impl ApiErrorExt for registry_core::Error {
    fn api_details(&self) -> Option<&ApiDetails> {
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            if let Some(d) = c.downcast_ref::<ApiDetails>() {
                return Some(d);
            }
            cause = c.source();
        }
        None
    }
}
