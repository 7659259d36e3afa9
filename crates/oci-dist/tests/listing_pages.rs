//! The paging walker against scripted registries: pages are fetched as the
//! stream is polled, a `next` link to a page already fetched is refused,
//! names are sorted only when the registry ignored `n`/`last`, and listings
//! can start after a name.

mod common;

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use http::{Request, Response};
use http_body_util::Full;
use oci_dist::ErrorKind;
use serde_json::json;
use test_support::http::{FakeServer, json_response};

/// One scripted response: the names and the `Link` target, if any.
type Script = Vec<(
    Option<&'static str>,
    Vec<&'static str>,
    Option<&'static str>,
)>;

/// A registry answering `tags/list` and `_catalog` by the request's `last`
/// (`None`: no `last`) from `script`; 404 for a `last` not scripted.
async fn scripted(script: Script) -> FakeServer {
    let script = Arc::new(script);
    FakeServer::start(move |req: Request<bytes::Bytes>| {
        let script = script.clone();
        async move { answer(&script, &req) }
    })
    .await
}

fn answer(script: &Script, req: &Request<bytes::Bytes>) -> Response<Full<bytes::Bytes>> {
    let last = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "last")
        .map(|(_, v)| v.into_owned());
    let Some((_, items, link)) = script.iter().find(|(l, _, _)| *l == last.as_deref()) else {
        return json_response(
            404,
            &json!({"errors": [{"code": "NAME_UNKNOWN", "message": "no"}]}),
        );
    };
    let key = if req.uri().path() == "/v2/_catalog" {
        "repositories"
    } else {
        "tags"
    };
    let mut resp = json_response(200, &json!({ "name": "x", key: items }));
    if let Some(link) = link {
        resp.headers_mut()
            .insert("link", format!("<{link}>; rel=\"next\"").parse().unwrap());
    }
    resp
}

fn lasts(fake: &FakeServer) -> Vec<Option<String>> {
    fake.requests()
        .iter()
        .map(|r| {
            url::form_urlencoded::parse(r.query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "last")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

#[tokio::test]
async fn pages_are_fetched_as_the_stream_is_polled() {
    let fake = scripted(vec![
        (None, vec!["a", "b"], Some("/v2/x/tags/list?last=b&n=2")),
        (
            Some("b"),
            vec!["c", "d"],
            Some("/v2/x/tags/list?last=d&n=2"),
        ),
        (Some("d"), vec!["e"], None),
    ])
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    let mut pages = std::pin::pin!(app.list_tags_pages(2));
    assert_eq!(pages.try_next().await.unwrap().unwrap(), ["a", "b"]);
    assert_eq!(fake.request_count(), 1, "one page, one request");
    assert_eq!(pages.try_next().await.unwrap().unwrap(), ["c", "d"]);
    assert_eq!(fake.request_count(), 2);
    assert_eq!(pages.try_next().await.unwrap().unwrap(), ["e"]);
    assert!(pages.try_next().await.unwrap().is_none());
    assert_eq!(lasts(&fake), [None, Some("b".into()), Some("d".into())]);
    assert!(fake.requests()[0].query().unwrap().contains("n=2"));
}

#[tokio::test]
async fn a_link_back_to_a_fetched_page_is_refused_after_the_pages_before() {
    // The third page links back to the second, written differently
    // (parameters swapped, `b` percent-encoded): still the same page.
    let fake = scripted(vec![
        (None, vec!["a", "b"], Some("/v2/x/tags/list?last=b&n=2")),
        (
            Some("b"),
            vec!["c", "d"],
            Some("/v2/x/tags/list?last=d&n=2"),
        ),
        (
            Some("d"),
            vec!["e", "f"],
            Some("/v2/x/tags/list?n=2&last=%62"),
        ),
    ])
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    let results: Vec<Result<Vec<String>, oci_dist::Error>> = app.list_tags_pages(2).collect().await;
    assert_eq!(results.len(), 4, "{results:?}");
    let pages: Vec<Vec<String>> = results[..3]
        .iter()
        .map(|r| r.as_ref().unwrap().clone())
        .collect();
    assert_eq!(pages, [["a", "b"], ["c", "d"], ["e", "f"]]);
    let err = results[3].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("loops back"), "{err}");
    assert_eq!(fake.request_count(), 3, "the repeated page is not fetched");
    let err = app.list_tags().await.unwrap_err();
    assert!(err.to_string().contains("loops back"), "{err}");

    // A link back to the first page, and the catalog walks the same way.
    let fake = scripted(vec![
        (
            None,
            vec!["a/x", "b/y"],
            Some("/v2/_catalog?last=b%2Fy&n=2"),
        ),
        (Some("b/y"), vec!["c/z"], Some("/v2/_catalog?n=1000")),
    ])
    .await;
    let root = common::client(&fake.url());
    let err = root.list_repositories().await.unwrap_err();
    assert!(err.to_string().contains("loops back"), "{err}");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn a_registry_paging_properly_keeps_its_order_across_pages() {
    // Each page in order, the pages not: only a registry that ignored
    // paging would be sorted, so nothing is reordered across pages.
    let fake = scripted(vec![
        (None, vec!["c", "d"], Some("/v2/x/tags/list?last=d&n=2")),
        (Some("d"), vec!["a", "b"], None),
    ])
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    assert_eq!(app.list_tags().await.unwrap(), ["c", "d", "a", "b"]);
}

#[tokio::test]
async fn a_registry_ignoring_paging_is_sorted_and_paged_client_side() {
    // Everything at once, in storage order, whatever n says.
    let fake = scripted(vec![(None, vec!["e", "b", "a", "d", "c"], None)]).await;
    let app = common::client(&fake.url()).with_segment("x");
    let pages: Vec<Vec<String>> = app.list_tags_pages(2).try_collect().await.unwrap();
    assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
    assert_eq!(fake.request_count(), 1);
    // Fewer than n but out of order: the whole listing, sorted.
    let fake = scripted(vec![(None, vec!["v2", "latest", "v1"], None)]).await;
    let app = common::client(&fake.url()).with_segment("x");
    assert_eq!(app.list_tags().await.unwrap(), ["latest", "v1", "v2"]);
    let page = app.list_tags_page(Some(10), None).await.unwrap();
    assert_eq!(page.items, ["latest", "v1", "v2"]);
    // The catalog keeps the registry's order (distribution sorts it path
    // component by component).
    let fake = scripted(vec![(None, vec!["org/a", "org-x/d"], None)]).await;
    let root = common::client(&fake.url());
    assert_eq!(
        root.list_repositories().await.unwrap(),
        ["org/a", "org-x/d"]
    );
}

#[tokio::test]
async fn listings_start_after_a_name() {
    let fake = scripted(vec![
        (
            Some("b"),
            vec!["c", "d"],
            Some("/v2/x/tags/list?last=d&n=2"),
        ),
        (Some("d"), vec!["e"], None),
    ])
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    let pages: Vec<Vec<String>> = app
        .list_tags_pages_after(2, Some("b"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages, [vec!["c", "d"], vec!["e"]]);
    assert_eq!(lasts(&fake), [Some("b".into()), Some("d".into())]);

    // A scoped catalog starts at the scope when `last` sorts before it.
    let fake = scripted(vec![
        (
            Some("org/"),
            vec!["org/a", "org/b"],
            Some("/v2/_catalog?last=org%2Fb&n=2"),
        ),
        (Some("org/b"), vec!["org/c", "other"], None),
        (Some("org/a"), vec!["org/b", "org/c"], None),
    ])
    .await;
    let org = common::client(&fake.url()).with_segment("org");
    let all: Vec<Vec<String>> = org
        .list_repositories_pages_after(2, Some("a"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.concat(), ["org/a", "org/b", "org/c"]);
    let after: Vec<Vec<String>> = org
        .list_repositories_pages_after(2, Some("org/a"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after.concat(), ["org/b", "org/c"]);
}

#[tokio::test]
async fn links_with_commas_several_rels_and_several_headers_are_followed() {
    // Several links in one header, several `Link` headers, commas inside
    // the URLs and a quoted parameter: a parser splitting on commas loses
    // the `next` link here.
    let fake = FakeServer::start(|req: Request<bytes::Bytes>| async move {
        let q = req.uri().query().unwrap_or("").to_owned();
        let (items, links): (Vec<&str>, Vec<&str>) = if !q.contains("last") {
            (
                vec!["a", "b"],
                vec![
                    r#"</v2/x/tags/list?n=2,3>; rel="first", </v2/x/tags/list?last=b&n=2&f=1,2>; title="a, b"; rel="next""#,
                ],
            )
        } else if q.contains("last=b") {
            (
                vec!["c", "d"],
                vec![
                    r#"</v2/x/tags/list?n=2>; rel="first""#,
                    r#"</v2/x/tags/list?last=d&n=2&f=%2C>; REL="prev next""#,
                ],
            )
        } else {
            (vec!["e"], vec![r#"</v2/x/tags/list?n=2>; rel="first""#])
        };
        let mut resp = json_response(200, &json!({ "name": "x", "tags": items }));
        for l in links {
            resp.headers_mut().append("link", l.parse().unwrap());
        }
        resp
    })
    .await;
    let app = common::client(&fake.url()).with_segment("x");
    let pages: Vec<Vec<String>> = app.list_tags_pages(2).try_collect().await.unwrap();
    assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
    assert_eq!(fake.request_count(), 3);
    assert_eq!(lasts(&fake), [None, Some("b".into()), Some("d".into())]);
    assert!(
        fake.requests()[1].query().unwrap().contains("f=1,2"),
        "{:?}",
        fake.requests()
    );
    // One page at a time: `next` is the `last` of the next link.
    let page = app.list_tags_page(Some(2), None).await.unwrap();
    assert_eq!(page.items, ["a", "b"]);
    assert_eq!(page.next.as_deref(), Some("b"));
    let link = page.next_link.unwrap();
    assert!(link.ends_with("/v2/x/tags/list?last=b&n=2&f=1,2"), "{link}");
    assert_eq!(page.repository.as_deref(), Some("x"));
}
