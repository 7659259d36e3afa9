//! The request body that cuts an upload ([`Fault::CutRequestAfter`](super::Fault::CutRequestAfter)).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::body::fault_error;
use super::rules::FaultSet;
use crate::http::conn::Flushes;
use crate::server::{Body, BoxError};

/// A [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter) chosen for one request, fired when it cuts.
pub(in crate::http) struct RequestCut {
    pub(super) faults: Arc<FaultSet>,
    pub(super) index: usize,
    pub(super) path: String,
    pub(super) after: u64,
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
    pub(super) fn fire(&self) -> bool {
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

/// A request body, forwarded upstream on an [`UpstreamIo`](crate::http::conn::UpstreamIo)
/// connection, that carries out a [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter): after `n` bytes
/// (and their flush to the upstream socket) it fails, which makes hyper drop
/// the upstream connection.
pub(in crate::http) struct CutRequestBody {
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
    pub(in crate::http) fn new(inner: Body, cut: RequestCut, flushes: Arc<Flushes>) -> Self {
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
    pub(in crate::http) fn cut_flag(&self) -> Arc<AtomicBool> {
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
