//! `crctl tags` / `crctl catalog` stream their pages: printed as they
//! arrive, in order, one request per page, a pagination loop refused after
//! the pages already printed, and an endless listing showing output at once.
//! The built binary against docker-registry behind the test proxy.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_TAR};
use http::HeaderValue;
use http::header::LINK;
use serde_json::{Value, json};
use test_support::TestRegistry;
use test_support::http::{ProxiedRequest, ProxyBuilder, json_response};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long a run may take before the test gives up (a generous bound, not
/// a synchronisation).
use run::crctl_anonymous as crctl;

const PATIENCE: Duration = Duration::from_secs(60);

/// A registry whose repository `app` has tags `t00`..`t{n-1}`.
async fn registry_with_tags(n: usize) -> (TestRegistry, Vec<String>) {
    let registry = TestRegistry::anonymous().await;
    let img = ImageBuilder::new()
        .config_bytes(
            OCI_CONFIG,
            Bytes::from_static(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#),
        )
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_TAR,
            Bytes::from(test_support::layers::tar_files(&[("hello", b"world")])),
        ))
        .build()
        .unwrap();
    let app = Client::new(&registry.url()).unwrap().with_segment("app");
    let tags: Vec<String> = (0..n).map(|i| format!("t{i:02}")).collect();
    app.push_image(&tags[0], &img).await.unwrap();
    for t in &tags[1..] {
        app.tag_image(&tags[0], t).await.unwrap();
    }
    (registry, tags)
}

/// The query parameter `key` of a proxied request.
fn param(req: &ProxiedRequest, key: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A registry that serves at most `size` tags a page whatever `n` asks (as
/// registries cap `n`), with `Link: <…?last=…&n=…>` to the rest. The
/// proxy's own pagination sorts and applies `last`; this caps the page.
fn cap_tag_pages(builder: ProxyBuilder, size: usize) -> ProxyBuilder {
    builder.tags_page_size(size).rewrite_response(
        "GET",
        "/v2/app/tags/list",
        move |req, parts, body| {
            let Ok(mut doc) = serde_json::from_slice::<Value>(&body) else {
                return body;
            };
            let Some(tags) = doc["tags"].as_array_mut() else {
                return body;
            };
            if tags.len() > size {
                tags.truncate(size);
                let last = tags[size - 1].as_str().unwrap().to_owned();
                let n = param(req, "n").unwrap_or_else(|| size.to_string());
                let link = format!("</v2/app/tags/list?last={last}&n={n}>; rel=\"next\"");
                parts
                    .headers
                    .insert(LINK, HeaderValue::from_str(&link).unwrap());
            }
            Bytes::from(doc.to_string())
        },
    )
}

fn lines(tags: &[String]) -> String {
    tags.iter().map(|t| format!("{t}\n")).collect()
}

#[tokio::test]
async fn tags_in_pages_of_two_are_printed_in_order() {
    let (registry, tags) = registry_with_tags(50).await;
    let proxy = cap_tag_pages(registry.proxy_builder(), 2).start().await;
    let repo = format!("{}/app", proxy.host());

    let run = crctl(&["tags", &repo]).await;
    assert_eq!(run.ok().stdout, lines(&tags));
    // One request a page, each following the registry's Link.
    let gets: Vec<ProxiedRequest> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/v2/app/tags/list")
        .collect();
    assert_eq!(gets.len(), 25, "{gets:?}");
    let lasts: Vec<Option<String>> = gets.iter().map(|r| param(r, "last")).collect();
    let expected: Vec<Option<String>> = std::iter::once(None)
        .chain((0..24).map(|p| Some(tags[2 * p + 1].clone())))
        .collect();
    assert_eq!(lasts, expected);

    // The same listing as one JSON document (the shape --json always had).
    proxy.clear_requests();
    let run = crctl(&["--json", "tags", &repo]).await;
    assert_eq!(run.json(), json!({ "tags": tags }));
    assert!(run.stdout.starts_with("{\n  \"tags\": [\n    \"t00\",\n"));
    assert!(run.stdout.ends_with("\"t49\"\n  ]\n}\n"), "{}", run.stdout);
    assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 25);

    // --last: every page after it.
    proxy.clear_requests();
    let run = crctl(&["tags", &repo, "--last", "t43"]).await;
    assert_eq!(run.ok().stdout, lines(&tags[44..]));
    assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 3);
}

#[tokio::test]
async fn limit_is_one_request_and_catalog_streams_too() {
    let (registry, tags) = registry_with_tags(12).await;
    let proxy = registry.start_proxy().await;
    let repo = format!("{}/app", proxy.host());
    // distribution 2.8 ignores n: crctl pages client-side, one request.
    let run = crctl(&["tags", &repo, "--limit", "5"]).await;
    assert_eq!(run.ok().stdout, lines(&tags[..5]));
    let gets: Vec<ProxiedRequest> = proxy.requests();
    let gets: Vec<&ProxiedRequest> = gets
        .iter()
        .filter(|r| r.path() == "/v2/app/tags/list")
        .collect();
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(param(gets[0], "n").as_deref(), Some("5"));
    let run = crctl(&["tags", &repo, "--limit", "5", "--last", "t09", "--json"]).await;
    assert_eq!(run.json(), json!({ "tags": tags[10..] }));
    // Unsorted from distribution 2.8, sorted by crctl.
    let run = crctl(&["tags", &repo]).await;
    assert_eq!(run.ok().stdout, lines(&tags));

    let run = crctl(&["catalog", &proxy.host()]).await;
    assert_eq!(run.ok().stdout, "app\n");
    let run = crctl(&["--json", "catalog", &proxy.host(), "--prefix", "nope"]).await;
    assert_eq!(run.json(), json!({ "repositories": [] }));
    assert_eq!(run.stdout, "{\n  \"repositories\": []\n}\n");
    let run = crctl(&["catalog", &proxy.host(), "--last", "app"]).await;
    assert_eq!(run.ok().stdout, "");
}

#[tokio::test]
async fn a_link_back_to_a_served_page_fails_after_the_pages_printed() {
    let (registry, tags) = registry_with_tags(12).await;
    // Pages of two; the fourth page links back to the second.
    let proxy = cap_tag_pages(registry.proxy_builder(), 2)
        .rewrite_response("GET", "/v2/app/tags/list", |req, parts, body| {
            if param(req, "last").as_deref() == Some("t05") {
                let back = "</v2/app/tags/list?n=1000&last=t01>; rel=\"next\"";
                parts.headers.insert(LINK, HeaderValue::from_static(back));
            }
            body
        })
        .start()
        .await;
    let repo = format!("{}/app", proxy.host());
    let run = crctl(&["tags", &repo]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, lines(&tags[..8]), "the four pages it did get");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("loops back"), "{}", run.stderr);
    assert!(run.stderr.contains("last=t01"), "{}", run.stderr);
    assert_eq!(proxy.count("GET", "/v2/app/tags/list"), 4);

    // With --json the document is left open: a truncated listing does not
    // parse as a complete one.
    let run = crctl(&["--json", "tags", &repo]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.starts_with("{\n  \"tags\": [\n    \"t00\","));
    assert!(run.stdout.contains("\"t07\""), "{}", run.stdout);
    assert!(serde_json::from_str::<Value>(&run.stdout).is_err());
}

/// A proxy whose `endless` repository always has one more page.
async fn endless(registry: &TestRegistry) -> test_support::Proxy {
    registry
        .proxy_builder()
        .intercept(|req| {
            if req.path() != "/v2/endless/tags/list" {
                return None;
            }
            let k = param(req, "last")
                .and_then(|l| l.trim_start_matches('e').parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            let tag = format!("e{k:09}");
            let mut resp = json_response(200, &json!({"name": "endless", "tags": [tag]}));
            let link = format!("</v2/endless/tags/list?last={tag}&n=1000>; rel=\"next\"");
            resp.headers_mut()
                .insert(LINK, HeaderValue::from_str(&link).unwrap());
            Some(resp)
        })
        .start()
        .await
}

/// Starts `crctl args…`, reads the first `want` lines of its stdout as they
/// come, checks it is still running (the listing has no end), kills it.
async fn first_lines(args: &[&str], want: usize) -> Vec<String> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
        .args(args)
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut got = Vec::new();
    while got.len() < want {
        let line = tokio::time::timeout(PATIENCE, out.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("stdout still open");
        got.push(line);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "crctl is still listing"
    );
    child.kill().await.unwrap();
    got
}

#[tokio::test]
async fn an_endless_listing_shows_lines_as_they_come() {
    let registry = TestRegistry::anonymous().await;
    let proxy = endless(&registry).await;
    let repo = format!("{}/endless", proxy.host());
    assert_eq!(
        first_lines(&["tags", &repo], 3).await,
        ["e000000001", "e000000002", "e000000003"]
    );
    assert_eq!(
        first_lines(&["tags", &repo, "--json"], 4).await,
        [
            "{",
            "  \"tags\": [",
            "    \"e000000001\",",
            "    \"e000000002\","
        ]
    );
}

#[tokio::test]
async fn an_endless_listing_stops_when_the_reader_goes_away() {
    // `crctl tags REPO | head -1`: the closed pipe ends the listing, quietly.
    let registry = TestRegistry::anonymous().await;
    let proxy = endless(&registry).await;
    let repo = format!("{}/endless", proxy.host());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
        .args(["tags", &repo])
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(PATIENCE, out.next_line())
        .await
        .expect("a line in time")
        .unwrap();
    assert_eq!(first.as_deref(), Some("e000000001"));
    drop(out);
    let done = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("crctl stops once nobody reads")
        .unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.stderr.is_empty());
}
