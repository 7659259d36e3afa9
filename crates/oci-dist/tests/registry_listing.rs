//! Tag and catalog listings against docker-registry: pagination through a
//! paginating proxy (distribution 2.8 ignores `n`/`last` on tags/list) and
//! directly; the catalog scoped to a prefix.

mod common;

use futures_util::TryStreamExt;
use oci_dist::ErrorKind;
use test_support::TestRegistry;

async fn push_tags(app: &oci_dist::Client, n: usize) -> Vec<String> {
    let img = common::small_image(1, 100, 3);
    app.push_image("t000", &img).await.unwrap();
    let mut tags = vec!["t000".to_owned()];
    for i in 1..n {
        let t = format!("t{i:03}");
        app.tag_image("t000", &t).await.unwrap();
        tags.push(t);
    }
    tags.sort();
    tags
}

#[tokio::test]
async fn two_hundred_fifty_tags_in_pages_of_100() {
    let registry = TestRegistry::anonymous().await;
    let direct = common::client_for(&registry).with_segment("many");
    let expected = push_tags(&direct, 250).await;

    let proxy = registry.proxy_builder().paginate_tags().start().await;
    let app = common::client_via(&proxy).with_segment("many");
    let pages: Vec<Vec<String>> = app.list_tags_pages(100).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    assert_eq!(pages.concat(), expected);
    // Three requests, following the Link header; each asked n=100.
    let reqs: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v2/many/tags/list")
        .collect();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter().all(|r| r.query().unwrap().contains("n=100")),
        "{reqs:?}"
    );

    // One page at a time with limit/last.
    let first = app.list_tags_page(Some(100), None).await.unwrap();
    assert_eq!(first.items, expected[..100]);
    assert_eq!(first.next.as_deref(), Some("t099"));
    let third = app.list_tags_page(Some(100), Some("t199")).await.unwrap();
    assert_eq!(third.items, expected[200..]);
    assert_eq!(third.next, None);

    // Everything.
    assert_eq!(app.list_tags().await.unwrap(), expected);
}

#[tokio::test]
async fn registry_that_ignores_n_and_last_is_paged_client_side() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("plain");
    let expected = push_tags(&app, 12).await;
    // distribution 2.8 returns all tags whatever n and last say.
    let page = app.list_tags_page(Some(5), None).await.unwrap();
    assert_eq!(page.items, expected[..5]);
    assert_eq!(page.next.as_deref(), Some("t004"));
    let page = app.list_tags_page(Some(5), Some("t009")).await.unwrap();
    assert_eq!(page.items, expected[10..]);
    assert_eq!(page.next, None);
    let pages: Vec<Vec<String>> = app.list_tags_pages(5).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
    assert_eq!(app.list_tags().await.unwrap(), expected);
    let err = common::client_for(&registry)
        .with_segment("missing")
        .list_tags()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn catalog_scoped_to_a_prefix() {
    let registry = TestRegistry::anonymous().await;
    let root = common::client_for(&registry);
    let img = common::small_image(1, 50, 4);
    let repos = [
        "org/a", "org/b/c", "org-x/d", "org0", "orgy", "other/e", "a/org/f", "org.z/g",
    ];
    for r in repos {
        root.with_segment(r).push_image("v1", &img).await.unwrap();
    }
    let mut all = repos.map(str::to_owned).to_vec();
    all.sort();
    let proxy = registry.start_proxy().await;
    let root = common::client_via(&proxy);
    // The catalog comes in the registry's order (distribution sorts path
    // component by component).
    let listed = root.list_repositories().await.unwrap();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, all);
    let org = root.with_segment("org");
    assert_eq!(org.list_repositories().await.unwrap(), ["org/a", "org/b/c"]);
    assert_eq!(
        root.with_segment(["org", "b"])
            .list_repositories()
            .await
            .unwrap(),
        ["org/b/c"]
    );
    assert!(
        root.with_segment("zzz")
            .list_repositories()
            .await
            .unwrap()
            .is_empty()
    );
    // The scoped listing started after the prefix and stopped past it.
    let catalog: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v2/_catalog")
        .collect();
    assert!(
        catalog
            .iter()
            .any(|r| r.query().is_some_and(|q| q.contains("last=org%2F"))),
        "{catalog:?}"
    );

    // Pages of 2 over the whole catalog, following Link.
    proxy.clear_requests();
    let pages: Vec<Vec<String>> = root.list_repositories_pages(2).try_collect().await.unwrap();
    assert!(pages.iter().all(|p| p.len() == 2), "{pages:?}");
    assert_eq!(pages.concat(), listed);
    // Four full pages, then the registry may need one more request to say
    // there is nothing left.
    let requests = proxy.count("GET", "/v2/_catalog");
    assert!((4..=5).contains(&requests), "{requests}");
    let page = root.list_repositories_page(Some(3), None).await.unwrap();
    assert_eq!(page.items, listed[..3]);
    let next = root
        .list_repositories_page(Some(3), page.next.as_deref())
        .await
        .unwrap();
    assert_eq!(next.items, listed[3..6]);
}

#[tokio::test]
async fn pagination_links_to_other_hosts_are_refused() {
    use test_support::http::{FakeServer, json_response};
    // A registry whose Link sends the client elsewhere (127.0.0.2).
    let fake = FakeServer::start(|req| async move {
        let mut resp = json_response(200, &serde_json::json!({"name": "x", "tags": ["a"]}));
        if req.uri().query().is_none_or(|q| !q.contains("last")) {
            resp.headers_mut().insert(
                "link",
                "<http://127.0.0.2:1/v2/x/tags/list?last=a&n=1>; rel=\"next\""
                    .parse()
                    .unwrap(),
            );
        }
        resp
    })
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    let err = app.list_tags().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("another host"), "{err}");
    assert_eq!(fake.request_count(), 1);
}
