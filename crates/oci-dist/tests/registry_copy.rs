//! Copies between registries and through an OCI layout: each blob once
//! (shared layers of an index too), skips, platform selection, progress.

mod common;

use std::collections::HashMap;

use oci_dist::copy::{CopyOptions, copy};
use oci_dist::image::{NewImage, NewIndex};
use oci_dist::layout::OciLayout;
use oci_dist::progress::{BlobOutcome, ProgressEvent};
use oci_dist::{Client, Digest, ErrorKind, platform};
use test_support::{Fault, FaultRule, Proxy, TestRegistry};

fn three_platform_index(seed: u64) -> NewIndex {
    let shared = common::bytes(400_000, seed);
    let images = [("amd64", None), ("arm64", Some("v8")), ("arm", Some("v7"))]
        .iter()
        .enumerate()
        .map(|(i, (arch, variant))| {
            common::image(
                &[
                    shared.clone(),
                    common::bytes(100_000 + i * 1000, seed + 1 + i as u64),
                ],
                "linux",
                arch,
                *variant,
            )
        })
        .collect();
    NewIndex::new(images).unwrap()
}

#[tokio::test]
async fn index_between_registries_with_progress() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src/app");
    let index = three_platform_index(40);
    src.push_index("v1", &index).await.unwrap();

    let proxy = b.start_proxy().await;
    let dst = common::client_via(&proxy).with_segment("mirror/app");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = CopyOptions::default().jobs(3).progress(tx);
    let report = copy(&src, "v1", &dst, "v1", &opts).await.unwrap();
    drop(opts);
    assert_eq!(&report.digest, index.manifest().digest());
    assert_eq!(
        (
            report.manifests,
            report.blobs,
            report.copied,
            report.mounted
        ),
        (4, 7, 7, 0)
    );
    // The shared layer went up once.
    assert_eq!(proxy.count("POST", "/v2/mirror/app/blobs/uploads/"), 7);
    assert_eq!(
        dst.get_manifest("v1").await.unwrap().bytes(),
        index.manifest().bytes()
    );

    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    let total: u64 = match &events[0] {
        ProgressEvent::Started {
            blobs: 7,
            total_bytes,
        } => *total_bytes,
        other => panic!("first event {other:?}"),
    };
    assert_eq!(total, report.bytes_copied);
    let mut done: HashMap<Digest, (u64, BlobOutcome)> = HashMap::new();
    let mut last_overall = 0;
    for e in &events {
        match e {
            ProgressEvent::BlobDone {
                digest,
                size,
                outcome,
                overall_done,
                overall_total,
            } => {
                assert!(
                    done.insert(digest.clone(), (*size, *outcome)).is_none(),
                    "{digest} twice"
                );
                assert_eq!(*overall_total, total);
                assert!(*overall_done >= last_overall);
                last_overall = *overall_done;
            }
            ProgressEvent::Blob {
                done,
                total: t,
                overall_total,
                ..
            } => {
                assert!(done <= t);
                assert_eq!(*overall_total, total);
            }
            _ => {}
        }
    }
    assert_eq!(done.len(), 7);
    assert!(done.values().all(|(_, o)| *o == BlobOutcome::Copied));
    assert_eq!(last_overall, total);
    let manifests: Vec<&ProgressEvent> = events
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Manifest { .. }))
        .collect();
    assert_eq!(manifests.len(), 4);
    assert!(matches!(manifests[3], ProgressEvent::Manifest { tag: Some(t), .. } if t == "v1"));

    // Again: everything is there already.
    let again = copy(&src, "v1", &dst, "v2", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((again.copied, again.skipped), (0, 7));
    assert_eq!(dst.get_digest("v2").await.unwrap(), report.digest);
}

#[tokio::test]
async fn one_platform_out_of_an_index() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let index = three_platform_index(50);
    src.push_index("v1", &index).await.unwrap();
    let dst = src.with_repository("only-arm");
    let opts = CopyOptions::default()
        .mount(false)
        .platform(platform::parse("linux/arm64").unwrap());
    let report = copy(&src, "v1", &dst, "arm", &opts).await.unwrap();
    let arm = &index.images()[1];
    assert_eq!(&report.digest, arm.digest());
    assert_eq!((report.blobs, report.copied), (3, 3));
    assert_eq!(dst.get_digest("arm").await.unwrap(), *arm.digest());
    let err = copy(
        &src,
        "v1",
        &dst,
        None,
        &CopyOptions::default().platform(platform::parse("windows/amd64").unwrap()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), oci_dist::ErrorKind::NotFound);
    assert!(err.to_string().contains("linux/arm/v7"), "{err}");
}

#[tokio::test]
async fn registry_to_layout_and_back() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let index = three_platform_index(60);
    src.push_index("v1", &index).await.unwrap();
    let single = common::small_image(2, 50_000, 61);
    src.push_image("single", &single).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let to_disk = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&to_disk.digest, index.manifest().digest());
    copy(&src, "single", &layout, "single", &CopyOptions::default())
        .await
        .unwrap();
    assert!(layout.blob_exists(index.manifest().digest()).await.unwrap());

    let dst = common::client_for(&b).with_segment("restored");
    let back = copy(&layout, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&back.digest, index.manifest().digest());
    assert_eq!(
        dst.get_manifest("v1").await.unwrap().bytes(),
        index.manifest().bytes()
    );
    copy(&layout, "single", &dst, "single", &CopyOptions::default())
        .await
        .unwrap();
    let image = dst.get_image("single", &Default::default()).await.unwrap();
    assert_eq!(image.digest(), single.digest());
    assert_eq!(
        image.layer(1).await.unwrap().bytes(1 << 20).await.unwrap(),
        common::bytes(50_000, 61_001)
    );
}

/// A registry holding `src:v1` (`layers` layers of 300 kB), and a proxy in
/// front of it that keeps each blob's length but flips one byte in the
/// middle of every layer (the config is small and passes): only the
/// digest can tell. Returns the registry, the proxy, a client of `src`
/// and one through the proxy, and the image.
async fn corrupting_source(
    layers: usize,
    seed: u64,
) -> (TestRegistry, Proxy, Client, Client, NewImage) {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let img = common::small_image(layers, 300_000, seed);
    src.push_image("v1", &img).await.unwrap();
    let proxy = a
        .proxy_builder()
        .corrupt_blobs_larger_than(200)
        .start()
        .await;
    let bad = common::client_via(&proxy).with_segment("src");
    (a, proxy, src, bad, img)
}

#[tokio::test]
async fn a_corrupt_download_leaves_no_blob_in_the_layout() {
    let (_a, proxy, src, bad, img) = corrupting_source(3, 70).await;

    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let err = copy(&bad, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), oci_dist::ErrorKind::DigestMismatch, "{err}");
    assert!(proxy.count("GET", "/v2/src/blobs/*") >= 1);

    // No layer, no temporary file, no tag; whatever is stored is verified.
    for (path, len) in common::assert_layout_blobs_verified(&dir.path().join("oci")) {
        assert!(len < 300_000, "a layer was stored: {path:?}");
    }
    assert!(layout.list_refs().await.unwrap().is_empty());

    // The same copy without the corruption stores everything.
    let report = copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&report.digest, img.digest());
    assert_eq!(layout.list_refs().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_resumption_fails_the_copy_with_the_registry_error() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let img = common::small_image(1, 1 << 20, 80);
    src.push_image("v1", &img).await.unwrap();
    // Every blob body is cut at half; the resumption is refused with an
    // OCI error body.
    let proxy = a
        .proxy_builder()
        .fault(FaultRule::new("GET", "/v2/src/blobs/*", Fault::CutAtHalf).only_unranged())
        .intercept(|req| {
            (req.method == "GET" && req.range().is_some()).then(|| {
                test_support::http::response(
                    403,
                    r#"{"errors":[{"code":"DENIED","message":"no more reads"}]}"#,
                )
            })
        })
        .start()
        .await;
    let bad = common::client_via(&proxy).with_segment("src");
    let check = |err: oci_dist::Error| {
        // The source's error as it came: kind, status and OCI error code.
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
        assert_eq!(err.oci_errors().len(), 1, "{err}");
        assert_eq!(err.oci_errors()[0].code, "DENIED", "{err}");
    };

    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    let opts = CopyOptions::default().jobs(1);
    check(copy(&bad, "v1", &layout, "v1", &opts).await.unwrap_err());
    assert!(layout.list_refs().await.unwrap().is_empty());

    // Into a registry, whose upload only sees its request body break.
    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("dst");
    check(copy(&bad, "v1", &dst, "v1", &opts).await.unwrap_err());
}

/// A registry checks the digest of each blob it commits, so a copy into
/// one reads its source unverified (each byte hashed once, not twice):
/// corrupt source bytes are still refused, as a digest mismatch, and
/// nothing is tagged.
#[tokio::test]
async fn corrupt_source_bytes_are_refused_by_a_registry_destination() {
    let (_a, _proxy, src, bad, img) = corrupting_source(2, 90).await;
    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("dst");
    let err = copy(&bad, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let err = dst.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // Out of a layout whose layer file was altered in place (same size).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("oci");
    let layout = OciLayout::create(&root).await.unwrap();
    copy(&src, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    let layer = root.join("blobs/sha256").join(
        img.manifest().as_image().unwrap().layers()[0]
            .digest()
            .digest(),
    );
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[150_000] ^= 0xff;
    std::fs::write(&layer, &bytes).unwrap();
    let err = copy(&layout, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let err = dst.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // The same layout file read into another layout is caught by the reader.
    let other = OciLayout::create(dir.path().join("other")).await.unwrap();
    let err = copy(&layout, "v1", &other, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}
