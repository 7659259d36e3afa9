//! The throttle layer against real HTTP servers on 127.0.0.1: a `429` from
//! one host pauses every request of the client to that host (clones
//! included), and no other host.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use registry_core::retry::Backoff;
use registry_core::{Body, HttpClient};
use test_support::FakeServer;
use test_support::http::response;

/// No retries: the `429` reaches the caller, so the test sees the gate on
/// the next request, not the refused request's own retry.
fn client() -> HttpClient {
    HttpClient::builder()
        .retry_policy(Backoff::new().max_attempts(1))
        .build()
        .unwrap()
}

/// A server answering its first request `429` with `retry_after`, then
/// 200; it records when each request arrived.
async fn slow_down(retry_after: &'static str) -> (FakeServer, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = FakeServer::start(move |_req| {
        let seen = seen.clone();
        async move {
            let n = {
                let mut s = seen.lock().unwrap();
                s.push(Instant::now());
                s.len()
            };
            if n == 1 {
                let mut r = response(429, "slow down");
                r.headers_mut()
                    .insert("retry-after", retry_after.parse().unwrap());
                r
            } else {
                response(200, "ok")
            }
        }
    })
    .await;
    (server, arrivals)
}

async fn get(client: &HttpClient, url: String) -> u16 {
    client
        .send(http::Request::get(url).body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_429_pauses_the_next_request_to_that_host_for_retry_after() {
    let (server, arrivals) = slow_down("1").await;
    let client = client();
    assert_eq!(
        get(&client, format!("{}/v2/a/blobs/x", server.url())).await,
        429
    );
    // Another request, on a clone, for another path: it waits too.
    let other = client.clone();
    assert_eq!(
        get(&other, format!("{}/v2/b/blobs/y", server.url())).await,
        200
    );
    let a = arrivals.lock().unwrap().clone();
    assert_eq!(a.len(), 2);
    assert!(
        a[1] - a[0] >= Duration::from_secs(1),
        "second request came {:?} after the 429",
        a[1] - a[0]
    );
}

#[tokio::test]
async fn other_hosts_are_not_paused() {
    let (slow, arrivals) = slow_down("30").await;
    let (fast, _) = slow_down("0").await;
    let client = client();
    assert_eq!(get(&client, format!("{}/v2/", slow.url())).await, 429);
    // The paused host gets nothing for the next moments ...
    let blocked = tokio::time::timeout(
        Duration::from_millis(1500),
        get(&client, format!("{}/v2/", slow.url())),
    )
    .await;
    assert!(blocked.is_err(), "request to a paused host went through");
    assert_eq!(arrivals.lock().unwrap().len(), 1);
    // ... while another host answers at once (its own 429 says 0 s).
    let other = tokio::time::timeout(
        Duration::from_secs(20),
        get(&client, format!("{}/v2/", fast.url())),
    )
    .await
    .expect("another host is not paused");
    assert_eq!(other, 429);
}
