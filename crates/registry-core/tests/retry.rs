//! The retry layer against a real HTTP server on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use registry_core::retry::Backoff;
use registry_core::{Body, HttpClient};
use test_support::FakeServer;
use test_support::http::response;

fn client(max_attempts: u32) -> HttpClient {
    HttpClient::builder()
        .retry_policy(
            Backoff::new()
                .max_attempts(max_attempts)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(50)),
        )
        .build()
        .unwrap()
}

/// A server answering `first` for the first `n` requests, then 200.
async fn flaky(n: usize, first: u16, retry_after: Option<&'static str>) -> FakeServer {
    let seen = Arc::new(AtomicUsize::new(0));
    FakeServer::start(move |_req| {
        let seen = seen.clone();
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) < n {
                let mut r = response(first, "try again");
                if let Some(v) = retry_after {
                    r.headers_mut().insert("retry-after", v.parse().unwrap());
                }
                r
            } else {
                response(200, "ok")
            }
        }
    })
    .await
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let server = flaky(1, 503, None).await;
    let resp = client(3)
        .send(
            http::Request::get(format!("{}/v2/", server.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_body().collect_bytes(100).await.unwrap(), "ok");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn honours_retry_after_seconds() {
    let server = flaky(1, 429, Some("1")).await;
    let started = Instant::now();
    let resp = client(3)
        .send(
            http::Request::get(format!("{}/v2/", server.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn post_is_not_retried() {
    let server = flaky(1, 503, None).await;
    let resp = client(5)
        .send(
            http::Request::post(format!("{}/v2/a/blobs/uploads/", server.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn stops_at_max_attempts() {
    let server = flaky(usize::MAX, 502, None).await;
    let resp = client(3)
        .send(
            http::Request::get(format!("{}/v2/", server.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn put_with_buffered_body_is_replayed_identically() {
    let server = flaky(2, 500, None).await;
    let resp = client(4)
        .send(
            http::Request::put(format!("{}/v2/a/manifests/t", server.url()))
                .body(Body::from("manifest-bytes"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.body == "manifest-bytes"));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client(2)
        .send(
            http::Request::get(format!("http://127.0.0.1:{port}/v2/"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), registry_core::ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
}
