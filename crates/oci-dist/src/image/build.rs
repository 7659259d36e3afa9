//! Building images and indexes to push: [`ImageBuilder`] → [`NewImage`],
//! [`NewIndex`]. Both are [`ImageSource`]s, so pushing them is a copy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_spec::image::{
    Descriptor, ImageConfiguration, ImageIndexBuilder, ImageManifestBuilder, MediaType, Platform,
};
use registry_core::digest::{Algorithm, Digester};
use registry_core::{Digest, Error, ErrorKind};

use crate::content::{BlobSource, BoxFuture, ByteStream, FileSource, ImageSource, verify_stream};
use crate::descriptor::{self, CheckedDescriptor};
use crate::manifest::Manifest;
use crate::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_EMPTY,
};
use crate::reference::TagOrDigest;

/// A layer (or any blob) of an image being built: its descriptor and
/// where its bytes come from.
#[derive(Clone)]
pub struct ImageLayer {
    descriptor: Descriptor,
    source: Arc<dyn BlobSource>,
}

impl std::fmt::Debug for ImageLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageLayer")
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

impl ImageLayer {
    /// A layer from memory.
    pub fn from_bytes(media_type: &str, data: impl Into<Bytes>) -> ImageLayer {
        let data = data.into();
        let digest = Digest::sha256_of(&data);
        ImageLayer {
            descriptor: descriptor::new(media_type, &digest, data.len() as u64),
            source: Arc::new(data),
        }
    }

    /// A layer from a file, hashed now (streaming) and read again when
    /// pushed.
    pub async fn from_file(
        media_type: &str,
        path: impl Into<PathBuf>,
    ) -> Result<ImageLayer, Error> {
        let source = FileSource::new(path);
        let mut stream = source.open(0).await?;
        let mut d = Digester::new(Algorithm::Sha256);
        while let Some(chunk) = stream.try_next().await? {
            d.update(&chunk);
        }
        let size = d.bytes();
        Ok(ImageLayer {
            descriptor: descriptor::new(media_type, &d.finish(), size),
            source: Arc::new(source),
        })
    }

    /// A layer with a known descriptor and any content source.
    pub fn new(descriptor: Descriptor, source: Arc<dyn BlobSource>) -> ImageLayer {
        ImageLayer { descriptor, source }
    }

    /// The descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// Builds an image (or artifact) manifest from a config and layers.
///
/// ```
/// use oci_dist::image::{ImageBuilder, ImageLayer};
/// let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
/// let image = ImageBuilder::new()
///     .config_bytes(oci_dist::media_type::OCI_CONFIG, &config[..])
///     .layer(ImageLayer::from_bytes(oci_dist::media_type::OCI_LAYER_GZIP, &b"not really gzip"[..]))
///     .annotation("org.opencontainers.image.title", "demo")
///     .build()
///     .unwrap();
/// assert_eq!(image.manifest().blobs().len(), 2);
/// assert_eq!(oci_dist::platform::to_string(image.platform().unwrap()), "linux/amd64");
/// ```
#[derive(Debug, Default)]
pub struct ImageBuilder {
    config: Option<(String, Bytes)>,
    layers: Vec<ImageLayer>,
    annotations: HashMap<String, String>,
    subject: Option<Descriptor>,
    artifact_type: Option<String>,
    docker: bool,
}

impl ImageBuilder {
    /// An empty builder.
    pub fn new() -> ImageBuilder {
        ImageBuilder::default()
    }

    /// The config, serialised once (those bytes are what is pushed).
    pub fn config(self, config: &ImageConfiguration) -> Result<ImageBuilder, Error> {
        let bytes = serde_json::to_vec(config).map_err(|e| {
            Error::invalid_input("serialising the image config failed").with_source(e)
        })?;
        let mt = if self.docker {
            DOCKER_CONFIG
        } else {
            OCI_CONFIG
        };
        Ok(self.config_bytes(mt, bytes))
    }

    /// The config as bytes with its media type.
    pub fn config_bytes(mut self, media_type: &str, bytes: impl Into<Bytes>) -> ImageBuilder {
        self.config = Some((media_type.to_owned(), bytes.into()));
        self
    }

    /// Appends a layer (base layer first).
    pub fn layer(mut self, layer: ImageLayer) -> ImageBuilder {
        self.layers.push(layer);
        self
    }

    /// Adds a manifest annotation.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> ImageBuilder {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Makes this a referrer of `subject` (OCI 1.1).
    pub fn subject(mut self, subject: Descriptor) -> ImageBuilder {
        self.subject = Some(subject);
        self
    }

    /// Sets the artifact type; without a config, the config is the empty
    /// JSON blob `{}` (`application/vnd.oci.empty.v1+json`).
    pub fn artifact_type(mut self, t: impl Into<String>) -> ImageBuilder {
        self.artifact_type = Some(t.into());
        self
    }

    /// Uses Docker v2 schema 2 media types for the manifest.
    pub fn docker_media_types(mut self, yes: bool) -> ImageBuilder {
        self.docker = yes;
        self
    }

    /// Builds the manifest.
    pub fn build(self) -> Result<NewImage, Error> {
        let (config_mt, config_bytes) = match (self.config, &self.artifact_type) {
            (Some(c), _) => c,
            (None, Some(_)) => (OCI_EMPTY.to_owned(), Bytes::from_static(b"{}")),
            (None, None) => {
                return Err(Error::invalid_input(
                    "an image needs a config (or an artifact type for an artifact)",
                ));
            }
        };
        let config_digest = Digest::sha256_of(&config_bytes);
        let config_desc = descriptor::new(&config_mt, &config_digest, config_bytes.len() as u64);
        let mt = if self.docker {
            MediaType::from(DOCKER_MANIFEST)
        } else {
            MediaType::ImageManifest
        };
        let mut b = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(mt)
            .config(config_desc.clone())
            .layers(
                self.layers
                    .iter()
                    .map(|l| l.descriptor.clone())
                    .collect::<Vec<_>>(),
            );
        if !self.annotations.is_empty() {
            b = b.annotations(self.annotations);
        }
        if let Some(s) = self.subject {
            b = b.subject(s);
        }
        if let Some(t) = &self.artifact_type {
            b = b.artifact_type(MediaType::from(t.as_str()));
        }
        let manifest = b.build().map_err(|e| {
            Error::invalid_input("building the image manifest failed").with_source(e)
        })?;
        let manifest = Manifest::from_image(&manifest)?;
        let platform = if config_mt == OCI_CONFIG || config_mt == DOCKER_CONFIG {
            serde_json::from_slice::<ImageConfiguration>(&config_bytes)
                .ok()
                .map(|c| super::config_platform(&c))
        } else {
            None
        };
        Ok(NewImage {
            manifest,
            config: (config_desc, config_bytes),
            layers: self.layers,
            platform,
        })
    }
}

/// An image built with [`ImageBuilder`], ready to push.
#[derive(Debug, Clone)]
pub struct NewImage {
    manifest: Manifest,
    config: (Descriptor, Bytes),
    layers: Vec<ImageLayer>,
    platform: Option<Platform>,
}

impl NewImage {
    /// The manifest (exact bytes to be pushed, digest).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest digest.
    pub fn digest(&self) -> &Digest {
        self.manifest.digest()
    }

    /// The platform from the config, when the config is an image config.
    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    fn blob(&self, digest: &Digest) -> Option<Arc<dyn BlobSource>> {
        if descriptor::same_digest(self.config.0.digest(), digest) {
            return Some(Arc::new(self.config.1.clone()));
        }
        self.layers
            .iter()
            .find(|l| descriptor::same_digest(l.descriptor.digest(), digest))
            .map(|l| l.source.clone())
    }
}

/// A multi-platform index over [`NewImage`]s (each entry carries the
/// platform of its image's config).
#[derive(Debug, Clone)]
pub struct NewIndex {
    manifest: Manifest,
    images: Vec<NewImage>,
}

impl NewIndex {
    /// An OCI index of `images`.
    pub fn new(images: Vec<NewImage>) -> Result<NewIndex, Error> {
        Self::build(images, false, HashMap::new())
    }

    /// An index with annotations, optionally as a Docker manifest list.
    pub fn build(
        images: Vec<NewImage>,
        docker: bool,
        annotations: HashMap<String, String>,
    ) -> Result<NewIndex, Error> {
        let manifests: Vec<Descriptor> = images
            .iter()
            .map(|i| {
                let mut d = descriptor::new(i.manifest.media_type(), i.digest(), i.manifest.size());
                d.set_platform(i.platform.clone());
                d
            })
            .collect();
        let mt = if docker {
            MediaType::from(DOCKER_MANIFEST_LIST)
        } else {
            MediaType::ImageIndex
        };
        let mut b = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(mt)
            .manifests(manifests);
        if !annotations.is_empty() {
            b = b.annotations(annotations);
        }
        let index = b
            .build()
            .map_err(|e| Error::invalid_input("building the index failed").with_source(e))?;
        Ok(NewIndex {
            manifest: Manifest::from_index(&index)?,
            images,
        })
    }

    /// The index (exact bytes to be pushed, digest).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The images.
    pub fn images(&self) -> &[NewImage] {
        &self.images
    }
}

pub(super) fn not_here(what: &str, d: &CheckedDescriptor) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("{what} {} is not part of this image", d.digest()),
    )
}

/// The bytes of `src`, verified against `d`; `NotFound` without a source.
fn open_verified<'a>(
    d: &'a CheckedDescriptor,
    src: Option<Arc<dyn BlobSource>>,
) -> BoxFuture<'a, Result<ByteStream, Error>> {
    Box::pin(async move {
        let stream = src.ok_or_else(|| not_here("blob", d))?.open(0).await?;
        Ok(verify_stream(stream, d.digest().clone(), Some(d.size())))
    })
}

/// The manifest with `d`'s digest among `manifests`.
pub(super) fn find_manifest<'a>(
    mut manifests: impl Iterator<Item = &'a Manifest>,
    d: &CheckedDescriptor,
) -> Result<Manifest, Error> {
    manifests
        .find(|m| m.digest() == d.digest())
        .cloned()
        .ok_or_else(|| not_here("manifest", d))
}

/// A built image or index resolves to its own manifest, whatever `target`
/// says (it is the only one it has).
impl ImageSource for NewImage {
    fn describe(&self) -> String {
        format!("new image {}", self.digest())
    }

    fn resolve<'a>(
        &'a self,
        _target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<CheckedDescriptor, Error>> {
        Box::pin(async move { Ok(self.manifest.checked_descriptor()) })
    }

    fn fetch_manifest<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(async move { find_manifest(std::iter::once(&self.manifest), d) })
    }

    fn fetch_blob<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        open_verified(d, self.blob(d.digest()))
    }
}

impl ImageSource for NewIndex {
    fn describe(&self) -> String {
        format!("new index {}", self.manifest.digest())
    }

    fn resolve<'a>(
        &'a self,
        _target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<CheckedDescriptor, Error>> {
        Box::pin(async move { Ok(self.manifest.checked_descriptor()) })
    }

    fn fetch_manifest<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(async move {
            let images = self.images.iter().map(NewImage::manifest);
            find_manifest(std::iter::once(&self.manifest).chain(images), d)
        })
    }

    fn fetch_blob<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        open_verified(d, self.images.iter().find_map(|i| i.blob(d.digest())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn built_images_and_indexes_serve_their_own_blobs_only() {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let image = ImageBuilder::new()
            .config_bytes(OCI_CONFIG, &config[..])
            .layer(ImageLayer::from_bytes(
                crate::media_type::OCI_LAYER_GZIP,
                &b"layer"[..],
            ))
            .build()
            .unwrap();
        let index = NewIndex::new(vec![image.clone()]).unwrap();
        let layer = CheckedDescriptor::new(image.layers[0].descriptor.clone()).unwrap();
        let stranger = CheckedDescriptor::from_parts(OCI_CONFIG, Digest::sha256_of(b"other"), 5);
        for source in [&image as &dyn ImageSource, &index] {
            let stream = source.fetch_blob(&layer).await.unwrap();
            let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
            assert_eq!(chunks.concat(), b"layer");
            let err = source
                .fetch_blob(&stranger)
                .await
                .err()
                .expect("a stranger");
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        }
    }
}
