//! OCI archives (`oci-archive:`) through `copy`: registry → archive →
//! registry with identical digests, several images in one archive, a failed
//! copy that leaves no archive, and skopeo reading what we write and
//! writing what we read.

mod common;

use std::path::Path;

use oci_dist::archive::{OciArchiveReader, OciArchiveWriter};
use oci_dist::copy::{CopyOptions, copy};
use oci_dist::image::NewIndex;
use oci_dist::{ErrorKind, Tag};
use test_support::{Fault, FaultRule, TestRegistry};

fn index(seed: u64) -> NewIndex {
    let shared = common::bytes(3000, seed);
    let images = ["amd64", "arm64"]
        .iter()
        .enumerate()
        .map(|(i, arch)| {
            common::image(
                &[shared.clone(), common::bytes(2000 + i, seed + 1 + i as u64)],
                "linux",
                arch,
                None,
            )
        })
        .collect();
    NewIndex::new(images).unwrap()
}

/// The names of the tar's entries, in order.
fn tar_names(path: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

#[tokio::test]
async fn registry_to_archive_to_registry_keeps_every_digest() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src/app");
    let idx = index(10);
    src.push_index("v1", &idx).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar");
    let writer = OciArchiveWriter::create(&path).await.unwrap();
    let opts = CopyOptions::default().jobs(3);
    let report = copy(&src, "v1", &writer, tag("v1"), &opts).await.unwrap();
    assert_eq!(&report.digest, idx.manifest().digest());
    assert!(!path.exists(), "the archive appears only when finished");
    writer.finish().await.unwrap();

    // 2 manifests + index, 2 configs, 3 distinct layers, each once.
    let names = tar_names(&path);
    let blobs: Vec<_> = names
        .iter()
        .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 14)
        .collect();
    assert_eq!(blobs.len(), 8, "{names:?}");
    assert!(names.contains(&"oci-layout".to_owned()) && names.contains(&"index.json".to_owned()));

    let reader = OciArchiveReader::open(&path).await.unwrap();
    let refs = reader.list_refs();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].0, "v1");
    assert_eq!(
        refs[0].1.digest().to_string(),
        idx.manifest().digest().to_string()
    );

    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("mirror/app");
    let back = copy(&reader, "v1", &dst, "v1", &opts).await.unwrap();
    assert_eq!(&back.digest, idx.manifest().digest());
    assert_eq!(back.copied, 5, "2 configs, 3 distinct layers");
    assert_eq!(
        dst.get_manifest("v1").await.unwrap().bytes(),
        idx.manifest().bytes()
    );
    // By digest too (a platform manifest not listed in index.json).
    let child = idx.images()[1].manifest().digest().clone();
    let one = copy(&reader, child.clone(), &dst, "arm", &opts)
        .await
        .unwrap();
    assert_eq!(one.digest, child);
}

#[tokio::test]
async fn several_tagged_images_share_blobs_in_one_archive() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let shared = common::bytes(4096, 20);
    let one = common::image(
        &[shared.clone(), common::bytes(100, 21)],
        "linux",
        "amd64",
        None,
    );
    let two = common::image(
        &[shared.clone(), common::bytes(200, 22)],
        "linux",
        "amd64",
        None,
    );
    src.push_image("one", &one).await.unwrap();
    src.push_image("two", &two).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar");
    // An existing file at the path is replaced.
    std::fs::write(&path, b"old content").unwrap();
    let writer = OciArchiveWriter::create(&path).await.unwrap();
    let opts = CopyOptions::default();
    copy(&src, "one", &writer, tag("one"), &opts).await.unwrap();
    let r = copy(&src, "two", &writer, tag("two"), &opts).await.unwrap();
    assert_eq!(
        (r.copied, r.skipped),
        (1, 2),
        "the shared layer and config are skipped"
    );
    // Copied again under the same tag: one entry, not two.
    copy(&src, "two", &writer, tag("two"), &opts).await.unwrap();
    // An untagged copy is listed without a ref name.
    let untagged = common::image(&[common::bytes(50, 23)], "linux", "amd64", None);
    src.push_image("three", &untagged).await.unwrap();
    copy(&src, "three", &writer, None::<&Tag>, &opts)
        .await
        .unwrap();
    writer.finish().await.unwrap();

    let names = tar_names(&path);
    let shared_name = format!(
        "blobs/sha256/{}",
        oci_dist::Digest::sha256_of(&shared).hex()
    );
    assert_eq!(names.iter().filter(|n| **n == shared_name).count(), 1);
    let reader = OciArchiveReader::open(&path).await.unwrap();
    let refs: Vec<String> = reader.list_refs().into_iter().map(|(n, _)| n).collect();
    assert_eq!(refs, ["one", "two"]);
    assert_eq!(reader.index().manifests().len(), 3);

    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("dst");
    for (t, img) in [("one", &one), ("two", &two)] {
        let rep = copy(&reader, t, &dst, t, &opts).await.unwrap();
        assert_eq!(&rep.digest, img.manifest().digest());
    }
    let err = copy(&reader, "missing", &dst, "x", &opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn a_copy_failing_mid_way_leaves_no_archive() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let img = common::small_image(2, 64 * 1024, 30);
    src.push_image("v1", &img).await.unwrap();
    // Blob bodies are cut at half and resumption is refused.
    let proxy = a
        .proxy_builder()
        .fault(FaultRule::new("GET", "/v2/src/blobs/*", Fault::CutAtHalf).only_unranged())
        .intercept(|req| {
            (req.method == "GET" && req.range().is_some()).then(|| {
                test_support::http::response(
                    403,
                    r#"{"errors":[{"code":"DENIED","message":"no"}]}"#,
                )
            })
        })
        .start()
        .await;
    let bad = common::client_via(&proxy).with_segment("src");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar");
    {
        let writer = OciArchiveWriter::create(&path).await.unwrap();
        let opts = CopyOptions::default().jobs(1);
        copy(&bad, "v1", &writer, tag("v1"), &opts)
            .await
            .unwrap_err();
        // The writer is dropped unfinished.
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left"
    );

    // An archive already there is kept as it was.
    std::fs::write(&path, b"previous").unwrap();
    {
        let writer = OciArchiveWriter::create(&path).await.unwrap();
        copy(&bad, "v1", &writer, tag("v1"), &CopyOptions::default())
            .await
            .unwrap_err();
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_corrupted_blob_in_an_archive_fails_its_digest() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let layer = common::bytes(5000, 40);
    let img = common::image(std::slice::from_ref(&layer), "linux", "amd64", None);
    src.push_image("v1", &img).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar");
    let writer = OciArchiveWriter::create(&path).await.unwrap();
    copy(&src, "v1", &writer, tag("v1"), &CopyOptions::default())
        .await
        .unwrap();
    writer.finish().await.unwrap();
    // Flip one byte of the layer inside the tar.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &layer[..64])
        .expect("layer bytes stored as is");
    bytes[at + 100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let reader = OciArchiveReader::open(&path).await.unwrap();
    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("dst");
    let err = copy(&reader, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");

    // Not an archive at all.
    std::fs::write(&path, b"not a tar").unwrap();
    let err = OciArchiveReader::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    // A tar whose layout files are missing, of another version, or broken.
    let layout_v = |v: &str| format!(r#"{{"imageLayoutVersion":"{v}"}}"#).into_bytes();
    let (v1, v2) = (layout_v("1.0.0"), layout_v("2.0.0"));
    let index = br#"{"schemaVersion":2,"manifests":[]}"#;
    for (files, kind, says) in [
        (
            vec![("index.json", &index[..])],
            ErrorKind::InvalidContent,
            "no oci-layout",
        ),
        (
            vec![("oci-layout", &v1[..])],
            ErrorKind::InvalidContent,
            "no index.json",
        ),
        (
            vec![("oci-layout", &v2[..]), ("index.json", index)],
            ErrorKind::Unsupported,
            "unsupported imageLayoutVersion \"2.0.0\"",
        ),
        (
            vec![("oci-layout", &v1[..]), ("index.json", b"[]")],
            ErrorKind::InvalidContent,
            "index.json in",
        ),
    ] {
        std::fs::write(&path, test_support::layers::tar_files(&files)).unwrap();
        let err = OciArchiveReader::open(&path).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
    std::fs::write(
        &path,
        test_support::layers::tar_files(&[("oci-layout", &v1), ("index.json", index)]),
    )
    .unwrap();
    assert!(
        OciArchiveReader::open(&path)
            .await
            .unwrap()
            .list_refs()
            .is_empty()
    );
    let err = OciArchiveReader::open(dir.path().join("missing.tar"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// skopeo (containers/image) reads the archives we write and we read the
/// ones it writes.
#[tokio::test]
async fn skopeo_interoperates_both_ways() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let reg = TestRegistry::anonymous().await;
    let src = common::client_for(&reg).with_segment("src");
    let img = common::small_image(2, 3000, 50);
    src.push_image("v1", &img).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Ours → skopeo → registry.
    let ours = dir.path().join("ours.tar");
    let writer = OciArchiveWriter::create(&ours).await.unwrap();
    copy(&src, "v1", &writer, tag("v1"), &CopyOptions::default())
        .await
        .unwrap();
    writer.finish().await.unwrap();
    test_support::skopeo::copy(
        &skopeo,
        &["--preserve-digests"],
        &[
            "--dest-tls-verify=false".into(),
            format!("oci-archive:{}:v1", ours.display()),
            format!("docker://{}/from-ours:v1", reg.host()),
        ],
    );
    let theirs = common::client_for(&reg).with_segment("from-ours");
    assert_eq!(
        theirs.get_manifest("v1").await.unwrap().bytes(),
        img.manifest().bytes()
    );

    // Registry → skopeo → ours.
    let written = dir.path().join("theirs.tar");
    test_support::skopeo::copy(
        &skopeo,
        &["--preserve-digests"],
        &[
            "--src-tls-verify=false".into(),
            format!("docker://{}/src:v1", reg.host()),
            format!("oci-archive:{}:v1", written.display()),
        ],
    );
    let reader = OciArchiveReader::open(&written).await.unwrap();
    let dst = common::client_for(&reg).with_segment("from-skopeo");
    let rep = copy(&reader, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&rep.digest, img.manifest().digest());
}
