//! Reading a Docker archive: images found through `manifest.json`, a
//! Docker schema 2 manifest synthesised for each.

use std::collections::HashMap;
use std::io::{BufRead as _, Read, Seek as _};
use std::path::Path;
use std::sync::{Arc, Mutex};

use registry_core::digest::{Algorithm, Digester};
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::sync::OnceCell;

use super::{MANIFEST_FILE, ManifestItem, claimed_digest, synthesize};
use crate::archive::tarfile::{EntrySpan, TarIndex, member_name};
use crate::archive::verified_blob;
use crate::content::{BoxFuture, ByteStream, ImageSource};
use crate::descriptor::CheckedDescriptor;
use crate::extract::Compression;
use crate::layout::fs::{blocking, io_error};
use crate::manifest::{MAX_MANIFEST_SIZE, Manifest};
use crate::reference::{Reference, TagOrDigest};

/// The largest `manifest.json` read into memory.
const MAX_JSON: u64 = MAX_MANIFEST_SIZE as u64;
/// The largest image config read into memory.
const MAX_CONFIG: u64 = 32 * 1024 * 1024;

/// Reads a Docker archive (`docker save` output, skopeo's and ours).
///
/// The tar is indexed once when opened (one pass over its headers, nothing
/// extracted) and `manifest.json` is read; names in it that are absolute
/// or contain `..` are refused. An archive has no manifests, so one is
/// synthesised per image, deterministically (copying the same archive
/// twice gives the same digest): a Docker schema 2 manifest
/// (`application/vnd.docker.distribution.manifest.v2+json`) whose config
/// and layers are described by the files' own sha256 digests and sizes,
/// layers typed by their content (`rootfs.diff.tar`, `.tar.gzip` or
/// `.tar.zstd` by magic bytes). Building it reads the image's layers once:
/// each must match its `diff_id` in the config (decompressed when
/// compressed), and files named by a digest (`blobs/sha256/<hex>`,
/// `<hex>.tar`) must have it; a mismatch is
/// [`ErrorKind::DigestMismatch`]. Blobs are verified again while served.
///
/// skopeo synthesises the same document (same fields, same order) but
/// with each layer's `diff_id` as its digest, every layer labelled
/// `rootfs.diff.tar.gzip`, and layers served decompressed. So for an
/// archive of uncompressed layers (`docker save`) the two manifests differ
/// only in the layers' media type, and never have the same digest; for
/// compressed layers digests and sizes differ too. Ours describes the
/// files as they are, so registry → archive → registry keeps every digest
/// and a layer's media type says how to read it.
///
/// Pick the image with [`select`](Self::select) (by `REPO:TAG`, or the
/// only one), then copy its digest; [`ImageSource::resolve`] also takes a
/// bare tag when exactly one image has it.
///
/// ```no_run
/// use oci_dist::archive::DockerArchiveReader;
/// use oci_dist::{copy, Client, CopyOptions, Reference, Tag, TagOrDigest};
/// # async fn f(client: Client) -> Result<(), oci_dist::Error> {
/// let archive = DockerArchiveReader::open("saved.tar").await?;
/// let image = archive.select(Some(&Reference::parse("app:v1")?)).await?;
/// let target = TagOrDigest::Digest(image.digest().clone());
/// copy(&archive, &target, &client, Tag::new("v1")?, &CopyOptions::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DockerArchiveReader {
    tar: TarIndex,
    items: Vec<ManifestItem>,
    /// The synthesised manifest of each item, built on first use.
    manifests: Vec<OnceCell<Manifest>>,
    /// Blob digest → archive name, for the items built so far.
    blobs: Mutex<HashMap<Digest, Arc<str>>>,
}

/// Hashes what is read through it.
struct Hashing<R> {
    inner: R,
    digester: Digester,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

/// A layer file read once: its digest, its compression (by magic bytes)
/// and the digest of its uncompressed content (with `diff`'s algorithm).
/// The digest of everything `inner` yields.
fn digest_all(inner: impl Read, alg: Algorithm) -> std::io::Result<Digest> {
    let mut hashing = Hashing {
        inner,
        digester: Digester::new(alg),
    };
    std::io::copy(&mut hashing, &mut std::io::sink())?;
    Ok(hashing.digester.finish())
}

struct LayerFacts {
    digest: Digest,
    compression: Compression,
    diff_id: Digest,
}

fn compression_of(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Reads the layer at `span` of `path` once, hashing the file and (when
/// compressed) the decompressed stream.
fn layer_facts(path: &Path, span: EntrySpan, diff_alg: Algorithm) -> Result<LayerFacts> {
    let read_error = |e: std::io::Error| io_error(e, format!("reading {}", path.display()));
    let mut file = std::fs::File::open(path)
        .map_err(|e| io_error(e, format!("opening {}", path.display())))?;
    file.seek(std::io::SeekFrom::Start(span.offset))
        .map_err(read_error)?;
    let mut reader = std::io::BufReader::with_capacity(
        crate::layout::BUF_SIZE,
        Hashing {
            inner: file.take(span.size),
            digester: Digester::new(Algorithm::Sha256),
        },
    );
    let compression = compression_of(reader.fill_buf().map_err(read_error)?);
    let diff_id = match compression {
        // The file's own digest, computed below.
        Compression::None if diff_alg == Algorithm::Sha256 => None,
        Compression::None => Some(digest_all(&mut reader, diff_alg).map_err(read_error)?),
        _ => {
            let decoder = compression.decoder(&mut reader).map_err(read_error)?;
            Some(digest_all(decoder, diff_alg).map_err(|e| {
                Error::invalid_content(format!("{}: a layer does not decompress", path.display()))
                    .with_source(e)
            })?)
        }
    };
    // Whatever the decoder left (trailing bytes) is part of the file.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(read_error)?;
    let hashing = reader.into_inner();
    if hashing.digester.bytes() != span.size {
        return Err(Error::invalid_content(format!(
            "{} is truncated",
            path.display()
        )));
    }
    let digest = hashing.digester.finish();
    Ok(LayerFacts {
        diff_id: diff_id.unwrap_or_else(|| digest.clone()),
        digest,
        compression,
    })
}

/// Whether the `repo:tag` string of an archive names `wanted`.
fn names(repo_tag: &str, wanted: &Reference) -> bool {
    Reference::parse(repo_tag).is_ok_and(|r| {
        r.registry() == wanted.registry()
            && r.repository() == wanted.repository()
            && r.tag() == wanted.tag()
    })
}

impl DockerArchiveReader {
    /// Opens and indexes the archive at `path` and reads its
    /// `manifest.json`. A missing file is [`ErrorKind::NotFound`]; a tar
    /// without `manifest.json`, with unsafe names in it or files it names
    /// missing is [`ErrorKind::InvalidContent`].
    pub async fn open(path: impl AsRef<Path>) -> Result<DockerArchiveReader> {
        let tar = TarIndex::build(path.as_ref()).await?;
        let invalid = |what: String| {
            Error::invalid_content(format!(
                "{} is not a usable docker archive: {what}",
                tar.path().display()
            ))
        };
        if tar.get(MANIFEST_FILE).is_none() {
            let hint = if tar.get(crate::layout::OCI_LAYOUT_FILE).is_some() {
                " (it is an OCI archive: read it as oci-archive:)"
            } else {
                ""
            };
            return Err(invalid(format!("no manifest.json{hint}")));
        }
        let bytes = tar.read(MANIFEST_FILE, MAX_JSON).await?;
        let mut items: Vec<ManifestItem> = serde_json::from_slice(&bytes)
            .map_err(|e| invalid("manifest.json is not a list of images".into()).with_source(e))?;
        for item in &mut items {
            for name in std::iter::once(&mut item.config).chain(item.layers.iter_mut()) {
                let checked = member_name(name).ok_or_else(|| {
                    invalid(format!("manifest.json names {name:?}, outside the archive"))
                })?;
                if tar.get(&checked).is_none() {
                    return Err(invalid(format!(
                        "{checked:?} (named in manifest.json) is missing"
                    )));
                }
                *name = checked;
            }
        }
        Ok(DockerArchiveReader {
            manifests: items.iter().map(|_| OnceCell::new()).collect(),
            items,
            tar,
            blobs: Mutex::new(HashMap::new()),
        })
    }

    /// The archive file.
    pub fn path(&self) -> &Path {
        self.tar.path()
    }

    /// The `RepoTags` of each image, in `manifest.json` order (empty for
    /// an untagged image).
    pub fn repo_tags(&self) -> Vec<&[String]> {
        self.items.iter().map(|i| i.repo_tags.as_slice()).collect()
    }

    /// The descriptor of the synthesised manifest of the image named
    /// `reference` (a `REPO:TAG` among its `RepoTags`, compared after
    /// normalisation: `app:v1` is `docker.io/library/app:v1`), or with
    /// `None` of the only image. [`ErrorKind::NotFound`] when no image has
    /// that name or the archive is empty; [`ErrorKind::InvalidInput`],
    /// listing the names, when several images match (with `None`: the
    /// archive holds several).
    pub async fn select(&self, reference: Option<&Reference>) -> Result<CheckedDescriptor> {
        match reference {
            Some(r) => {
                let named = |i: &ManifestItem| i.repo_tags.iter().any(|t| names(t, r));
                let (what, which) = (format!("image {r}"), format!(" named {r}"));
                self.only(named, &what, &which).await
            }
            None => self.only(|_| true, "any image", "").await,
        }
    }

    /// The descriptor of the only image `pick` takes: `NotFound` (`what`)
    /// when none, `InvalidInput` listing the names when several (`which`
    /// says which images they are).
    async fn only(
        &self,
        pick: impl Fn(&ManifestItem) -> bool,
        what: &str,
        which: &str,
    ) -> Result<CheckedDescriptor> {
        let found: Vec<usize> = (0..self.items.len())
            .filter(|&i| pick(&self.items[i]))
            .collect();
        match found.as_slice() {
            [one] => Ok(self.manifest(*one).await?.checked_descriptor()),
            [] => Err(self.not_found(what)),
            several => Err(Error::invalid_input(format!(
                "{} holds {} images{which}; name one as REPO:TAG ({})",
                self.path().display(),
                several.len(),
                self.all_names()
            ))),
        }
    }

    fn all_names(&self) -> String {
        let all: Vec<String> = self
            .items
            .iter()
            .map(|i| match i.repo_tags.as_slice() {
                [] => "<untagged>".to_owned(),
                tags => tags.join(" "),
            })
            .collect();
        all.join(", ")
    }

    fn not_found(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "{what} not found in docker archive {} (it has: {})",
                self.path().display(),
                self.all_names()
            ),
        )
    }

    /// The synthesised manifest of item `i`, built once.
    async fn manifest(&self, i: usize) -> Result<&Manifest> {
        self.manifests[i].get_or_try_init(|| self.build(i)).await
    }

    /// What `look` finds among the items built so far, else once every
    /// item is built; `NotFound` (`what`) when it finds nothing.
    async fn find<T>(&self, look: impl Fn() -> Option<T>, what: &str) -> Result<T> {
        if let Some(found) = look() {
            return Ok(found);
        }
        for i in 0..self.items.len() {
            self.manifest(i).await?;
        }
        look().ok_or_else(|| self.not_found(what))
    }

    async fn build(&self, i: usize) -> Result<Manifest> {
        let item = &self.items[i];
        let place = self.path().display().to_string();
        let mismatch =
            |what: String| Error::new(ErrorKind::DigestMismatch, format!("{place}: {what}"));
        let config = self.tar.read(&item.config, MAX_CONFIG).await?;
        let config_digest = Digest::sha256_of(&config);
        if let Some(claimed) = claimed_digest(&item.config)
            && !claimed.matches(&config)
        {
            return Err(mismatch(format!(
                "config {} does not hash to the digest its name claims",
                item.config
            )));
        }
        let parsed: serde_json::Value = serde_json::from_slice(&config).map_err(|e| {
            Error::invalid_content(format!("{place}: config {} is not JSON", item.config))
                .with_source(e)
        })?;
        let diff_ids: Vec<Digest> = parsed
            .pointer("/rootfs/diff_ids")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|d| d.as_str().unwrap_or("").parse()).collect())
            .transpose()
            .map_err(|e: Error| e.context(format!("{place}: config {}", item.config)))?
            .unwrap_or_default();
        if diff_ids.len() != item.layers.len() {
            return Err(Error::invalid_content(format!(
                "{place}: {} layers in manifest.json, {} diff_ids in config {}",
                item.layers.len(),
                diff_ids.len(),
                item.config
            )));
        }
        let mut layers = Vec::with_capacity(item.layers.len());
        for (name, diff_id) in item.layers.iter().zip(&diff_ids) {
            let span = self.tar.get(name).expect("checked at open");
            let path = self.path().to_path_buf();
            let alg = diff_id.algorithm();
            let facts = blocking(move || layer_facts(&path, span, alg)).await?;
            if &facts.diff_id != diff_id {
                return Err(mismatch(format!(
                    "layer {name} is {}, not the {diff_id} its config says",
                    facts.diff_id
                )));
            }
            if let Some(claimed) = claimed_digest(name)
                && claimed != facts.digest
            {
                return Err(mismatch(format!(
                    "layer {name} hashes to {}, not the digest its name claims",
                    facts.digest
                )));
            }
            layers.push((name, span.size, facts));
        }
        let manifest = synthesize(
            &config_digest,
            config.len() as u64,
            layers
                .iter()
                .map(|(_, size, f)| (f.compression, *size, &f.digest)),
        )?;
        let mut blobs = self.blobs.lock().expect("poisoned");
        blobs.insert(config_digest, Arc::from(item.config.as_str()));
        for (name, _, f) in layers {
            blobs.insert(f.digest, Arc::from(name.as_str()));
        }
        Ok(manifest)
    }

    /// The archive name of a blob.
    async fn blob_name(&self, digest: &Digest) -> Result<Arc<str>> {
        let known = || self.blobs.lock().expect("poisoned").get(digest).cloned();
        self.find(known, &format!("blob {digest}")).await
    }

    /// The synthesised manifest with `digest`.
    async fn find_manifest(&self, digest: &Digest) -> Result<Manifest> {
        let built = || self.manifests.iter().filter_map(OnceCell::get);
        let known = || built().find(|m| m.digest() == digest).cloned();
        self.find(known, &format!("manifest {digest}")).await
    }
}

impl ImageSource for DockerArchiveReader {
    fn describe(&self) -> String {
        format!("docker-archive:{}", self.path().display())
    }

    /// A digest is one of the synthesised manifests; a tag is the image
    /// whose `RepoTags` has it, when only one image has.
    fn resolve<'a>(&'a self, target: &'a TagOrDigest) -> BoxFuture<'a, Result<CheckedDescriptor>> {
        Box::pin(async move {
            match target {
                TagOrDigest::Digest(d) => Ok(self.find_manifest(d).await?.checked_descriptor()),
                TagOrDigest::Tag(t) => {
                    let tagged = |i: &ManifestItem| {
                        i.repo_tags
                            .iter()
                            .any(|r| Reference::parse(r).is_ok_and(|r| r.tag() == Some(t.as_str())))
                    };
                    let (what, which) = (format!("tag {t:?}"), format!(" tagged {t:?}"));
                    self.only(tagged, &what, &which).await
                }
            }
        })
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest>> {
        Box::pin(self.find_manifest(descriptor.digest()))
    }

    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        verified_blob(self, descriptor)
    }

    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move {
            let name = self.blob_name(descriptor.digest()).await?;
            self.tar.stream(&name, offset).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_facts_hash_the_file_and_what_it_decompresses_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layers");
        let plain = b"plain layer bytes".repeat(100);
        let gz = test_support::layers::gzip(&plain);
        // A gzip header, then a deflate block of the reserved type.
        let bad = [&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff][..], &[0xff; 50]].concat();
        let file = [plain.as_slice(), &gz, &bad].concat();
        std::fs::write(&path, &file).unwrap();
        let span = |offset: usize, size: usize| EntrySpan {
            offset: offset as u64,
            size: size as u64,
        };
        let (p, g) = (span(0, plain.len()), span(plain.len(), gz.len()));
        let sha512 = |data: &[u8]| {
            let mut d = Digester::new(Algorithm::Sha512);
            d.update(data);
            d.finish()
        };

        let f = layer_facts(&path, p, Algorithm::Sha256).unwrap();
        assert_eq!(f.compression, Compression::None);
        assert_eq!(f.digest, Digest::sha256_of(&plain));
        assert_eq!(f.diff_id, f.digest);
        let f = layer_facts(&path, p, Algorithm::Sha512).unwrap();
        assert_eq!(f.digest, Digest::sha256_of(&plain));
        assert_eq!(f.diff_id, sha512(&plain));
        let f = layer_facts(&path, g, Algorithm::Sha256).unwrap();
        assert_eq!(f.compression, Compression::Gzip);
        assert_eq!(f.digest, Digest::sha256_of(&gz));
        assert_eq!(f.diff_id, Digest::sha256_of(&plain));

        let corrupt = span(plain.len() + gz.len(), bad.len());
        let Err(err) = layer_facts(&path, corrupt, Algorithm::Sha256) else {
            panic!("a corrupt gzip layer was read");
        };
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(err.to_string().contains("does not decompress"), "{err}");
        let beyond = span(0, file.len() + 10);
        let Err(err) = layer_facts(&path, beyond, Algorithm::Sha256) else {
            panic!("a layer cut short was read");
        };
        assert!(err.to_string().contains("is truncated"), "{err}");
    }
}
