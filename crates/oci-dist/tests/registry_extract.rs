//! `Image::extract` against docker-registry: layers pulled and flattened
//! (whiteouts applied), and a corrupting registry leaves a DigestMismatch.

mod common;

use std::io::Write;

use bytes::Bytes;
use oci_dist::ErrorKind;
use oci_dist::image::{ImageBuilder, ImageLayer};
use oci_dist::media_type::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR};
use test_support::TestRegistry;

fn tar(entries: &[(&str, Option<&[u8]>)]) -> Bytes {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        match data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                h.set_mode(0o644);
                b.append_data(&mut h, path, *d).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
        }
    }
    Bytes::from(b.into_inner().unwrap())
}

fn gzip(data: &[u8]) -> Bytes {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    Bytes::from(e.finish().unwrap())
}

fn listing(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(tar_bytes);
    let mut out: Vec<(String, Vec<u8>)> = a
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn pulled_image_flattens_with_whiteouts() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("fs");
    let base = tar(&[
        ("a", None),
        ("a/x", Some(b"x1")),
        ("a/y", Some(b"y1")),
        ("b", None),
        ("b/old", Some(b"old")),
    ]);
    let top = gzip(&tar(&[
        ("a/.wh.x", Some(b"")),
        ("b", None),
        ("b/.wh..wh..opq", Some(b"")),
        ("b/new", Some(b"new")),
        ("a/y", Some(b"y2")),
    ]));
    let img = ImageBuilder::new()
        .config_bytes(OCI_CONFIG, common::config("linux", "amd64", None, "fs"))
        .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, base))
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, top))
        .build()
        .unwrap();
    app.push_image("v1", &img).await.unwrap();

    let image = app.get_image("v1", &Default::default()).await.unwrap();
    let mut out = Vec::new();
    let summary = image.extract(&mut out).await.unwrap();
    let files = listing(&out);
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["a", "a/y", "b", "b/new"]);
    assert_eq!(files[1].1, b"y2");
    assert_eq!(summary.entries, 4);

    // Through a corrupting proxy: a digest mismatch, no complete tar.
    let proxy = registry.proxy_builder().corrupt_blobs().start().await;
    let bad = common::client_via(&proxy).with_segment("fs");
    let err = bad.get_image("v1", &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    // With the config fetched cleanly, the layers are still checked.
    let proxy = registry
        .proxy_builder()
        // Configs are small; the layers are not.
        .corrupt_blobs_larger_than(200)
        .start()
        .await;
    let half_bad = common::client_via(&proxy).with_segment("fs");
    let image = half_bad.get_image("v1", &Default::default()).await.unwrap();
    let mut out = Vec::new();
    let err = image.extract(&mut out).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}
