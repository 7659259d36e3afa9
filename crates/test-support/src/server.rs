//! Internal plumbing shared by the fake servers: an accept loop on a loopback
//! listener that serves each connection with hyper (HTTP/1.1 and h2c) and stops
//! every connection when the handle is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The error type of response bodies produced by the servers in this crate.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body type used internally by the servers in this crate.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A request handler as stored by [`spawn`].
pub(crate) type Service = Arc<dyn Fn(Request<Incoming>) -> BoxFuture<Response<Body>> + Send + Sync>;

/// The default loopback address servers bind to.
pub(crate) const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Wraps a complete body into the internal body type.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A running accept loop; dropping it closes the listener and every open connection.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `ip:port` (port 0 picks a free one), panicking with a clear message on failure.
pub(crate) async fn bind(ip: IpAddr, port: u16) -> TcpListener {
    TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .unwrap_or_else(|e| panic!("test-support: cannot bind {ip}:{port}: {e}"))
}

/// Serves `service` on `listener` from a background task on the current tokio runtime.
pub(crate) fn spawn(listener: TcpListener, service: Service) -> ServerHandle {
    accept_loop(listener, move |stream, _peer| {
        let service = service.clone();
        async move {
            let svc = service_fn(move |req| {
                let fut = service(req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        }
    })
}

/// Accepts connections on `listener` from a background task and runs
/// `serve` for each (with `TCP_NODELAY` set). Connections live in a
/// `JoinSet` owned by the accept task, so dropping the handle ends them all
/// (a detached connection would outlive the server, and a stalled response
/// with it).
pub(crate) fn accept_loop<F, Fut>(listener: TcpListener, serve: F) -> ServerHandle
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().expect("listener has a local address");
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else {
                        // Transient accept errors (e.g. EMFILE): yield and go on.
                        tokio::task::yield_now().await;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, peer));
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    ServerHandle { addr, task }
}
