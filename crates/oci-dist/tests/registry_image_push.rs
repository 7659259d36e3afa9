//! Pushing an `Image` got with `get_image` (the seed's mirror pattern):
//! into another repository of the same registry (mounted: no blob bytes
//! sent), and into another registry (streamed, same digest, verified).

mod common;

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_dist::image::{ImageBuilder, ImageLayer, NewImage};
use oci_dist::media_type::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_ZSTD};
use oci_dist::{Digest, Image};
use test_support::TestRegistry;
use test_support::http::ProxiedRequest;
use test_support::layers::{gzip, pseudo_random, tar_files};

/// An image of two real layers (gzip, zstd) with the right diff ids; the
/// gzip one is 3 MiB, several chunks of any stream.
fn source_image() -> (NewImage, Vec<Vec<u8>>) {
    let tar1 = tar_files(&[("data/random", &pseudo_random(3 * 1024 * 1024, 11))]);
    let tar2 = tar_files(&[("etc/motd", b"mirrored")]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.example": "mirror"}},
        "rootfs": {"type": "layers", "diff_ids": [
            Digest::sha256_of(&tar1).to_string(),
            Digest::sha256_of(&tar2).to_string(),
        ]},
    });
    let image = ImageBuilder::new()
        .config_bytes(OCI_CONFIG, serde_json::to_vec(&config).unwrap())
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, gzip(&tar1)))
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_ZSTD,
            zstd::encode_all(&tar2[..], 3).unwrap(),
        ))
        .build()
        .unwrap();
    (image, vec![tar1, tar2])
}

async fn collect(s: impl futures_util::Stream<Item = Result<Bytes, oci_dist::Error>>) -> Vec<u8> {
    let parts: Vec<Bytes> = s.try_collect().await.unwrap();
    parts.concat()
}

/// Every blob and layer of `image` read back, verified (compressed against
/// its digest, uncompressed against its diff id), equal to `tars`.
async fn assert_blobs_verified(image: &Image, tars: &[Vec<u8>]) {
    let layers = image.remote_layers().unwrap();
    assert_eq!(layers.len(), tars.len());
    for (layer, tar) in layers.iter().zip(tars) {
        let blob = collect(layer.compressed().await.unwrap()).await;
        assert_eq!(&Digest::sha256_of(&blob), layer.digest());
        assert_eq!(&collect(layer.uncompressed().await.unwrap()).await, tar);
    }
}

fn blob_uploads(reqs: &[ProxiedRequest], repo: &str) -> Vec<ProxiedRequest> {
    let prefix = format!("/v2/{repo}/blobs/uploads/");
    reqs.iter()
        .filter(|r| r.path().starts_with(&prefix))
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_image_got_from_one_repository_is_mounted_into_another() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.proxy_builder().start().await;
    let (new, tars) = source_image();
    let source = common::client_via(&proxy).with_segment("src/app");
    source.push_image("v1", &new).await.unwrap();
    let image = source.get_image("v1", &Default::default()).await.unwrap();
    proxy.clear_requests();

    let dest = common::client_via(&proxy).with_segment("dst/app");
    let report = dest.push_image("v1", &image).await.unwrap();
    assert_eq!(&report.digest, image.digest());
    assert_eq!((report.mounted, report.copied, report.skipped), (3, 0, 0));
    assert_eq!(report.bytes_copied, 0);

    let reqs = proxy.requests();
    let uploads = blob_uploads(&reqs, "dst/app");
    // One mount per blob (config and two layers), each answered 201.
    assert_eq!(uploads.len(), 3, "{uploads:#?}");
    for r in &uploads {
        assert_eq!(r.method, http::Method::POST);
        let q = r.query().unwrap();
        assert!(q.contains("mount=sha256"), "{q}");
        assert!(
            q.contains("from=src%2Fapp") || q.contains("from=src/app"),
            "{q}"
        );
        assert_eq!(r.status, 201, "{r:?}");
    }
    // No blob bytes read from the source, none sent: no GET of a blob, no
    // PATCH or PUT of an upload.
    assert_eq!(proxy.count("GET", "/v2/*/blobs/*"), 0);
    assert_eq!(proxy.count("PATCH", "/v2/*"), 0);
    assert_eq!(proxy.count("PUT", "/v2/dst/app/blobs/*"), 0);
    // Then the manifest, with the source's exact bytes.
    assert_eq!(proxy.count("PUT", "/v2/dst/app/manifests/v1"), 1);

    assert_eq!(&dest.get_digest("v1").await.unwrap(), image.digest());
    let mirrored = dest.get_image("v1", &Default::default()).await.unwrap();
    assert_eq!(
        mirrored.raw_manifest().bytes(),
        image.raw_manifest().bytes()
    );
    assert_blobs_verified(&mirrored, &tars).await;
}

#[tokio::test]
async fn an_image_got_from_one_registry_is_pushed_to_another_with_the_same_digest() {
    let (new, tars) = source_image();
    let source_registry = TestRegistry::anonymous().await;
    let source = common::client_for(&source_registry).with_segment("org/project");
    source.push_image("v1.0.0", &new).await.unwrap();

    let target_registry = TestRegistry::anonymous().await;
    let proxy = target_registry.proxy_builder().start().await;
    let target = common::client_via(&proxy).with_segment("mirror/org/project");

    let image = source
        .get_image("v1.0.0", &Default::default())
        .await
        .unwrap();
    let report = target.push_image("v1.0.0", &image).await.unwrap();
    assert_eq!(&report.digest, image.digest());
    assert_eq!((report.copied, report.mounted, report.skipped), (3, 0, 0));
    let sizes: u64 = new.manifest().blobs().iter().map(|b| b.size()).sum();
    assert_eq!(report.bytes_copied, sizes);

    // Uploaded (another registry: no mount attempted), then the manifest.
    let uploads = blob_uploads(&proxy.requests(), "mirror/org/project");
    assert!(
        uploads
            .iter()
            .all(|r| !r.query().unwrap_or("").contains("mount=")),
        "{uploads:#?}"
    );
    let committed = uploads
        .iter()
        .filter(|r| r.method == http::Method::PUT && r.status == 201)
        .count();
    assert_eq!(committed, 3, "{uploads:#?}");

    // The same digest at the target, the same bytes, every blob verified.
    assert_eq!(&target.get_digest("v1.0.0").await.unwrap(), image.digest());
    let mirrored = target
        .get_image("v1.0.0", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        mirrored.raw_manifest().bytes(),
        image.raw_manifest().bytes()
    );
    assert_eq!(mirrored.config_bytes(), image.config_bytes());
    assert_eq!(mirrored.config_name(), image.config_name());
    assert_blobs_verified(&mirrored, &tars).await;

    // Pushing it again skips every blob.
    let again = target.push_image("v1.0.0", &image).await.unwrap();
    assert_eq!((again.copied, again.skipped), (0, 3));
}

#[tokio::test]
async fn an_image_picked_from_an_index_is_pushed_alone() {
    let registry = TestRegistry::anonymous().await;
    let amd = common::image(&[common::bytes(300, 1)], "linux", "amd64", None);
    let arm = common::image(&[common::bytes(300, 2)], "linux", "arm64", Some("v8"));
    let index = oci_dist::NewIndex::new(vec![amd, arm.clone()]).unwrap();
    let source = common::client_for(&registry).with_segment("multi");
    source.push_index("v1", &index).await.unwrap();

    let wanted = oci_dist::platform::parse("linux/arm64").unwrap();
    let image = source
        .get_image("v1", &oci_dist::GetImageOptions::for_platform(wanted))
        .await
        .unwrap();
    assert_eq!(image.digest(), arm.digest());
    assert!(image.index().is_some());
    // As a source it serves its own config and layers, nothing else.
    use oci_dist::{CheckedDescriptor, ImageSource};
    let config = CheckedDescriptor::try_from(image.manifest().config()).unwrap();
    assert!(ImageSource::fetch_blob(&image, &config).await.is_ok());
    assert!(
        ImageSource::fetch_blob_from(&image, &config, 1)
            .await
            .is_ok()
    );
    let stranger = CheckedDescriptor::from_parts(OCI_CONFIG, Digest::sha256_of(b"other"), 5);
    let err = ImageSource::fetch_blob(&image, &stranger)
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), oci_dist::ErrorKind::NotFound, "{err}");
    let err = ImageSource::fetch_blob_from(&image, &stranger, 0)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("is not part of this image"),
        "{err}"
    );

    let dest = common::client_for(&registry).with_segment("single");
    let report = dest.push_image("arm64", &image).await.unwrap();
    assert_eq!(&report.digest, arm.digest());
    assert_eq!(report.manifests, 1);
    let pushed = dest.get_manifest("arm64").await.unwrap();
    assert!(!pushed.is_index());
    assert_eq!(pushed.digest(), arm.digest());
    // By digest too; another digest is refused.
    dest.push_image(arm.digest(), &image).await.unwrap();
    let other = Digest::sha256_of(b"other");
    let err = dest.push_image(&other, &image).await.unwrap_err();
    assert_eq!(err.kind(), oci_dist::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("under digest"), "{err}");
    // An index likewise.
    let report = dest.push_index(index.manifest().digest(), &index).await;
    assert_eq!(&report.unwrap().digest, index.manifest().digest());
    let err = dest.push_index(&other, &index).await.unwrap_err();
    assert_eq!(err.kind(), oci_dist::ErrorKind::InvalidInput);
}
