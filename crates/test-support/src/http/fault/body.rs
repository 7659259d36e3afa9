//! Response bodies that carry out a body fault while streaming (cuts,
//! resets, stalls, trickles), and a body that counts the bytes it hands on.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::rules::BodyFault;
use crate::http::conn::Conn;
use crate::server::{Body, BoxError};

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
pub(in crate::http) struct FaultBody {
    inner: Option<Body>,
    conn: Arc<Conn>,
    mode: Mode,
    /// The flush generation when the body last handed hyper a frame (or was
    /// first polled): a later flush means hyper wrote it all out.
    mark: Option<u64>,
}

pub(super) fn fault_error(what: &str) -> BoxError {
    format!("test-support: fault: {what}").into()
}

impl FaultBody {
    /// Wraps `inner` to carry out `fault` (not [`BodyFault::StallBeforeHeaders`],
    /// which the proxy handles before sending a head) on connection `conn`.
    pub(in crate::http) fn new(inner: Body, fault: BodyFault, conn: Arc<Conn>) -> Self {
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
pub(in crate::http) struct CountingBody {
    inner: Body,
    counter: Arc<AtomicU64>,
}

impl CountingBody {
    pub(in crate::http) fn new(inner: Body, counter: Arc<AtomicU64>) -> Self {
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
