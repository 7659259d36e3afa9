//! [`ImageSource`] and [`ImageDestination`] for a registry repository: the
//! scoped [`Client`].

use registry_core::{Digest, Error};

use super::{BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource, MountOrigin};
use crate::client::Client;
use crate::descriptor::CheckedDescriptor;
use crate::manifest::Manifest;
use crate::reference::{Tag, TagOrDigest};
use crate::upload::Mount;

impl ImageSource for Client {
    fn describe(&self) -> String {
        self.registry()
    }

    fn resolve<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<CheckedDescriptor, Error>> {
        Box::pin(self.resolve_target(target))
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(self.fetch_checked_manifest(descriptor))
    }

    fn fetch_reference<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(self.get_manifest_target(target))
    }

    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move { Ok(self.fetch_checked_blob(descriptor).await?.into_stream()) })
    }

    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(self.get_blob_from(descriptor.digest(), Some(descriptor.size()), offset))
    }

    fn mount_origin(&self) -> Option<MountOrigin> {
        Some(MountOrigin {
            registry: self.host().to_owned(),
            repository: self.scope().to_owned(),
        })
    }

    fn referrers<'a>(
        &'a self,
        subject: &'a Digest,
    ) -> BoxFuture<'a, Result<Vec<CheckedDescriptor>, Error>> {
        Box::pin(async move {
            Client::referrers(self, subject, None)
                .await?
                .descriptors
                .iter()
                .map(CheckedDescriptor::try_from)
                .collect()
        })
    }
}

impl ImageDestination for Client {
    fn describe(&self) -> String {
        self.registry()
    }

    fn blob_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(Client::blob_exists(self, descriptor.digest()))
    }

    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.upload_blob(content, descriptor.digest(), descriptor.size())
                .await
                .map(drop)
        })
    }

    fn mount_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        origin: &'a MountOrigin,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            if origin.registry != self.host() || origin.repository == self.scope() {
                return Ok(false);
            }
            match Client::mount_blob(self, descriptor.digest(), &origin.repository).await? {
                Mount::Mounted => Ok(true),
                Mount::Upload(session) => {
                    let _ = self.cancel_upload(session).await;
                    Ok(false)
                }
            }
        })
    }

    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            self.manifest_exists_target(&TagOrDigest::Digest(descriptor.digest().clone()))
                .await
        })
    }

    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let target = match tag {
                Some(t) => TagOrDigest::Tag(t.clone()),
                None => TagOrDigest::Digest(manifest.digest().clone()),
            };
            self.put_manifest_target(&target, manifest).await.map(drop)
        })
    }
}
