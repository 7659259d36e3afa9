//! `docker-archive`: the `docker save` / `docker load` format.
//!
//! A tar with `manifest.json`, a list of images:
//! `[{"Config":"<hex>.json","RepoTags":["repo:tag"],"Layers":["<hex>.tar", …]}]`,
//! naming the config file and the layer files (in order) of each image.
//! Classic `docker save` stores layers as `<id>/layer.tar` (duplicates as
//! links); docker 25 and later store an OCI layout next to it and name
//! `blobs/sha256/<hex>` files; `skopeo` writes `<hex>.tar`. A
//! `repositories` file (`{"repo":{"tag":"<id>"}}`) is legacy metadata that
//! `docker load` only reads when `manifest.json` is absent.
//!
//! An archive holds images, not indexes, and has no manifests: the reader
//! synthesises a Docker schema 2 manifest for each image.

mod read;
mod write;

pub use read::DockerArchiveReader;
pub use write::DockerArchiveWriter;

use registry_core::digest::Algorithm;
use registry_core::{Digest, Error, Result};
use serde::{Deserialize, Serialize};

use crate::extract::Compression;
use crate::manifest::Manifest;
use crate::media_type::{DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST};

/// The list of images.
const MANIFEST_FILE: &str = "manifest.json";
/// Legacy `{"repo":{"tag":"<layer id>"}}`.
const REPOSITORIES_FILE: &str = "repositories";

/// One image of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ManifestItem {
    /// The config file.
    #[serde(rename = "Config")]
    config: String,
    /// `repo:tag` names (`null` in untagged `docker save` output).
    #[serde(rename = "RepoTags", default, deserialize_with = "null_as_empty")]
    repo_tags: Vec<String>,
    /// The layer files, base first.
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A descriptor of the synthesised manifest, fields in the order skopeo
/// writes them.
#[derive(Serialize)]
struct SynthDescriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    size: u64,
    digest: String,
}

#[derive(Serialize)]
struct SynthManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: SynthDescriptor<'a>,
    layers: Vec<SynthDescriptor<'a>>,
}

/// The Docker schema 2 manifest of an archived image: its config, and
/// each layer file's compression, size and digest. The reader serves it;
/// the writer computes it to report the digest the image will have.
fn synthesize<'a>(
    config: &Digest,
    config_size: u64,
    layers: impl Iterator<Item = (Compression, u64, &'a Digest)>,
) -> Result<Manifest> {
    let synth = SynthManifest {
        schema_version: 2,
        media_type: DOCKER_MANIFEST,
        config: SynthDescriptor {
            media_type: DOCKER_CONFIG,
            size: config_size,
            digest: config.to_string(),
        },
        layers: layers
            .map(|(compression, size, digest)| SynthDescriptor {
                media_type: match compression {
                    Compression::None => "application/vnd.docker.image.rootfs.diff.tar",
                    Compression::Gzip => DOCKER_LAYER_GZIP,
                    Compression::Zstd => "application/vnd.docker.image.rootfs.diff.tar.zstd",
                },
                size,
                digest: digest.to_string(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&synth)
        .map_err(|e| Error::protocol("serialising a manifest").with_source(e))?;
    Manifest::new(bytes, Some(DOCKER_MANIFEST))
}

/// The digest a file name claims: `blobs/<alg>/<hex>` (docker 25) or a
/// last component `<64 hex>.tar` / `<64 hex>.json` (skopeo, docker save
/// configs), sha256 then. Such files are checked against it.
fn claimed_digest(name: &str) -> Option<Digest> {
    let parts: Vec<&str> = name.split('/').collect();
    if let [.., "blobs", alg, hex] = parts.as_slice() {
        return Digest::new(alg.parse().ok()?, hex).ok();
    }
    let last = parts.last()?;
    let hex = last
        .strip_suffix(".tar")
        .or_else(|| last.strip_suffix(".json"))?;
    Digest::new(Algorithm::Sha256, hex).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_items_accept_null_repo_tags_and_claimed_digests_are_read() {
        let items: Vec<ManifestItem> = serde_json::from_str(
            r#"[{"Config":"a.json","RepoTags":null,"Layers":["l/layer.tar"]}]"#,
        )
        .unwrap();
        assert!(items[0].repo_tags.is_empty());
        let hex = "a".repeat(64);
        assert_eq!(
            claimed_digest(&format!("blobs/sha256/{hex}"))
                .unwrap()
                .hex(),
            hex
        );
        assert_eq!(claimed_digest(&format!("{hex}.tar")).unwrap().hex(), hex);
        assert!(claimed_digest(&format!("{hex}/layer.tar")).is_none());
        assert!(claimed_digest("abc.json").is_none());
        assert!(claimed_digest(&format!("{}.json", "A".repeat(64))).is_none());
    }
}
