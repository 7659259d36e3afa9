//! [`ImageSource`] and [`ImageDestination`] for a registry repository: the
//! scoped [`Client`].

use oci_spec::image::Descriptor;
use registry_core::{Error, ErrorKind};

use super::{BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource, MountOrigin};
use crate::client::Client;
use crate::descriptor;
use crate::manifest::Manifest;
use crate::reference::TagOrDigest;
use crate::upload::Mount;

impl ImageSource for Client {
    fn describe(&self) -> String {
        self.registry()
    }

    fn resolve<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Descriptor, Error>> {
        Box::pin(Client::resolve(self, reference))
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a Descriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(Client::fetch_manifest(self, descriptor))
    }

    fn fetch_reference<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(Client::get_manifest(self, reference))
    }

    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a Descriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move { Ok(Client::fetch_blob(self, descriptor).await?.into_stream()) })
    }

    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a Descriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move {
            let digest = descriptor::digest_of(descriptor)?;
            self.get_blob_from(&digest, Some(descriptor.size()), offset)
                .await
        })
    }

    fn mount_origin(&self) -> Option<MountOrigin> {
        Some(MountOrigin {
            registry: self.host().to_owned(),
            repository: self.scope().to_owned(),
        })
    }
}

impl ImageDestination for Client {
    fn describe(&self) -> String {
        self.registry()
    }

    fn blob_exists<'a>(&'a self, descriptor: &'a Descriptor) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(
            async move { Client::blob_exists(self, &descriptor::digest_of(descriptor)?).await },
        )
    }

    fn push_blob<'a>(
        &'a self,
        descriptor: &'a Descriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let digest = descriptor::digest_of(descriptor)?;
            self.upload_blob(content, &digest, descriptor.size())
                .await
                .map(drop)
        })
    }

    fn mount_blob<'a>(
        &'a self,
        descriptor: &'a Descriptor,
        origin: &'a MountOrigin,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            if origin.registry != self.host() || origin.repository == self.scope() {
                return Ok(false);
            }
            let digest = descriptor::digest_of(descriptor)?;
            match Client::mount_blob(self, &digest, &origin.repository).await? {
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
        descriptor: &'a Descriptor,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let digest = descriptor::digest_of(descriptor)?;
            match Client::resolve(self, &digest.to_string()).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let target = match tag {
                Some(t) => t.to_owned(),
                None => TagOrDigest::Digest(manifest.digest().clone()).as_path(),
            };
            self.put_manifest(&target, manifest).await.map(drop)
        })
    }
}
