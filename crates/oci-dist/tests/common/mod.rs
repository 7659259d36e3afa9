//! Helpers shared by the registry integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use oci_dist::Client;
use oci_dist::image::{ImageBuilder, ImageLayer, NewImage};
use oci_dist::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use test_support::{Proxy, TestRegistry};

/// A client for a test registry (or proxy) URL.
pub fn client(url: &str) -> Client {
    test_support::init_tracing();
    Client::new(url).expect("client")
}

/// A client for `registry`.
pub fn client_for(registry: &TestRegistry) -> Client {
    client(&registry.url())
}

/// A client for `proxy`.
pub fn client_via(proxy: &Proxy) -> Client {
    client(&proxy.url())
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(len, seed))
}

/// An image config for a platform.
pub fn config(os: &str, arch: &str, variant: Option<&str>, label: &str) -> Bytes {
    let mut v = serde_json::json!({
        "architecture": arch,
        "os": os,
        "config": {"Labels": {"test.label": label}},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    if let Some(variant) = variant {
        v["variant"] = variant.into();
    }
    Bytes::from(serde_json::to_vec(&v).unwrap())
}

/// An image with the given layers (as gzip-typed blobs; content is opaque).
pub fn image(layers: &[Bytes], os: &str, arch: &str, variant: Option<&str>) -> NewImage {
    let mut b = ImageBuilder::new().config_bytes(OCI_CONFIG, config(os, arch, variant, arch));
    for l in layers {
        b = b.layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, l.clone()));
    }
    b.build().expect("image")
}

/// A small linux/amd64 image with `n` layers of `size` bytes.
pub fn small_image(n: usize, size: usize, seed: u64) -> NewImage {
    let layers: Vec<Bytes> = (0..n)
        .map(|i| bytes(size, seed * 1000 + i as u64))
        .collect();
    image(&layers, "linux", "amd64", None)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Checks that the layout at `root` holds no temporary file and that every
/// blob file matches the digest it is named by; returns each blob's path
/// and size.
#[track_caller]
pub fn assert_layout_blobs_verified(root: &std::path::Path) -> Vec<(std::path::PathBuf, usize)> {
    let mut blobs = Vec::new();
    for path in files_under(root) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tmp"), "temporary file left: {path:?}");
        if path.parent().unwrap().ends_with("blobs/sha256") {
            let data = std::fs::read(&path).unwrap();
            assert_eq!(
                registry_core::Digest::sha256_of(&data).hex(),
                name,
                "{path:?}"
            );
            blobs.push((path, data.len()));
        }
    }
    blobs
}
