//! `list_tags_page` with a limit above the 1000-per-request cap: 2500 tags
//! (one pushed, the rest injected by the proxy), a limit of 2200 returns
//! exactly 2200 in order, through several requests on a registry that
//! pages (following its `Link` headers), through one response on
//! distribution 2.8 itself (which ignores `n`); and `last` continues from
//! there.

mod common;

use test_support::TestRegistry;
use test_support::http::ProxiedRequest;

/// `t0000` … `t2499`, sorted.
fn all_tags() -> Vec<String> {
    (0..2500).map(|i| format!("t{i:04}")).collect()
}

/// Pushes the real `t0000` of `repo`; the proxy adds the other 2499.
async fn push_first(registry: &TestRegistry, repo: &str) {
    let app = common::client_for(registry).with_segment(repo);
    app.push_image("t0000", &common::small_image(1, 100, 5))
        .await
        .unwrap();
}

fn tag_requests(reqs: Vec<ProxiedRequest>, repo: &str) -> Vec<String> {
    let path = format!("/v2/{repo}/tags/list");
    reqs.into_iter()
        .filter(|r| r.path() == path)
        .map(|r| r.query().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_limit_above_the_cap_follows_link_headers_over_several_requests() {
    let registry = TestRegistry::anonymous().await;
    push_first(&registry, "many").await;
    let expected = all_tags();
    let proxy = registry
        .proxy_builder()
        .paginate_tags()
        .add_tags("many", expected[1..].to_vec())
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("many");

    let page = app.list_tags_page(Some(2200), None).await.unwrap();
    assert_eq!(page.items.len(), 2200);
    assert_eq!(page.items, expected[..2200]);
    assert_eq!(page.next.as_deref(), Some("t2199"));
    // Three requests: n capped at 1000, then the Link targets with what is
    // still wanted as n.
    let queries = tag_requests(proxy.requests(), "many");
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert_eq!(queries[0], "n=1000");
    assert!(
        queries[1].contains("last=t0999") && queries[1].contains("n=1000"),
        "{queries:?}"
    );
    assert!(
        queries[2].contains("last=t1999") && queries[2].contains("n=200"),
        "{queries:?}"
    );

    // The continuation: the remaining 300, and the end.
    proxy.clear_requests();
    let rest = app.list_tags_page(Some(2200), Some("t2199")).await.unwrap();
    assert_eq!(rest.items, expected[2200..]);
    assert_eq!(rest.next, None);
    assert_eq!(tag_requests(proxy.requests(), "many").len(), 1);

    // Limits within one request are unchanged: one request.
    proxy.clear_requests();
    let small = app.list_tags_page(Some(1000), Some("t0499")).await.unwrap();
    assert_eq!(small.items, expected[500..1500]);
    assert_eq!(small.next.as_deref(), Some("t1499"));
    assert_eq!(tag_requests(proxy.requests(), "many").len(), 1);

    // A limit beyond everything: all of it, the end.
    let everything = app.list_tags_page(Some(5000), None).await.unwrap();
    assert_eq!(everything.items, expected);
    assert_eq!(everything.next, None);
}

#[tokio::test]
async fn distribution_28_sends_every_tag_at_once_and_is_paged_client_side() {
    let registry = TestRegistry::anonymous().await;
    push_first(&registry, "plain").await;
    let expected = all_tags();
    // Injected after the real tag, in reverse: the response is unsorted,
    // as distribution 2.8's storage order may be.
    let mut injected = expected[1..].to_vec();
    injected.reverse();
    let proxy = registry
        .proxy_builder()
        .add_tags("plain", injected)
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("plain");

    let page = app.list_tags_page(Some(2200), None).await.unwrap();
    assert_eq!(page.items, expected[..2200]);
    assert_eq!(page.next.as_deref(), Some("t2199"));
    // distribution 2.8 ignored n: its one answer had all 2500.
    assert_eq!(tag_requests(proxy.requests(), "plain").len(), 1);

    let rest = app.list_tags_page(Some(2200), Some("t2199")).await.unwrap();
    assert_eq!(rest.items, expected[2200..]);
    assert_eq!(rest.next, None);
}
