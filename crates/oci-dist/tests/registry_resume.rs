//! Pulls over a bad network: blob bodies cut, reset, stalled or trickled by
//! the test proxy in front of a real docker-registry. Reads resume with
//! `Range`, digests stay verified end to end, and the bounds hold.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use oci_dist::blob::ResumePolicy;
use oci_dist::copy::{CopyOptions, copy};
use oci_dist::layout::OciLayout;
use oci_dist::{Client, Digest, ErrorKind};
use registry_core::HttpClient;
use registry_core::timeout::LowSpeed;
use test_support::{Fault, FaultRule, Proxy, TestRegistry};

const BLOBS: &str = "/v2/src/blobs/*";

/// A resume policy that waits milliseconds, not seconds.
fn quick() -> ResumePolicy {
    ResumePolicy::default()
        .base_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(50))
}

fn client_with(proxy: &Proxy, http: HttpClient, policy: ResumePolicy) -> Client {
    test_support::init_tracing();
    Client::builder(&proxy.url())
        .http_client(http)
        .resume(policy)
        .build()
        .unwrap()
        .with_segment("src")
}

fn default_http() -> HttpClient {
    HttpClient::builder().build().unwrap()
}

/// Reads a whole blob (at most `limit` bytes) through `client`.
async fn read_blob(
    client: &Client,
    digest: &Digest,
    limit: usize,
) -> Result<bytes::Bytes, oci_dist::Error> {
    client.get_blob(digest).await?.bytes(limit).await
}

/// Pushes an image of `layers` layers of `size` bytes to `src:v1`.
async fn pushed(registry: &TestRegistry, layers: usize, size: usize) -> oci_dist::image::NewImage {
    let img = common::small_image(layers, size, 4242);
    common::client_for(registry)
        .with_segment("src")
        .push_image("v1", &img)
        .await
        .unwrap();
    img
}

fn partial_files(root: &Path) -> Vec<std::path::PathBuf> {
    common::files_under(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".partial-")
        })
        .collect()
}

/// The layer descriptors (digest, size) of an image.
fn layers(img: &oci_dist::image::NewImage) -> Vec<(Digest, u64)> {
    let m: serde_json::Value = serde_json::from_slice(img.manifest().bytes()).unwrap();
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().parse().unwrap(),
                l["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_pull_cut_once_per_blob_resumes_with_one_ranged_get_and_no_bytes_twice() {
    let registry = TestRegistry::anonymous().await;
    // 64 MiB in 4 layers.
    let img = pushed(&registry, 4, 16 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(
            FaultRule::new("GET", BLOBS, Fault::CutAtHalf)
                .times_per_path(1)
                .only_unranged(),
        )
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let report = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&report.digest, img.digest());
    common::assert_layout_blobs_verified(layout.root());
    assert!(partial_files(layout.root()).is_empty());

    let requests = proxy.requests();
    for (digest, size) in layers(&img) {
        let path = format!("/v2/src/blobs/{digest}");
        let gets: Vec<_> = requests
            .iter()
            .filter(|r| r.method == "GET" && r.path() == path)
            .collect();
        assert_eq!(gets.len(), 2, "{digest}: {gets:?}");
        assert_eq!(gets[0].range(), None);
        let half = size / 2;
        assert_eq!(gets[1].range(), Some(format!("bytes={half}-").as_str()));
        assert_eq!(gets[1].status, 206);
        // Not a byte twice: half, then the other half.
        assert_eq!(gets[0].body_bytes_sent(), half);
        assert_eq!(gets[1].body_bytes_sent(), size - half);
    }
}

#[tokio::test]
async fn a_reset_connection_is_resumed() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 2, 4 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(
            FaultRule::new("GET", BLOBS, Fault::ResetAfter(1 << 20))
                .times_per_path(1)
                .only_unranged(),
        )
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let report = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&report.digest, img.digest());
    common::assert_layout_blobs_verified(layout.root());
    for (digest, _) in layers(&img) {
        let ranged = proxy
            .requests()
            .iter()
            .filter(|r| r.path() == format!("/v2/src/blobs/{digest}") && r.range().is_some())
            .count();
        assert_eq!(ranged, 1, "{digest}");
    }
}

#[tokio::test]
async fn a_registry_that_ignores_range_is_read_again_without_rewinding() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 2 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("GET", BLOBS, Fault::CutAtHalf).times_per_path(1))
        .fault(FaultRule::new("GET", BLOBS, Fault::IgnoreRange))
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    let (digest, size) = layers(&img)[0].clone();
    // A plain stream consumer: it cannot rewind, and does not need to.
    let blob = src.get_blob(&digest).await.unwrap();
    let data = blob.bytes(4 << 20).await.unwrap();
    assert_eq!(data.len() as u64, size);
    assert_eq!(Digest::sha256_of(&data), digest);
    let gets: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path() == format!("/v2/src/blobs/{digest}"))
        .collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[1].status, 200, "the range was ignored");
}

#[tokio::test]
async fn a_proxy_that_cuts_every_attempt_fails_after_the_bound_and_stores_nothing_bad() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 1 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("GET", BLOBS, Fault::CutAfter(0)))
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick().max_stalls(3));
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let err = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport),
        "{:?}: {err}",
        err.kind()
    );
    assert!(
        err.to_string().contains("gave up after 3 resumed reads"),
        "{err}"
    );
    // The config (the smallest blob) is fetched first or concurrently; each
    // blob got 1 + 3 attempts at most.
    for (digest, _) in layers(&img) {
        let n = proxy.count("GET", &format!("/v2/src/blobs/{digest}"));
        assert!(n <= 4, "{n} GETs of {digest}");
    }
    common::assert_layout_blobs_verified(layout.root());
    assert!(layout.list_refs().await.unwrap().is_empty());
    OciLayout::open(layout.root()).await.unwrap();
}

#[tokio::test]
async fn a_stall_after_headers_is_resumed_after_the_read_timeout() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 1 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(
            FaultRule::new("GET", BLOBS, Fault::StallAfterHeaders)
                .times_per_path(1)
                .only_unranged(),
        )
        .start()
        .await;
    let http = HttpClient::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let src = client_with(&proxy, http, quick());
    let (digest, size) = layers(&img)[0].clone();
    let started = Instant::now();
    let data = read_blob(&src, &digest, 2 << 20).await.unwrap();
    assert_eq!(data.len() as u64, size);
    assert!(started.elapsed() < Duration::from_secs(10));
    let ranged: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path() == format!("/v2/src/blobs/{digest}"))
        .map(|r| r.range().map(str::to_owned))
        .collect();
    assert_eq!(ranged, [None, Some("bytes=0-".to_owned())]);
}

#[tokio::test]
async fn a_registry_that_stalls_every_time_fails_within_the_bound() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 1 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("GET", BLOBS, Fault::StallAfterHeaders))
        .start()
        .await;
    let http = HttpClient::builder()
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let src = client_with(&proxy, http, quick().max_stalls(2));
    let (digest, _) = layers(&img)[0].clone();
    let started = Instant::now();
    let err = read_blob(&src, &digest, 2 << 20).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("no progress"), "{err}");
    assert_eq!(proxy.count("GET", &format!("/v2/src/blobs/{digest}")), 3);
    // Three 200 ms stalls and short pauses: far below this ceiling.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_trickle_is_cut_by_the_low_speed_limit_and_fails_within_the_bound() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 64 << 10).await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "GET",
            BLOBS,
            Fault::Trickle {
                bytes: 16,
                every: Duration::from_millis(50),
            },
        ))
        .start()
        .await;
    // 320 bytes/s against a limit of 4 KiB/s over 300 ms windows.
    let http = HttpClient::builder()
        .low_speed_limit(LowSpeed::new(4096, Duration::from_millis(300)))
        .build()
        .unwrap();
    let src = client_with(&proxy, http, quick().max_stalls(2));
    let (digest, _) = layers(&img)[0].clone();
    let started = Instant::now();
    let err = read_blob(&src, &digest, 1 << 20).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("too slow"), "{err}");
    // A trickle is no progress: 1 + 2 attempts.
    assert_eq!(proxy.count("GET", &format!("/v2/src/blobs/{digest}")), 3);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_tag_whose_digest_header_lies_fails_naming_both_digests() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 1000).await;
    let lie = format!("sha256:{}", "0".repeat(64));
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "*",
            "/v2/src/manifests/v1",
            Fault::LieDigest(lie.clone()),
        ))
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let err = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let text = err.to_string();
    assert!(text.contains(&lie), "{text}");
    assert!(text.contains(&img.digest().to_string()), "{text}");
    // One GET by tag, no HEAD: the tag was never resolved through the lie.
    assert_eq!(proxy.count("HEAD", "/v2/src/manifests/*"), 0);
    assert_eq!(proxy.count("GET", "/v2/src/manifests/v1"), 1);
}

#[tokio::test]
async fn a_failed_pull_into_a_layout_is_continued_by_the_next_run() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 3, 4 << 20).await;
    // First run: one blob at a time, every layer cut at half, nothing
    // resumes: the first layer fails at half and ends the copy, with its
    // partial file flushed; the config (not cut) is stored whole.
    let mut cutting = registry.proxy_builder();
    for (digest, _) in layers(&img) {
        cutting = cutting.fault(
            FaultRule::new("GET", &format!("/v2/src/blobs/{digest}"), Fault::CutAtHalf)
                .only_unranged(),
        );
    }
    let cutting = cutting.start().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let first = client_with(&cutting, default_http(), ResumePolicy::never());
    copy(&first, "v1", &layout, "v1", &CopyOptions::default().jobs(1))
        .await
        .unwrap_err();
    let kept: Vec<u64> = partial_files(layout.root())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let half = layers(&img)[0].1 / 2;
    assert_eq!(kept, [half], "one partial file, cut at half");
    assert!(layout.list_refs().await.unwrap().is_empty());
    common::assert_layout_blobs_verified(layout.root());

    // Second run: only the missing bytes travel.
    let counting = registry.start_proxy().await;
    let second = client_with(&counting, default_http(), quick());
    let report = copy(&second, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&report.digest, img.digest());
    common::assert_layout_blobs_verified(layout.root());
    assert!(
        partial_files(layout.root()).is_empty(),
        "partial files left"
    );
    let mut ranges = Vec::new();
    for (digest, size) in layers(&img) {
        let gets: Vec<_> = counting
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path() == format!("/v2/src/blobs/{digest}"))
            .collect();
        assert_eq!(gets.len(), 1, "{digest}");
        let had = if gets[0].range() == Some(format!("bytes={half}-").as_str()) {
            half
        } else {
            assert_eq!(gets[0].range(), None, "{digest}");
            0
        };
        assert_eq!(gets[0].body_bytes_sent(), size - had, "{digest}");
        ranges.push(had);
    }
    // The layer cut in the first run continues; the others start at 0.
    assert_eq!(
        ranges.iter().filter(|&&h| h == half).count(),
        1,
        "{ranges:?}"
    );
}

#[tokio::test]
async fn a_failed_head_is_not_tried_again_as_a_get() {
    let registry = TestRegistry::anonymous().await;
    pushed(&registry, 1, 1000).await;
    let proxy = registry
        .proxy_builder()
        .intercept(|req| (req.method == "HEAD").then(|| test_support::http::response(400, "no")))
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    let err = src.get_digest("v1").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(proxy.count("HEAD", "/v2/src/manifests/v1"), 1);
    assert_eq!(proxy.count("GET", "/v2/src/manifests/v1"), 0);
}

#[tokio::test]
async fn a_head_without_a_digest_falls_back_to_one_get() {
    let registry = TestRegistry::anonymous().await;
    let img = pushed(&registry, 1, 1000).await;
    let proxy = registry
        .proxy_builder()
        .rewrite_response("HEAD", "/v2/src/manifests/*", |_req, parts, body| {
            parts.headers.remove("docker-content-digest");
            body
        })
        .start()
        .await;
    let src = client_with(&proxy, default_http(), quick());
    assert_eq!(&src.get_digest("v1").await.unwrap(), img.digest());
    assert_eq!(proxy.count("HEAD", "/v2/src/manifests/v1"), 1);
    assert_eq!(proxy.count("GET", "/v2/src/manifests/v1"), 1);
}
