//! The one error type of the transport, with a [`ErrorKind`] to match on.
//!
//! Registry-facing crates return [`Error`]; callers branch on [`Error::kind`]
//! rather than on message strings, and [`Error::is_retryable`] tells whether
//! trying again can help.

use std::fmt;

use http::StatusCode;
use serde::Deserialize;

/// A boxed error, used for error sources and body errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The broad category of an [`Error`].
///
/// ```
/// use registry_core::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::NotFound, "manifest unknown");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The manifest, blob, repository or tag does not exist (HTTP 404).
    NotFound,
    /// Credentials are missing or wrong (HTTP 401).
    Unauthorized,
    /// Credentials are valid but not allowed to do this (HTTP 403).
    Denied,
    /// The server asked us to slow down (HTTP 429).
    RateLimited,
    /// Content did not hash to the digest it was addressed by.
    DigestMismatch,
    /// Connecting failed or the connection broke.
    Transport,
    /// The registry's host name does not resolve (DNS: no such host).
    /// Never retried: asking again gives the same answer.
    UnknownHost,
    /// The TLS handshake failed: the certificate is not trusted (or not for
    /// this host), or the server does not speak TLS. Never retried: trying
    /// again gives the same answer.
    Tls,
    /// A connect, response or read timeout elapsed.
    Timeout,
    /// The caller gave something malformed (reference, digest, option).
    InvalidInput,
    /// A well-formed digest whose algorithm this library cannot hash
    /// (`sha384:…`, `md5:…`; only sha256 and sha512 are supported), from
    /// parsing a digest string. Distinct from a malformed digest
    /// (`sha256:xyz`), which is [`ErrorKind::InvalidInput`].
    ///
    /// ```
    /// use registry_core::{Digest, ErrorKind};
    /// let err = format!("sha384:{}", "a".repeat(96)).parse::<Digest>().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnsupportedDigestAlgorithm);
    /// assert_eq!("sha256:xyz".parse::<Digest>().unwrap_err().kind(), ErrorKind::InvalidInput);
    /// ```
    UnsupportedDigestAlgorithm,
    /// The server answered something that does not follow the protocol.
    Protocol,
    /// Content from a registry or a layout was refused: a layer entry that
    /// escapes the extraction root or writes through a non-directory, a
    /// manifest or config that does not parse. A failure of the source, not
    /// of what the user typed.
    InvalidContent,
    /// The server failed (HTTP 5xx).
    Server,
    /// The server does not support the operation (e.g. HTTP 405, tag deletion).
    Unsupported,
    /// The request conflicts with the current state (HTTP 409).
    Conflict,
}

impl ErrorKind {
    /// The kind for an HTTP status that is an error.
    pub fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Denied,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::Unsupported,
            408 => ErrorKind::Timeout,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Protocol,
        }
    }

    /// A short lowercase name, used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Denied => "denied",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::DigestMismatch => "digest mismatch",
            ErrorKind::Transport => "transport error",
            ErrorKind::UnknownHost => "unknown host",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::UnsupportedDigestAlgorithm => "unsupported digest algorithm",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::InvalidContent => "invalid content",
            ErrorKind::Server => "server error",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Conflict => "conflict",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of an OCI error body: `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OciError {
    /// The error code, e.g. `MANIFEST_UNKNOWN`.
    pub code: String,
    /// A human-readable message.
    #[serde(default)]
    pub message: String,
    /// Unstructured detail, as sent.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OciErrorBody {
    errors: Vec<OciError>,
}

/// Parses an OCI error body; `None` when the body is not one.
///
/// ```
/// let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
/// let errors = registry_core::error::parse_oci_errors(body).unwrap();
/// assert_eq!(errors[0].code, "MANIFEST_UNKNOWN");
/// ```
pub fn parse_oci_errors(body: &[u8]) -> Option<Vec<OciError>> {
    serde_json::from_slice::<OciErrorBody>(body)
        .ok()
        .map(|b| b.errors)
        .filter(|e| !e.is_empty())
}

/// The error returned by every transport operation.
///
/// ```
/// use registry_core::{Error, ErrorKind};
/// use http::StatusCode;
/// let body = br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
/// let err = Error::from_response(StatusCode::FORBIDDEN, body);
/// assert_eq!(err.kind(), ErrorKind::Denied);
/// assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
/// assert_eq!(err.oci_errors()[0].code, "DENIED");
/// assert!(err.to_string().contains("DENIED"));
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<StatusCode>,
    oci: Vec<OciError>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            status: None,
            oci: Vec::new(),
            source: None,
        }
    }

    /// An error built from an HTTP error response: its status and, when the
    /// body is an OCI error body, the parsed errors; otherwise the start of
    /// the body as text.
    pub fn from_response(status: StatusCode, body: &[u8]) -> Error {
        let oci = parse_oci_errors(body).unwrap_or_default();
        let mut kind = ErrorKind::from_status(status);
        if oci.iter().any(|e| e.code == "TOOMANYREQUESTS") {
            kind = ErrorKind::RateLimited;
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        let text = text.trim();
        let message = if oci.is_empty() && !text.is_empty() {
            format!("HTTP {status}: {text}")
        } else {
            format!("HTTP {status}")
        };
        Error {
            kind,
            message,
            status: Some(status),
            oci,
            source: None,
        }
    }

    /// A transport error wrapping its cause.
    pub fn transport(message: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::new(ErrorKind::Transport, message).with_source(source)
    }

    /// An invalid-input error.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// A protocol error.
    pub fn protocol(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    /// Refused content (see [`ErrorKind::InvalidContent`]).
    pub fn invalid_content(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidContent, message)
    }

    /// Sets the cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.source = Some(source.into());
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Error {
        self.status = Some(status);
        self
    }

    /// Prefixes the message with context, e.g. the operation and reference.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The OCI errors the registry sent, if any.
    pub fn oci_errors(&self) -> &[OciError] {
        &self.oci
    }

    /// The message without the cause chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the cause is a refused TCP connection (nothing listens on
    /// the port).
    pub fn is_connection_refused(&self) -> bool {
        self.causes().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        })
    }

    /// The source, its source, and so on.
    fn causes(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        std::iter::successors(first, |c| c.source())
    }

    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimited => true,
            ErrorKind::Server => matches!(
                self.status.map(|s| s.as_u16()),
                None | Some(500 | 502 | 503 | 504)
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for e in &self.oci {
            write!(f, ": {}", e.code)?;
            if !e.message.is_empty() {
                write!(f, " ({})", e.message)?;
            }
        }
        for cause in self.causes() {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(s) = self.status {
            d.field("status", &s);
        }
        if !self.oci.is_empty() {
            d.field("oci", &self.oci);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The chain is already part of Display; expose the direct cause only.
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        let kind = match e.kind() {
            std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
            std::io::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
            // Data that does not decode (a corrupt gzip stream, say) came
            // from the content, not from the caller.
            std::io::ErrorKind::InvalidData => ErrorKind::InvalidContent,
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Transport,
        };
        // An io::Error may carry one of ours (e.g. a digest mismatch surfaced
        // through an AsyncRead); unwrap it instead of nesting.
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(inner)) => return *inner,
                _ => unreachable!("checked with is::<Error>()"),
            }
        }
        Error::new(kind, "I/O error").with_source(e)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
