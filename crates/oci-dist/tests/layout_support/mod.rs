//! Helpers shared by the OCI image layout tests (`layout_*.rs`).
#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use oci_dist::layout::OciLayout;
use registry_core::{Digest, Error};
use tokio::io::AsyncReadExt;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Deterministic, non-repeating bytes.
pub fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `data` as a stream of `chunk`-sized pieces.
pub fn chunks(data: &[u8], chunk: usize) -> impl futures_util::Stream<Item = Result<Bytes, Error>> {
    let pieces: Vec<Result<Bytes, Error>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces)
}

pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub struct Image {
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
}

pub fn image(seed: u32) -> Image {
    let layers = vec![data(3 * 1024 * 1024 + 17, seed), data(1000, seed + 1)];
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}","{}"]}}}}"#,
        Digest::sha256_of(&layers[0]),
        Digest::sha256_of(&layers[1])
    )
    .into_bytes();
    let desc = |mt: &str, b: &[u8]| {
        format!(
            r#"{{"mediaType":"{mt}","digest":"{}","size":{}}}"#,
            Digest::sha256_of(b),
            b.len()
        )
    };
    // Deliberately not canonical JSON: the exact bytes must be kept.
    let manifest = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{MANIFEST}\",\n  \"config\": {},\n  \"layers\": [{}, {}]\n}}",
        desc(CONFIG, &config),
        desc(LAYER, &layers[0]),
        desc(LAYER, &layers[1])
    )
    .into_bytes();
    Image {
        config,
        layers,
        manifest,
    }
}

pub async fn write_image(
    layout: &OciLayout,
    img: &Image,
    tag: &str,
) -> oci_spec::image::Descriptor {
    for blob in img.layers.iter().chain([&img.config]) {
        let digest = Digest::sha256_of(blob);
        let n = layout
            .write_blob(&digest, Some(blob.len() as u64), chunks(blob, 100_000))
            .await
            .unwrap();
        assert_eq!(n, blob.len() as u64);
    }
    layout
        .write_manifest(&img.manifest, MANIFEST, Some(tag))
        .await
        .unwrap()
}

pub async fn read_all(layout: &OciLayout, digest: &Digest) -> Result<Vec<u8>, Error> {
    let mut reader = layout.read_blob(digest).await?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await?;
    Ok(out)
}

pub fn leftovers(root: &Path) -> Vec<String> {
    files_under(root)
        .into_iter()
        .filter(|f| f != "index.json" && f != "oci-layout")
        .collect()
}
