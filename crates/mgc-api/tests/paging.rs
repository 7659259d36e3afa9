//! Pagination by offset with `meta.page`: streams across pages, the end
//! conditions, a server that repeats a page, and the name look-up.

mod common;

use common::FakeClient;
use common::ids::*;

use common::{MagaluFake, page_body};
use futures_util::TryStreamExt;
use mgc_api::{ErrorKind, ListOptions, VulnerabilityFilter, VulnerabilitySeverity};
use serde_json::{Value, json};
use test_support::http::json_response;

fn registry(i: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"), "name": format!("reg{i}"),
        "storage_usage_bytes": i, "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z"
    })
}

fn repository(name: &str, i: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"), "registry_name": "cool", "name": name,
        "image_count": 1, "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z"
    })
}

/// (`_offset`, `_limit`) of every request, in order.
fn offsets(fake: &MagaluFake) -> Vec<(Option<String>, Option<String>)> {
    fake.requests()
        .iter()
        .map(|r| {
            let q: Vec<(String, String)> =
                url::form_urlencoded::parse(r.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            (get("_offset"), get("_limit"))
        })
        .collect()
}

#[tokio::test]
async fn stream_walks_three_pages() {
    let fake = MagaluFake::start().await;
    fake.set_list("getRegistries", (0..7).map(registry).collect());
    let all: Vec<_> = fake
        .client()
        .registries()
        .list_stream(ListOptions::new().limit(3).sort("name:asc"))
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6"]
    );
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        offsets(&fake),
        [(s("0"), s("3")), (s("3"), s("3")), (s("6"), s("3"))],
        "three pages, then offset 9 >= total 7 ends the walk"
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.query().unwrap().contains("_sort=name%3Aasc"))
    );
    fake.assert_clean();
}

#[tokio::test]
async fn stream_starts_at_the_given_offset_and_uses_server_page_size() {
    let fake = MagaluFake::start().await;
    // 45 items, the fake's default page is 20: pages at 5, 25 (20 + 20 = 45 = total).
    fake.set_list("getRegistries", (0..45).map(registry).collect());
    let all: Vec<_> = fake
        .client()
        .registries()
        .list_stream(ListOptions::new().offset(5))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(all[0].name, "reg5");
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(offsets(&fake), [(s("5"), None), (s("25"), None)]);
}

#[tokio::test]
async fn stream_stops_at_an_empty_page_even_if_total_says_more() {
    let fake = MagaluFake::start().await;
    fake.on("getRegistryMembers", |ctx| {
        let offset: usize = ctx.param("_offset").unwrap().parse().unwrap();
        let items: Vec<Value> = if offset == 0 { vec![common::spec::member()] } else { vec![] };
        Some(json_response(
            200,
            &json!({"results": items, "meta": {"page": {"count": items.len(), "limit": 1, "offset": offset, "total": 100}}}),
        ))
    });
    let all: Vec<_> = fake
        .client()
        .members()
        .list_stream(&registry_id(), ListOptions::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(fake.request_count(), 2);
    fake.assert_clean();
}

#[tokio::test]
async fn a_server_repeating_a_page_does_not_loop_forever() {
    let fake = MagaluFake::start().await;
    let items: Vec<Value> = (0..50).map(registry).collect();
    // Ignores _offset: always the first page, claiming 50 in total.
    fake.on("getRegistries", move |_| {
        Some(json_response(200, &page_body(&items, 0, 2)))
    });
    let mut stream = fake
        .client()
        .registries()
        .list_stream(ListOptions::new().limit(2));
    let mut got = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(r)) => got.push(r.name),
            Ok(None) => panic!("the stream ended without noticing the repeat"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, ["reg0", "reg1"]);
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("same page"), "{err}");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn a_server_cycling_between_pages_is_stopped_at_the_first_repeat() {
    let fake = MagaluFake::start().await;
    let items: Vec<Value> = (0..4).map(registry).collect();
    // Answers offsets 0, 2, 4, … with pages A, B, A, B, …, claiming 100
    // in total: no page repeats the one just before it.
    fake.on("getRegistries", move |ctx| {
        let offset: usize = ctx.param("_offset").unwrap().parse().unwrap();
        let mut body = page_body(&items, offset % 4, 2);
        body["meta"]["page"]["total"] = json!(100);
        body["meta"]["page"]["offset"] = json!(offset);
        Some(json_response(200, &body))
    });
    let mut stream = fake
        .client()
        .registries()
        .list_stream(ListOptions::new().limit(2));
    let mut got = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(r)) => got.push(r.name),
            Ok(None) => panic!("the stream ended without noticing the repeat"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, ["reg0", "reg1", "reg2", "reg3"]);
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("same page"), "{err}");
    assert!(err.to_string().contains("offset 4"), "{err}");
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn every_list_has_a_stream() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();
    let opts = || ListOptions::new().limit(1);
    assert_eq!(
        mgc.proxy_caches()
            .list_stream(opts())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        mgc.repositories()
            .list_stream(&registry_id(), opts())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len(),
        1
    );
    let images = mgc.images().list_stream(
        &registry_id(),
        &repository_id(),
        opts().expand("media_type"),
    );
    assert_eq!(images.try_collect::<Vec<_>>().await.unwrap().len(), 1);
    let scans = mgc
        .scans()
        .list_stream(&registry_id(), &repository_id(), "latest", opts(), None);
    assert_eq!(scans.try_collect::<Vec<_>>().await.unwrap().len(), 1);
    let vulns = mgc.scans().vulnerabilities_stream(
        &scan_id(),
        opts(),
        VulnerabilityFilter::new()
            .severity(VulnerabilitySeverity::High)
            .severity(VulnerabilitySeverity::Critical),
    );
    assert_eq!(vulns.try_collect::<Vec<_>>().await.unwrap().len(), 1);
    assert_eq!(fake.request_count(), 5);
    // The filters go with every page.
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        last.query(),
        Some("_limit=1&_offset=0&severity=high&severity=critical")
    );
    fake.assert_clean();
}

#[tokio::test]
async fn get_by_name_is_an_exact_match_across_pages() {
    let fake = MagaluFake::start().await;
    fake.on("getRepositoriesV1", |ctx| {
        // Like a lenient server: the name filter matches substrings (and is
        // ignored here), pages of 2; the exact match is on page 2.
        let offset: usize = ctx.param("_offset").unwrap_or("0").parse().unwrap();
        let all = [("alpine-edge", 1), ("team/alpine-old", 2), ("alpine", 4)];
        let items: Vec<Value> = all.iter().map(|(n, i)| repository(n, *i)).collect();
        let mut body = page_body(&items, offset, 2);
        body["goal"] = json!({"total": 4});
        Some(json_response(200, &body))
    });
    let mgc = fake.client();
    let repo = mgc
        .repositories()
        .get_by_name(&registry_id(), "alpine")
        .await
        .unwrap();
    assert_eq!(repo.name, "alpine");
    assert_eq!(repo.id, "00000000-0000-4000-8000-000000000004");
    assert_eq!(fake.request_count(), 2);
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.query().unwrap().contains("name=alpine"))
    );

    let missing = mgc
        .repositories()
        .get_by_name(&registry_id(), "alp")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(
        missing.to_string().contains("no repository named \"alp\""),
        "{missing}"
    );

    // Names with a slash travel as a query value, encoded.
    let team = mgc
        .repositories()
        .get_by_name(&registry_id(), "team/alpine-old")
        .await
        .unwrap();
    assert_eq!(team.name, "team/alpine-old");
    assert!(
        fake.requests()
            .last()
            .unwrap()
            .query()
            .unwrap()
            .contains("name=team%2Falpine-old")
    );
    fake.assert_clean();
}
