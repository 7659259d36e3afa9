//! The OCI image layout on disk, as written and read by skopeo (`oci:`),
//! umoci and `oras`: a directory with
//!
//! - `oci-layout`: `{"imageLayoutVersion":"1.0.0"}`,
//! - `index.json`: an OCI image index whose `manifests` are the images of the
//!   layout; tags are `org.opencontainers.image.ref.name` annotations,
//! - `blobs/<alg>/<hex>`: content-addressed blobs (manifests, configs, layers).
//!
//! Every write is atomic: blobs are written to a temporary file in the layout
//! directory, hashed while written, synced, and renamed into place only when
//! they match their digest, so an interrupted copy never leaves a blob that
//! fails its digest. `index.json` is replaced the same way, under a lock (an
//! in-process mutex plus an advisory lock on the `oci-layout` file, so
//! concurrent processes do not lose each other's tags). Reads verify the
//! digest while streaming.
//!
//! ```
//! use oci_dist::layout::OciLayout;
//! use registry_core::Digest;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), registry_core::Error> {
//! # let dir = tempfile::tempdir()?;
//! let layout = OciLayout::create(dir.path().join("my-image")).await?;
//! let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
//! let config_digest = Digest::sha256_of(config);
//! let chunks = [Ok::<_, std::io::Error>(bytes::Bytes::from_static(config))];
//! layout
//!     .write_blob(&config_digest, Some(config.len() as u64), futures_util::stream::iter(chunks))
//!     .await?;
//! let manifest = format!(
//!     r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
//!     config.len()
//! );
//! let desc = layout
//!     .write_manifest(manifest.as_bytes(), "application/vnd.oci.image.manifest.v1+json", Some("v1"))
//!     .await?;
//!
//! let reopened = OciLayout::open(layout.root()).await?;
//! let (found, bytes) = reopened.read_manifest("v1").await?;
//! assert_eq!(found.digest(), desc.digest());
//! assert_eq!(bytes, manifest.as_bytes());
//! # Ok(()) }
//! ```

mod blob;
mod content;
pub(crate) mod fs;
pub(crate) mod index;
mod sink;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use oci_spec::image::{Descriptor, ImageIndex};
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::descriptor::CheckedDescriptor;

pub use blob::BlobReader;
pub use index::validate_ref_name;

use fs::io_error;

/// The name of the layout marker file.
pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The name of the layout's top-level index.
pub const INDEX_FILE: &str = "index.json";
/// The directory holding the blobs, by algorithm.
pub const BLOBS_DIR: &str = "blobs";
/// The annotation naming an entry of `index.json` (its tag).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The layout version this module writes.
pub const IMAGE_LAYOUT_VERSION: &str = "1.0.0";

/// The largest manifest read into memory (the distribution spec's 4 MiB).
const MAX_MANIFEST_SIZE: u64 = crate::manifest::MAX_MANIFEST_SIZE as u64;

/// The buffer size used to stream blobs to and from disk.
pub(crate) const BUF_SIZE: usize = 256 * 1024;

/// An OCI image layout directory. Cheap to clone; clones share the lock that
/// serialises `index.json` updates.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
    index_lock: Arc<tokio::sync::Mutex<()>>,
}

impl OciLayout {
    /// Opens an existing layout, checking its `oci-layout` marker and
    /// `index.json`. A directory without `oci-layout` is
    /// [`ErrorKind::NotFound`].
    pub async fn open(path: impl AsRef<Path>) -> Result<OciLayout> {
        let layout = OciLayout::at(path.as_ref());
        layout.check_marker().await?;
        layout.index().await?;
        Ok(layout)
    }

    /// Opens the layout at `path`, creating the directory, `oci-layout`,
    /// `index.json` (empty) and `blobs/` when missing. An existing layout is
    /// opened as is.
    pub async fn create(path: impl AsRef<Path>) -> Result<OciLayout> {
        let layout = OciLayout::at(path.as_ref());
        let blobs = layout.root.join(BLOBS_DIR);
        tokio::fs::create_dir_all(&blobs)
            .await
            .map_err(|e| io_error(e, format!("creating {}", blobs.display())))?;
        match layout.check_marker().await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let marker = index::marker().into_bytes();
                fs::write_atomic(&layout.root, OCI_LAYOUT_FILE, marker).await?;
            }
            Err(e) => return Err(e),
        }
        let lock = layout.lock_index().await?;
        match layout.index().await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                index::write_index(&layout.root, &index::empty_index()?).await?;
            }
            Err(e) => return Err(e),
        }
        drop(lock);
        Ok(layout)
    }

    fn at(path: &Path) -> OciLayout {
        OciLayout {
            root: path.to_path_buf(),
            index_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    async fn check_marker(&self) -> Result<()> {
        let path = self.root.join(OCI_LAYOUT_FILE);
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{} is not an OCI image layout: {OCI_LAYOUT_FILE} is missing",
                        self.root.display()
                    ),
                ));
            }
            Err(e) => return Err(io_error(e, format!("reading {}", path.display()))),
        };
        index::check_marker(&bytes, &path.display())
    }

    /// The layout directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    /// Where the blob `digest` lives: `blobs/<alg>/<hex>`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join(index::blob_name(digest))
    }

    /// The parsed `index.json`.
    pub async fn index(&self) -> Result<ImageIndex> {
        index::read_index(&self.index_path()).await
    }

    /// The tagged entries of `index.json`, in index order: each
    /// `org.opencontainers.image.ref.name` with its descriptor.
    pub async fn list_refs(&self) -> Result<Vec<(String, Descriptor)>> {
        Ok(index::refs(&self.index().await?))
    }

    /// Finds a manifest by tag (`org.opencontainers.image.ref.name`) or by
    /// digest. A digest not listed in `index.json` (e.g. a platform manifest
    /// of an index) resolves when its blob exists; its media type is then
    /// read from the manifest itself.
    ///
    /// `reference` is a string because a layout's ref names are not
    /// registry tags: any [`validate_ref_name`] name (`example.com/app:v1`)
    /// is one. The [`ImageSource`](crate::ImageSource) methods take a
    /// [`TagOrDigest`](crate::reference::TagOrDigest) instead.
    pub async fn resolve(&self, reference: &str) -> Result<Descriptor> {
        match reference.parse::<Digest>() {
            Ok(digest) => Ok(self.resolve_digest(&digest).await?.into_descriptor()),
            Err(_) => self.resolve_ref(reference).await,
        }
    }

    /// The manifest with `digest`: its `index.json` entry, or the blob.
    pub(crate) async fn resolve_digest(&self, digest: &Digest) -> Result<CheckedDescriptor> {
        let blob = async {
            if !self.blob_exists(digest).await? {
                return Ok(None);
            }
            Some(self.read_blob_bytes(digest, MAX_MANIFEST_SIZE).await).transpose()
        };
        let index = self.index().await?;
        index::resolve_digest(&index, digest, &self.place(), blob).await
    }

    /// "OCI layout ROOT", for messages.
    fn place(&self) -> String {
        format!("OCI layout {}", self.root.display())
    }

    /// The newest `index.json` entry carrying ref name `name`.
    pub(crate) async fn resolve_ref(&self, name: &str) -> Result<Descriptor> {
        validate_ref_name(name)?;
        index::find_ref(&self.index().await?, name, &self.place())
    }

    /// Resolves `reference` (tag or digest) and reads the manifest's exact
    /// bytes, verified against its digest.
    pub async fn read_manifest(&self, reference: &str) -> Result<(Descriptor, Bytes)> {
        let desc = self.resolve(reference).await?;
        let digest = crate::descriptor::digest_of(&desc)?;
        let bytes = self.read_blob_bytes(&digest, MAX_MANIFEST_SIZE).await?;
        if bytes.len() as u64 != desc.size() {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "manifest {digest} in {} is {} bytes, index.json says {}",
                    self.root.display(),
                    bytes.len(),
                    desc.size()
                ),
            ));
        }
        Ok((desc, bytes))
    }

    /// Points `tag` at `descriptor` in `index.json`, replacing any entry
    /// already carrying that tag. The file is replaced atomically.
    pub async fn set_ref(&self, tag: &str, descriptor: &Descriptor) -> Result<()> {
        validate_ref_name(tag)?;
        self.update_index(|m| index::add_entry(m, descriptor.clone(), Some(tag), None))
            .await
    }

    /// Lists `descriptor` in `index.json` without a tag (as skopeo does for
    /// an image copied by digest), unless an entry with its digest is
    /// already there, so that tools walking the index (and garbage
    /// collectors) see it.
    pub async fn add_untagged(&self, descriptor: &Descriptor) -> Result<()> {
        self.update_index(|m| index::add_entry(m, descriptor.clone(), None, None))
            .await
    }

    /// Removes the entry tagged `tag` from `index.json`; returns it, or `None`
    /// when there was none. Blobs are left in place.
    pub async fn remove_ref(&self, tag: &str) -> Result<Option<Descriptor>> {
        validate_ref_name(tag)?;
        let mut removed = None;
        self.update_index(|manifests| {
            if let Some(pos) = manifests
                .iter()
                .rposition(|d| index::ref_name(d) == Some(tag))
            {
                removed = Some(manifests.remove(pos));
                manifests.retain(|d| index::ref_name(d) != Some(tag));
            }
        })
        .await?;
        Ok(removed)
    }

    async fn lock_index(&self) -> Result<(tokio::sync::MutexGuard<'_, ()>, std::fs::File)> {
        let guard = self.index_lock.lock().await;
        let file = fs::lock_file(self.root.join(OCI_LAYOUT_FILE)).await?;
        Ok((guard, file))
    }

    async fn update_index(&self, change: impl FnOnce(&mut Vec<Descriptor>)) -> Result<()> {
        let _lock = self.lock_index().await?;
        let mut index = self.index().await?;
        let mut manifests = index.manifests().clone();
        change(&mut manifests);
        index.set_manifests(manifests);
        index::write_index(&self.root, &index).await
    }

    /// Whether the blob `digest` is present (its content is not checked).
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.blob_size(digest).await?.is_some())
    }

    /// The size of the blob file `digest`, `None` when there is none.
    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        let path = self.blob_path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(m.is_file().then_some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e, format!("checking {}", path.display()))),
        }
    }

    /// Opens the blob `digest` for reading. The returned reader hashes what
    /// it reads and fails with [`ErrorKind::DigestMismatch`] at the end when
    /// the file does not match its name. A missing blob is
    /// [`ErrorKind::NotFound`].
    pub async fn read_blob(&self, digest: &Digest) -> Result<BlobReader> {
        BlobReader::open(self.blob_path(digest), digest.clone()).await
    }

    /// Reads a whole blob into memory, verified; refuses blobs larger than
    /// `max_size` bytes ([`ErrorKind::InvalidContent`]; use
    /// [`read_blob`](Self::read_blob) for layers).
    pub async fn read_blob_bytes(&self, digest: &Digest, max_size: u64) -> Result<Bytes> {
        let reader = self.read_blob(digest).await?;
        if reader.size() > max_size {
            return Err(Error::invalid_content(format!(
                "blob {digest} in {} is {} bytes, more than the {max_size} allowed here",
                self.root.display(),
                reader.size()
            )));
        }
        let mut data = Vec::with_capacity(reader.size() as usize);
        reader.take(max_size + 1).read_to_end(&mut data).await?;
        if data.len() as u64 > max_size {
            return Err(Error::invalid_content(format!(
                "blob {digest} in {} grew past the {max_size} bytes allowed here while read",
                self.root.display()
            )));
        }
        Ok(Bytes::from(data))
    }

    /// Writes the blob `digest` from a stream of chunks, atomically: the
    /// bytes go to a temporary file in the layout directory, are hashed as
    /// they are written, synced, and the file is renamed to
    /// `blobs/<alg>/<hex>` only when digest (and `size`, when given) match.
    /// On any error, or when the future is dropped, the temporary file is
    /// removed. An existing blob is replaced by the verified new copy.
    /// Returns the number of bytes written.
    pub async fn write_blob<S, E>(
        &self,
        digest: &Digest,
        size: Option<u64>,
        stream: S,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>>,
        E: Into<Error>,
    {
        let target = self.blob_path(digest);
        blob::write_blob(&self.root, target, digest, size, stream, blob::Check::Hash).await
    }

    /// [`write_blob`](Self::write_blob) from an [`AsyncRead`].
    pub async fn write_blob_from_reader<R>(
        &self,
        digest: &Digest,
        size: Option<u64>,
        reader: R,
    ) -> Result<u64>
    where
        R: AsyncRead,
    {
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, BUF_SIZE);
        self.write_blob(digest, size, stream).await
    }

    /// Stores manifest (or index) bytes exactly as given under their SHA-256
    /// digest and, when `tag` is given, points the tag at them. Returns the
    /// manifest's descriptor (media type, size, digest; no annotations).
    pub async fn write_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor> {
        if media_type.is_empty() {
            return Err(Error::invalid_input("manifest media type is empty"));
        }
        let digest = Digest::sha256_of(bytes);
        let desc = crate::descriptor::new(media_type, &digest, bytes.len() as u64);
        let data = Bytes::copy_from_slice(bytes);
        self.put_manifest(data, &digest, desc.clone(), tag).await?;
        Ok(desc)
    }

    /// Writes manifest `bytes` as the blob `digest` and, with `tag` (a
    /// valid ref name, checked first), points the tag at `desc`.
    async fn put_manifest(
        &self,
        bytes: Bytes,
        digest: &Digest,
        desc: Descriptor,
        tag: Option<&str>,
    ) -> Result<()> {
        tag.map(validate_ref_name).transpose()?;
        let size = Some(bytes.len() as u64);
        let chunks = futures_util::stream::iter([Ok::<_, Error>(bytes)]);
        self.write_blob(digest, size, chunks).await?;
        match tag {
            Some(tag) => self.set_ref(tag, &desc).await,
            None => Ok(()),
        }
    }
}
