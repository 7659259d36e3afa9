//! Bounded waits and honest retries against real sockets on 127.0.0.1:
//! what is retried, how often, for how long, and what the final error says.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use registry_core::retry::Backoff;
use registry_core::{Body, ErrorKind, HttpClient};
use test_support::FakeServer;
use test_support::http::response;

fn get(url: String) -> http::Request<Body> {
    http::Request::get(url).body(Body::empty()).unwrap()
}

fn fast_backoff() -> Backoff {
    Backoff::new()
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_tried_once() {
    test_support::init_tracing();
    // A 64-character label: the resolver refuses it without asking any DNS
    // server, which keeps this test on the machine.
    let host = format!("{}.invalid", "a".repeat(64));
    let client = HttpClient::builder()
        .retry_policy(fast_backoff().max_attempts(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .send(get(format!("http://{host}/v2/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownHost, "{err}");
    assert!(!err.to_string().contains("attempts"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_refused_connection_is_tried_briefly_and_the_error_counts_attempts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HttpClient::builder()
        .retry_policy(fast_backoff().max_attempts(10).refused_attempts(3))
        .build()
        .unwrap();
    let err = client
        .send(get(format!("http://127.0.0.1:{port}/v2/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_connection_refused(), "{err}");
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = FakeServer::start(move |_req| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { response(400, "bad request") }
    })
    .await;
    let client = HttpClient::builder()
        .retry_policy(fast_backoff().max_attempts(5))
        .build()
        .unwrap();
    let resp = client
        .send(get(format!("{}/v2/", server.url())))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_registry_that_never_answers_fails_within_the_retry_budget() {
    let server = FakeServer::start(|_req| async {
        std::future::pending::<()>().await;
        response(200, "never")
    })
    .await;
    let client = HttpClient::builder()
        .response_timeout(Duration::from_millis(300))
        .retry_policy(
            fast_backoff()
                .max_attempts(100)
                .budget(Duration::from_millis(1500)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .send(get(format!("{}/v2/", server.url())))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("gave up after"), "{err}");
    // Each attempt waits 300 ms: the 1.5 s budget allows about five.
    let attempts = server.request_count();
    assert!((3..=6).contains(&attempts), "{attempts} attempts");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn the_response_timeout_starts_after_the_request_body() {
    // The body takes about 1 s to send; the response timeout is 300 ms.
    // Sending must not count against it.
    let server = FakeServer::start(|req| {
        let len = req.body().len();
        async move { response(201, format!("{len}")) }
    })
    .await;
    let client = HttpClient::builder()
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let chunks = futures_util::stream::unfold(0u32, |i| async move {
        if i == 10 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 1000])),
            i + 1,
        ))
    });
    let req = http::Request::put(format!("{}/v2/a/blobs/uploads/x", server.url()))
        .header("content-length", "10000")
        .body(Body::from_stream(chunks))
        .unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.into_body().collect_bytes(100).await.unwrap(), "10000");
}

#[tokio::test]
async fn a_request_body_that_does_not_move_is_cut_off() {
    let server = FakeServer::start(|_req| async { response(201, "") }).await;
    let client = HttpClient::builder()
        .low_speed_limit(registry_core::timeout::LowSpeed::new(
            1000,
            Duration::from_millis(300),
        ))
        .build()
        .unwrap();
    // One byte, then nothing for a long time.
    let chunks = futures_util::stream::unfold(0u32, |i| async move {
        if i > 0 {
            std::future::pending::<()>().await;
        }
        Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), i + 1))
    });
    let req = http::Request::put(format!("{}/v2/a/blobs/uploads/x", server.url()))
        .header("content-length", "10000")
        .body(Body::from_stream(chunks))
        .unwrap();
    let started = Instant::now();
    let err = client.send(req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("too slow"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
