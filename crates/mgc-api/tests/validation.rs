//! Input validation before sending, and the fake's own checks (so a test
//! against it can fail).

mod common;

use common::FakeClient;

use std::fmt::Debug;

use common::spec::{PROXY_CACHE_ID, REGISTRY_ID, REPOSITORY_ID, SCAN_ID};
use common::{API_KEY, MagaluFake};
use mgc_api::*;
use registry_core::{Body, HttpClient};

fn invalid<T: Debug>(r: Result<T, Error>) -> String {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    e.to_string()
}

#[tokio::test]
async fn bad_inputs_are_rejected_before_sending() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    let reg = mgc.registries();
    assert!(invalid(reg.create(RegistryRequest::new("cool_registry")).await).contains("lowercase"));
    assert!(invalid(reg.create(RegistryRequest::new("Cool")).await).contains("lowercase"));
    assert!(invalid(reg.create(RegistryRequest::new("a".repeat(64))).await).contains("at most 63"));
    assert!(invalid(reg.create(RegistryRequest::new("")).await).contains("empty"));
    assert!(
        invalid(
            reg.create(RegistryRequest::new("ok").proxy_cache_id("nope"))
                .await
        )
        .contains("proxy_cache_id")
    );
    assert!(
        invalid(reg.get("not-a-uuid").await).contains("registry_id \"not-a-uuid\" is not a UUID")
    );
    invalid(reg.delete("../../v0/credentials").await);
    assert!(invalid(reg.list(ListOptions::new().limit(0)).await).contains("_limit"));
    assert!(invalid(reg.list(ListOptions::new().sort("created_at")).await).contains("_sort"));
    invalid(reg.list(ListOptions::new().sort("name:up")).await);
    invalid(reg.list(ListOptions::new().sort("name:asc;drop")).await);
    invalid(reg.list(ListOptions::new().expand("tags_details")).await);
    invalid(mgc.proxy_caches().list(ListOptions::new().name("x")).await);
    invalid(
        mgc.images()
            .list(
                REGISTRY_ID,
                REPOSITORY_ID,
                ListOptions::new().expand("tags_details,extra_attr"),
            )
            .await,
    );
    invalid(
        mgc.repositories()
            .list(REGISTRY_ID, ListOptions::new().name(""))
            .await,
    );
    invalid(mgc.repositories().get(REGISTRY_ID, "alpine").await);
    invalid(mgc.repositories().get_by_name(REGISTRY_ID, "").await);
    invalid(mgc.repositories().get_by_name("nope", "alpine").await);
    invalid(
        mgc.images()
            .get(REGISTRY_ID, REPOSITORY_ID, "bad/tag")
            .await,
    );
    invalid(
        mgc.images()
            .get(REGISTRY_ID, REPOSITORY_ID, "sha256:xyz")
            .await,
    );
    invalid(mgc.images().delete(REGISTRY_ID, REPOSITORY_ID, "").await);
    invalid(
        mgc.proxy_caches()
            .create(ProxyCacheRequest::new("Bad", "docker-hub", "https://x"))
            .await,
    );
    invalid(
        mgc.proxy_caches()
            .create(ProxyCacheRequest::new("ok", "", "https://x"))
            .await,
    );
    assert!(
        invalid(
            mgc.proxy_caches()
                .update(PROXY_CACHE_ID, UpdateProxyCacheRequest::new())
                .await
        )
        .contains("nothing to update")
    );
    invalid(
        mgc.proxy_caches()
            .update(PROXY_CACHE_ID, UpdateProxyCacheRequest::new().name("x_y"))
            .await,
    );
    invalid(mgc.proxy_caches().status("123").await);
    invalid(
        mgc.members()
            .add(REGISTRY_ID, MemberRequest::new("bob"))
            .await,
    );
    invalid(
        mgc.members()
            .add(
                REGISTRY_ID,
                MemberRequest::new(common::spec::USER_ID).role(MemberRole::Other("admin".into())),
            )
            .await,
    );
    invalid(
        mgc.members()
            .update(
                REGISTRY_ID,
                "x",
                MemberUpdateRequest::new(MemberRole::Guest),
            )
            .await,
    );
    invalid(mgc.users().delete("someone").await);
    invalid(mgc.scans().get("0").await);
    invalid(mgc.scans().stop("").await);
    invalid(mgc.scans().schedule(REGISTRY_ID, REPOSITORY_ID, "..").await);
    invalid(
        mgc.scans()
            .list(
                REGISTRY_ID,
                REPOSITORY_ID,
                "latest",
                ListOptions::new(),
                Some(ScanStatus::Other("x".into())),
            )
            .await,
    );
    invalid(
        mgc.scans()
            .vulnerabilities(
                SCAN_ID,
                ListOptions::new(),
                VulnerabilityFilter::new().severity(VulnerabilitySeverity::Other("dire".into())),
            )
            .await,
    );
    invalid(
        mgc.scans()
            .vulnerabilities(
                SCAN_ID,
                ListOptions::new(),
                VulnerabilityFilter::new().cve_id(" "),
            )
            .await,
    );
    assert_eq!(fake.request_count(), 0, "nothing was sent");
}

/// The fake's checks can fail: requests breaking the spec's rules, sent
/// raw, are answered 400 and recorded.
#[tokio::test]
async fn the_fake_rejects_requests_that_break_the_spec() {
    let fake = MagaluFake::start().await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let send = |method: &str, path_q: &str, body: Option<&str>, request_id: Option<&str>| {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path_q}", fake.url()))
            .header("x-api-key", API_KEY);
        if let Some(id) = request_id {
            b = b.header("x-request-id", id);
        }
        let body = match body {
            Some(s) => {
                b = b.header("content-type", "application/json");
                Body::full(s.to_owned())
            }
            None => Body::empty(),
        };
        http.send(b.body(body).unwrap())
    };
    let id = Some("6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b");
    let pc = format!("/v0/proxy-caches/{PROXY_CACHE_ID}");
    let images = format!("/v1/registries/{REGISTRY_ID}/repositories/{REPOSITORY_ID}/images");
    let cases = [
        send("GET", "/v0/registries", None, None).await,
        send("GET", "/v0/registries", None, Some("req-1")).await,
        send("PATCH", &pc, Some(r#"{"name":null}"#), id).await,
        send("PATCH", &pc, Some(r#"{"colour":"red"}"#), id).await,
        send(
            "GET",
            &format!("{images}?expand=tags_details,extra_attr"),
            None,
            id,
        )
        .await,
        send("GET", "/v0/registries?_limit=0", None, id).await,
        send("GET", "/v0/registries?_sort=name", None, id).await,
        send("GET", "/v0/proxy-caches?name=x", None, id).await,
        send(
            "POST",
            "/v0/registries",
            Some(r#"{"name":"cool_registry"}"#),
            id,
        )
        .await,
        send("GET", "/v0/registries/not-a-uuid", None, id).await,
        send("POST", "/v0/users", Some("{}"), id).await,
    ];
    for (i, resp) in cases.into_iter().enumerate() {
        assert_eq!(resp.unwrap().status().as_u16(), 400, "case {i}");
    }
    assert_eq!(fake.violations().len(), 11, "{:#?}", fake.violations());
    assert!(fake.seen().is_empty());
}
