//! Conversion of an [`Error`] into [`registry_core::Error`], losing nothing.

use super::{Cause, Error, Inner};

impl From<Error> for registry_core::Error {
    /// The one error type of the stack (the facade's, the CLI's), losing
    /// nothing: the same kind, status and text; the Magalu details (slug,
    /// `detail`, request and trace ids) stay typed behind
    /// [`ApiErrorExt`](super::ApiErrorExt). An error raised before any call (a bad region, no
    /// credentials) becomes a plain error with its message and cause (when
    /// the cause is a transport error, it is that error with the message
    /// as context, so its kind).
    fn from(e: Error) -> registry_core::Error {
        let Inner { kind, mut details } = *e.inner;
        let status = details.status;
        let mut out = if details.is_api_call() {
            let head = details.operation.unwrap_or("Magalu API");
            registry_core::Error::new(kind, head).with_source(details)
        } else {
            match details.cause.take() {
                // The transport error is already ours: add the message.
                Some(Cause::Transport(t)) => return t.context(details.message),
                Some(Cause::Other(c)) => {
                    registry_core::Error::new(kind, details.message).with_source(c)
                }
                None => registry_core::Error::new(kind, details.message),
            }
        };
        if let Some(s) = status {
            out = out.with_status(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, StatusCode};

    use crate::error::{ApiErrorExt, Error, ErrorKind};

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
        let text = e.to_string();
        let core: registry_core::Error = e.into();
        assert_eq!(core.kind(), registry_core::ErrorKind::Conflict);
        assert_eq!(core.status(), Some(StatusCode::CONFLICT));
        // Nothing lost: the same line, the ids and the API's answer typed.
        assert_eq!(core.to_string(), text);
        assert_eq!(core.request_id(), Some("mine"));
        let d = core.api_details().unwrap();
        assert_eq!(d.response_request_id(), Some("srv-1"));
        assert_eq!(d.trace_id(), Some("trace-9"));
        assert_eq!(d.slug(), Some("conflict"));
        assert_eq!(d.detail(), Some(&serde_json::json!({"a": 1})));
    }

    #[test]
    fn transport_failures_keep_the_core_error() {
        let refused = registry_core::Error::transport(
            "connecting to the registry failed",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"),
        );
        let e = Error::from_transport("getRegistry", refused).with_request_id("rid");
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert!(e.transport().unwrap().is_connection_refused());
        assert!(e.is_retryable());
        let text = e.to_string();
        assert_eq!(
            text,
            "getRegistry: could not reach the API: connecting to the registry failed: refused (request id rid)"
        );
        let core: registry_core::Error = e.into();
        assert_eq!(core.kind(), registry_core::ErrorKind::Transport);
        assert_eq!(core.to_string(), text, "the cause is not repeated");
        let d = core.api_details().unwrap();
        assert!(d.transport().unwrap().is_connection_refused());
        assert_eq!(core.request_id(), Some("rid"));

        // Before any call: a plain error, its message and cause.
        let plain: registry_core::Error = Error::invalid("unknown region").into();
        assert_eq!(plain.kind(), registry_core::ErrorKind::InvalidInput);
        assert_eq!(plain.to_string(), "unknown region");
        assert!(plain.api_details().is_none());
        let built: registry_core::Error =
            Error::new(ErrorKind::Transport, "building the HTTP client")
                .with_source(registry_core::Error::invalid_input("bad PEM"))
                .into();
        assert_eq!(built.kind(), registry_core::ErrorKind::InvalidInput);
        assert_eq!(built.to_string(), "building the HTTP client: bad PEM");
    }
}
