//! [`ImageSource`] and [`ImageDestination`] for [`OciLayout`], so that image
//! copies (see [`crate::content`]) run registry → directory and back.

use registry_core::{Error, ErrorKind, Result};

use super::{OciLayout, blob};
use crate::content::{BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource};
use crate::descriptor::CheckedDescriptor;
use crate::manifest::{MAX_MANIFEST_SIZE, Manifest};
use crate::reference::{Tag, TagOrDigest};

impl OciLayout {
    /// A blob file that does not have its descriptor's size is refused.
    fn check_size(&self, descriptor: &CheckedDescriptor, size: u64) -> Result<()> {
        if size == descriptor.size() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::DigestMismatch,
            format!(
                "blob {} in {} is {size} bytes, its descriptor says {}",
                descriptor.digest(),
                ImageSource::describe(self),
                descriptor.size()
            ),
        ))
    }

    /// Whether the blob of `descriptor` is present with the expected size.
    async fn has(&self, descriptor: &CheckedDescriptor) -> Result<bool> {
        Ok(self.blob_size(descriptor.digest()).await? == Some(descriptor.size()))
    }
}

impl ImageSource for OciLayout {
    fn describe(&self) -> String {
        format!("oci:{}", self.root().display())
    }

    /// A tag is looked up as the ref name it is; a digest in `index.json`,
    /// then among the blobs.
    fn resolve<'a>(&'a self, target: &'a TagOrDigest) -> BoxFuture<'a, Result<CheckedDescriptor>> {
        Box::pin(async move {
            match target {
                TagOrDigest::Digest(digest) => self.resolve_digest(digest).await,
                TagOrDigest::Tag(tag) => {
                    CheckedDescriptor::new(self.resolve_ref(tag.as_str()).await?)
                }
            }
        })
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest>> {
        Box::pin(async move {
            let bytes = self
                .read_blob_bytes(descriptor.digest(), MAX_MANIFEST_SIZE as u64)
                .await?;
            Manifest::verified_for(bytes, descriptor, &ImageSource::describe(self))
        })
    }

    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move {
            let reader = self.read_blob(descriptor.digest()).await?;
            self.check_size(descriptor, reader.size())?;
            // The reader checks the digest at the end of the stream.
            let stream: ByteStream = Box::pin(reader.into_stream());
            Ok(stream)
        })
    }

    /// Reads the file from `offset` without hashing it.
    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream>> {
        Box::pin(async move {
            let digest = descriptor.digest();
            let (stream, size) = blob::read_from(&self.blob_path(digest), digest, offset).await?;
            self.check_size(descriptor, size)?;
            Ok(stream)
        })
    }
}

impl ImageDestination for OciLayout {
    fn describe(&self) -> String {
        format!("oci:{}", self.root().display())
    }

    fn blob_exists<'a>(&'a self, descriptor: &'a CheckedDescriptor) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.has(descriptor))
    }

    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let digest = descriptor.digest();
            if content.verifies_digest() {
                // A download (copy from a registry or another layout): kept
                // in a partial file that a later run continues.
                let target = self.blob_path(digest);
                blob::write_blob_resumable(self.root(), target, digest, descriptor.size(), content)
                    .await?;
                return Ok(());
            }
            let stream = content.open(0).await?;
            self.write_blob(digest, Some(descriptor.size()), stream)
                .await?;
            Ok(())
        })
    }

    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.has(descriptor))
    }

    /// The tag becomes the manifest's ref name; it must be one too
    /// ([`validate_ref_name`](super::validate_ref_name)).
    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        let (bytes, digest) = (manifest.bytes().clone(), manifest.digest());
        let tag = tag.map(Tag::as_str);
        Box::pin(self.put_manifest(bytes, digest, manifest.descriptor(), tag))
    }

    /// A root copied without a tag is listed in `index.json` untagged
    /// (see [`OciLayout::add_untagged`]); a tagged one is there already.
    fn record_root<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if tag.is_none() {
                self.add_untagged(&manifest.descriptor()).await?;
            }
            Ok(())
        })
    }
}
