//! Where images come from and go to: the [`ImageSource`] and
//! [`ImageDestination`] traits used by [`copy`](crate::copy::copy), and
//! [`BlobSource`], re-readable blob content for uploads.
//!
//! The registry [`Client`](crate::Client) implements both traits for the
//! repository it is scoped to. The OCI image layout (`crate::layout`)
//! implements them for a directory, so copies run registry → registry,
//! registry → directory and directory → registry with the same code.
//!
//! # Implementing the traits
//!
//! The methods return boxed futures (like `registry_core`'s `Authenticator`)
//! so the traits are object safe: `&dyn ImageSource` works. Write
//! `Box::pin(async move { … })`. They take typed arguments only: a
//! [`TagOrDigest`], a [`Tag`], and descriptors as [`CheckedDescriptor`]
//! (digest converted once, by the caller), so an implementation never
//! parses or re-validates a digest.
//!
//! Contract for an [`ImageSource`]:
//! - `resolve(target)` takes a tag or a digest and returns the descriptor
//!   of the manifest: media type, digest and size.
//!   [`registry_core::ErrorKind::NotFound`] when there is no such tag.
//! - `fetch_manifest(descriptor)` returns the manifest's exact bytes, checked
//!   against the descriptor's digest ([`Manifest::verified`]).
//! - `fetch_reference(target)` returns the manifest a tag or digest
//!   names, with its digest computed from the bytes. The default resolves,
//!   then fetches; a registry overrides it with one `GET`, so that a tag is
//!   never resolved to a digest the bytes do not have.
//! - `fetch_blob(descriptor)` returns a stream of the blob's bytes that is
//!   verified while it flows: when the content does not match the
//!   descriptor's digest or size, the stream's last item is an error of kind
//!   `DigestMismatch` (wrap with [`verify_stream`]). Stream in large chunks,
//!   never buffer a whole blob.
//!
//! Contract for an [`ImageDestination`]:
//! - `blob_exists` / `manifest_exists`: whether the content is already there
//!   (then it is not sent again).
//! - `push_blob(descriptor, content)`: store the blob. Call
//!   `content.open(0)` to read it (again from an offset to resume); the
//!   implementation must check the digest of what it stores and must not
//!   leave content that fails it.
//! - `push_manifest(manifest, tag)`: store the exact bytes under their digest
//!   and, with `Some(tag)`, tag them. Copies push child manifests and blobs
//!   before the index or manifest that refers to them.
//! - `mount_blob` has a default (not supported: `Ok(false)`); registries
//!   override it for cross-repository mounts.
//! - `store_blob(descriptor, content, placement)` is what
//!   [`copy`](crate::copy::copy) calls for each blob: it puts the blob there
//!   the cheapest way [`BlobPlacement`] allows and says how
//!   ([`BlobOutcome`]). The default checks (`blob_exists`, when
//!   `skip_existing`), then mounts from the origin, then pushes; a registry
//!   mounts first (one request whether or not it has the blob), also from
//!   other repositories it saw the blob in, and uploads into the session a
//!   refused mount opens.
//! - `check_manifests_first`: whether a copy asks `manifest_exists` before
//!   pushing a manifest below the root (default yes; a registry says no,
//!   as its `HEAD` costs the same round trip as the idempotent `PUT` it
//!   could save).
//! - `record_root(manifest, tag)` is called once the root of a copy is
//!   stored; the default does nothing. The OCI layout lists an untagged
//!   root in `index.json` there (as skopeo does for an image copied by
//!   digest), so that tools walking the index see it.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use registry_core::digest::{Verifier, VerifyingStream};
use registry_core::{Digest, Error, ErrorKind};

use crate::descriptor::CheckedDescriptor;
use crate::manifest::Manifest;
use crate::progress::BlobOutcome;
use crate::reference::{Tag, TagOrDigest};

mod registry;

pub use registry_core::auth::BoxFuture;

/// A boxed stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// Where a blob already lives in a registry, so that a destination in the
/// same registry can mount it instead of uploading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOrigin {
    /// `host[:port]` of the registry.
    pub registry: String,
    /// The repository holding the blob.
    pub repository: String,
}

/// How [`ImageDestination::store_blob`] may place a blob.
///
/// ```
/// use oci_dist::content::{BlobPlacement, MountOrigin};
/// let origin = MountOrigin { registry: "r.example".into(), repository: "org/app".into() };
/// let p = BlobPlacement { origin: Some(&origin), mount: true, skip_existing: true };
/// assert!(p.mount && p.origin.is_some());
/// assert!(!BlobPlacement::default().mount);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobPlacement<'a> {
    /// Where the copy's source holds the blob, when it is a registry.
    pub origin: Option<&'a MountOrigin>,
    /// Whether the blob may be mounted (from `origin`, or from another
    /// repository the destination knows holds it).
    pub mount: bool,
    /// Whether to leave out a blob the destination has (checked when that
    /// costs less than what it could save).
    pub skip_existing: bool,
}

/// Reads images: manifests by reference or digest, and blobs.
///
/// See the [module documentation](self) for the contract.
pub trait ImageSource: Send + Sync {
    /// A short description for messages, e.g. `127.0.0.1:5000/org/app`.
    fn describe(&self) -> String;

    /// The descriptor of the manifest a tag or digest points to.
    fn resolve<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<CheckedDescriptor, Error>>;

    /// The manifest with this descriptor's digest, exact bytes, verified.
    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>>;

    /// The manifest a tag or digest names, exact bytes, its digest
    /// computed from them (see the [module documentation](self)).
    fn fetch_reference<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(async move {
            let descriptor = self.resolve(target).await?;
            self.fetch_manifest(&descriptor).await
        })
    }

    /// The blob's bytes, verified while they flow.
    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>>;

    /// The blob's bytes from `offset` on, not verified (the caller hashes
    /// the bytes before `offset` it already has, then these; or, from 0,
    /// the destination checks them, see
    /// [`ImageDestination::verifies_blobs`]). The default
    /// reads the blob from the start and drops the first `offset` bytes; a
    /// registry asks for the range.
    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move {
            let stream = self.fetch_blob(descriptor).await?;
            Ok(crate::blob::slice_stream(stream, offset, None))
        })
    }

    /// Where blobs of this source can be mounted from, if it is a registry.
    fn mount_origin(&self) -> Option<MountOrigin> {
        None
    }

    /// The manifests that refer to `subject` (signatures, SBOMs,
    /// attestations: OCI referrers). The default has none; a registry asks
    /// its referrers API, or reads the tag-schema fallback.
    fn referrers<'a>(
        &'a self,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Vec<CheckedDescriptor>, Error>> {
        let _ = subject;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Writes images: blobs, then manifests, then tags.
///
/// See the [module documentation](self) for the contract.
pub trait ImageDestination: Send + Sync {
    /// A short description for messages.
    fn describe(&self) -> String;

    /// Whether the blob is already present.
    fn blob_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Stores a blob read from `content`.
    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Mounts the blob from `origin` when both are in the same registry;
    /// `Ok(false)` when not possible (the caller then uploads it).
    fn mount_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        origin: &'a MountOrigin,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let _ = (descriptor, origin);
        Box::pin(async { Ok(false) })
    }

    /// Puts a blob here the cheapest way `placement` allows: skipped when
    /// present (checked only with `skip_existing`), mounted when allowed
    /// and possible, otherwise read from `content` and pushed; returns
    /// which.
    ///
    /// The default does exactly that with [`blob_exists`](Self::blob_exists),
    /// [`mount_blob`](Self::mount_blob) from the origin (a failed mount is
    /// logged and the blob pushed) and [`push_blob`](Self::push_blob). An
    /// override must keep the contract of `push_blob` for what it uploads.
    ///
    /// ```
    /// use oci_dist::{CheckedDescriptor, ImageDestination, layout::OciLayout};
    /// use oci_dist::content::BlobPlacement;
    /// use oci_dist::progress::BlobOutcome;
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let dir = tempfile::tempdir()?;
    /// let layout = OciLayout::create(dir.path().join("oci")).await?;
    /// let data = bytes::Bytes::from_static(b"layer");
    /// let desc = CheckedDescriptor::from_parts(
    ///     "application/octet-stream",
    ///     registry_core::Digest::sha256_of(&data),
    ///     data.len() as u64,
    /// );
    /// let placement = BlobPlacement { skip_existing: true, ..Default::default() };
    /// let how = layout.store_blob(&desc, &data, placement).await?;
    /// assert_eq!(how, BlobOutcome::Copied);
    /// assert_eq!(layout.store_blob(&desc, &data, placement).await?, BlobOutcome::Skipped);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
    /// ```
    fn store_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
        placement: BlobPlacement<'a>,
    ) -> BoxFuture<'a, Result<BlobOutcome, Error>> {
        Box::pin(async move {
            if placement.skip_existing && self.blob_exists(descriptor).await? {
                return Ok(BlobOutcome::Skipped);
            }
            if let Some(o) = placement.origin.filter(|_| placement.mount) {
                match self.mount_blob(descriptor, o).await {
                    Ok(true) => return Ok(BlobOutcome::Mounted),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::info!(digest = %descriptor.digest(), error = %e, "mount failed; uploading instead")
                    }
                }
            }
            self.push_blob(descriptor, content).await?;
            Ok(BlobOutcome::Copied)
        })
    }

    /// Whether [`copy`](crate::copy::copy) should ask
    /// [`manifest_exists`](Self::manifest_exists) before pushing a manifest
    /// below the root (the root itself is checked only when it gets no
    /// tag). Yes by default: for local storage a check is cheaper than a
    /// write. A registry answers no: its `HEAD` is a round trip, as is the
    /// `PUT` of the same bytes under their digest, which changes nothing
    /// when they are there already.
    ///
    /// ```
    /// use oci_dist::{ImageDestination, layout::OciLayout};
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let dir = tempfile::tempdir()?;
    /// let layout = OciLayout::create(dir.path().join("oci")).await?;
    /// assert!(layout.check_manifests_first());
    /// let registry = oci_dist::Client::new("registry.example")?.with_segment("app");
    /// assert!(!registry.check_manifests_first());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
    /// ```
    fn check_manifests_first(&self) -> bool {
        true
    }

    /// Whether this destination checks the digest of every blob it commits
    /// by itself, refusing content that does not match. A registry does:
    /// the `PUT ?digest=` that completes an upload is refused with
    /// `DIGEST_INVALID` when the bytes hash to something else (reported as
    /// [`ErrorKind::DigestMismatch`]).
    /// [`copy`](crate::copy::copy) then reads the source unverified
    /// ([`ImageSource::fetch_blob_from`] from 0), so that each blob is
    /// hashed once on its way, not twice. No by default.
    ///
    /// ```
    /// use oci_dist::{ImageDestination, layout::OciLayout};
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let dir = tempfile::tempdir()?;
    /// let layout = OciLayout::create(dir.path().join("oci")).await?;
    /// assert!(!layout.verifies_blobs());
    /// let registry = oci_dist::Client::new("registry.example")?.with_segment("app");
    /// assert!(registry.verifies_blobs());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
    /// ```
    fn verifies_blobs(&self) -> bool {
        false
    }

    /// Whether the manifest with this digest is already present.
    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Stores a manifest (by digest) and, with `tag`, tags it.
    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Called by [`copy`](crate::copy::copy) last, once the root of the
    /// copy (the manifest or index asked for) is stored, whether it was
    /// pushed now (under `tag`) or was there already. The default does
    /// nothing; an OCI layout lists an untagged root in its `index.json`.
    fn record_root<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (manifest, tag);
        Box::pin(async { Ok(()) })
    }
}

/// Blob content that can be read from the start or from an offset (to
/// resume an interrupted upload, or to restart after a refused one).
pub trait BlobSource: Send + Sync {
    /// A stream of the content starting at byte `offset`.
    fn open(&self, offset: u64) -> BoxFuture<'_, Result<ByteStream, Error>>;

    /// Whether every stream this source opens at offset 0 is already
    /// checked against the blob's digest and size while it flows (its last
    /// item is a `DigestMismatch` error otherwise), so that a destination
    /// may skip hashing the bytes a second time, provided it commits the
    /// blob only after the stream ended cleanly. (A stream opened past 0
    /// cannot be: the destination hashes what it has plus that.) [`copy`](crate::copy::copy) passes
    /// such sources (every [`ImageSource`] verifies); the default is `false`.
    fn verifies_digest(&self) -> bool {
        false
    }
}

impl BlobSource for Bytes {
    fn open(&self, offset: u64) -> BoxFuture<'_, Result<ByteStream, Error>> {
        let data = self.slice((offset as usize).min(self.len())..);
        let chunk = (!data.is_empty()).then_some(Ok(data));
        let s: ByteStream = Box::pin(futures_util::stream::iter(chunk));
        Box::pin(async move { Ok(s) })
    }
}

/// A file read in large chunks, reopened for every [`BlobSource::open`].
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    chunk: usize,
}

impl FileSource {
    /// Reads `path` (in 1 MiB chunks).
    pub fn new(path: impl Into<PathBuf>) -> FileSource {
        FileSource {
            path: path.into(),
            chunk: 1024 * 1024,
        }
    }
}

impl BlobSource for FileSource {
    fn open(&self, offset: u64) -> BoxFuture<'_, Result<ByteStream, Error>> {
        Box::pin(async move {
            use tokio::io::AsyncSeekExt;
            let mut f = tokio::fs::File::open(&self.path)
                .await
                .map_err(|e| Error::from(e).context(format!("opening {}", self.path.display())))?;
            if offset > 0 {
                f.seek(std::io::SeekFrom::Start(offset)).await?;
            }
            let s = tokio_util::io::ReaderStream::with_capacity(f, self.chunk);
            Ok(Box::pin(s.map(|r| r.map_err(Error::from))) as ByteStream)
        })
    }
}

/// A stream that can be read once: a second `open` (needed to restart a
/// refused upload) fails with a clear error.
pub struct OnceSource {
    stream: Mutex<Option<ByteStream>>,
}

impl OnceSource {
    /// Wraps a stream.
    pub fn new(stream: ByteStream) -> OnceSource {
        OnceSource {
            stream: Mutex::new(Some(stream)),
        }
    }
}

impl fmt::Debug for OnceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceSource").finish_non_exhaustive()
    }
}

impl BlobSource for OnceSource {
    fn open(&self, offset: u64) -> BoxFuture<'_, Result<ByteStream, Error>> {
        let taken = self.stream.lock().expect("poisoned").take();
        Box::pin(async move {
            match taken {
                Some(s) if offset == 0 => Ok(s),
                _ => Err(Error::new(
                    ErrorKind::Unsupported,
                    "the blob content is a one-shot stream and cannot be read again \
                     (upload restarted or resumed); use a file or bytes source",
                )),
            }
        })
    }
}

/// Wraps a byte stream so that it is hashed as it flows; its last item is a
/// [`ErrorKind::DigestMismatch`] error when the content does not match
/// `expected` (or is not `size` bytes long). It never yields more than
/// `size` bytes. (A boxed [`VerifyingStream`].)
pub fn verify_stream<S>(stream: S, expected: Digest, size: Option<u64>) -> ByteStream
where
    S: Stream<Item = Result<Bytes, Error>> + Send + 'static,
{
    Box::pin(VerifyingStream::new(stream, Verifier::new(expected, size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    #[tokio::test]
    async fn bytes_source_opens_at_offset() {
        let src = Bytes::from_static(b"hello world");
        let all: Vec<Bytes> = src.open(6).await.unwrap().try_collect().await.unwrap();
        assert_eq!(all.concat(), b"world");
        let none: Vec<Bytes> = src.open(11).await.unwrap().try_collect().await.unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn once_source_refuses_a_second_open() {
        let s: ByteStream = Box::pin(futures_util::stream::iter([Ok(Bytes::from_static(b"x"))]));
        let src = OnceSource::new(s);
        assert!(src.open(0).await.is_ok());
        let err = src.open(0).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn verify_stream_detects_corruption_and_size() {
        let ok = verify_stream(
            futures_util::stream::iter([
                Ok(Bytes::from_static(b"ab")),
                Ok(Bytes::from_static(b"c")),
            ]),
            Digest::sha256_of(b"abc"),
            Some(3),
        );
        let v: Vec<Bytes> = ok.try_collect().await.unwrap();
        assert_eq!(v.concat(), b"abc");
        let bad = verify_stream(
            futures_util::stream::iter([Ok(Bytes::from_static(b"abd"))]),
            Digest::sha256_of(b"abc"),
            Some(3),
        );
        let err = bad.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        let long = verify_stream(
            futures_util::stream::iter([Ok(Bytes::from_static(b"abcd"))]),
            Digest::sha256_of(b"abc"),
            Some(3),
        );
        let err = long.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    }

    #[tokio::test]
    async fn file_source_reads_from_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let src = FileSource::new(&p);
        let v: Vec<Bytes> = src.open(4).await.unwrap().try_collect().await.unwrap();
        assert_eq!(v.concat(), b"456789");
    }
}
