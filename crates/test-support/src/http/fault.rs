//! Fault injection for the [`Proxy`](super::Proxy): [`Fault`]s, the
//! [`FaultRule`]s that say when they fire, and the response bodies that carry
//! them out while streaming (cuts, resets, stalls, trickles), and the request
//! body that cuts an upload ([`Fault::CutRequestAfter`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::conn::{Conn, Flushes};
use super::{glob_match, method_matches};
use crate::server::{Body, BoxError};

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

    fn matches_request(&self, method: &Method, path: &str, ranged: bool) -> bool {
        method_matches(&self.method, method)
            && glob_match(&self.path, path)
            && match self.range {
                RangeFilter::Any => true,
                RangeFilter::Ranged => ranged,
                RangeFilter::Unranged => !ranged,
            }
    }

    fn matches_status(&self, status: u16) -> bool {
        match &self.statuses {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        }
    }
}

/// How often one rule fired.
#[derive(Debug, Default)]
struct RuleCount {
    total: usize,
    per_path: HashMap<String, usize>,
}

/// A body fault chosen for one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BodyFault {
    /// Send `after` body bytes, then close (or reset) the connection.
    Cut {
        after: u64,
        reset: bool,
    },
    StallAfterHeaders,
    StallBeforeHeaders,
    Trickle {
        bytes: usize,
        every: Duration,
    },
}

/// The faults chosen for one response.
#[derive(Debug, Default)]
pub(super) struct ResponseFaults {
    /// A `Docker-Content-Digest` to send instead of the real one.
    pub(super) lie_digest: Option<HeaderValue>,
    /// What to do with the body (or the head).
    pub(super) body: Option<BodyFault>,
}

/// The rules of a proxy and how often each fired; shared with [`Proxy`](super::Proxy).
#[derive(Debug, Default)]
pub(super) struct FaultSet {
    rules: Vec<FaultRule>,
    counts: Mutex<Vec<RuleCount>>,
}

impl FaultSet {
    pub(super) fn new(rules: Vec<FaultRule>) -> Self {
        let counts = rules.iter().map(|_| RuleCount::default()).collect();
        FaultSet {
            rules,
            counts: Mutex::new(counts),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RuleCount>> {
        self.counts.lock().expect("fault counts poisoned")
    }

    /// Whether rule `index` may still fire for `path` (its limits allow it).
    fn may_fire(&self, count: &RuleCount, index: usize, path: &str) -> bool {
        let rule = &self.rules[index];
        let on_path = count.per_path.get(path).copied().unwrap_or(0);
        !(rule.times.is_some_and(|n| count.total >= n)
            || rule.times_per_path.is_some_and(|n| on_path >= n))
    }

    /// Fires rule `index` for `path` if its limits allow it.
    fn try_fire(&self, index: usize, path: &str) -> bool {
        let mut counts = self.lock();
        if !self.may_fire(&counts[index], index, path) {
            return false;
        }
        let count = &mut counts[index];
        count.total += 1;
        *count.per_path.entry(path.to_owned()).or_default() += 1;
        true
    }

    /// The [`Fault::CutRequestAfter`] that may cut this request, whose body
    /// has `body_len` bytes if known: the first matching rule whose limits are
    /// not used up and whose `n` is below `body_len`. It fires (and counts)
    /// only when the body actually goes past `n` bytes.
    pub(super) fn request_cut(
        self: &Arc<Self>,
        method: &Method,
        path: &str,
        ranged: bool,
        body_len: Option<u64>,
    ) -> Option<RequestCut> {
        let counts = self.lock();
        self.rules.iter().enumerate().find_map(|(i, rule)| {
            let Fault::CutRequestAfter(after) = rule.fault else {
                return None;
            };
            (body_len.is_none_or(|len| len > after)
                && rule.matches_request(method, path, ranged)
                && self.may_fire(&counts[i], i, path))
            .then(|| RequestCut {
                faults: self.clone(),
                index: i,
                path: path.to_owned(),
                after,
            })
        })
    }

    /// Whether to drop the `Range` header of this request ([`Fault::IgnoreRange`]).
    pub(super) fn ignore_range(&self, method: &Method, path: &str, ranged: bool) -> bool {
        self.rules.iter().enumerate().any(|(i, rule)| {
            rule.fault == Fault::IgnoreRange
                && rule.matches_request(method, path, ranged)
                && self.try_fire(i, path)
        })
    }

    /// The faults for a response with `status` and `content_length` to this request.
    pub(super) fn on_response(
        &self,
        method: &Method,
        path: &str,
        ranged: bool,
        status: u16,
        content_length: Option<u64>,
    ) -> ResponseFaults {
        let mut chosen = ResponseFaults::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if !(rule.matches_request(method, path, ranged) && rule.matches_status(status)) {
                continue;
            }
            let body = match &rule.fault {
                Fault::IgnoreRange | Fault::CutRequestAfter(_) => continue,
                Fault::LieDigest(_) => {
                    if chosen.lie_digest.is_none() && self.try_fire(i, path) {
                        chosen.lie_digest = rule.lie.clone();
                    }
                    continue;
                }
                Fault::CutAfter(n) => BodyFault::Cut {
                    after: *n,
                    reset: false,
                },
                Fault::CutAtHalf => match content_length {
                    Some(len) => BodyFault::Cut {
                        after: len / 2,
                        reset: false,
                    },
                    None => continue,
                },
                Fault::ResetAfter(n) => BodyFault::Cut {
                    after: *n,
                    reset: true,
                },
                Fault::StallAfterHeaders => BodyFault::StallAfterHeaders,
                Fault::StallBeforeHeaders => BodyFault::StallBeforeHeaders,
                Fault::Trickle { bytes, every } => BodyFault::Trickle {
                    bytes: *bytes,
                    every: *every,
                },
            };
            if chosen.body.is_none() && self.try_fire(i, path) {
                chosen.body = Some(body);
            }
        }
        chosen
    }

    /// How often each rule fired, in the order added.
    pub(super) fn counts(&self) -> Vec<usize> {
        self.lock().iter().map(|c| c.total).collect()
    }
}

/// How long a reset waits for the client to acknowledge the bytes sent.
const RESET_DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Where a cut body is.
enum CutPhase {
    /// Passing body bytes on until `left` is 0.
    Streaming,
    /// Waiting until hyper has written what it was handed to the socket.
    Flushing,
    /// (Reset only) waiting until the client acknowledged the bytes (a RST
    /// drops whatever it has not received yet).
    Draining { tick: Interval, deadline: Instant },
    /// Cut, or the body ended before the cut point.
    Done,
}

enum Mode {
    Cut {
        left: u64,
        reset: bool,
        phase: CutPhase,
    },
    Stall,
    Trickle {
        piece: usize,
        tick: Interval,
        buf: BytesMut,
        upstream_done: bool,
    },
}

/// A response body carrying out a [`BodyFault`] while streaming.
pub(super) struct FaultBody {
    inner: Option<Body>,
    conn: Arc<Conn>,
    mode: Mode,
    /// The flush generation when the body last handed hyper a frame (or was
    /// first polled): a later flush means hyper wrote it all out.
    mark: Option<u64>,
}

fn fault_error(what: &str) -> BoxError {
    format!("test-support: fault: {what}").into()
}

impl FaultBody {
    /// Wraps `inner` to carry out `fault` (not [`BodyFault::StallBeforeHeaders`],
    /// which the proxy handles before sending a head) on connection `conn`.
    pub(super) fn new(inner: Body, fault: BodyFault, conn: Arc<Conn>) -> Self {
        let mode = match fault {
            BodyFault::Cut { after, reset } => Mode::Cut {
                left: after,
                reset,
                phase: CutPhase::Streaming,
            },
            BodyFault::StallAfterHeaders | BodyFault::StallBeforeHeaders => Mode::Stall,
            BodyFault::Trickle { bytes, every } => {
                let mut tick = tokio::time::interval(every.max(Duration::from_nanos(1)));
                tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Mode::Trickle {
                    piece: bytes.max(1),
                    tick,
                    buf: BytesMut::new(),
                    upstream_done: false,
                }
            }
        };
        let inner = (!matches!(mode, Mode::Stall)).then_some(inner);
        FaultBody {
            inner,
            conn,
            mode,
            mark: None,
        }
    }

    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Mode::Cut { left, reset, phase } = &mut self.mode else {
            unreachable!("poll_cut on a cut body")
        };
        let mark = *self.mark.get_or_insert_with(|| self.conn.flushes());
        loop {
            match phase {
                CutPhase::Streaming => {
                    let Some(inner) = self.inner.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if *left == 0 {
                        // Exactly at the end of a frame: cut unless the body ends here.
                        if inner.is_end_stream() {
                            *phase = CutPhase::Done;
                        } else {
                            *phase = CutPhase::Flushing;
                        }
                        continue;
                    }
                    match ready!(Pin::new(inner).poll_frame(cx)) {
                        None => {
                            *phase = CutPhase::Done;
                            self.inner = None;
                            return Poll::Ready(None);
                        }
                        Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                        Some(Ok(frame)) => match frame.into_data() {
                            Ok(mut data) => {
                                if data.len() as u64 > *left {
                                    data.truncate(*left as usize);
                                    // Bytes were dropped: cut, whatever follows.
                                    *phase = CutPhase::Flushing;
                                }
                                *left -= data.len() as u64;
                                if data.is_empty() {
                                    continue;
                                }
                                self.mark = Some(self.conn.flushes());
                                return Poll::Ready(Some(Ok(Frame::data(data))));
                            }
                            Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                        },
                    }
                }
                CutPhase::Flushing => {
                    ready!(self.conn.poll_flushed_after(mark, cx));
                    if *reset {
                        let mut tick = tokio::time::interval(Duration::from_millis(1));
                        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                        *phase = CutPhase::Draining {
                            tick,
                            deadline: Instant::now() + RESET_DRAIN_LIMIT,
                        };
                    } else {
                        *phase = CutPhase::Done;
                        self.inner = None;
                        return Poll::Ready(Some(Err(fault_error("connection cut"))));
                    }
                }
                CutPhase::Draining { tick, deadline } => {
                    while self.conn.unacked_bytes().is_some_and(|n| n > 0)
                        && Instant::now() < *deadline
                    {
                        ready!(tick.poll_tick(cx));
                    }
                    self.conn.reset();
                    *phase = CutPhase::Done;
                    self.inner = None;
                    return Poll::Ready(Some(Err(fault_error("connection reset"))));
                }
                CutPhase::Done => return Poll::Ready(None),
            }
        }
    }

    fn poll_trickle(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Mode::Trickle {
            piece,
            tick,
            buf,
            upstream_done,
        } = &mut self.mode
        else {
            unreachable!("poll_trickle on a trickle body")
        };
        loop {
            if buf.len() >= *piece || (*upstream_done && !buf.is_empty()) {
                ready!(tick.poll_tick(cx));
                let n = (*piece).min(buf.len());
                return Poll::Ready(Some(Ok(Frame::data(buf.split_to(n).freeze()))));
            }
            let Some(inner) = self.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(inner).poll_frame(cx)) {
                None => {
                    *upstream_done = true;
                    self.inner = None;
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                // Trailers: none from a registry; dropped.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

impl HttpBody for FaultBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match this.mode {
            Mode::Cut { .. } => this.poll_cut(cx),
            Mode::Trickle { .. } => this.poll_trickle(cx),
            Mode::Stall => {
                // Nothing, ever; ends only with the connection.
                ready!(this.conn.poll_closed(cx));
                Poll::Ready(Some(Err(fault_error("stalled connection closed"))))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown: hyper then goes by the response's own Content-Length.
        SizeHint::default()
    }
}

/// A (response or request) body that adds the length of every data frame it
/// hands on to a counter.
pub(super) struct CountingBody {
    inner: Body,
    counter: Arc<AtomicU64>,
}

impl CountingBody {
    pub(super) fn new(inner: Body, counter: Arc<AtomicU64>) -> Self {
        CountingBody { inner, counter }
    }
}

impl HttpBody for CountingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A [`Fault::CutRequestAfter`] chosen for one request, fired when it cuts.
pub(super) struct RequestCut {
    faults: Arc<FaultSet>,
    index: usize,
    path: String,
    after: u64,
}

impl std::fmt::Debug for RequestCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCut")
            .field("index", &self.index)
            .field("path", &self.path)
            .field("after", &self.after)
            .finish()
    }
}

impl RequestCut {
    /// Fires the rule, if its limits (shared with concurrent requests) still allow it.
    fn fire(&self) -> bool {
        self.faults.try_fire(self.index, &self.path)
    }
}

/// Where a cut request body is.
enum RequestPhase {
    /// Passing body bytes on; `armed` while the cut may still happen.
    Streaming { armed: bool },
    /// Cut: waiting until what was handed on has been written upstream.
    Flushing,
    /// Cut (the error was returned), or the body ended.
    Done,
}

/// A request body, forwarded upstream on an [`UpstreamIo`](super::conn::UpstreamIo)
/// connection, that carries out a [`Fault::CutRequestAfter`]: after `n` bytes
/// (and their flush to the upstream socket) it fails, which makes hyper drop
/// the upstream connection.
pub(super) struct CutRequestBody {
    inner: Option<Body>,
    cut: RequestCut,
    left: u64,
    phase: RequestPhase,
    flushes: Arc<Flushes>,
    /// The flush generation when the body last handed hyper a frame (or was first polled).
    mark: Option<u64>,
    cut_done: Arc<AtomicBool>,
}

impl CutRequestBody {
    /// Wraps `inner` to be cut as `cut` says, on the upstream connection whose
    /// flushes are `flushes`.
    pub(super) fn new(inner: Body, cut: RequestCut, flushes: Arc<Flushes>) -> Self {
        CutRequestBody {
            inner: Some(inner),
            left: cut.after,
            cut,
            phase: RequestPhase::Streaming { armed: true },
            flushes,
            mark: None,
            cut_done: Arc::default(),
        }
    }

    /// Set once the body has cut the request (the rule fired).
    pub(super) fn cut_flag(&self) -> Arc<AtomicBool> {
        self.cut_done.clone()
    }
}

impl HttpBody for CutRequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let mark = *this.mark.get_or_insert_with(|| this.flushes.generation());
        loop {
            match &mut this.phase {
                RequestPhase::Streaming { armed } => {
                    let Some(inner) = this.inner.as_mut() else {
                        return Poll::Ready(None);
                    };
                    let frame = match ready!(Pin::new(inner).poll_frame(cx)) {
                        None => {
                            this.phase = RequestPhase::Done;
                            this.inner = None;
                            return Poll::Ready(None);
                        }
                        Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                        Some(Ok(frame)) => frame,
                    };
                    let mut data = match frame.into_data() {
                        Ok(data) => data,
                        Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                    };
                    if *armed && data.len() as u64 > this.left {
                        // The body goes past the cut point: cut, if the rule
                        // may still fire, else pass it all.
                        if this.cut.fire() {
                            data.truncate(this.left as usize);
                            this.cut_done.store(true, Ordering::SeqCst);
                            this.phase = RequestPhase::Flushing;
                            this.inner = None;
                        } else {
                            *armed = false;
                        }
                    }
                    this.left = this.left.saturating_sub(data.len() as u64);
                    if data.is_empty() {
                        continue;
                    }
                    this.mark = Some(this.flushes.generation());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                RequestPhase::Flushing => {
                    ready!(this.flushes.poll_flushed_after(mark, cx));
                    this.phase = RequestPhase::Done;
                    return Poll::Ready(Some(Err(fault_error("request cut"))));
                }
                RequestPhase::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.phase {
            RequestPhase::Streaming { .. } => {
                self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
            }
            RequestPhase::Flushing => false,
            RequestPhase::Done => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown: hyper then goes by the request's own Content-Length.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: Vec<FaultRule>) -> FaultSet {
        FaultSet::new(rules)
    }

    #[test]
    fn limits_and_filters() {
        let faults = set(vec![
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAtHalf)
                .times_per_path(1)
                .only_unranged(),
            FaultRule::new("*", "/v2/*", Fault::LieDigest("sha256:0".into())).times(2),
            FaultRule::new("GET", "*", Fault::StallAfterHeaders).statuses([404]),
        ]);
        let get = Method::GET;
        let r = faults.on_response(&get, "/v2/a/blobs/x", false, 200, Some(11));
        assert_eq!(
            r.body,
            Some(BodyFault::Cut {
                after: 5,
                reset: false
            })
        );
        assert_eq!(r.lie_digest.unwrap(), "sha256:0");
        // Same path again: the cut has been used up; the lie has one left.
        let r = faults.on_response(&get, "/v2/a/blobs/x", false, 200, Some(11));
        assert_eq!(r.body, None);
        assert!(r.lie_digest.is_some());
        // Ranged requests are not cut; the lie is used up.
        let r = faults.on_response(&get, "/v2/a/blobs/y", true, 206, Some(11));
        assert_eq!((r.body, r.lie_digest), (None, None));
        // No Content-Length: no half.
        let r = faults.on_response(&get, "/v2/a/blobs/z", false, 200, None);
        assert_eq!(r.body, None);
        let r = faults.on_response(&get, "/v2/a/blobs/w", false, 404, None);
        assert_eq!(r.body, Some(BodyFault::StallAfterHeaders));
        assert_eq!(faults.counts(), vec![1, 2, 1]);
    }

    #[test]
    fn ignore_range_fires_on_the_request() {
        let faults = set(vec![
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::IgnoreRange)
                .only_ranged()
                .times(1),
        ]);
        assert!(!faults.ignore_range(&Method::GET, "/v2/a/blobs/x", false));
        assert!(faults.ignore_range(&Method::GET, "/v2/a/blobs/x", true));
        assert!(!faults.ignore_range(&Method::GET, "/v2/a/blobs/x", true));
        assert_eq!(faults.counts(), vec![1]);
    }

    #[test]
    fn request_cuts_are_chosen_on_the_request_and_fire_when_cutting() {
        let faults = Arc::new(set(vec![
            FaultRule::new("PUT", "/v2/*/blobs/uploads/*", Fault::CutRequestAfter(10))
                .times(1)
                .statuses([500]),
        ]));
        let put = Method::PUT;
        let path = "/v2/a/blobs/uploads/u";
        assert!(
            faults
                .request_cut(&Method::GET, path, false, None)
                .is_none()
        );
        // Bodies of at most n bytes are never cut.
        assert!(faults.request_cut(&put, path, false, Some(10)).is_none());
        let a = faults.request_cut(&put, path, false, Some(11)).unwrap();
        let b = faults.request_cut(&put, path, false, None).unwrap();
        assert_eq!((a.after, b.after), (10, 10));
        // Not a response fault, whatever the status.
        assert_eq!(faults.on_response(&put, path, false, 500, None).body, None);
        assert_eq!(faults.counts(), vec![0]);
        // The first to cut uses up times(1); the other then passes whole.
        assert!(a.fire());
        assert!(!b.fire());
        assert!(faults.request_cut(&put, path, false, None).is_none());
        assert_eq!(faults.counts(), vec![1]);
    }

    #[test]
    #[should_panic(expected = "not a header value")]
    fn lie_digest_must_be_a_header_value() {
        let _ = FaultRule::new("GET", "*", Fault::LieDigest("a\nb".into()));
    }
}
