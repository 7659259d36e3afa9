//! Image archives: one tar file holding images, as `skopeo` and `podman`
//! read and write them.
//!
//! - **OCI archive** (`oci-archive:`): an OCI image layout (see
//!   [`crate::layout`]) inside a tar: `oci-layout`, `index.json` (tags as
//!   `org.opencontainers.image.ref.name`) and `blobs/<alg>/<hex>`.
//!   [`OciArchiveReader`] is an [`ImageSource`],
//!   [`OciArchiveWriter`] an [`ImageDestination`](crate::ImageDestination),
//!   so [`copy`](crate::copy()) moves images between archives, registries
//!   and layouts.
//! - **Docker archive** (`docker-archive:`): the `docker save` /
//!   `docker load` format: `manifest.json` listing each image's config
//!   file, `RepoTags` and layer files. [`DockerArchiveReader`] synthesises
//!   a Docker schema 2 manifest per image (see its docs for how, and why
//!   its digest is not skopeo's); [`DockerArchiveWriter`] stores one
//!   platform's images (an archive holds no indexes).
//!
//! Reading indexes the tar once (entry names to offsets, one pass over the
//! headers; nothing is extracted to disk) and serves files by seeking.
//! Writing streams: blobs are appended as they arrive, checked against
//! their digests, and the archive is renamed into place only by
//! [`OciArchiveWriter::finish`].
//!
//! ```
//! use oci_dist::archive::{OciArchiveReader, OciArchiveWriter};
//! use oci_dist::layout::OciLayout;
//! use oci_dist::{copy, CopyOptions, Tag};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), oci_dist::Error> {
//! # let dir = tempfile::tempdir()?;
//! # let layout = OciLayout::create(dir.path().join("layout")).await?;
//! # let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
//! # let cd = oci_dist::Digest::sha256_of(config);
//! # layout.write_blob(&cd, Some(config.len() as u64),
//! #     futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(config))])).await?;
//! # let m = format!(r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[]}}"#, config.len());
//! # layout.write_manifest(m.as_bytes(), "application/vnd.oci.image.manifest.v1+json", Some("v1")).await?;
//! let path = dir.path().join("image.tar");
//! // Layout -> archive.
//! let writer = OciArchiveWriter::create(&path).await?;
//! let report = copy(&layout, "v1", &writer, Tag::new("v1")?, &CopyOptions::default()).await?;
//! writer.finish().await?;
//! // Archive -> layout, same digest.
//! let reader = OciArchiveReader::open(&path).await?;
//! assert_eq!(reader.list_refs()[0].0, "v1");
//! let back = OciLayout::create(dir.path().join("back")).await?;
//! let again = copy(&reader, "v1", &back, Tag::new("v1")?, &CopyOptions::default()).await?;
//! assert_eq!(again.digest, report.digest);
//! # Ok(()) }
//! ```

mod docker;
mod oci;
mod tarfile;

pub use docker::{DockerArchiveReader, DockerArchiveWriter};
pub use oci::{OciArchiveReader, OciArchiveWriter};

use registry_core::Result;

use crate::content::{BlobSource, BoxFuture, ByteStream, ImageSource, verify_stream};
use crate::descriptor::CheckedDescriptor;

/// [`ImageSource::fetch_blob`] of a reader that serves any offset: the
/// blob from its start, verified while it flows.
fn verified_blob<'a>(
    reader: &'a impl ImageSource,
    descriptor: &'a CheckedDescriptor,
) -> BoxFuture<'a, Result<ByteStream>> {
    Box::pin(async move {
        let stream = reader.fetch_blob_from(descriptor, 0).await?;
        let digest = descriptor.digest().clone();
        Ok(verify_stream(stream, digest, Some(descriptor.size())))
    })
}

/// What a writer appends for `descriptor`: `content`'s bytes, checked
/// against the digest while they flow unless the source checks them.
async fn checked_content(
    descriptor: &CheckedDescriptor,
    content: &dyn BlobSource,
) -> Result<ByteStream> {
    let stream = content.open(0).await?;
    if content.verifies_digest() {
        return Ok(stream);
    }
    let digest = descriptor.digest().clone();
    Ok(verify_stream(stream, digest, Some(descriptor.size())))
}
