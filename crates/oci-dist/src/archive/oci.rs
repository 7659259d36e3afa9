//! `oci-archive`: an OCI image layout inside one tar file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};
use registry_core::{Digest, Error, Result};

use super::tarfile::{TarIndex, TarWriter};
use super::{checked_content, verified_blob};
use crate::content::{BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource};
use crate::descriptor::CheckedDescriptor;
use crate::layout::index::{self, blob_name};
use crate::layout::{BLOBS_DIR, INDEX_FILE, OCI_LAYOUT_FILE, validate_ref_name};
use crate::manifest::{MAX_MANIFEST_SIZE, Manifest};
use crate::reference::{Tag, TagOrDigest};

/// The largest `index.json` or manifest read into memory.
const MAX_JSON: u64 = MAX_MANIFEST_SIZE as u64;

/// Reads an OCI archive: the tar is indexed once when opened (one pass
/// over its headers, nothing extracted), then `index.json`, manifests and
/// blobs are read by seeking to them. Blobs are verified while they flow.
///
/// ```no_run
/// use oci_dist::archive::OciArchiveReader;
/// use oci_dist::layout::OciLayout;
/// use oci_dist::{copy, CopyOptions, Tag};
/// # async fn f() -> Result<(), oci_dist::Error> {
/// let archive = OciArchiveReader::open("image.tar").await?;
/// let layout = OciLayout::create("image-dir").await?;
/// copy(&archive, "v1", &layout, Tag::new("v1")?, &CopyOptions::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OciArchiveReader {
    tar: TarIndex,
    index: ImageIndex,
}

impl OciArchiveReader {
    /// Opens and indexes the archive at `path`, checking its `oci-layout`
    /// marker and parsing `index.json`. A missing file is
    /// [`ErrorKind::NotFound`](registry_core::ErrorKind::NotFound); a tar
    /// without the layout files, or with broken ones, is
    /// [`ErrorKind::InvalidContent`](registry_core::ErrorKind::InvalidContent);
    /// a layout version other than 1.x is
    /// [`ErrorKind::Unsupported`](registry_core::ErrorKind::Unsupported).
    pub async fn open(path: impl AsRef<Path>) -> Result<OciArchiveReader> {
        let tar = TarIndex::build(path.as_ref()).await?;
        let file = |name| format!("{name} in {}", tar.path().display());
        let read = async |name, max| match tar.get(name) {
            Some(_) => tar.read(name, max).await,
            None => Err(Error::invalid_content(format!(
                "{} is not an OCI archive: no {name}",
                tar.path().display()
            ))),
        };
        index::check_marker(&read(OCI_LAYOUT_FILE, 4096).await?, &file(OCI_LAYOUT_FILE))?;
        let index = index::parse_index(&read(INDEX_FILE, MAX_JSON).await?, &file(INDEX_FILE))?;
        Ok(OciArchiveReader { tar, index })
    }

    /// The archive file.
    pub fn path(&self) -> &Path {
        self.tar.path()
    }

    /// The archive's `index.json`.
    pub fn index(&self) -> &ImageIndex {
        &self.index
    }

    /// The tagged entries of `index.json`, in index order: each
    /// `org.opencontainers.image.ref.name` with its descriptor.
    pub fn list_refs(&self) -> Vec<(String, Descriptor)> {
        index::refs(&self.index)
    }

    /// The manifest `digest`: its `index.json` entry, or the blob (media
    /// type read from the manifest itself).
    pub(crate) async fn resolve_digest(&self, digest: &Digest) -> Result<CheckedDescriptor> {
        let name = blob_name(digest);
        let blob = async {
            match self.tar.get(&name) {
                Some(_) => self.tar.read(&name, MAX_JSON).await.map(Some),
                None => Ok(None),
            }
        };
        index::resolve_digest(&self.index, digest, &self.place(), blob).await
    }

    /// The `index.json` entry whose ref name is `tag` (the last one).
    pub(crate) fn resolve_tag(&self, tag: &str) -> Result<CheckedDescriptor> {
        CheckedDescriptor::new(index::find_ref(&self.index, tag, &self.place())?)
    }

    /// "OCI archive PATH", for messages.
    fn place(&self) -> String {
        format!("OCI archive {}", self.path().display())
    }
}

impl ImageSource for OciArchiveReader {
    fn describe(&self) -> String {
        format!("oci-archive:{}", self.path().display())
    }

    fn resolve<'a>(&'a self, target: &'a TagOrDigest) -> BoxFuture<'a, Result<CheckedDescriptor>> {
        Box::pin(async move {
            match target {
                TagOrDigest::Digest(d) => self.resolve_digest(d).await,
                TagOrDigest::Tag(t) => self.resolve_tag(t.as_str()),
            }
        })
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest>> {
        Box::pin(async move {
            let bytes = self
                .tar
                .read(&blob_name(descriptor.digest()), MAX_JSON)
                .await?;
            Manifest::verified_for(bytes, descriptor, &self.describe())
        })
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
        let name = blob_name(descriptor.digest());
        Box::pin(async move { self.tar.stream(&name, offset).await })
    }
}

/// Writes an OCI archive, streaming: each blob is appended to the tar as
/// it arrives (never held whole in memory) and checked against its digest
/// while written (a blob that fails is taken back out of the tar);
/// `oci-layout` and `index.json` come last, written by
/// [`finish`](Self::finish). The tar is built in a temporary file in the
/// target's directory and renamed into place by `finish` only; dropped
/// unfinished (a failed copy), it leaves nothing behind.
///
/// Several images can go into one archive (copy each, with its tag); blobs
/// they share are stored once. An existing file at the path is replaced
/// when the archive is finished, not added to (as `skopeo copy` does).
///
/// Blobs are appended one at a time (a tar is sequential): concurrent
/// pushes of a [`copy`](crate::copy()) wait for each other.
///
/// ```no_run
/// use oci_dist::archive::OciArchiveWriter;
/// use oci_dist::{copy, Client, CopyOptions, Tag};
/// # async fn f(client: Client) -> Result<(), oci_dist::Error> {
/// let archive = OciArchiveWriter::create("images.tar").await?;
/// copy(&client, "v1", &archive, Tag::new("v1")?, &CopyOptions::default()).await?;
/// copy(&client, "v2", &archive, Tag::new("v2")?, &CopyOptions::default()).await?;
/// archive.finish().await?; // images.tar now exists
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct OciArchiveWriter {
    path: PathBuf,
    state: tokio::sync::Mutex<WriterState>,
}

#[derive(Debug)]
struct WriterState {
    tar: TarWriter,
    /// Blobs (manifests included) already in the tar.
    blobs: HashSet<Digest>,
    /// `blobs/<alg>` directories written.
    dirs: HashSet<String>,
    /// The entries of `index.json`.
    manifests: Vec<Descriptor>,
}

impl OciArchiveWriter {
    /// Starts an archive that [`finish`](Self::finish) puts at `path`.
    pub async fn create(path: impl AsRef<Path>) -> Result<OciArchiveWriter> {
        let path = path.as_ref().to_path_buf();
        let mut tar = TarWriter::create(&path).await?;
        tar.append_dir(BLOBS_DIR).await?;
        Ok(OciArchiveWriter {
            path,
            state: tokio::sync::Mutex::new(WriterState {
                tar,
                blobs: HashSet::new(),
                dirs: HashSet::new(),
                manifests: Vec::new(),
            }),
        })
    }

    /// Where the archive goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `oci-layout` and `index.json`, ends the tar and renames it
    /// into place (replacing any file there).
    pub async fn finish(self) -> Result<()> {
        let WriterState {
            mut tar, manifests, ..
        } = self.state.into_inner();
        tar.append_bytes(OCI_LAYOUT_FILE, index::marker().as_bytes())
            .await?;
        let mut index = index::empty_index()?;
        index.set_manifests(manifests);
        tar.append_bytes(INDEX_FILE, &index::index_bytes(&index)?)
            .await?;
        tar.finish().await
    }

    async fn append_blob(&self, digest: &Digest, size: u64, stream: ByteStream) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.blobs.contains(digest) {
            return Ok(());
        }
        let alg = format!("{BLOBS_DIR}/{}", digest.algorithm().as_str());
        if !state.dirs.contains(&alg) {
            state.tar.append_dir(&alg).await?;
            state.dirs.insert(alg);
        }
        state
            .tar
            .append_stream(&blob_name(digest), size, stream)
            .await
            .map_err(|e| e.context(format!("writing blob {digest} to {}", self.path.display())))?;
        state.blobs.insert(digest.clone());
        Ok(())
    }

    /// Lists `descriptor` in `index.json`: under the ref name `name`
    /// (replacing an entry of that name), or untagged (once per digest and
    /// `annotation`), with `annotation` added when given.
    async fn add_entry(
        &self,
        descriptor: Descriptor,
        name: Option<&str>,
        annotation: Option<(&str, &str)>,
    ) {
        let manifests = &mut self.state.lock().await.manifests;
        index::add_entry(manifests, descriptor, name, annotation);
    }

    /// Stores `manifest` and, with `name`, lists it under that ref name
    /// (which must be valid, [`validate_ref_name`]). Used by copies (the
    /// name is the tag) and by sync bundles (`REPO:TAG`).
    pub(crate) async fn push_manifest_named(
        &self,
        manifest: &Manifest,
        name: Option<&str>,
    ) -> Result<()> {
        name.map(validate_ref_name).transpose()?;
        self.push_blob(&manifest.checked_descriptor(), manifest.bytes())
            .await?;
        if let Some(name) = name {
            self.add_entry(manifest.descriptor(), Some(name), None)
                .await;
        }
        Ok(())
    }

    /// Lists `manifest` untagged in `index.json` with the annotation
    /// `key: value` (once per digest and annotation).
    pub(crate) async fn record_untagged(&self, manifest: &Manifest, key: &str, value: &str) {
        self.add_entry(manifest.descriptor(), None, Some((key, value)))
            .await;
    }
}

impl ImageDestination for OciArchiveWriter {
    fn describe(&self) -> String {
        format!("oci-archive:{}", self.path.display())
    }

    /// Whether the blob (or manifest) is in the archive already.
    fn blob_exists<'a>(&'a self, descriptor: &'a CheckedDescriptor) -> BoxFuture<'a, Result<bool>> {
        let digest = descriptor.digest();
        Box::pin(async move { Ok(self.state.lock().await.blobs.contains(digest)) })
    }

    /// Appends the blob, checked against its digest while it flows.
    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let stream = checked_content(descriptor, content).await?;
            self.append_blob(descriptor.digest(), descriptor.size(), stream)
                .await
        })
    }

    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool>> {
        self.blob_exists(descriptor)
    }

    /// The tag becomes the manifest's ref name in `index.json`; it must be
    /// one too ([`validate_ref_name`]).
    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.push_manifest_named(manifest, tag.map(Tag::as_str)))
    }

    /// A root copied without a tag is listed in `index.json` untagged.
    fn record_root<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if tag.is_none() {
                self.add_entry(manifest.descriptor(), None, None).await;
            }
            Ok(())
        })
    }
}
