//! The proxy's own accept loop. Unlike the shared one in `crate::server`, it
//! hands every request a handle on its connection ([`Conn`]) so that faults can
//! wait until what they sent has left the proxy, and reset (RST) the TCP
//! connection. Dropping the server handle aborts the accept task, whose
//! `JoinSet` aborts every connection task.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::server::{self, Body, BoxFuture, ServerHandle};

/// A request handler that also gets the connection the request came on.
pub(super) type ConnService =
    Arc<dyn Fn(Request<Incoming>, Arc<Conn>) -> BoxFuture<Response<Body>> + Send + Sync>;

/// One accepted client connection, as seen by the requests on it.
#[derive(Debug)]
pub(super) struct Conn {
    local: SocketAddr,
    peer: SocketAddr,
    state: Mutex<ConnState>,
}

#[derive(Debug, Default)]
struct ConnState {
    /// How many times the connection's write side was flushed with nothing left buffered.
    flushes: u64,
    flush_waiters: Vec<Waker>,
    /// A fault asked for a reset: every I/O fails and the socket closes with RST.
    reset: bool,
    /// The task last reading the socket (woken on reset, for HTTP/2).
    reader: Option<Waker>,
    /// The socket was closed (the connection ended or the proxy was dropped).
    closed: bool,
    closed_waiters: Vec<Waker>,
}

fn add_waker(wakers: &mut Vec<Waker>, waker: &Waker) {
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
}

impl Conn {
    fn new(local: SocketAddr, peer: SocketAddr) -> Self {
        Conn {
            local,
            peer,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().expect("connection state poisoned")
    }

    /// The current flush generation (see [`Conn::poll_flushed_after`]).
    pub(super) fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    /// Ready once the connection was flushed after generation `mark`, i.e.
    /// everything hyper had buffered by then was written to the socket.
    pub(super) fn poll_flushed_after(&self, mark: u64, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.flushes > mark || state.closed {
            return Poll::Ready(());
        }
        add_waker(&mut state.flush_waiters, cx.waker());
        Poll::Pending
    }

    /// Ready once the socket is closed.
    pub(super) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed {
            return Poll::Ready(());
        }
        add_waker(&mut state.closed_waiters, cx.waker());
        Poll::Pending
    }

    /// Resets the connection: from now on its I/O fails, and the socket is
    /// closed with `SO_LINGER` 0, which makes the kernel send a TCP RST.
    pub(super) fn reset(&self) {
        let reader = {
            let mut state = self.lock();
            state.reset = true;
            state.reader.take()
        };
        if let Some(waker) = reader {
            waker.wake();
        }
    }

    fn is_reset(&self) -> bool {
        self.lock().reset
    }

    /// Bytes written to the socket that the peer has not acknowledged yet
    /// (Linux `/proc/net/tcp` `tx_queue`); `None` where that is unknown.
    pub(super) fn unacked_bytes(&self) -> Option<u64> {
        unacked_bytes(self.local, self.peer)
    }
}

/// The hex spelling of an address in `/proc/net/tcp{,6}`: each 32-bit word of
/// the address in host byte order, then the port.
fn proc_net_addr(addr: SocketAddr) -> String {
    let words: Vec<[u8; 4]> = match addr.ip() {
        IpAddr::V4(ip) => vec![ip.octets()],
        IpAddr::V6(ip) => ip
            .octets()
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect(),
    };
    let mut out: String = words
        .into_iter()
        .map(|w| format!("{:08X}", u32::from_ne_bytes(w)))
        .collect();
    out.push_str(&format!(":{:04X}", addr.port()));
    out
}

fn unacked_bytes(local: SocketAddr, peer: SocketAddr) -> Option<u64> {
    let file = if local.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let (local, peer) = (proc_net_addr(local), proc_net_addr(peer));
    let table = std::fs::read_to_string(file).ok()?;
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let (l, p, _state, queues) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if !(l.eq_ignore_ascii_case(&local) && p.eq_ignore_ascii_case(&peer)) {
            return None;
        }
        u64::from_str_radix(queues.split(':').next()?, 16).ok()
    })
}

/// The socket of a connection, watched by its [`Conn`].
struct ConnIo {
    stream: TcpStream,
    conn: Arc<Conn>,
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "test-support: fault reset")
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        {
            let mut state = this.conn.lock();
            if state.reset {
                return Poll::Ready(Err(reset_error()));
            }
            if !state
                .reader
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.reader = Some(cx.waker().clone());
            }
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.conn.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.conn.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        std::task::ready!(Pin::new(&mut this.stream).poll_flush(cx))?;
        let waiters = {
            let mut state = this.conn.lock();
            state.flushes += 1;
            std::mem::take(&mut state.flush_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_reset() {
            // No FIN: the drop below sends the RST.
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        let waiters = {
            let mut state = self.conn.lock();
            if state.reset {
                // Closing a socket with a zero linger time sends RST, not FIN.
                let _ = self.stream.set_zero_linger();
            }
            state.closed = true;
            let mut waiters = std::mem::take(&mut state.closed_waiters);
            waiters.append(&mut state.flush_waiters);
            waiters
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// The flush generations of one upstream connection (see [`UpstreamIo`]).
#[derive(Debug, Default)]
pub(super) struct Flushes {
    state: Mutex<FlushState>,
}

#[derive(Debug, Default)]
struct FlushState {
    /// How many times the write side was flushed with nothing left buffered.
    count: u64,
    waiters: Vec<Waker>,
    /// The socket was closed.
    closed: bool,
}

impl Flushes {
    fn lock(&self) -> MutexGuard<'_, FlushState> {
        self.state.lock().expect("flush state poisoned")
    }

    /// The current flush generation (see [`Flushes::poll_flushed_after`]).
    pub(super) fn generation(&self) -> u64 {
        self.lock().count
    }

    /// Ready once the connection was flushed after generation `mark` (all that
    /// hyper had buffered by then was written to the socket) or closed.
    pub(super) fn poll_flushed_after(&self, mark: u64, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.count > mark || state.closed {
            return Poll::Ready(());
        }
        add_waker(&mut state.waiters, cx.waker());
        Poll::Pending
    }

    fn bump(&self, closed: bool) {
        let waiters = {
            let mut state = self.lock();
            if closed {
                state.closed = true;
            } else {
                state.count += 1;
            }
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// A connection to the upstream whose flushes are counted, for a request a
/// [`Fault::CutRequestAfter`](super::Fault::CutRequestAfter) may cut.
pub(super) struct UpstreamIo {
    stream: TcpStream,
    flushes: Arc<Flushes>,
}

impl UpstreamIo {
    /// Connects to `authority` (`host[:port]`, port 80 by default).
    pub(super) async fn connect(authority: &http::uri::Authority) -> io::Result<Self> {
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let stream = TcpStream::connect((host, authority.port_u16().unwrap_or(80))).await?;
        let _ = stream.set_nodelay(true);
        Ok(UpstreamIo {
            stream,
            flushes: Arc::default(),
        })
    }

    /// The flush generations of this connection.
    pub(super) fn flushes(&self) -> Arc<Flushes> {
        self.flushes.clone()
    }
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(Pin::new(&mut this.stream).poll_flush(cx))?;
        this.flushes.bump(false);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl Drop for UpstreamIo {
    fn drop(&mut self) {
        self.flushes.bump(true);
    }
}

/// Serves `service` on `listener` (HTTP/1.1 and h2c) from a background
/// task, each request with a handle on its connection.
pub(super) fn spawn(listener: TcpListener, service: ConnService) -> ServerHandle {
    let addr = listener.local_addr().expect("listener has a local address");
    server::accept_loop(listener, move |stream, peer| {
        let local = stream.local_addr().unwrap_or(addr);
        let conn = Arc::new(Conn::new(local, peer));
        let service = service.clone();
        async move {
            let io = ConnIo {
                stream,
                conn: conn.clone(),
            };
            let svc = service_fn(move |req| {
                let fut = service(req, conn.clone());
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(io), svc)
                .await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_addresses() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let expected = if cfg!(target_endian = "little") {
            "0100007F:1F90"
        } else {
            "7F000001:1F90"
        };
        assert_eq!(proc_net_addr(v4), expected);
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert_eq!(proc_net_addr(v6).len(), 32 + 5);
        assert!(proc_net_addr(v6).ends_with(":0001"));
    }

    #[tokio::test]
    async fn finds_the_queue_of_a_live_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        if std::path::Path::new("/proc/net/tcp").exists() {
            assert_eq!(unacked_bytes(server.local_addr().unwrap(), peer), Some(0));
        }
    }
}
