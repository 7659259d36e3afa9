//! Errors, retries, headers, authentication, request shapes and input
//! validation, against the spec-checking fake.

mod common;

use common::FakeClient;
use common::ids::*;

use common::spec::{DIGEST, REGISTRY_ID, REPOSITORY_ID};
use common::{API_KEY, Auth, MagaluFake, error_response};
use mgc_api::*;
use test_support::http::{json_response, response};

fn no_retry(fake: &MagaluFake) -> MgcClient {
    MgcClient::builder()
        .base_url(fake.url())
        .api_key(API_KEY)
        .max_attempts(1)
        .build()
        .unwrap()
}

fn with_header(
    mut resp: http::Response<http_body_util::Full<bytes::Bytes>>,
    name: &'static str,
    value: &str,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    resp.headers_mut().insert(name, value.parse().unwrap());
    resp
}

#[tokio::test]
async fn error_statuses_map_to_kinds_with_slug_and_ids() {
    let fake = MagaluFake::start().await;
    let statuses = [400u16, 401, 403, 404, 409, 429, 500];
    fake.on("getUser", move |ctx| {
        Some(error_response(statuses[ctx.call - 1]))
    });
    let mgc = no_retry(&fake);
    // registry-core's kinds: a 400 is a Protocol error, a 403 is Denied.
    let want = [
        ErrorKind::Protocol,
        ErrorKind::Unauthorized,
        ErrorKind::Denied,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::RateLimited,
        ErrorKind::Server,
    ];
    for (i, (status, kind)) in statuses.iter().zip(want).enumerate() {
        let err = mgc.users().get().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.status().unwrap().as_u16(), *status);
        assert_eq!(err.operation(), Some("getUser"));
        let body = common::spec::error_body(*status);
        assert_eq!(err.slug(), body["slug"].as_str());
        assert_eq!(err.message(), body["message"].as_str().unwrap());
        assert_eq!(err.detail(), Some(&serde_json::json!({})));
        let sent = fake.requests()[i]
            .header("x-request-id")
            .unwrap()
            .to_owned();
        assert_eq!(err.request_id(), Some(sent.as_str()));
        assert_eq!(err.response_request_id(), Some(sent.as_str()));
        let trace = format!("trace-{}", i + 1);
        assert_eq!(err.trace_id(), Some(trace.as_str()));
        assert!(
            err.to_string().contains(&sent) && err.to_string().contains(&trace),
            "{err}"
        );
    }
    assert_eq!(fake.request_count(), statuses.len());
    fake.assert_clean();
}

#[tokio::test]
async fn errors_convert_to_the_stack_error_without_losing_anything() {
    use mgc_api::error::ApiErrorExt;
    let fake = MagaluFake::start().await;
    fake.on("getUser", |_| Some(error_response(403)));
    let err = no_retry(&fake).users().get().await.unwrap_err();
    let (text, slug) = (err.to_string(), err.slug().map(str::to_owned));
    let sent = fake.requests()[0]
        .header("x-request-id")
        .unwrap()
        .to_owned();
    let core = registry_core::Error::from(err);
    assert_eq!(core.kind(), registry_core::ErrorKind::Denied);
    assert_eq!(core.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(core.to_string(), text);
    assert_eq!(core.request_id(), Some(sent.as_str()));
    let details = core.api_details().unwrap();
    assert_eq!(details.operation(), Some("getUser"));
    assert_eq!(details.slug().map(str::to_owned), slug);
    assert_eq!(details.trace_id(), Some("trace-1"));

    // A transport failure keeps the transport's own error, typed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mgc = MgcClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key(API_KEY)
        .max_attempts(1)
        .build()
        .unwrap();
    let e = mgc.registries().get(&registry_id()).await.unwrap_err();
    assert!(e.transport().unwrap().is_connection_refused(), "{e}");
    let rid = e.request_id().unwrap().to_owned();
    let core = registry_core::Error::from(e);
    assert_eq!(core.kind(), registry_core::ErrorKind::Transport);
    assert_eq!(core.request_id(), Some(rid.as_str()));
    assert!(core.is_retryable());
}

#[tokio::test]
async fn not_found_conflict_and_rate_limited_on_real_operations() {
    let fake = MagaluFake::start().await;
    fake.on("getRegistry", |_| Some(error_response(404)));
    fake.on("createRegistry", |_| Some(error_response(409)));
    fake.on("getProxyCaches", |_| {
        Some(with_header(error_response(429), "retry-after", "3600"))
    });
    let mgc = fake.client();

    let e = mgc.registries().get(&registry_id()).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.slug()),
        (ErrorKind::NotFound, Some("not_found"))
    );
    assert!(e.to_string().starts_with(
        "getRegistry: HTTP 404 Not Found: not_found: error when getting resource: not found (request id "
    ));
    let e = mgc
        .registries()
        .create(RegistryRequest::new("taken"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.slug()),
        (ErrorKind::Conflict, Some("conflict"))
    );
    assert!(!e.is_retryable());
    // A Retry-After beyond what the retry policy waits is handed back at once.
    let e = mgc
        .proxy_caches()
        .list(ListOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.slug()),
        (ErrorKind::RateLimited, Some("too_many_requests"))
    );
    assert!(e.is_retryable());
    assert_eq!(fake.request_count(), 3);
    fake.assert_clean();
}

#[tokio::test]
async fn non_json_error_body_still_gives_a_clear_message() {
    let fake = MagaluFake::start().await;
    fake.on("createUser", |_| {
        Some(with_header(
            response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "content-type",
            "text/html",
        ))
    });
    let err = fake.client().users().create().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.slug(), None);
    assert!(err.message().contains("<h1>502 Bad Gateway</h1>"), "{err}");
    assert!(
        err.to_string()
            .starts_with("createUser: HTTP 502 Bad Gateway: (not a JSON error body)")
    );
    assert_eq!(fake.request_count(), 1, "POST is not retried");
}

#[tokio::test]
async fn get_is_retried_on_503_with_the_same_request_id() {
    let fake = MagaluFake::start().await;
    fake.on("getRegistry", |ctx| {
        (ctx.call == 1).then(|| with_header(error_response(503), "retry-after", "0"))
    });
    let reg = fake
        .client()
        .registries()
        .get(&registry_id())
        .await
        .unwrap();
    assert_eq!(reg.id, REGISTRY_ID);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].header("x-request-id"),
        reqs[1].header("x-request-id")
    );
    fake.assert_clean();
}

#[tokio::test]
async fn delete_is_retried_on_429_honouring_retry_after() {
    let fake = MagaluFake::start().await;
    fake.on("deleteRepositoryV1", |ctx| {
        (ctx.call == 1).then(|| with_header(error_response(429), "retry-after", "0"))
    });
    fake.client()
        .repositories()
        .delete(&registry_id(), &repository_id())
        .await
        .unwrap();
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn creating_posts_and_patches_are_not_retried() {
    let fake = MagaluFake::start().await;
    fake.on("createRegistry", |_| {
        Some(with_header(error_response(503), "retry-after", "0"))
    });
    fake.on("updateProxyCache", |_| {
        Some(with_header(error_response(503), "retry-after", "0"))
    });
    let mgc = fake.client();
    let e = mgc
        .registries()
        .create(RegistryRequest::new("cool"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    let e = mgc
        .proxy_caches()
        .update(
            &proxy_cache_id(),
            UpdateProxyCacheRequest::new().description("x"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status().unwrap().as_u16(), 503);
    assert_eq!(fake.request_count(), 2);
    fake.assert_clean();
}

#[tokio::test]
async fn transport_errors_and_undecodable_answers() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mgc = MgcClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key(API_KEY)
        .max_attempts(1)
        .build()
        .unwrap();
    let e = mgc.registries().get(&registry_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.request_id().is_some());
    assert!(!e.to_string().contains(API_KEY));

    let fake = MagaluFake::start().await;
    fake.on("getCredentials", |_| {
        Some(json_response(
            200,
            &serde_json::json!({"username": "u", "password": "hunter22"}),
        ))
    });
    let e = fake.client().credentials().get().await.unwrap_err();
    // A body that is not the documented JSON: a Protocol error.
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("missing field `email`"), "{e}");
    assert!(
        !e.to_string().contains("hunter22"),
        "bodies are not echoed: {e}"
    );
    assert_eq!(e.request_id(), fake.requests()[0].header("x-request-id"));
}

#[tokio::test]
async fn every_request_has_user_agent_and_a_fresh_uuid_request_id() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    mgc.users().get().await.unwrap();
    mgc.users().get().await.unwrap();
    let reqs = fake.requests();
    for r in &reqs {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("mgc-api/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(r.header("accept"), Some("application/json"));
        assert_eq!(r.header("x-api-key"), Some(API_KEY));
        assert!(r.header("authorization").is_none());
        let id = uuid::Uuid::parse_str(r.header("x-request-id").unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
    }
    assert_ne!(
        reqs[0].header("x-request-id"),
        reqs[1].header("x-request-id")
    );
    fake.assert_clean();
}

#[tokio::test]
async fn request_id_can_be_chosen_per_call_or_generated() {
    let fake = MagaluFake::start().await;
    let mine = "6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b";
    fake.client()
        .with_request_id(mine)
        .unwrap()
        .users()
        .get()
        .await
        .unwrap();
    assert_eq!(fake.requests()[0].header("x-request-id"), Some(mine));

    let generated = MgcClient::builder()
        .base_url(fake.url())
        .api_key(API_KEY)
        .user_agent("crctl/9.9")
        .request_id_generator(|| "11111111-2222-4333-8444-555555555555".to_owned())
        .build()
        .unwrap();
    fake.on("getUser", |ctx| {
        (ctx.call == 2).then(|| error_response(404))
    });
    let e = generated.users().get().await.unwrap_err();
    assert_eq!(e.request_id(), Some("11111111-2222-4333-8444-555555555555"));
    let r = &fake.requests()[1];
    assert_eq!(
        r.header("x-request-id"),
        Some("11111111-2222-4333-8444-555555555555")
    );
    assert_eq!(r.header("user-agent"), Some("crctl/9.9"));
    fake.assert_clean();
}

#[tokio::test]
async fn bearer_token_auth_adds_the_prefix_once() {
    let fake = MagaluFake::start_with(Auth::Bearer("eyJhbGciOiJSUzI1NiJ9.e30.sig".into())).await;
    for token in [
        "eyJhbGciOiJSUzI1NiJ9.e30.sig",
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig",
    ] {
        let mgc = MgcClient::builder()
            .base_url(fake.url())
            .token(token)
            .build()
            .unwrap();
        mgc.credentials().get().await.unwrap();
        assert!(!format!("{mgc:?}").contains("eyJ"));
    }
    for r in fake.requests() {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig")
        );
        assert!(r.header("x-api-key").is_none());
    }
    fake.assert_clean();
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_never_echoed() {
    let fake = MagaluFake::start().await;
    let mgc = MgcClient::builder()
        .base_url(fake.url())
        .api_key("not-the-key-42")
        .build()
        .unwrap();
    let e = mgc.registries().list(ListOptions::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(!e.to_string().contains("not-the-key-42"));
    assert!(!format!("{e:?}").contains("not-the-key-42"));
    assert!(!format!("{mgc:?}").contains("not-the-key-42"));
}

#[tokio::test]
async fn expand_is_sent_as_repeated_parameters() {
    let fake = MagaluFake::start().await;
    let mut opts = ListOptions::new().limit(10);
    for e in mgc_api::images::EXPAND_ALL {
        opts = opts.expand(e);
    }
    fake.client()
        .images()
        .list(&registry_id(), &repository_id(), opts.name("v1"))
        .await
        .unwrap();
    assert_eq!(
        fake.requests()[0].query(),
        Some(
            "_limit=10&name=v1&expand=tags_details&expand=extra_attr&expand=manifest_media_type&expand=media_type"
        )
    );
    fake.assert_clean();
}

#[tokio::test]
async fn vulnerability_filters_and_scan_status_are_sent() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    let filter = VulnerabilityFilter::new()
        .severity(VulnerabilitySeverity::Critical)
        .severity(VulnerabilitySeverity::Unknown)
        .package_name("openssl")
        .cve_id("CVE-2024-0001")
        .fixable(false);
    mgc.scans()
        .vulnerabilities(&scan_id(), ListOptions::new().sort("severity:desc"), filter)
        .await
        .unwrap();
    mgc.scans()
        .list(
            &registry_id(),
            &repository_id(),
            DIGEST,
            ListOptions::new(),
            Some(ScanStatus::Running),
        )
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(
        reqs[0].query(),
        Some(
            "_sort=severity%3Adesc&severity=critical&severity=unknown&package_name=openssl&cve_id=CVE-2024-0001&fixable=false"
        )
    );
    assert_eq!(reqs[1].query(), Some("status=running"));
    assert_eq!(
        reqs[1].path(),
        format!("/v1/registries/{REGISTRY_ID}/repositories/{REPOSITORY_ID}/images/{DIGEST}/scans")
    );
    fake.assert_clean();
}

#[tokio::test]
async fn patch_sends_only_the_fields_set() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    mgc.proxy_caches()
        .update(
            &proxy_cache_id(),
            UpdateProxyCacheRequest::new().description("new text"),
        )
        .await
        .unwrap();
    let req = UpdateProxyCacheRequest::new()
        .url("https://mirror.example")
        .access_secret("s3cr3t-value");
    assert!(!format!("{req:?}").contains("s3cr3t-value"));
    mgc.proxy_caches()
        .update(&proxy_cache_id(), req)
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs[0].method, http::Method::PATCH);
    assert_eq!(reqs[0].body, r#"{"description":"new text"}"#);
    assert_eq!(
        reqs[1].body,
        r#"{"url":"https://mirror.example","access_secret":"s3cr3t-value"}"#
    );
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    fake.assert_clean();
}

#[tokio::test]
async fn request_bodies_follow_the_schemas() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    mgc.registries()
        .create(RegistryRequest::new("myregistry1"))
        .await
        .unwrap();
    mgc.members()
        .add(&registry_id(), MemberRequest::new(user_id()))
        .await
        .unwrap();
    mgc.proxy_caches()
        .check_credentials(
            ProxyCacheCredentialStatusRequest::new("harbor", "https://h.example", "u", "p")
                .credential_type("token"),
        )
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs[0].body, r#"{"name":"myregistry1"}"#);
    assert_eq!(
        reqs[1].body,
        format!(r#"{{"user_id":"{}"}}"#, common::spec::USER_ID)
    );
    assert_eq!(
        reqs[2].body,
        r#"{"provider":"harbor","url":"https://h.example","credential_type":"token","access_key":"u","access_secret":"p"}"#
    );
    fake.assert_clean();
}
