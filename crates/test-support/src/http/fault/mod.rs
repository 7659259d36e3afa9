//! Fault injection for the [`Proxy`](super::Proxy): [`Fault`]s, the
//! [`FaultRule`]s that say when they fire, and the response bodies that carry
//! them out while streaming (cuts, resets, stalls, trickles), and the request
//! body that cuts an upload ([`Fault::CutRequestAfter`]).

mod body;
mod request;
mod rules;

pub(super) use self::body::{CountingBody, FaultBody};
pub(super) use self::request::{CutRequestBody, RequestCut};
pub(super) use self::rules::{BodyFault, FaultSet};

use std::time::Duration;

use http::HeaderValue;

/// Something going wrong with a proxied response (or, for
/// [`Fault::CutRequestAfter`], request); see [`FaultRule`] for when.
///
/// The body faults (cuts, resets, stalls, trickles) keep the body streaming:
/// the proxy never buffers a body to apply them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Sends the response head unchanged (original `Content-Length`), then the
    /// first `n` body bytes, then closes the connection: the client sees EOF
    /// before the end of the message. A body of at most `n` bytes passes whole.
    CutAfter(u64),
    /// [`Fault::CutAfter`] at half the `Content-Length` (rounded down). Fires
    /// only on responses with a `Content-Length`.
    CutAtHalf,
    /// Sends the head and the first `n` body bytes, waits (up to 2 s) until the
    /// client has acknowledged them, then resets the TCP connection (RST, by
    /// closing the socket with `SO_LINGER` 0): the client's next read fails
    /// with "connection reset". Over HTTP/2 this ends every stream of the
    /// connection. A body of at most `n` bytes passes whole.
    ResetAfter(u64),
    /// Sends the response head, then no body bytes ever: the connection stays
    /// open until the client closes it or the proxy is dropped.
    StallAfterHeaders,
    /// Forwards the request (the registry acts on it) but never sends a
    /// response head: the connection stays open until the client closes it or
    /// the proxy is dropped.
    StallBeforeHeaders,
    /// Sends the body in pieces of `bytes` bytes (the last may be shorter), one
    /// each `every` (a `tokio::time::interval`; the first at once).
    Trickle {
        /// Bytes per piece (at least 1).
        bytes: usize,
        /// Time between pieces.
        every: Duration,
    },
    /// Forwards the request without its `Range` (and `If-Range`) header, so the
    /// registry answers `200` with the whole blob. Fires (and counts) only on
    /// requests that have a `Range`; decided on the request alone, so
    /// [`FaultRule::statuses`] does not apply.
    IgnoreRange,
    /// Replaces the response's `Docker-Content-Digest` header with this value
    /// (a lie), adding it when missing.
    LieDigest(String),
    /// Forwards the request while streaming its body, but after `n` request
    /// body bytes have been written to the registry, stops: the upstream
    /// connection is closed (the registry sees the body end early) and the
    /// client's connection is reset (RST, as with [`Fault::ResetAfter`]) with
    /// no response, so the client fails while sending its body or waiting for
    /// the answer ("connection reset", "connection closed before message
    /// completed"). Meant for blob uploads (`PUT`/`PATCH`).
    ///
    /// A request whose body has at most `n` bytes passes whole, and the rule
    /// counts as fired only when it cuts. Decided on the request alone, so
    /// [`FaultRule::statuses`] does not apply. The cut request is recorded with
    /// status 0, [`body_bytes_sent`](super::ProxiedRequest::body_bytes_sent) 0
    /// and [`request_body_bytes`](super::ProxiedRequest::request_body_bytes)
    /// `n`. Such requests go upstream on a connection of their own; over
    /// HTTP/2 the reset ends every stream of the client's connection.
    CutRequestAfter(u64),
}

/// Which requests a rule applies to, by their `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeFilter {
    Any,
    Ranged,
    Unranged,
}

/// When a [`Fault`] fires: requests matching a method and path glob (see
/// [`glob_match`](super::glob_match)) whose response status is a `2xx` (by
/// default), optionally only the first few, only ranged or unranged ones.
/// [`Fault::IgnoreRange`] and [`Fault::CutRequestAfter`] are decided on the
/// request alone, so no status filter applies to them.
///
/// Rules are added with [`ProxyBuilder::fault`](super::ProxyBuilder::fault) and
/// tried in the order added. Every matching rule fires, except that one
/// request gets at most one [`Fault::IgnoreRange`], one [`Fault::LieDigest`],
/// one [`Fault::CutRequestAfter`] and one response body fault (the others):
/// the first matching of each kind. A cut request gets no response faults
/// (there is no response). A rule that did not fire is not counted against
/// its limits.
///
/// ```
/// use test_support::{Fault, FaultRule};
/// // Cut the first blob upload after 1 MiB of its body.
/// let rule = FaultRule::new("PUT", "/v2/*/blobs/uploads/*", Fault::CutRequestAfter(1 << 20))
///     .times(1);
/// # let _ = rule;
/// ```
///
/// ```
/// use test_support::{Fault, FaultRule};
/// // Cut every blob download once, half-way through; let resumptions through.
/// let rule = FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAtHalf)
///     .times_per_path(1)
///     .only_unranged();
/// # let _ = rule;
/// ```
#[derive(Debug, Clone)]
pub struct FaultRule {
    method: String,
    path: String,
    fault: Fault,
    times: Option<usize>,
    times_per_path: Option<usize>,
    range: RangeFilter,
    statuses: Option<Vec<u16>>,
    lie: Option<HeaderValue>,
}

impl FaultRule {
    /// A rule applying `fault` to every request matching `method` (`"*"` for
    /// any) and `path_glob` whose response status is a `2xx`.
    ///
    /// # Panics
    /// If a [`Fault::LieDigest`] value cannot be a header value (e.g. it holds
    /// a newline).
    pub fn new(method: &str, path_glob: &str, fault: Fault) -> Self {
        let lie = match &fault {
            Fault::LieDigest(value) => Some(HeaderValue::from_str(value).unwrap_or_else(|e| {
                panic!("test-support: Fault::LieDigest({value:?}) is not a header value: {e}")
            })),
            _ => None,
        };
        FaultRule {
            method: method.to_owned(),
            path: path_glob.to_owned(),
            fault,
            times: None,
            times_per_path: None,
            range: RangeFilter::Any,
            statuses: None,
            lie,
        }
    }

    /// Fires only for the first `n` matching requests overall.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Fires only for the first `n` matching requests of each distinct path
    /// (e.g. "cut every blob download once").
    pub fn times_per_path(mut self, n: usize) -> Self {
        self.times_per_path = Some(n);
        self
    }

    /// Fires only for requests with a `Range` header.
    pub fn only_ranged(mut self) -> Self {
        self.range = RangeFilter::Ranged;
        self
    }

    /// Fires only for requests without a `Range` header.
    pub fn only_unranged(mut self) -> Self {
        self.range = RangeFilter::Unranged;
        self
    }

    /// Fires only when the response status is one of `statuses` (instead of
    /// any `2xx`). Does not apply to [`Fault::IgnoreRange`] and
    /// [`Fault::CutRequestAfter`], which fire before there is a status.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = Some(statuses.into_iter().collect());
        self
    }

    /// The fault this rule injects.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }
}
