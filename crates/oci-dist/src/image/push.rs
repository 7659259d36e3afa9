//! Pushing images: [`Client::push_image`] (a built image or one got from
//! any registry), [`Client::push_index`], and what makes an image pushable.

use registry_core::Error;

use crate::client::Client;
use crate::content::{BoxFuture, ByteStream, ImageSource, MountOrigin};
use crate::copy::{CopyOptions, CopyReport, copy};
use crate::descriptor::{self, CheckedDescriptor};
use crate::manifest::Manifest;
use crate::reference::{IntoTarget, TagOrDigest};

use super::{Image, NewImage, NewIndex, build};

impl Client {
    /// Pushes an image under `target` (a tag, or its digest): one built
    /// with [`ImageBuilder`](super::ImageBuilder) ([`NewImage`]), or one got with
    /// [`Client::get_image`] from any client: another repository, another
    /// registry (the mirror pattern: get from one, push to the other). The
    /// blobs go first, concurrently: skipped when the destination has them,
    /// mounted (`POST …/blobs/uploads/?mount=…&from=…`, no bytes sent)
    /// when the image comes from another repository of the same registry,
    /// else streamed from the source to the destination, verified on the
    /// way and never held in memory whole. Then the manifest, with its
    /// exact bytes: the pushed image has the source's digest. This is
    /// [`copy()`] with the image as source.
    ///
    /// An image got out of an index is pushed alone (its image manifest,
    /// not the index); [`copy()`] copies whole indexes.
    ///
    /// ```no_run
    /// use oci_dist::Client;
    /// # async fn run() -> Result<(), registry_core::Error> {
    /// let source = Client::new("source.example.com")?.with_segment("org/project");
    /// let target = Client::new("target.example.com")?.with_segment("mirror/org/project");
    /// let image = source.get_image("v1.0.0", &Default::default()).await?;
    /// let report = target.push_image("v1.0.0", &image).await?;
    /// assert_eq!(&report.digest, image.digest());
    /// # Ok(()) }
    /// ```
    pub async fn push_image(
        &self,
        target: impl IntoTarget,
        image: &impl PushableImage,
    ) -> Result<CopyReport, Error> {
        self.push_image_with(target, image, &self.default_copy_options())
            .await
    }

    /// [`Client::push_image`] with options (jobs, progress, mounting).
    ///
    /// ```no_run
    /// use oci_dist::copy::CopyOptions;
    /// # async fn run(source: oci_dist::Client, target: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let image = source.get_image("v1", &Default::default()).await?;
    /// let options = CopyOptions::default().jobs(8).mount(false);
    /// target.push_image_with("v1", &image, &options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn push_image_with(
        &self,
        target: impl IntoTarget,
        image: &impl PushableImage,
        options: &CopyOptions,
    ) -> Result<CopyReport, Error> {
        let (target, manifest) = (target.into_target()?, image.manifest_to_push());
        crate::manifest::check_push_target(&target, manifest)?;
        copy(image, manifest.digest(), self, target.tag(), options).await
    }

    /// Pushes a multi-platform index: every blob once, each image manifest
    /// by digest, then the index under `target` (a tag, or its digest).
    pub async fn push_index(
        &self,
        target: impl IntoTarget,
        index: &NewIndex,
    ) -> Result<CopyReport, Error> {
        self.push_index_with(target, index, &self.default_copy_options())
            .await
    }

    /// [`Client::push_index`] with options.
    pub async fn push_index_with(
        &self,
        target: impl IntoTarget,
        index: &NewIndex,
        options: &CopyOptions,
    ) -> Result<CopyReport, Error> {
        let (target, manifest) = (target.into_target()?, index.manifest());
        crate::manifest::check_push_target(&target, manifest)?;
        copy(index, manifest.digest(), self, target.tag(), options).await
    }

    /// Copy options from this client's settings.
    pub fn default_copy_options(&self) -> CopyOptions {
        CopyOptions::default().jobs(self.options().jobs)
    }
}

/// An image [`Client::push_image`] pushes: an [`ImageSource`] holding one
/// image manifest, which is pushed with its exact bytes. Implemented by
/// [`NewImage`] (built with [`ImageBuilder`](super::ImageBuilder)) and [`Image`] (got from a
/// registry with [`Client::get_image`]).
///
/// ```no_run
/// use oci_dist::image::PushableImage;
/// # async fn run(source: oci_dist::Client) -> Result<(), registry_core::Error> {
/// fn describe(image: &impl PushableImage) -> String {
///     format!("{} ({} bytes)", image.manifest_to_push().digest(), image.manifest_to_push().size())
/// }
/// let image = source.get_image("v1", &Default::default()).await?;
/// println!("{}", describe(&image));
/// # Ok(()) }
/// ```
pub trait PushableImage: ImageSource {
    /// The image manifest pushed, with its exact bytes.
    ///
    /// ```
    /// use oci_dist::image::{ImageBuilder, PushableImage};
    /// let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    /// let image = ImageBuilder::new()
    ///     .config_bytes(oci_dist::media_type::OCI_CONFIG, &config[..])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(image.manifest_to_push().digest(), image.digest());
    /// ```
    fn manifest_to_push(&self) -> &Manifest;
}

impl PushableImage for NewImage {
    fn manifest_to_push(&self) -> &Manifest {
        self.manifest()
    }
}

impl PushableImage for Image {
    fn manifest_to_push(&self) -> &Manifest {
        &self.manifest
    }
}

/// An image got from a registry is a source of copies: it resolves to its
/// own image manifest whatever the target says; its blobs (config and
/// layers, nothing else) are read from its repository, which blobs can be
/// mounted from.
impl ImageSource for Image {
    fn describe(&self) -> String {
        format!("{}@", self.client.registry())
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
        Box::pin(async move { build::find_manifest(std::iter::once(&self.manifest), d) })
    }

    fn fetch_blob<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move {
            self.own_blob(d)?;
            Ok(self.client.fetch_checked_blob(d).await?.into_stream())
        })
    }

    fn fetch_blob_from<'a>(
        &'a self,
        d: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move {
            self.own_blob(d)?;
            ImageSource::fetch_blob_from(&self.client, d, offset).await
        })
    }

    fn mount_origin(&self) -> Option<MountOrigin> {
        ImageSource::mount_origin(&self.client)
    }
}

impl Image {
    /// Refuses a blob that is not the config or a layer of this image.
    fn own_blob(&self, d: &CheckedDescriptor) -> Result<(), Error> {
        let blobs = self.manifest.blobs();
        let mine = blobs
            .iter()
            .any(|b| descriptor::same_digest(b.digest(), d.digest()));
        mine.then_some(()).ok_or_else(|| build::not_here("blob", d))
    }
}
