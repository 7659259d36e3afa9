//! Whole images: [`Client::get_image`] (with platform selection) returning
//! an [`Image`] handle with manifest, config and layer streams (the
//! go-containerregistry `v1.Image` surface, layers as [`RemoteLayer`]s);
//! [`Client::push_image`] for images built with [`ImageBuilder`] and for
//! images got from any registry (mirroring), and [`Client::push_index`]
//! (blobs concurrently, then manifests).
//!
//! | go-containerregistry `v1.Image` | [`Image`] |
//! |---|---|
//! | `MediaType()` | [`media_type`](Image::media_type) |
//! | `Size()` | [`size`](Image::size) |
//! | `Digest()` | [`digest`](Image::digest) |
//! | `Manifest()`, `RawManifest()` | [`manifest`](Image::manifest), [`raw_manifest`](Image::raw_manifest) |
//! | `ConfigName()` | [`config_name`](Image::config_name) |
//! | `ConfigFile()`, `RawConfigFile()` | [`config`](Image::config), [`config_bytes`](Image::config_bytes) |
//! | `Layers()` | [`remote_layers`](Image::remote_layers) (descriptors: [`layers`](Image::layers)) |
//! | `LayerByDigest()` | [`layer_by_digest`](Image::layer_by_digest) |
//! | `LayerByDiffID()` | [`layer_by_diff_id`](Image::layer_by_diff_id) |

mod build;
mod layer;
mod push;

pub use build::{ImageBuilder, ImageLayer, NewImage, NewIndex};
pub use layer::RemoteLayer;
pub use push::PushableImage;

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest, Platform};
use registry_core::{Digest, Error, ErrorKind};

use futures_util::TryStreamExt;
use tokio::io::AsyncWrite;
use tokio_util::io::StreamReader;

use crate::blob::Blob;
use crate::client::Client;
use crate::descriptor::{self, CheckedDescriptor};
use crate::extract::{ExtractSummary, Layer};
use crate::manifest::Manifest;
use crate::media_type::{DOCKER_CONFIG, OCI_CONFIG};
use crate::platform;
use crate::reference::IntoTarget;

/// The largest image config accepted.
pub const MAX_CONFIG_SIZE: usize = 32 * 1024 * 1024;

/// Options of [`Client::get_image`].
#[derive(Debug, Clone, Default)]
pub struct GetImageOptions {
    /// The platform to pick from an index (default: the host's).
    pub platform: Option<Platform>,
}

impl GetImageOptions {
    /// Options picking `platform` (`arm64` implies variant `v8`).
    pub fn for_platform(platform: Platform) -> GetImageOptions {
        GetImageOptions {
            platform: Some(platform),
        }
    }
}

/// An image in a registry: its manifest and config are fetched, layers
/// are streamed on demand.
#[derive(Debug, Clone)]
pub struct Image {
    client: Client,
    index: Option<Manifest>,
    manifest: Manifest,
    config_descriptor: CheckedDescriptor,
    config_bytes: Bytes,
    config: ImageConfiguration,
}

impl Image {
    /// The media type of the image manifest (OCI or Docker v2 schema 2).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) {
    /// assert!(oci_dist::media_type::is_image_manifest(image.media_type()));
    /// # }
    /// ```
    pub fn media_type(&self) -> &str {
        self.manifest.media_type()
    }

    /// The size of the image manifest in bytes (of its exact bytes, as
    /// stored).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) {
    /// assert_eq!(image.size(), image.raw_manifest().bytes().len() as u64);
    /// # }
    /// ```
    pub fn size(&self) -> u64 {
        self.manifest.size()
    }

    /// The digest of the config blob (go-containerregistry's `ConfigName`).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) {
    /// assert!(image.config_name().matches(image.config_bytes()));
    /// # }
    /// ```
    pub fn config_name(&self) -> &Digest {
        self.config_descriptor.digest()
    }

    /// The diff ids of the config's `rootfs`, one per layer.
    fn diff_ids(&self) -> Result<Vec<Digest>, Error> {
        let ids = self.config.rootfs().diff_ids();
        if ids.len() != self.layers().len() {
            return Err(Error::invalid_content(format!(
                "image {}: its config lists {} diff ids for {} layers",
                self.digest(),
                ids.len(),
                self.layers().len()
            )));
        }
        ids.iter().map(|d| descriptor::parse_digest(d)).collect()
    }

    /// The layers, base layer first, each with its diff id and what it
    /// needs to stream its compressed or uncompressed content (see
    /// [`RemoteLayer`]). Nothing is downloaded. An error of kind
    /// [`ErrorKind::InvalidContent`] when the config does not list one diff
    /// id per layer.
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let image = app.get_image("v1", &Default::default()).await?;
    /// for layer in image.remote_layers()? {
    ///     println!("{} -> {}", layer.digest(), layer.diff_id());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn remote_layers(&self) -> Result<Vec<RemoteLayer>, Error> {
        let diff_ids = self.diff_ids()?;
        self.layers()
            .iter()
            .zip(diff_ids)
            .map(|(d, diff_id)| {
                Ok(RemoteLayer::new(
                    self.client.clone(),
                    CheckedDescriptor::try_from(d)?,
                    diff_id,
                ))
            })
            .collect()
    }

    /// The layer whose compressed blob has `digest`; an error of kind
    /// [`ErrorKind::NotFound`] when the image has none.
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image, digest: oci_dist::Digest) -> Result<(), registry_core::Error> {
    /// let layer = image.layer_by_digest(&digest)?;
    /// let blob = layer.compressed().await?;
    /// # drop(blob);
    /// # Ok(()) }
    /// ```
    pub fn layer_by_digest(&self, digest: &Digest) -> Result<RemoteLayer, Error> {
        self.find_layer(|l| l.digest() == digest, "digest", digest)
    }

    /// The layer whose uncompressed tar has `diff_id` (from the config's
    /// `rootfs.diff_ids`); an error of kind [`ErrorKind::NotFound`] when
    /// the image has none.
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image, diff_id: oci_dist::Digest) -> Result<(), registry_core::Error> {
    /// let layer = image.layer_by_diff_id(&diff_id)?;
    /// let tar = layer.uncompressed().await?;
    /// # drop(tar);
    /// # Ok(()) }
    /// ```
    pub fn layer_by_diff_id(&self, diff_id: &Digest) -> Result<RemoteLayer, Error> {
        self.find_layer(|l| l.diff_id() == diff_id, "diff id", diff_id)
    }

    fn find_layer(
        &self,
        pick: impl Fn(&RemoteLayer) -> bool,
        what: &str,
        wanted: &Digest,
    ) -> Result<RemoteLayer, Error> {
        self.remote_layers()?.into_iter().find(pick).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("image {} has no layer with {what} {wanted}", self.digest()),
            )
        })
    }

    /// The image manifest.
    pub fn manifest(&self) -> &ImageManifest {
        self.manifest
            .as_image()
            .expect("an image holds an image manifest")
    }

    /// The image manifest with its exact bytes, media type and digest.
    pub fn raw_manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The digest of the image manifest.
    pub fn digest(&self) -> &Digest {
        self.manifest.digest()
    }

    /// The index the image was selected from, if the reference named one.
    pub fn index(&self) -> Option<&Manifest> {
        self.index.as_ref()
    }

    /// The image configuration.
    pub fn config(&self) -> &ImageConfiguration {
        &self.config
    }

    /// The config exactly as stored.
    pub fn config_bytes(&self) -> &Bytes {
        &self.config_bytes
    }

    /// The platform from the config.
    pub fn platform(&self) -> Platform {
        platform::normalize(&config_platform(&self.config))
    }

    /// The layer descriptors, base layer first.
    pub fn layers(&self) -> &[Descriptor] {
        self.manifest().layers()
    }

    /// Streams layer `i` (verified against its digest and size).
    pub async fn layer(&self, i: usize) -> Result<Blob, Error> {
        let desc = self.layers().get(i).ok_or_else(|| {
            Error::invalid_input(format!(
                "image {} has {} layers, no layer {i}",
                self.digest(),
                self.layers().len()
            ))
        })?;
        self.client
            .fetch_checked_blob(&CheckedDescriptor::try_from(desc)?)
            .await
    }

    /// The client of the image's repository.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes the image's merged filesystem as one tar stream to `out`
    /// (see [`crate::extract`]: whiteouts applied, hostile paths refused).
    /// Layers are downloaded one at a time, newest first, and verified
    /// while read; on a digest mismatch the tar is left unfinished and the
    /// error has kind [`ErrorKind::DigestMismatch`].
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let image = app.get_image("v1", &Default::default()).await?;
    /// let mut out = tokio::fs::File::create("rootfs.tar").await?;
    /// let summary = image.extract(&mut out).await?;
    /// println!("{} entries", summary.entries);
    /// # Ok(()) }
    /// ```
    pub async fn extract<W>(&self, out: W) -> Result<ExtractSummary, Error>
    where
        W: AsyncWrite + Unpin,
    {
        let mut layers = Vec::with_capacity(self.layers().len());
        for desc in self.layers() {
            let desc = CheckedDescriptor::try_from(desc)?;
            let (media_type, digest, size) = (
                desc.media_type().to_owned(),
                desc.digest().clone(),
                desc.size(),
            );
            let client = &self.client;
            let open = async move {
                let blob = client.fetch_checked_blob(&desc).await?;
                Ok(StreamReader::new(
                    blob.into_stream().map_err(std::io::Error::from),
                ))
            };
            layers.push(Layer::lazy(&media_type, digest, open)?.with_size(size));
        }
        crate::extract::extract(layers, out).await
    }
}

impl Client {
    /// The image a tag or digest points to; for an index, the image for
    /// `options.platform` (default: the host platform). A missing image or
    /// platform is an error of kind [`ErrorKind::NotFound`] that lists the
    /// available platforms.
    ///
    /// ```no_run
    /// use oci_dist::image::GetImageOptions;
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let arm = oci_dist::platform::parse("linux/arm64")?;
    /// let image = app.get_image("v1", &GetImageOptions::for_platform(arm)).await?;
    /// println!("{} layers, config {:?}", image.layers().len(), image.config().config());
    /// let mut first = image.layer(0).await?;
    /// # drop(first);
    /// # Ok(()) }
    /// ```
    pub async fn get_image(
        &self,
        target: impl IntoTarget,
        options: &GetImageOptions,
    ) -> Result<Image, Error> {
        let top = self.get_manifest_target(&target.into_target()?).await?;
        let (manifest, index) = if top.is_index() {
            (self.select_image(&top, options).await?, Some(top))
        } else {
            (top, None)
        };
        let (config_descriptor, config_bytes, config) = self.fetch_config(&manifest).await?;
        if index.is_none()
            && let Some(wanted) = &options.platform
        {
            check_platform(&manifest, &config, wanted)?;
        }
        Ok(Image {
            client: self.clone(),
            index,
            manifest,
            config_descriptor,
            config_bytes,
            config,
        })
    }

    /// The image manifest for `options.platform` (default: the host's) out
    /// of the index `top`.
    async fn select_image(
        &self,
        top: &Manifest,
        options: &GetImageOptions,
    ) -> Result<Manifest, Error> {
        let idx = top.as_index().expect("called with an index");
        let wanted = options.platform.clone().unwrap_or_else(platform::host);
        let desc = platform::select(idx, &wanted).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "{}: no image for platform {} in index {}; available: {}",
                    self.registry(),
                    platform::to_string(&wanted),
                    top.digest(),
                    platform::available(idx).join(", ")
                ),
            )
        })?;
        let m = self.fetch_manifest(desc).await?;
        if m.is_index() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "index {} lists another index for the platform",
                    top.digest()
                ),
            ));
        }
        Ok(m)
    }

    /// The config of an image manifest: exact bytes and parsed. Refuses a
    /// manifest whose config is not a container image config.
    async fn fetch_config(
        &self,
        manifest: &Manifest,
    ) -> Result<(CheckedDescriptor, Bytes, ImageConfiguration), Error> {
        let image = manifest.as_image().expect("an image manifest");
        let descriptor = CheckedDescriptor::try_from(image.config())?;
        let config_mt = descriptor.media_type();
        if config_mt != OCI_CONFIG && config_mt != DOCKER_CONFIG {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} is not a container image: its config is {config_mt}",
                    manifest.digest()
                ),
            ));
        }
        let config_bytes = self
            .fetch_checked_blob(&descriptor)
            .await?
            .bytes(MAX_CONFIG_SIZE)
            .await?;
        let config: ImageConfiguration = serde_json::from_slice(&config_bytes).map_err(|e| {
            Error::protocol(format!("invalid image config of {}", manifest.digest())).with_source(e)
        })?;
        Ok((descriptor, config_bytes, config))
    }
}

/// Refuses an image (named directly, not picked from an index) whose config
/// is for another platform than `wanted`.
fn check_platform(
    manifest: &Manifest,
    config: &ImageConfiguration,
    wanted: &Platform,
) -> Result<(), Error> {
    let have = config_platform(config);
    if platform::matches(wanted, &have) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "image {} is for {}, not {}",
            manifest.digest(),
            platform::to_string(&platform::normalize(&have)),
            platform::to_string(wanted)
        ),
    ))
}

/// The platform an image config names (as written: not normalised).
fn config_platform(c: &ImageConfiguration) -> Platform {
    let (os, arch) = (c.os().to_string(), c.architecture().to_string());
    platform::new(&os, &arch, c.variant().as_deref())
}
