//! FakeServer and Proxy: recording, counting, rewriting, tag pagination, streaming.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use common::{digest, header, json, push_blob, push_image, request};
use http::Request;
use http_body_util::{BodyExt, Channel, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use test_support::TestRegistry;
use test_support::client::get;
use test_support::http::{FakeServer, Proxy, json_response, response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test]
async fn fake_server_records_requests_on_another_loopback_ip() {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let fake = FakeServer::start_on(ip, |req| async move {
        match (req.method().as_str(), req.uri().path()) {
            ("GET", "/v2/") => json_response(200, &serde_json::json!({})),
            ("POST", "/echo") => response(201, req.into_body()),
            _ => response(404, "nope"),
        }
    })
    .await;
    assert_eq!(fake.addr().ip(), ip);
    assert!(fake.url().starts_with("http://127.0.0.2:"));

    assert_eq!(
        get(&format!("{}/v2/", fake.url()), None).await.status(),
        200
    );
    let resp = request(
        "POST",
        &format!("{}/echo?x=1", fake.url()),
        Some("Bearer abc"),
        "payload",
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(&resp.body()[..], b"payload");
    assert_eq!(
        get(&format!("{}/missing", fake.url()), None).await.status(),
        404
    );

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].path(), "/echo");
    assert_eq!(reqs[1].query(), Some("x=1"));
    assert_eq!(reqs[1].header("authorization"), Some("Bearer abc"));
    assert_eq!(&reqs[1].body[..], b"payload");
    assert_eq!(fake.count("GET", "*"), 2);
    assert_eq!(fake.count("*", "/echo"), 1);
    fake.clear_requests();
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn proxy_forwards_and_counts_a_push() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    assert_eq!(proxy.upstream(), registry.url());

    let manifest = push_image(&proxy.url(), "app", "v1", None).await;
    // Every step went through the proxy: the registry's upload Locations point at it.
    assert_eq!(proxy.count("POST", "/v2/app/blobs/uploads/"), 2);
    assert_eq!(proxy.count("PUT", "/v2/app/blobs/uploads/*"), 2);
    assert_eq!(proxy.count("PUT", "/v2/app/manifests/*"), 1);
    assert_eq!(proxy.request_count(), 5);
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| r.status == 201 || r.status == 202)
    );

    let url = format!("{}/v2/app/manifests/{manifest}", proxy.url());
    // distribution 2.8 hides an OCI manifest from clients that do not accept it.
    let resp = get(&url, None).await;
    assert_eq!(resp.status(), 404, "{:?}", resp.body());
    let req = Request::get(&url)
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .body(http_body_util::Full::default())
        .unwrap();
    let resp = test_support::client::send(req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(digest(resp.body()), manifest);
    assert_eq!(proxy.count("GET", "/v2/*/manifests/*"), 2);
}

#[tokio::test]
async fn proxy_paginates_tag_lists() {
    let registry = TestRegistry::anonymous().await;
    for tag in ["e", "a", "d", "b", "c"] {
        push_image(&registry.url(), "lib/app", tag, None).await;
    }
    // distribution 2.8 itself ignores n.
    let direct = get(
        &format!("{}/v2/lib/app/tags/list?n=2", registry.url()),
        None,
    )
    .await;
    assert_eq!(json(&direct)["tags"].as_array().unwrap().len(), 5);
    assert!(header(&direct, "link").is_none());

    let proxy = registry.proxy_builder().paginate_tags().start().await;
    let mut url = format!("{}/v2/lib/app/tags/list?n=2", proxy.url());
    let mut pages = Vec::new();
    loop {
        let resp = get(&url, None).await;
        assert_eq!(resp.status(), 200);
        let body = json(&resp);
        assert_eq!(body["name"], "lib/app");
        pages.push(body["tags"].clone());
        match header(&resp, "link") {
            Some(link) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                let path = link.trim_start_matches('<').split('>').next().unwrap();
                url = format!("{}{path}", proxy.url());
            }
            None => break,
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(
        pages,
        [
            serde_json::json!(["a", "b"]),
            serde_json::json!(["c", "d"]),
            serde_json::json!(["e"])
        ]
    );
    assert_eq!(proxy.count("GET", "/v2/lib/app/tags/list"), 3);
    assert_eq!(proxy.requests()[1].query(), Some("last=b&n=2"));

    // Without n the whole list comes back, unless a default page size is set.
    let all = get(&format!("{}/v2/lib/app/tags/list", proxy.url()), None).await;
    assert_eq!(json(&all)["tags"].as_array().unwrap().len(), 5);
    let paged = registry.proxy_builder().tags_page_size(4).start().await;
    let first = get(&format!("{}/v2/lib/app/tags/list", paged.url()), None).await;
    assert_eq!(
        json(&first)["tags"],
        serde_json::json!(["a", "b", "c", "d"])
    );
    assert_eq!(
        header(&first, "link"),
        Some("</v2/lib/app/tags/list?last=d&n=4>; rel=\"next\"")
    );
    // Unknown repositories keep their error.
    let missing = get(&format!("{}/v2/nope/tags/list?n=1", paged.url()), None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn proxy_corrupts_blobs_on_request() {
    let registry = TestRegistry::anonymous().await;
    let data = Bytes::from_static(b"the real blob content");
    let blob = push_blob(&registry.url(), "x", data.clone(), None).await;
    let proxy = registry.proxy_builder().corrupt_blobs().start().await;
    let url = format!("{}/v2/x/blobs/{blob}", proxy.url());

    let resp = get(&url, None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().len(), data.len());
    assert_eq!(
        header(&resp, "content-length"),
        Some(data.len().to_string().as_str())
    );
    assert_eq!(resp.body()[0], data[0] ^ 0xff);
    assert_eq!(&resp.body()[1..], &data[1..]);
    assert_ne!(digest(resp.body()), blob);
    // The registry still has the right bytes.
    let direct = get(&format!("{}/v2/x/blobs/{blob}", registry.url()), None).await;
    assert_eq!(direct.body(), &data);
}

#[tokio::test]
async fn proxy_intercepts_and_custom_rewrites() {
    let registry = TestRegistry::anonymous().await;
    let served = std::sync::atomic::AtomicUsize::new(0);
    let proxy = registry
        .proxy_builder()
        .intercept(move |req| {
            (req.path() == "/v2/" && served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0)
                .then(|| {
                    let mut resp = response(503, "busy");
                    resp.headers_mut()
                        .insert("retry-after", http::HeaderValue::from_static("1"));
                    resp
                })
        })
        .rewrite_response("GET", "/v2/_catalog", |_req, parts, _body| {
            parts
                .headers
                .insert("x-rewritten", http::HeaderValue::from_static("yes"));
            Bytes::from_static(b"{\"repositories\":[\"fake\"]}")
        })
        .start()
        .await;

    let first = get(&format!("{}/v2/", proxy.url()), None).await;
    assert_eq!(first.status(), 503);
    assert_eq!(header(&first, "retry-after"), Some("1"));
    assert_eq!(
        get(&format!("{}/v2/", proxy.url()), None).await.status(),
        200
    );
    let catalog = get(&format!("{}/v2/_catalog", proxy.url()), None).await;
    assert_eq!(header(&catalog, "x-rewritten"), Some("yes"));
    assert_eq!(json(&catalog)["repositories"], serde_json::json!(["fake"]));
    let statuses: Vec<u16> = proxy.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200, 200]);
}

#[tokio::test]
async fn proxy_streams_a_large_blob_both_ways() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let data: Bytes = (0..48 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let blob = push_blob(&proxy.url(), "big", data.clone(), None).await;
    let resp = get(&format!("{}/v2/big/blobs/{blob}", proxy.url()), None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().len(), data.len());
    assert_eq!(digest(resp.body()), blob);
}

/// Reads from `stream` until `needle` has been seen; returns everything read.
async fn read_until(stream: &mut tokio::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed before {:?}",
            String::from_utf8_lossy(needle)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

#[tokio::test]
async fn proxy_does_not_buffer_request_bodies() {
    // A raw upstream that reports when the first chunk arrives, before the body ends.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    let (first_chunk_tx, first_chunk_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        read_until(&mut s, b"first-chunk").await;
        first_chunk_tx.send(()).unwrap();
        read_until(&mut s, b"0\r\n\r\n").await;
        s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
    });
    let proxy = Proxy::start(upstream_url).await;

    let (mut tx, body) = Channel::<Bytes>::new(1);
    let client = Client::builder(TokioExecutor::new()).build_http::<Channel<Bytes>>();
    let req = Request::put(format!("{}/v2/x/blobs/uploads/1", proxy.url()))
        .body(body)
        .unwrap();
    let pending = tokio::spawn(client.request(req));
    tx.send_data(Bytes::from_static(b"first-chunk"))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), first_chunk_rx)
        .await
        .expect("the proxy held back the first chunk of a streaming upload")
        .unwrap();
    tx.send_data(Bytes::from_static(b"rest")).await.unwrap();
    drop(tx);
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(proxy.count("PUT", "/v2/*/blobs/uploads/*"), 1);
}

#[tokio::test]
async fn proxy_does_not_buffer_response_bodies() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    let (release_tx, release_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        read_until(&mut s, b"\r\n\r\n").await;
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await
            .unwrap();
        let _ = release_rx.await;
        s.write_all(b"6\r\n world\r\n0\r\n\r\n").await.unwrap();
    });
    let proxy = Proxy::start(upstream_url).await;

    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let req = Request::get(format!("{}/v2/x/blobs/sha256:00", proxy.url()))
        .body(Empty::new())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the proxy held back the start of a streaming download")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "hello");
    release_tx.send(()).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, " world");
}
