//! Test content: deterministic blobs and small images.

use bytes::Bytes;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};

/// Deterministic pseudo-random bytes.
pub(crate) fn bytes(len: usize, seed: u64) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(len, seed))
}

/// A config for linux/`arch`.
pub(crate) fn config(arch: &str, label: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"conformance": label}},
            "rootfs": {"type": "layers", "diff_ids": []},
        })
        .to_string(),
    )
}

/// An image with `layers` opaque layers.
pub(crate) fn image(layers: usize, seed: u64) -> NewImage {
    let mut b = ImageBuilder::new().config_bytes(OCI_CONFIG, config("amd64", &seed.to_string()));
    for i in 0..layers {
        b = b.layer(ImageLayer::from_bytes(
            OCI_LAYER_GZIP,
            bytes(4096 + i * 512, seed * 100 + i as u64),
        ));
    }
    b.build().expect("valid image")
}
