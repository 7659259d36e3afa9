//! Redirects across hosts drop credentials (127.0.0.1 -> 127.0.0.2).

use std::net::{IpAddr, Ipv4Addr};

use registry_core::{Body, HttpClient};
use test_support::FakeServer;
use test_support::http::response;

#[tokio::test]
async fn cross_host_redirect_drops_authorization_and_cookies() {
    let storage = FakeServer::start_on(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), |_req| async {
        response(200, "blob-bytes")
    })
    .await;
    let target = format!("{}/bucket/blob?X-Amz-Signature=abc", storage.url());
    let registry = FakeServer::start(move |req| {
        let target = target.clone();
        async move {
            if req.uri().path() == "/v2/a/blobs/sha256:1" {
                let mut r = response(307, "");
                r.headers_mut().insert("location", target.parse().unwrap());
                r
            } else {
                let mut r = response(302, "");
                r.headers_mut()
                    .insert("location", "/v2/a/blobs/sha256:1".parse().unwrap());
                r
            }
        }
    })
    .await;

    let client = HttpClient::builder().build().unwrap();
    let resp = client
        .send(
            http::Request::get(format!("{}/v2/a/blobs/start", registry.url()))
                .header("authorization", "Bearer secret-token")
                .header("cookie", "session=1")
                .header("x-api-key", "mgc-key")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.into_body().collect_bytes(100).await.unwrap(),
        "blob-bytes"
    );

    // Same-origin hop kept the credentials.
    let reg = registry.requests();
    assert_eq!(reg.len(), 2);
    assert_eq!(reg[1].header("authorization"), Some("Bearer secret-token"));
    // The other host never saw them.
    let st = storage.requests();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].path(), "/bucket/blob");
    assert!(st[0].header("authorization").is_none());
    assert!(st[0].header("cookie").is_none());
    assert!(st[0].header("x-api-key").is_none());
    assert_eq!(reg[1].header("x-api-key"), Some("mgc-key"));
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let server = FakeServer::start(|req| async move {
        let mut r = response(302, "");
        let next = format!("{}x", req.uri().path());
        r.headers_mut().insert("location", next.parse().unwrap());
        r
    })
    .await;
    let client = HttpClient::builder()
        .redirects(registry_core::redirect::RedirectLayer::new().max_hops(3))
        .build()
        .unwrap();
    let err = client
        .send(
            http::Request::get(format!("{}/v2/", server.url()))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), registry_core::ErrorKind::Protocol);
    assert_eq!(server.request_count(), 4);
}

#[tokio::test]
async fn https_to_http_redirect_is_refused() {
    use registry_core::redirect::RedirectLayer;
    use tower::{Layer, ServiceExt};
    // The transport under the redirect layer is a plain function here: the
    // https "registry" answers with a redirect to plain http.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let transport = tower::service_fn(move |_req: http::Request<Body>| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async {
            Ok::<_, registry_core::Error>(
                http::Response::builder()
                    .status(302)
                    .header("location", "http://127.0.0.2:1/blob")
                    .body(Body::empty())
                    .unwrap(),
            )
        }
    });
    let svc = RedirectLayer::new().layer(transport);
    let err = svc
        .oneshot(
            http::Request::get("https://127.0.0.1:1/v2/a/blobs/x")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), registry_core::ErrorKind::Protocol);
    assert!(
        err.to_string().contains("refusing redirect from https"),
        "{err}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}
