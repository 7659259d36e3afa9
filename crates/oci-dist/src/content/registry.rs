//! [`ImageSource`] and [`ImageDestination`] for a registry repository: the
//! scoped [`Client`].
//!
//! Round trips: a blob is mounted with one `POST ?mount=&from=` and no
//! `HEAD` first (a blob already here is a `201` too), from the copy's
//! source or from another repository the client saw it in (the client's
//! blob-info cache, `client/blob_info.rs`); a refused mount's upload
//! session (`202`) carries the upload. Manifests below a root are `PUT`
//! without a `HEAD` ([`ImageDestination::check_manifests_first`]).

use registry_core::{Digest, Error};

use super::{
    BlobPlacement, BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource, MountOrigin,
};
use crate::client::Client;
use crate::descriptor::CheckedDescriptor;
use crate::manifest::Manifest;
use crate::progress::BlobOutcome;
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
        Box::pin(async move {
            let blob = self.fetch_checked_blob(descriptor).await?;
            if let Ok(repo) = self.repo() {
                self.blob_info().record(descriptor.digest(), repo);
            }
            Ok(blob.into_stream())
        })
    }

    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move {
            let stream = self
                .get_blob_from(descriptor.digest(), Some(descriptor.size()), offset)
                .await?;
            if let Ok(repo) = self.repo() {
                self.blob_info().record(descriptor.digest(), repo);
            }
            Ok(stream)
        })
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
        Box::pin(async move {
            let there = Client::blob_exists(self, descriptor.digest()).await?;
            if there {
                self.blob_info().record(descriptor.digest(), self.repo()?);
            }
            Ok(there)
        })
    }

    fn store_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
        placement: BlobPlacement<'a>,
    ) -> BoxFuture<'a, Result<BlobOutcome, Error>> {
        Box::pin(async move {
            let digest = descriptor.digest();
            let repo = self.repo()?;
            // The copy's source when it is another repository here, else
            // one this client saw the blob in.
            let from = placement
                .origin
                .filter(|o| o.registry == self.host() && o.repository != repo)
                .map(|o| o.repository.clone())
                .or_else(|| self.blob_info().elsewhere(digest, repo))
                .filter(|_| placement.mount);
            if let Some(from) = from {
                match Client::mount_blob(self, digest, &from).await {
                    Ok(Mount::Mounted) => return Ok(BlobOutcome::Mounted),
                    Ok(Mount::Upload(session)) => {
                        self.upload_blob_into(session, content, digest, descriptor.size())
                            .await?;
                        return Ok(BlobOutcome::Copied);
                    }
                    // No session was opened: check and upload as without.
                    Err(e) => {
                        tracing::info!(%digest, from, error = %e, "mount failed; uploading instead")
                    }
                }
            }
            if placement.skip_existing && ImageDestination::blob_exists(self, descriptor).await? {
                return Ok(BlobOutcome::Skipped);
            }
            self.upload_blob(content, digest, descriptor.size()).await?;
            Ok(BlobOutcome::Copied)
        })
    }

    fn check_manifests_first(&self) -> bool {
        false
    }

    fn verifies_blobs(&self) -> bool {
        true
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
        Box::pin(Client::manifest_exists(self, descriptor.digest()))
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
