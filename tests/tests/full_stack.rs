//! The whole stack through the facade only, as a user of the facade crate
//! writes it: a token-auth registry (RS256 token server), an htpasswd
//! registry and an OCI layout on disk, all real, with one image whose
//! layers carry whiteouts.

use facade::oci::copy::{CopyOptions, copy};
use facade::oci::image::{ImageBuilder, ImageLayer};
use facade::oci::layout::OciLayout;
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR};
use facade::{Registry, TransportOptions};
use test_support::layers::{gzip, tar_files as tar};
use test_support::{TestRegistry, TokenServer};

/// Paths and contents of a tar, sorted.
fn files(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = tar::Archive::new(tar_bytes)
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (path, data)
        })
        .collect();
    out.sort();
    out
}

fn client(host: &str, user: &str, password: &str) -> facade::oci::Client {
    test_support::init_tracing();
    Registry::builder(host)
        .credentials(user, password)
        .docker_config(false)
        .transport(TransportOptions::new().jobs(3))
        .build()
        .unwrap()
}

#[tokio::test]
async fn token_registry_to_htpasswd_registry_to_layout_and_back() {
    let tokens = TokenServer::builder().user("alice", "s3cret").start().await;
    let token_registry = TestRegistry::token(&tokens).await;
    let basic_registry = TestRegistry::htpasswd("bob", "hunter2").await;

    // Push an image of two layers: the upper one deletes a file.
    let app = client(&token_registry.host(), "alice", "s3cret").with_segment("team/app");
    let base = tar(&[("etc/keep", b"kept"), ("etc/gone", b"removed later")]);
    let top = gzip(&tar(&[("etc/.wh.gone", b""), ("bin/tool", b"#!/bin/sh\n")]));
    let image = ImageBuilder::new()
        .config_bytes(
            OCI_CONFIG,
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
                .to_vec(),
        )
        .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, base))
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, top))
        .build()
        .unwrap();
    let pushed = app.push_image("v1", &image).await.unwrap();
    assert_eq!(pushed.copied, 3, "config and two layers uploaded");
    assert_eq!(app.get_digest("v1").await.unwrap(), *image.digest());

    // The token for this repository is cached: more reads fetch no token.
    let fetched = tokens.request_count();
    assert!(fetched >= 1);
    for _ in 0..5 {
        app.check_image_exists("v1").await.unwrap();
    }
    assert_eq!(
        tokens.request_count(),
        fetched,
        "cached token reused up front"
    );

    // Registry to registry, with other credentials.
    let mirror = client(&basic_registry.host(), "bob", "hunter2").with_segment("mirror/app");
    let report = copy(&app, "v1", &mirror, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&report.digest, image.digest());
    assert_eq!((report.blobs, report.copied, report.skipped), (3, 3, 0));
    assert_eq!(mirror.list_tags().await.unwrap(), ["v1"]);

    // To a layout on disk and back under a new tag: nothing to upload.
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("layout")).await.unwrap();
    copy(&mirror, "v1", &layout, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        layout.resolve("v1").await.unwrap().digest().to_string(),
        image.digest().to_string()
    );
    let back = copy(&layout, "v1", &app, "v2", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((back.copied, back.skipped), (0, 3));
    let mut tags = app.list_tags().await.unwrap();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);

    // The flattened filesystem from the mirror: the whiteout applied and
    // not emitted.
    let pulled = mirror.get_image("v1", &Default::default()).await.unwrap();
    let mut out = Vec::new();
    pulled.extract(&mut out).await.unwrap();
    let names: Vec<(String, Vec<u8>)> = files(&out);
    assert_eq!(
        names,
        [
            ("bin/tool".to_owned(), b"#!/bin/sh\n".to_vec()),
            ("etc/keep".to_owned(), b"kept".to_vec()),
        ]
    );

    // Credentials never cross registries: the token registry refuses bob.
    let wrong = client(&token_registry.host(), "bob", "hunter2").with_segment("team/app");
    let err = wrong.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), facade::core::ErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("hunter2"));
}
