//! `AcrClient` against a fake ACR metadata API over real HTTP on 127.0.0.1,
//! answering with the JSON shapes of the data-plane spec (2021-07-01):
//! repository, tag and manifest attributes, `Link` pagination, and
//! `{"errors":[…]}` error bodies (`test_support::fake_acr`).

use std::collections::HashMap;

use acr_auth::{
    AcrAuthenticator, AcrClient, Architecture, ListManifestsOptions, ListRepositoriesOptions,
    ListTagsOptions, OperatingSystem, OrderBy, StaticTokenCredential, WriteableProperties,
};
use chrono::{TimeZone, Utc};
use futures_util::{StreamExt, TryStreamExt};
use http::Method;
use registry_core::{ErrorKind, HttpClient};
use serde_json::{Value, json};
use test_support::fake_acr::{DIGEST_A, DIGEST_B, DIGEST_C, FakeAcr, REPOS};
use test_support::http::RecordedRequest;

/// An open fake ACR and a client for it that does not retry.
async fn fake_acr() -> (FakeAcr, AcrClient) {
    let server = FakeAcr::start().await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let client = AcrClient::from_http(&server.url(), http).unwrap();
    (server, client)
}

fn query(r: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(r.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn repositories_are_listed_to_the_end_across_pages() {
    let (server, acr) = fake_acr().await;
    let all: Vec<String> = acr
        .list_repositories(ListRepositoriesOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, REPOS);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3, "three pages");
    assert!(reqs.iter().all(|r| query(r)["api-version"] == "2021-07-01"));
    assert_eq!(query(&reqs[1])["last"], "delta/one");
    assert_eq!(query(&reqs[2])["last"], "gamma");

    // One page at a time.
    let first = acr
        .list_repositories_page(&ListRepositoriesOptions::default().page_size(4))
        .await
        .unwrap();
    assert_eq!(first.items, &REPOS[..4]);
    let next = first.next_link.clone().unwrap();
    assert!(
        next.starts_with(&format!("{}/acr/v1/_catalog?", server.url())),
        "{next}"
    );
    let second = acr.next_page(&first).await.unwrap().unwrap();
    assert_eq!(second.items, &REPOS[4..]);
    assert_eq!(second.next_link, None);
    assert!(acr.next_page(&second).await.unwrap().is_none());
    // Starting after a given name.
    let rest: Vec<String> = acr
        .list_repositories(
            ListRepositoriesOptions::default()
                .last("epsilon")
                .page_size(1),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, ["gamma", "zeta"]);
}

#[tokio::test]
async fn tags_are_listed_with_order_digest_filter_and_paging() {
    let (server, acr) = fake_acr().await;
    let tags: Vec<_> = acr
        .list_tags(
            "app",
            ListTagsOptions::default()
                .order_by(OrderBy::LastUpdatedOnDescending)
                .page_size(2),
        )
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["v6", "v5", "v2", "v7", "v4", "v1", "v3"]);
    assert!(
        tags.windows(2)
            .all(|w| w[0].last_updated_on > w[1].last_updated_on)
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4, "2+2+2+1");
    for r in &reqs {
        let q = query(r);
        assert_eq!(q["orderby"], "timedesc");
        assert_eq!(q["n"], "2");
        assert_eq!(q["api-version"], "2021-07-01");
    }
    // Every field of a tag, 7-digit timestamps exact, `signed` and unknown
    // fields tolerated.
    let v1 = tags.iter().find(|t| t.name == "v1").unwrap();
    assert_eq!(v1.digest, DIGEST_A);
    assert_eq!(v1.signed, Some(false));
    assert_eq!(
        v1.created_on.unwrap(),
        Utc.with_ymd_and_hms(2018, 9, 1, 6, 17, 21).unwrap()
            + chrono::Duration::nanoseconds(85_653_900)
    );
    assert_eq!(
        v1.properties,
        WriteableProperties::new()
            .can_delete(true)
            .can_write(true)
            .can_read(true)
            .can_list(true)
    );

    // The digest filter travels with every page.
    server.clear_requests();
    let b: Vec<_> = acr
        .list_tags(
            "app",
            ListTagsOptions::default().digest(DIGEST_B).page_size(1),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        b.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["v2", "v4", "v6"]
    );
    assert_eq!(server.request_count(), 3);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| query(r)["digest"] == DIGEST_B)
    );

    let page = acr
        .list_tags_page("app", &ListTagsOptions::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.repository.as_deref(), Some("app"));
    assert_eq!(page.registry_login_server, Some(server.host()));
    assert!(page.next_link.is_some());
}

#[tokio::test]
async fn manifests_are_listed_with_platforms() {
    let (server, acr) = fake_acr().await;
    let ms: Vec<_> = acr
        .list_manifests(
            "app",
            ListManifestsOptions::default()
                .order_by(OrderBy::LastUpdatedOnAscending)
                .page_size(1),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(server.request_count(), 3, "three pages of one");
    let digests: Vec<&str> = ms.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(digests, [DIGEST_A, DIGEST_B, DIGEST_C]);
    assert_eq!(query(&server.requests()[0])["orderby"], "timeasc");
    let (a, b, index) = (&ms[0], &ms[1], &ms[2]);
    assert_eq!(a.architecture, Some(Architecture::Amd64));
    assert_eq!(a.operating_system, Some(OperatingSystem::Windows));
    assert_eq!(a.size, Some(2401606));
    assert_eq!(
        a.config_media_type.as_deref(),
        Some("application/vnd.docker.container.image.v1+json")
    );
    assert_eq!(b.architecture, Some(Architecture::Other("loong64".into())));
    assert_eq!(index.architecture, None);
    assert_eq!(index.tags, ["v1", "latest"]);
    assert_eq!(index.related_artifacts.len(), 2);
    assert_eq!(index.related_artifacts[1].digest, DIGEST_B);
    assert_eq!(
        index.related_artifacts[1].architecture,
        Some(Architecture::Other("loong64".into()))
    );
    assert_eq!(
        index.media_type.as_deref(),
        Some("application/vnd.oci.image.index.v1+json")
    );
}

fn patch_bodies(server: &FakeAcr) -> Vec<(String, Value, String)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .map(|r| {
            (
                r.path().to_owned(),
                serde_json::from_slice(&r.body).unwrap(),
                r.header("content-type").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn repository_properties_get_update_delete() {
    let (server, acr) = fake_acr().await;
    let p = acr.repository_properties("app").await.unwrap();
    assert_eq!(p.name, "app");
    assert_eq!(p.registry_login_server, server.host());
    assert_eq!((p.manifest_count, p.tag_count), (Some(3), Some(7)));
    assert_eq!(
        p.last_updated_on.unwrap(),
        Utc.with_ymd_and_hms(2018, 9, 7, 16, 30, 46).unwrap()
            + chrono::Duration::nanoseconds(658_321_900)
    );
    assert_eq!(p.properties.can_delete, Some(true));

    let updated = acr
        .update_repository_properties(
            "app",
            &WriteableProperties::new().can_delete(false).can_list(false),
        )
        .await
        .unwrap();
    assert_eq!(updated.properties.can_delete, Some(false));
    assert_eq!(updated.properties.can_list, Some(false));
    assert_eq!(updated.properties.can_write, Some(true));
    let patches = patch_bodies(&server);
    assert_eq!(
        patches,
        [(
            "/acr/v1/app".to_owned(),
            json!({"deleteEnabled": false, "listEnabled": false}),
            "application/json".to_owned()
        )]
    );

    // Locked: the delete is refused with the ACR error body.
    let err = acr.delete_repository("app").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(err.oci_errors()[0].code, "DENIED");
    acr.update_repository_properties("app", &WriteableProperties::new().can_delete(true))
        .await
        .unwrap();
    let deleted = acr.delete_repository("app").await.unwrap();
    assert_eq!(deleted.deleted_manifests, [DIGEST_C, DIGEST_A, DIGEST_B]);
    assert_eq!(
        deleted.deleted_tags,
        ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]
    );
    assert_eq!(
        server.count("DELETE", "/acr/v1/app"),
        2,
        "refused, then done"
    );
    let err = acr.repository_properties("app").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn tag_properties_get_update_delete() {
    let (server, acr) = fake_acr().await;
    let t = acr.tag_properties("app", "v2").await.unwrap();
    assert_eq!(
        (
            t.repository_name.as_str(),
            t.tag.name.as_str(),
            t.tag.digest.as_str()
        ),
        ("app", "v2", DIGEST_B)
    );
    assert_eq!(t.registry_login_server, server.host());

    let locked = acr
        .update_tag_properties(
            "app",
            "v2",
            &WriteableProperties::new()
                .can_delete(false)
                .can_write(false),
        )
        .await
        .unwrap();
    assert_eq!(locked.tag.properties.can_delete, Some(false));
    assert_eq!(locked.tag.properties.can_write, Some(false));
    assert_eq!(locked.tag.properties.can_read, Some(true));
    assert_eq!(
        patch_bodies(&server),
        [(
            "/acr/v1/app/_tags/v2".to_owned(),
            json!({"deleteEnabled": false, "writeEnabled": false}),
            "application/json".to_owned()
        )]
    );
    // A locked tag cannot be deleted: the ACR error body is kept.
    let err = acr.delete_tag("app", "v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(err.oci_errors()[0].code, "DENIED");
    assert!(err.to_string().contains("deleting tag app:v2"), "{err}");

    acr.delete_tag("app", "v3").await.unwrap();
    let err = acr.tag_properties("app", "v3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.oci_errors()[0].code, "TAG_UNKNOWN");
}

#[tokio::test]
async fn manifest_properties_get_update_delete() {
    let (server, acr) = fake_acr().await;
    let m = acr.manifest_properties("app", DIGEST_A).await.unwrap();
    assert_eq!(m.manifest.digest, DIGEST_A);
    assert_eq!(m.repository_name, "app");
    assert_eq!(m.manifest.tags, ["4.7.2-20180905-nanoserver-1803"]);

    let u = acr
        .update_manifest_properties("app", DIGEST_A, &WriteableProperties::new().can_read(false))
        .await
        .unwrap();
    assert_eq!(u.manifest.properties.can_read, Some(false));
    assert_eq!(u.manifest.properties.can_delete, Some(true));
    assert_eq!(
        patch_bodies(&server),
        [(
            format!("/acr/v1/app/_manifests/{DIGEST_A}"),
            json!({"readEnabled": false}),
            "application/json".to_owned()
        )]
    );

    acr.delete_manifest("app", DIGEST_A).await.unwrap();
    assert_eq!(
        server.count("DELETE", &format!("/v2/app/manifests/{DIGEST_A}")),
        1
    );
    let err = acr.manifest_properties("app", DIGEST_A).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.oci_errors()[0].code, "MANIFEST_UNKNOWN");

    // A malformed digest never leaves the client.
    let before = server.request_count();
    let err = acr.delete_manifest("app", "latest").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(server.request_count(), before);
}

#[tokio::test]
async fn errors_carry_the_acr_error_body() {
    let (_server, acr) = fake_acr().await;
    let err = acr.repository_properties("nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(http::StatusCode::NOT_FOUND));
    let oci = &err.oci_errors()[0];
    assert_eq!(oci.code, "NAME_UNKNOWN");
    assert_eq!(oci.message, "repository name not known to registry");
    assert_eq!(oci.detail, Some(json!({"name": "nope"})));
    let msg = err.to_string();
    assert!(
        msg.contains("getting the properties of repository nope"),
        "{msg}"
    );
    // Listing errors surface from the stream too.
    let err = acr
        .list_tags("nope", ListTagsOptions::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Invalid names are refused locally.
    let err = acr.repository_properties("a//b").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn metadata_requests_authenticate_with_metadata_scopes() {
    const AAD: &str = "aad-token-for-metadata";
    let server = FakeAcr::builder().aad_token(AAD).start().await;
    let acr = AcrClient::new(
        &server.url(),
        AcrAuthenticator::aad(StaticTokenCredential::new(AAD)),
    )
    .unwrap();

    for _ in 0..2 {
        let tags: Vec<_> = acr
            .list_tags("app", ListTagsOptions::default().page_size(10))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(tags.len(), 7);
    }
    let t = acr
        .update_tag_properties("app", "v1", &WriteableProperties::new().can_write(false))
        .await
        .unwrap();
    assert_eq!(t.tag.properties.can_write, Some(false));
    let repos: Vec<String> = acr
        .list_repositories(ListRepositoriesOptions::default().page_size(10))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(repos, REPOS);

    assert_eq!(server.count("POST", "/oauth2/exchange"), 1);
    let scopes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path() == "/oauth2/token")
        .map(|r| {
            url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "scope")
                .unwrap()
                .1
                .into_owned()
        })
        .collect();
    assert_eq!(
        scopes,
        [
            "repository:app:metadata_read",
            "repository:app:metadata_write",
            "registry:catalog:*"
        ]
    );
    // Only the first request met a 401; later ones sent their token up front.
    assert_eq!(server.count("GET", "/acr/v1/app/_tags"), 3);
    assert_eq!(server.count("PATCH", "/acr/v1/app/_tags/v1"), 1);
    assert_eq!(server.count("GET", "/acr/v1/_catalog"), 1);
}

#[tokio::test]
async fn links_with_commas_are_followed_and_a_link_back_is_refused() {
    use test_support::http::{FakeServer, json_response};
    // Link targets with commas (and a second link in the same header);
    // the third page links back to the second, written differently.
    let fake = FakeServer::start(|req: http::Request<bytes::Bytes>| async move {
        let q: HashMap<String, String> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let (repos, link) = match q.get("last").map(String::as_str) {
            None => (
                vec!["a", "b"],
                r#"</acr/v1/_catalog?last=b&n=2&x=1,2>; rel="next", </acr/v1/_catalog?n=2,3>; rel="first""#,
            ),
            Some("b") => (
                vec!["c", "d"],
                r#"</acr/v1/_catalog?n=2,3>; rel="first", </acr/v1/_catalog?last=d&n=2>; rel=next"#,
            ),
            Some(_) => (
                vec!["e"],
                r#"</acr/v1/_catalog?x=1%2C2&n=2&last=b>; rel="next""#,
            ),
        };
        let mut resp = json_response(200, &json!({ "repositories": repos }));
        resp.headers_mut().insert("link", link.parse().unwrap());
        resp
    })
    .await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let acr = AcrClient::from_http(&fake.url(), http).unwrap();

    let first = acr
        .list_repositories_page(&ListRepositoriesOptions::default().page_size(2))
        .await
        .unwrap();
    assert_eq!(first.items, ["a", "b"]);
    assert_eq!(first.next.as_deref(), Some("b"));
    let next = first.next_link.clone().unwrap();
    assert!(next.contains("x=1,2"), "{next}");
    assert!(next.contains("api-version=2021-07-01"), "{next}");
    let second = acr.next_page(&first).await.unwrap().unwrap();
    assert_eq!(second.items, ["c", "d"]);
    assert_eq!(second.next.as_deref(), Some("d"));

    fake.clear_requests();
    let results: Vec<Result<String, registry_core::Error>> = acr
        .list_repositories(ListRepositoriesOptions::default().page_size(2))
        .collect()
        .await;
    let (ok, err): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let names: Vec<String> = ok.into_iter().map(Result::unwrap).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    assert_eq!(err.len(), 1);
    let err = err.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("loops back"), "{err}");
    assert_eq!(fake.request_count(), 3, "the repeated page is not fetched");
}
