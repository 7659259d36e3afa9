//! The OCI image layout: round trips through a reopened layout, resolving
//! by tag and digest, atomic `index.json` updates, and what `open` refuses.

mod layout_support;

use oci_dist::layout::{OciLayout, REF_NAME_ANNOTATION};
use registry_core::{Digest, ErrorKind};

use layout_support::*;

#[tokio::test]
async fn round_trip_through_a_reopened_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("img");
    let img = image(7);
    {
        let layout = OciLayout::create(&root).await.unwrap();
        let desc = write_image(&layout, &img, "v1").await;
        assert_eq!(
            desc.digest().to_string(),
            Digest::sha256_of(&img.manifest).to_string()
        );
        assert_eq!(desc.size(), img.manifest.len() as u64);
    }

    // The files skopeo and umoci expect.
    assert_eq!(
        std::fs::read_to_string(root.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        index["manifests"][0]["annotations"][REF_NAME_ANNOTATION],
        "v1"
    );
    assert_eq!(index["manifests"][0]["mediaType"], MANIFEST);
    let mut want: Vec<String> = img
        .layers
        .iter()
        .chain([&img.config, &img.manifest])
        .map(|b| format!("blobs/sha256/{}", Digest::sha256_of(b).hex()))
        .chain(["index.json".to_owned(), "oci-layout".to_owned()])
        .collect();
    want.sort();
    assert_eq!(files_under(&root), want, "stray or missing files");

    let layout = OciLayout::open(&root).await.unwrap();
    let desc = layout.resolve("v1").await.unwrap();
    let manifest_digest = Digest::sha256_of(&img.manifest);
    assert_eq!(desc.digest().to_string(), manifest_digest.to_string());
    let (by_tag, bytes) = layout.read_manifest("v1").await.unwrap();
    assert_eq!(by_tag, desc);
    assert_eq!(bytes, img.manifest, "manifest bytes must be kept exactly");
    let by_digest = layout.resolve(&manifest_digest.to_string()).await.unwrap();
    assert_eq!(by_digest.digest(), desc.digest());

    for blob in img.layers.iter().chain([&img.config]) {
        let digest = Digest::sha256_of(blob);
        assert!(layout.blob_exists(&digest).await.unwrap());
        let back = read_all(&layout, &digest).await.unwrap();
        assert_eq!(Digest::sha256_of(&back), digest);
        assert_eq!(&back, blob);
    }
    let missing = Digest::sha256_of(b"not there");
    assert!(!layout.blob_exists(&missing).await.unwrap());
    assert_eq!(
        layout.read_blob(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = layout.resolve("v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("\"v2\""), "{err}");
}

#[tokio::test]
async fn digest_not_in_the_index_resolves_from_its_blob() {
    // A platform manifest of an index is a blob, not an index.json entry.
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let img = image(3);
    write_image(&layout, &img, "child").await;
    layout.remove_ref("child").await.unwrap();
    let digest = Digest::sha256_of(&img.manifest);
    let desc = layout.resolve(&digest.to_string()).await.unwrap();
    assert_eq!(desc.media_type().to_string(), MANIFEST);
    assert_eq!(desc.size(), img.manifest.len() as u64);
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST}","digest":"{digest}","size":{}}}]}}"#,
        img.manifest.len()
    );
    let idx = layout
        .write_manifest(index.as_bytes(), INDEX, None)
        .await
        .unwrap();
    let resolved = layout.resolve(idx.digest().as_ref()).await.unwrap();
    assert_eq!(
        resolved.media_type().to_string(),
        INDEX,
        "sniffed from `manifests`"
    );
    assert!(layout.list_refs().await.unwrap().is_empty());
}

#[tokio::test]
async fn tags_update_index_json_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let a = layout
        .write_manifest(&image(1).manifest, MANIFEST, Some("v1"))
        .await
        .unwrap();
    let b = layout
        .write_manifest(&image(2).manifest, MANIFEST, Some("v2"))
        .await
        .unwrap();
    let refs = layout.list_refs().await.unwrap();
    let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["v1", "v2"]);
    assert_eq!(refs[0].1.digest(), a.digest());
    assert_eq!(refs[1].1.digest(), b.digest());

    // Re-pointing v1 replaces its entry; v2 stays.
    layout.set_ref("v1", &b).await.unwrap();
    let refs = layout.list_refs().await.unwrap();
    assert_eq!(refs.len(), 2);
    assert!(refs.iter().all(|(_, d)| d.digest() == b.digest()));
    assert_eq!(layout.resolve("v1").await.unwrap().digest(), b.digest());
    assert_eq!(layout.index().await.unwrap().manifests().len(), 2);

    // Concurrent updates, from clones and from a second handle (another
    // lock in this process, as another process would have): none is lost.
    let other = OciLayout::open(dir.path()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let l = if i % 2 == 0 {
            layout.clone()
        } else {
            other.clone()
        };
        let d = if i % 3 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            l.set_ref(&format!("t{i}"), &d).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let refs = layout.list_refs().await.unwrap();
    assert_eq!(refs.len(), 18, "{refs:?}");
    for i in 0..16 {
        let d = layout.resolve(&format!("t{i}")).await.unwrap();
        let want = if i % 3 == 0 { a.digest() } else { b.digest() };
        assert_eq!(d.digest(), want);
    }
    assert_eq!(
        leftovers(dir.path())
            .iter()
            .filter(|f| !f.starts_with("blobs/"))
            .count(),
        0
    );

    assert_eq!(
        layout.remove_ref("v2").await.unwrap().unwrap().digest(),
        b.digest()
    );
    assert!(layout.remove_ref("v2").await.unwrap().is_none());
    assert_eq!(
        layout.resolve("v2").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        layout.set_ref("bad tag", &a).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn open_refuses_what_is_not_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let err = OciLayout::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("not an OCI image layout"), "{err}");

    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .unwrap();
    let err = OciLayout::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    // create() on an existing layout keeps its index.
    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let m = image(4).manifest;
    let d = Digest::sha256_of(&m);
    std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    std::fs::write(dir.path().join("blobs/sha256").join(d.hex()), &m).unwrap();
    // As skopeo writes it: no index mediaType.
    std::fs::write(
        dir.path().join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST}","digest":"{d}","size":{},"annotations":{{"{REF_NAME_ANNOTATION}":"latest"}}}}]}}"#,
            m.len()
        ),
    )
    .unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let (_, bytes) = layout.read_manifest("latest").await.unwrap();
    assert_eq!(bytes, m);
}
