//! Input validation before sending, and the fake's own checks (so a test
//! against it can fail).

mod common;

use common::FakeClient;
use common::ids::*;

use std::fmt::Debug;

use common::spec::{PROXY_CACHE_ID, REGISTRY_ID, REPOSITORY_ID};
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
    // Ids are refused when parsed, before an operation can be called.
    assert!(invalid("nope".parse::<ProxyCacheId>()).contains("proxy_cache_id"));
    assert!(
        invalid(RegistryId::try_from("not-a-uuid"))
            .contains("registry_id \"not-a-uuid\" is not a UUID")
    );
    invalid("../../v0/credentials".parse::<RegistryId>());
    assert!(invalid(reg.list(ListOptions::new().limit(0)).await).contains("_limit"));
    assert!(invalid(reg.list(ListOptions::new().sort("created_at")).await).contains("_sort"));
    invalid(reg.list(ListOptions::new().sort("name:up")).await);
    invalid(reg.list(ListOptions::new().sort("name:asc;drop")).await);
    invalid(reg.list(ListOptions::new().expand("tags_details")).await);
    invalid(mgc.proxy_caches().list(ListOptions::new().name("x")).await);
    invalid(
        mgc.images()
            .list(
                &registry_id(),
                &repository_id(),
                ListOptions::new().expand("tags_details,extra_attr"),
            )
            .await,
    );
    invalid(
        mgc.repositories()
            .list(&registry_id(), ListOptions::new().name(""))
            .await,
    );
    invalid("alpine".parse::<RepositoryId>());
    invalid(mgc.repositories().get_by_name(&registry_id(), "").await);
    invalid(RegistryId::try_from("nope".to_owned()));
    invalid(
        mgc.images()
            .get(&registry_id(), &repository_id(), "bad/tag")
            .await,
    );
    invalid(
        mgc.images()
            .get(&registry_id(), &repository_id(), "sha256:xyz")
            .await,
    );
    invalid(
        mgc.images()
            .delete(&registry_id(), &repository_id(), "")
            .await,
    );
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
                .update(&proxy_cache_id(), UpdateProxyCacheRequest::new())
                .await
        )
        .contains("nothing to update")
    );
    invalid(
        mgc.proxy_caches()
            .update(
                &proxy_cache_id(),
                UpdateProxyCacheRequest::new().name("x_y"),
            )
            .await,
    );
    invalid("123".parse::<ProxyCacheId>());
    invalid("bob".parse::<UserId>());
    invalid(
        mgc.members()
            .add(
                &registry_id(),
                MemberRequest::new(user_id()).role(MemberRole::Other("admin".into())),
            )
            .await,
    );
    invalid("x".parse::<MemberId>());
    invalid("someone".parse::<UserId>());
    invalid("0".parse::<ScanId>());
    invalid(ScanId::parse(""));
    invalid(
        mgc.scans()
            .schedule(&registry_id(), &repository_id(), "..")
            .await,
    );
    invalid(
        mgc.scans()
            .list(
                &registry_id(),
                &repository_id(),
                "latest",
                ListOptions::new(),
                Some(ScanStatus::Other("x".into())),
            )
            .await,
    );
    invalid(
        mgc.scans()
            .vulnerabilities(
                &scan_id(),
                ListOptions::new(),
                VulnerabilityFilter::new().severity(VulnerabilitySeverity::Other("dire".into())),
            )
            .await,
    );
    invalid(
        mgc.scans()
            .vulnerabilities(
                &scan_id(),
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

/// A value outside a spec enum is refused before sending, naming the
/// operation (when sent), the parameter and the values the spec lists.
#[tokio::test]
async fn unknown_enum_values_name_the_known_ones() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    let admin = MemberRequest::new(user_id()).role(MemberRole::Other("admin".into()));
    assert_eq!(
        invalid(mgc.members().add(&registry_id(), admin).await),
        r#"addRegistryMember: role "admin" is not one of: developer, guest"#
    );
    let dire = VulnerabilityFilter::new().severity(VulnerabilitySeverity::Other("dire".into()));
    let e = invalid(
        mgc.scans()
            .vulnerabilities(&scan_id(), ListOptions::new(), dire)
            .await,
    );
    assert!(
        e.starts_with("getImageScanVulnerabilities: severity \"dire\" is not one of: unknown, low"),
        "{e}"
    );
    assert_eq!(
        invalid("admin".parse::<MemberRole>()),
        r#""admin" is not a valid MemberRole; expected one of: developer, guest"#
    );
    assert!(fake.seen().is_empty());
}

/// Text becomes an id once, by parsing: a malformed id is an
/// `InvalidInput` error naming the spec's parameter, and no operation can be
/// called with it, so the fake's request log stays empty.
#[tokio::test]
async fn malformed_ids_are_refused_before_any_request() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    // What a caller with ids as text (a CLI, a config file) writes.
    async fn get_repository(
        mgc: &MgcClient,
        registry: &str,
        repository: &str,
    ) -> Result<RepositoryV1Response, Error> {
        mgc.repositories()
            .get(&registry.parse()?, &repository.parse()?)
            .await
    }
    for (registry, repository, param) in [
        ("not-a-uuid", REPOSITORY_ID, "registry_id"),
        (REGISTRY_ID, "alpine", "repository_id"),
        ("", REPOSITORY_ID, "registry_id"),
        (
            REGISTRY_ID,
            "0c6bbd87881a4bf8b3f64ff3ceacb42c",
            "repository_id",
        ),
        (REGISTRY_ID, "../../v0/credentials", "repository_id"),
    ] {
        let e = invalid(get_repository(&mgc, registry, repository).await);
        assert!(e.starts_with(&format!("{param} ")), "{e}");
        assert!(e.contains("is not a UUID"), "{e}");
    }
    let bad = "ef376048-a0f7-446c-826b";
    for (e, param) in [
        (invalid(bad.parse::<RegistryId>()), "registry_id"),
        (invalid(bad.parse::<RepositoryId>()), "repository_id"),
        (invalid(bad.parse::<ProxyCacheId>()), "proxy_cache_id"),
        (invalid(bad.parse::<MemberId>()), "member_id"),
        (invalid(bad.parse::<UserId>()), "user_id"),
        (invalid(bad.parse::<ScanId>()), "scan_id"),
    ] {
        assert!(
            e.starts_with(&format!("{param} {bad:?} is not a UUID")),
            "{e}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(fake.request_count(), 0);

    // The same UUID, well formed, goes through: one request.
    let repo = get_repository(&mgc, REGISTRY_ID, REPOSITORY_ID)
        .await
        .unwrap();
    assert_eq!(repo.id, REPOSITORY_ID);
    assert_eq!(fake.request_count(), 1);
    fake.assert_clean();
}

/// The ids in the API's answers are typed: they pass straight back to the
/// operations that take them, each to its own parameter.
#[tokio::test]
async fn ids_from_answers_pass_back_typed() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    let member: MemberResponse = mgc
        .members()
        .add(&registry_id(), MemberRequest::new(user_id()))
        .await
        .unwrap();
    let (registry, member_id, user): (&RegistryId, &MemberId, &UserId) =
        (&member.registry_id, &member.id, &member.user_id);
    assert_eq!(
        mgc.members().get(registry, member_id).await.unwrap(),
        member
    );
    mgc.users().delete(user).await.unwrap();
    let scan = mgc
        .scans()
        .schedule(&registry_id(), &repository_id(), "latest")
        .await
        .unwrap();
    let (_, _): (&RegistryId, &RepositoryId) = (&scan.registry_id, &scan.repository_id);
    let scan_id: &ScanId = &scan.id;
    mgc.scans().stop(scan_id).await.unwrap();
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(
        paths[1],
        format!("/v0/registries/{REGISTRY_ID}/members/{}", member.id)
    );
    assert_eq!(paths[2], format!("/v0/users/{}", member.user_id));
    assert_eq!(paths[4], format!("/v1/scans/{}/stop", scan.id));
    fake.assert_clean();
}
