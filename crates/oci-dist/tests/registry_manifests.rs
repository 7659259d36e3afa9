//! Manifests and images against a real docker-registry: round trips with
//! digests equal to what was pushed, indexes, Docker media types, platform
//! selection, existence checks, tagging.

mod common;

use common::{bytes, client_for, image, small_image};
use oci_dist::image::{GetImageOptions, ImageBuilder, ImageLayer, NewIndex};
use oci_dist::media_type::{
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
};
use oci_dist::{ErrorKind, platform};
use test_support::TestRegistry;

#[tokio::test]
async fn image_round_trip_keeps_digests_and_bytes() {
    let registry = TestRegistry::anonymous().await;
    let app = client_for(&registry)
        .with_segment("org")
        .with_segment(["team", "app"]);
    assert_eq!(app.registry(), format!("{}/org/team/app", registry.host()));
    let img = small_image(3, 10_000, 1);
    let report = app.push_image("v1", &img).await.unwrap();
    assert_eq!(&report.digest, img.digest());
    assert_eq!((report.blobs, report.copied, report.skipped), (4, 4, 0));

    let m = app.get_manifest("v1").await.unwrap();
    assert_eq!(m.digest(), img.digest());
    assert_eq!(m.bytes(), img.manifest().bytes());
    assert_eq!(m.media_type(), OCI_MANIFEST);
    assert_eq!(app.get_digest("v1").await.unwrap(), *img.digest());
    let by_digest = app
        .get_manifest(&format!("@{}", img.digest()))
        .await
        .unwrap();
    assert_eq!(by_digest.bytes(), m.bytes());

    let image = app
        .get_image("v1", &GetImageOptions::default())
        .await
        .unwrap();
    assert_eq!(image.digest(), img.digest());
    assert_eq!(image.layers().len(), 3);
    for i in 0..3 {
        let data = image.layer(i).await.unwrap().bytes(1 << 20).await.unwrap();
        assert_eq!(data, bytes(10_000, 1000 + i as u64));
    }
    let config = app.get_image_config("v1").await.unwrap();
    assert_eq!(
        config.config().as_ref().unwrap().labels().as_ref().unwrap()["test.label"],
        "amd64"
    );

    // A second push of the same image sends no blob.
    let again = app.push_image("v2", &img).await.unwrap();
    assert_eq!((again.copied, again.skipped), (0, 4));
}

#[tokio::test]
async fn missing_images_are_not_found() {
    let registry = TestRegistry::anonymous().await;
    let app = client_for(&registry).with_segment("nothing/here");
    let err = app.check_image_exists("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!app.manifest_exists("v1").await.unwrap());
    assert_eq!(
        app.get_manifest("v1").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        app.get_digest("v1").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let img = small_image(1, 100, 2);
    app.push_image("v1", &img).await.unwrap();
    app.check_image_exists("v1").await.unwrap();
    assert!(app.manifest_exists(img.digest()).await.unwrap());
    assert_eq!(
        app.check_image_exists("v2").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // An unscoped client has no repository.
    let err = client_for(&registry).get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn an_artifact_is_not_an_image() {
    let registry = TestRegistry::anonymous().await;
    let app = client_for(&registry).with_segment("artifacts");
    let sbom = ImageBuilder::new()
        .artifact_type("application/vnd.example.sbom")
        .build()
        .unwrap();
    app.push_image("sbom", &sbom).await.unwrap();
    let err = app
        .get_image("sbom", &GetImageOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(
        err.to_string().contains("is not a container image"),
        "{err}"
    );
}

#[tokio::test]
async fn index_round_trip_and_platform_selection() {
    let registry = TestRegistry::anonymous().await;
    let app = client_for(&registry).with_segment("multi");
    let shared = bytes(5000, 77);
    let amd = image(&[shared.clone(), bytes(3000, 1)], "linux", "amd64", None);
    let arm = image(
        &[shared.clone(), bytes(3000, 2)],
        "linux",
        "arm64",
        Some("v8"),
    );
    let arm7 = image(
        &[shared.clone(), bytes(3000, 3)],
        "linux",
        "arm",
        Some("v7"),
    );
    let index = NewIndex::new(vec![amd.clone(), arm.clone(), arm7.clone()]).unwrap();
    let report = app.push_index("latest", &index).await.unwrap();
    assert_eq!(&report.digest, index.manifest().digest());
    // 3 configs + 3 own layers + the shared one, each sent once.
    assert_eq!((report.blobs, report.copied), (7, 7));
    assert_eq!(report.manifests, 4);

    let got = app.get_manifest("latest").await.unwrap();
    assert_eq!(got.media_type(), OCI_INDEX);
    assert_eq!(got.bytes(), index.manifest().bytes());
    assert_eq!(got.manifests().len(), 3);

    let pick = |p: &str| GetImageOptions::for_platform(platform::parse(p).unwrap());
    let a = app.get_image("latest", &pick("linux/arm64")).await.unwrap();
    assert_eq!(a.digest(), arm.digest());
    assert_eq!(platform::to_string(&a.platform()), "linux/arm64/v8");
    assert_eq!(a.index().unwrap().digest(), index.manifest().digest());
    let a7 = app.get_image("latest", &pick("linux/arm")).await.unwrap();
    assert_eq!(a7.digest(), arm7.digest());
    let x = app.get_image("latest", &pick("linux/amd64")).await.unwrap();
    assert_eq!(x.digest(), amd.digest());
    assert_eq!(
        x.layer(0).await.unwrap().bytes(1 << 20).await.unwrap(),
        shared
    );
    let err = app
        .get_image("latest", &pick("linux/s390x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("linux/arm64/v8"), "{err}");
    // A single-platform image asked for another platform.
    app.push_image("amd-only", &amd).await.unwrap();
    let err = app
        .get_image("amd-only", &pick("linux/arm64"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn docker_v2_schema2_manifests() {
    let registry = TestRegistry::anonymous().await;
    let app = client_for(&registry).with_segment("docker");
    let img = ImageBuilder::new()
        .docker_media_types(true)
        .config_bytes(DOCKER_CONFIG, common::config("linux", "amd64", None, "d"))
        .layer(ImageLayer::from_bytes(DOCKER_LAYER_GZIP, bytes(1234, 9)))
        .build()
        .unwrap();
    assert_eq!(img.manifest().media_type(), DOCKER_MANIFEST);
    app.push_image("v1", &img).await.unwrap();
    let m = app.get_manifest("v1").await.unwrap();
    assert_eq!(m.media_type(), DOCKER_MANIFEST);
    assert!(m.is_docker());
    assert_eq!(m.digest(), img.digest());
    let image = app
        .get_image("v1", &GetImageOptions::default())
        .await
        .unwrap();
    assert_eq!(
        image.layers()[0].media_type().to_string(),
        DOCKER_LAYER_GZIP
    );
    // A manifest list of docker manifests.
    let list = NewIndex::build(vec![img.clone()], true, Default::default()).unwrap();
    app.push_index("list", &list).await.unwrap();
    let got = app.get_manifest("list").await.unwrap();
    assert_eq!(got.media_type(), oci_dist::media_type::DOCKER_MANIFEST_LIST);
    assert_eq!(got.digest(), list.manifest().digest());
}

#[tokio::test]
async fn tag_image_puts_the_same_manifest_and_no_blob() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("promote");
    let img = small_image(2, 2000, 5);
    app.push_image("latest", &img).await.unwrap();
    proxy.clear_requests();
    let d = app.tag_image("latest", "v1.2.3").await.unwrap();
    assert_eq!(&d, img.digest());
    assert_eq!(app.get_digest("v1.2.3").await.unwrap(), *img.digest());
    assert_eq!(proxy.count("*", "/v2/*/blobs/*"), 0);
    assert_eq!(proxy.count("PUT", "/v2/promote/manifests/v1.2.3"), 1);
    let err = app.tag_image("latest", "bad tag").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A manifest is put under its own digest only; another is refused
    // before any request.
    let other = oci_dist::Digest::sha256_of(b"other");
    let err = app.put_manifest(&other, img.manifest()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("under digest"), "{err}");
    assert_eq!(proxy.count("PUT", "/v2/promote/manifests/*"), 1);
    app.put_manifest(img.digest(), img.manifest())
        .await
        .unwrap();
}

#[tokio::test]
async fn head_without_digest_falls_back_to_get_and_header_digests_are_checked() {
    let registry = TestRegistry::anonymous().await;
    let img = small_image(1, 100, 6);
    common::client_for(&registry)
        .with_segment("hdr")
        .push_image("v1", &img)
        .await
        .unwrap();
    // A registry that sends no Docker-Content-Digest on HEAD.
    let proxy = registry
        .proxy_builder()
        .rewrite_response("HEAD", "/v2/*/manifests/*", |_req, parts, body| {
            parts.headers.remove("docker-content-digest");
            body
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("hdr");
    assert_eq!(app.get_digest("v1").await.unwrap(), *img.digest());
    assert_eq!(proxy.count("HEAD", "/v2/hdr/manifests/v1"), 1);
    assert_eq!(proxy.count("GET", "/v2/hdr/manifests/v1"), 1);

    // A registry whose Docker-Content-Digest disagrees with the bytes.
    let wrong = registry_core::Digest::sha256_of(b"something else").to_string();
    let proxy = registry
        .proxy_builder()
        .rewrite_response("GET", "/v2/*/manifests/*", move |_req, parts, body| {
            parts
                .headers
                .insert("docker-content-digest", wrong.parse().unwrap());
            body
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("hdr");
    let err = app.get_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let says = "the manifest disagrees with the registry's Docker-Content-Digest";
    assert!(err.to_string().contains(says), "{err}");
}
