//! `Image`'s go-containerregistry `v1.Image` surface against docker-registry:
//! manifest media type and size, config name, layers by digest and by diff
//! id, and each layer's compressed and uncompressed (gzip, zstd, plain)
//! streams, the uncompressed one verified against the config's diff id.

mod common;

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_dist::image::{ImageBuilder, ImageLayer, NewImage};
use oci_dist::media_type::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD};
use oci_dist::{Digest, ErrorKind, Image};
use test_support::TestRegistry;
use test_support::layers::{gzip, pseudo_random, tar_files};

/// Three real layers (the tars, and the blobs as pushed: gzip, zstd,
/// plain) and the diff ids a config should list for them.
fn layers() -> Vec<(Vec<u8>, &'static str, Vec<u8>)> {
    // Large enough for several chunks, compressible and not.
    let big = pseudo_random(600 * 1024, 7);
    let text = "hello layer\n".repeat(50_000);
    let tar1 = tar_files(&[("etc/motd", b"hello"), ("bin/big", &big)]);
    let noise = pseudo_random(50_000, 9);
    let tar2 = tar_files(&[("usr/share/doc", text.as_bytes()), ("usr/noise", &noise)]);
    let tar3 = tar_files(&[("plain", b"not compressed")]);
    vec![
        (tar1.clone(), OCI_LAYER_GZIP, gzip(&tar1)),
        (
            tar2.clone(),
            OCI_LAYER_ZSTD,
            zstd::encode_all(&tar2[..], 3).unwrap(),
        ),
        (tar3.clone(), OCI_LAYER_TAR, tar3),
    ]
}

/// An image of `layers` whose config lists `diff_ids`.
fn image(layers: &[(Vec<u8>, &'static str, Vec<u8>)], diff_ids: &[Digest]) -> NewImage {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {
            "type": "layers",
            "diff_ids": diff_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    });
    let mut b = ImageBuilder::new().config_bytes(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    for (_, mt, blob) in layers {
        b = b.layer(ImageLayer::from_bytes(mt, blob.clone()));
    }
    b.build().unwrap()
}

fn true_diff_ids(layers: &[(Vec<u8>, &'static str, Vec<u8>)]) -> Vec<Digest> {
    layers
        .iter()
        .map(|(tar, _, _)| Digest::sha256_of(tar))
        .collect()
}

async fn collect(
    s: impl futures_util::Stream<Item = Result<Bytes, oci_dist::Error>>,
) -> Result<Vec<u8>, oci_dist::Error> {
    let parts: Vec<Bytes> = s.try_collect().await?;
    Ok(parts.concat())
}

async fn pushed(registry: &TestRegistry, repo: &str, img: &NewImage) -> Image {
    let app = common::client_for(registry).with_segment(repo);
    app.push_image("v1", img).await.unwrap();
    app.get_image("v1", &Default::default()).await.unwrap()
}

#[tokio::test]
async fn image_has_the_v1_image_surface() {
    let registry = TestRegistry::anonymous().await;
    let layers = layers();
    let new = image(&layers, &true_diff_ids(&layers));
    let image = pushed(&registry, "surface", &new).await;

    assert_eq!(image.media_type(), oci_dist::media_type::OCI_MANIFEST);
    assert_eq!(image.size(), new.manifest().bytes().len() as u64);
    assert_eq!(image.size(), image.raw_manifest().size());
    assert_eq!(image.digest(), new.digest());
    assert_eq!(
        image.config_name(),
        &Digest::sha256_of(image.config_bytes())
    );
    assert_eq!(
        image.config_name().to_string(),
        image.manifest().config().digest().to_string()
    );

    let remote = image.remote_layers().unwrap();
    assert_eq!(remote.len(), 3);
    for (layer, (tar, mt, blob)) in remote.iter().zip(&layers) {
        assert_eq!(layer.digest(), &Digest::sha256_of(blob));
        assert_eq!(layer.diff_id(), &Digest::sha256_of(tar));
        assert_eq!(layer.size(), blob.len() as u64);
        assert_eq!(layer.media_type(), *mt);
        // Compressed: the blob as stored.
        let compressed = layer.compressed().await.unwrap();
        assert_eq!(&collect(compressed).await.unwrap(), blob);
        // Uncompressed: the tar, whatever the compression.
        let uncompressed = layer.uncompressed().await.unwrap();
        assert_eq!(&collect(uncompressed).await.unwrap(), tar, "{mt}");
    }

    // By digest and by diff id.
    let second = image.layer_by_digest(remote[1].digest()).unwrap();
    assert_eq!(second.diff_id(), remote[1].diff_id());
    let first = image.layer_by_diff_id(remote[0].diff_id()).unwrap();
    assert_eq!(first.digest(), remote[0].digest());
    assert_eq!(
        collect(first.uncompressed().await.unwrap()).await.unwrap(),
        layers[0].0
    );
    let unknown = Digest::sha256_of(b"no such layer");
    let err = image.layer_by_digest(&unknown).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains(&unknown.to_string()), "{err}");
    let err = image.layer_by_diff_id(&unknown).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // The config digest is no layer (diff ids and blob digests differ).
    assert!(image.layer_by_digest(image.config_name()).is_err());
    assert!(image.layer_by_diff_id(remote[0].digest()).is_err());
}

#[tokio::test]
async fn a_diff_id_mismatch_is_an_error_not_data() {
    let registry = TestRegistry::anonymous().await;
    let layers = layers();
    let mut diff_ids = true_diff_ids(&layers);
    // The config lies about the gzip and the plain layers.
    diff_ids[0] = Digest::sha256_of(b"another tar");
    diff_ids[2] = Digest::sha256_of(b"yet another tar");
    let image = pushed(&registry, "lying", &image(&layers, &diff_ids)).await;
    for i in [0, 2] {
        let layer = image.layer_by_diff_id(&diff_ids[i]).unwrap();
        // The compressed blob is fine: its digest is right.
        assert_eq!(
            collect(layer.compressed().await.unwrap()).await.unwrap(),
            layers[i].2
        );
        // The uncompressed stream ends with an error, not cleanly.
        let err = collect(layer.uncompressed().await.unwrap())
            .await
            .map(|data| data.len())
            .expect_err("an error, not data");
        assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
        assert!(err.to_string().contains("diff id"), "{err}");
        assert!(err.to_string().contains(&diff_ids[i].to_string()), "{err}");
    }
    // The zstd layer's diff id is right.
    let ok = image.layer_by_diff_id(&diff_ids[1]).unwrap();
    assert_eq!(
        collect(ok.uncompressed().await.unwrap()).await.unwrap(),
        layers[1].0
    );
}

#[tokio::test]
async fn a_corrupt_download_fails_the_uncompressed_stream_with_a_digest_mismatch() {
    let registry = TestRegistry::anonymous().await;
    let layers = layers();
    let new = image(&layers, &true_diff_ids(&layers));
    pushed(&registry, "corrupt", &new).await;
    // Every blob larger than the config gets a byte flipped on the way.
    let proxy = registry
        .proxy_builder()
        .corrupt_blobs_larger_than(1024)
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("corrupt");
    let image = app.get_image("v1", &Default::default()).await.unwrap();
    for layer in image.remote_layers().unwrap() {
        // gzip and zstd decoders may choke on the flipped byte first: the
        // blob's digest mismatch is still what is reported.
        let err = collect(layer.uncompressed().await.unwrap())
            .await
            .map(|data| data.len())
            .expect_err("an error, not data");
        assert_eq!(
            err.kind(),
            ErrorKind::DigestMismatch,
            "{}: {err}",
            layer.media_type()
        );
    }
}

#[tokio::test]
async fn config_without_one_diff_id_per_layer_is_invalid_content() {
    let registry = TestRegistry::anonymous().await;
    let layers = layers();
    let image = pushed(
        &registry,
        "short",
        &image(&layers, &true_diff_ids(&layers)[..2]),
    )
    .await;
    let err = image.remote_layers().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert!(err.to_string().contains("2 diff ids for 3 layers"), "{err}");
    // An unknown layer media type cannot be decompressed: refused before
    // any download.
    let cfg = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(b"data").to_string()]}});
    let odd = ImageBuilder::new()
        .config_bytes(OCI_CONFIG, serde_json::to_vec(&cfg).unwrap())
        .layer(ImageLayer::from_bytes(
            "application/octet-stream",
            &b"data"[..],
        ))
        .build()
        .unwrap();
    let image = pushed(&registry, "odd", &odd).await;
    let layer = &image.remote_layers().unwrap()[0];
    let err = layer.uncompressed().await.err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
