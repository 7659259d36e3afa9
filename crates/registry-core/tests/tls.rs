//! TLS against the real `docker-registry` serving HTTPS on 127.0.0.1 with a
//! self-signed certificate: an extra PEM root makes it trusted (and ALPN
//! picks HTTP/2), an untrusted certificate is a clear error, and
//! `insecure_skip_verify` accepts it.

use http::{Request, StatusCode, Version};
use registry_core::{Body, ErrorKind, HttpClient};
use test_support::TestRegistry;
use test_support::registry::TLS_CERT_PEM;

async fn get_v2(
    client: &HttpClient,
    base: &str,
) -> Result<http::Response<Body>, registry_core::Error> {
    let req = Request::get(format!("{base}/v2/"))
        .body(Body::empty())
        .unwrap();
    client.send(req).await
}

#[tokio::test]
async fn an_extra_root_is_trusted_and_alpn_picks_http2() {
    test_support::init_tracing();
    let registry = TestRegistry::builder().tls().start().await;
    let base = registry.url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let client = HttpClient::builder()
        .add_root_pem(TLS_CERT_PEM)
        .build()
        .unwrap();
    let resp = get_v2(&client, &base).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), Version::HTTP_2, "ALPN negotiates h2");
    assert_eq!(
        resp.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_unless_verification_is_skipped() {
    test_support::init_tracing();
    let registry = TestRegistry::builder().tls().start().await;
    let base = registry.url();

    let strict = HttpClient::builder().build().unwrap();
    let err = get_v2(&strict, &base).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(!err.is_retryable());
    let text = format!("{err:#}").to_lowercase();
    assert!(text.contains("certificate"), "says why: {text}");

    let insecure = HttpClient::builder()
        .insecure_skip_verify(true)
        .build()
        .unwrap();
    let resp = get_v2(&insecure, &base).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
