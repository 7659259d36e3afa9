//! Bundles: many repositories in one OCI archive (`oci-archive:FILE.tar`),
//! to carry a mirror across an air gap.
//!
//! A bundle is one OCI image layout in a tar (see [`crate::archive`]);
//! every blob is stored once, however many repositories share it. Each
//! tagged image is listed in `index.json` with the ref name `REPO:TAG`
//! (`org.opencontainers.image.ref.name`, e.g. `library/alpine:3.19`), which
//! is what `skopeo copy oci-archive:FILE.tar:REPO:TAG …` reads. An image
//! copied by digest only is listed without a ref name and with the
//! annotation [`REPOSITORY_ANNOTATION`] naming its repository. A ref name
//! without `:` (a single-image archive tagged `v1`) is the tag of the
//! empty repository `""`, which a sync puts at the destination prefix
//! itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use oci_spec::image::Descriptor;
use registry_core::{Error, ErrorKind};

use super::{Endpoint, Store};
use crate::archive::{OciArchiveReader, OciArchiveWriter};
use crate::content::{BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource};
use crate::descriptor::CheckedDescriptor;
use crate::layout::index::ref_name;
use crate::manifest::Manifest;
use crate::reference::{Tag, TagOrDigest};

/// The annotation naming the repository of an image listed untagged in a
/// bundle's `index.json` (one copied by digest only).
pub const REPOSITORY_ANNOTATION: &str = "dev.crctl.sync.repository";

/// The ref name of `tag` of `repository` in a bundle: `REPO:TAG`, or the
/// tag alone for the empty repository.
///
/// ```
/// use oci_dist::sync::bundle_ref_name;
/// assert_eq!(bundle_ref_name("library/alpine", "3.19"), "library/alpine:3.19");
/// assert_eq!(bundle_ref_name("", "v1"), "v1");
/// ```
pub fn bundle_ref_name(repository: &str, tag: &str) -> String {
    if repository.is_empty() {
        tag.to_owned()
    } else {
        format!("{repository}:{tag}")
    }
}

/// The repository and tag a bundle ref name stands for: split at its last
/// `:` (a tag never contains one), or the empty repository.
///
/// ```
/// use oci_dist::sync::split_bundle_ref_name;
/// assert_eq!(split_bundle_ref_name("library/alpine:3.19"), ("library/alpine", "3.19"));
/// assert_eq!(split_bundle_ref_name("v1"), ("", "v1"));
/// ```
pub fn split_bundle_ref_name(name: &str) -> (&str, &str) {
    name.rsplit_once(':').unwrap_or(("", name))
}

/// A bundle as a sync source or destination: many repositories in one
/// OCI archive.
///
/// A bundle is one OCI image layout in a tar (see [`crate::archive`]);
/// every blob is stored once, however many repositories share it. Each
/// tagged image is listed in `index.json` with the ref name `REPO:TAG`
/// ([`bundle_ref_name`], e.g. `library/alpine:3.19`), which is what `skopeo
/// copy oci-archive:FILE.tar:REPO:TAG …` reads. An image copied by digest
/// only is listed without a ref name, with the annotation
/// [`REPOSITORY_ANNOTATION`] naming its repository. A ref name without `:`
/// (a single-image archive tagged `v1`) is a tag of the empty repository
/// `""`, which [`destination_name`](super::destination_name) puts at the
/// destination prefix itself.
///
/// As a source ([`open`](Self::open)) its repositories and tags come from
/// the ref names in `index.json`. As a destination
/// ([`create`](Self::create)) one [`OciArchiveWriter`] takes every
/// repository's images, each blob stored once; nothing is there to compare
/// with (every tag is copied), and [`Endpoint::finish`] writes `index.json`
/// and renames the file into place. Dropped unfinished, it leaves nothing.
///
/// ```no_run
/// use std::sync::Arc;
/// use oci_dist::Client;
/// use oci_dist::sync::{self, ArchiveEndpoint, Endpoint, RegistryEndpoint, SyncJob, SyncOptions, TagSelector};
/// # async fn run() -> Result<(), oci_dist::Error> {
/// // Connected side: registry -> bundle.
/// let src = Arc::new(RegistryEndpoint::new(Client::new("registry.example")?));
/// let bundle = ArchiveEndpoint::create("bundle.tar").await?;
/// let jobs = vec![SyncJob::new(src, "library/alpine", TagSelector::All, "library/alpine")];
/// let opts = SyncOptions::default();
/// let plan = sync::plan(&jobs, &bundle, &opts).await;
/// let report = sync::execute(&plan, &jobs, &bundle, &opts).await;
/// bundle.finish().await?; // bundle.tar now exists
///
/// // Air-gapped side: bundle -> registry, every repository under `mirror/`.
/// let bundle = Arc::new(ArchiveEndpoint::open("bundle.tar").await?);
/// let jobs: Vec<SyncJob> = bundle
///     .repositories()
///     .into_iter()
///     .map(|r| {
///         let dest = sync::destination_name("mirror", &r, false);
///         SyncJob::new(bundle.clone(), r, TagSelector::All, dest)
///     })
///     .collect();
/// let dest = RegistryEndpoint::new(Client::new("registry.internal")?);
/// let plan = sync::plan(&jobs, &dest, &opts).await;
/// sync::execute(&plan, &jobs, &dest, &opts).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ArchiveEndpoint {
    path: PathBuf,
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Read(Arc<OciArchiveReader>),
    /// Taken by `finish`.
    Write(Mutex<Option<Arc<OciArchiveWriter>>>),
}

impl ArchiveEndpoint {
    /// Opens the bundle at `path` to read (a missing file is
    /// [`ErrorKind::NotFound`]).
    pub async fn open(path: impl AsRef<Path>) -> Result<ArchiveEndpoint, Error> {
        let reader = OciArchiveReader::open(path.as_ref()).await?;
        Ok(ArchiveEndpoint {
            path: path.as_ref().to_path_buf(),
            mode: Mode::Read(Arc::new(reader)),
        })
    }

    /// Starts a bundle that [`Endpoint::finish`] puts at `path` (replacing
    /// any file there).
    pub async fn create(path: impl AsRef<Path>) -> Result<ArchiveEndpoint, Error> {
        let writer = OciArchiveWriter::create(path.as_ref()).await?;
        Ok(ArchiveEndpoint {
            path: path.as_ref().to_path_buf(),
            mode: Mode::Write(Mutex::new(Some(Arc::new(writer)))),
        })
    }

    /// The bundle file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The repositories of a bundle opened to read, sorted: those of the
    /// ref names and of the untagged images. Empty for one being written.
    pub fn repositories(&self) -> Vec<String> {
        let Mode::Read(reader) = &self.mode else {
            return Vec::new();
        };
        let repositories: BTreeSet<&str> = entries(reader).map(|(r, ..)| r).collect();
        repositories.into_iter().map(str::to_owned).collect()
    }
}

/// The entries of a bundle's `index.json`, each with its repository and
/// tag (`None`: listed untagged, with [`REPOSITORY_ANNOTATION`]).
fn entries(reader: &OciArchiveReader) -> impl Iterator<Item = (&str, Option<&str>, &Descriptor)> {
    reader
        .index()
        .manifests()
        .iter()
        .filter_map(|d| match ref_name(d) {
            Some(name) => {
                let (repository, tag) = split_bundle_ref_name(name);
                Some((repository, Some(tag), d))
            }
            None => {
                let repository = d.annotations().as_ref()?.get(REPOSITORY_ANNOTATION)?;
                Some((repository.as_str(), None, d))
            }
        })
}

impl Endpoint for ArchiveEndpoint {
    fn describe(&self) -> String {
        format!("oci-archive:{}", self.path.display())
    }

    /// Opens `repository` of the bundle. A bundle being written has
    /// nothing to read: without `create` it is `NotFound` (so that a plan
    /// copies every tag).
    fn open<'a>(
        &'a self,
        repository: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Arc<dyn Store>, Error>> {
        Box::pin(async move {
            let side = match &self.mode {
                Mode::Read(reader) => Side::Read(reader.clone()),
                Mode::Write(w) if create => {
                    let writer = w.lock().expect("poisoned").clone();
                    Side::Write(writer.ok_or_else(|| {
                        let path = self.path.display();
                        Error::invalid_input(format!("bundle {path} is finished already"))
                    })?)
                }
                Mode::Write(_) => {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("{repository:?} is not in the new bundle yet"),
                    ));
                }
            };
            let repository = repository.to_owned();
            Ok(Arc::new(BundleRepo { side, repository }) as Arc<dyn Store>)
        })
    }

    /// The tags of `repository` (from the ref names), then the digests of
    /// its untagged images (`sha256:…`, copied by digest).
    fn list_tags<'a>(&'a self, repository: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let Mode::Read(reader) = &self.mode else {
                return Ok(Vec::new());
            };
            let mut tags = Vec::new();
            let mut digests = Vec::new();
            for (_, tag, d) in entries(reader).filter(|(r, ..)| *r == repository) {
                match tag {
                    Some(t) if !tags.iter().any(|x: &String| x == t) => tags.push(t.to_owned()),
                    Some(_) => {}
                    None => digests.push(d.digest().to_string()),
                }
            }
            if tags.is_empty() && digests.is_empty() {
                let path = self.path.display();
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("repository {repository:?} not found in bundle {path}"),
                ));
            }
            tags.extend(digests);
            Ok(tags)
        })
    }

    fn finish(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let Mode::Write(w) = &self.mode else {
                return Ok(());
            };
            let Some(writer) = w.lock().expect("poisoned").take() else {
                return Ok(());
            };
            let writer = Arc::try_unwrap(writer).map_err(|_| {
                let path = self.path.display();
                Error::invalid_input(format!("bundle {path} is still being written to"))
            })?;
            writer.finish().await
        })
    }
}

/// One repository of a bundle: reads resolve tags as `REPO:TAG`; writes
/// list tags that way and untagged roots with [`REPOSITORY_ANNOTATION`].
struct BundleRepo {
    side: Side,
    repository: String,
}

/// Reading a bundle, or writing one.
enum Side {
    Read(Arc<OciArchiveReader>),
    Write(Arc<OciArchiveWriter>),
}

impl BundleRepo {
    fn reader(&self) -> Result<&OciArchiveReader, Error> {
        match &self.side {
            Side::Read(r) => Ok(r),
            Side::Write(_) => Err(Error::new(
                ErrorKind::Unsupported,
                "a bundle being written cannot be read",
            )),
        }
    }

    fn writer(&self) -> Result<&OciArchiveWriter, Error> {
        match &self.side {
            Side::Write(w) => Ok(w),
            Side::Read(r) => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "bundle {} was opened to read; write a new one with ArchiveEndpoint::create",
                    r.path().display()
                ),
            )),
        }
    }

    fn path(&self) -> &Path {
        match &self.side {
            Side::Read(r) => r.path(),
            Side::Write(w) => w.path(),
        }
    }
}

impl ImageSource for BundleRepo {
    fn describe(&self) -> String {
        format!("oci-archive:{}:{}", self.path().display(), self.repository)
    }

    fn resolve<'a>(
        &'a self,
        target: &'a TagOrDigest,
    ) -> BoxFuture<'a, Result<CheckedDescriptor, Error>> {
        Box::pin(async move {
            let reader = self.reader()?;
            match target {
                TagOrDigest::Digest(d) => reader.resolve_digest(d).await,
                TagOrDigest::Tag(t) => {
                    reader.resolve_tag(&bundle_ref_name(&self.repository, t.as_str()))
                }
            }
        })
    }

    fn fetch_manifest<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<Manifest, Error>> {
        Box::pin(async move { self.reader()?.fetch_manifest(descriptor).await })
    }

    fn fetch_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move { self.reader()?.fetch_blob(descriptor).await })
    }

    fn fetch_blob_from<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        offset: u64,
    ) -> BoxFuture<'a, Result<ByteStream, Error>> {
        Box::pin(async move { self.reader()?.fetch_blob_from(descriptor, offset).await })
    }
}

impl ImageDestination for BundleRepo {
    fn describe(&self) -> String {
        ImageSource::describe(self)
    }

    fn blob_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move { self.writer()?.blob_exists(descriptor).await })
    }

    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { self.writer()?.push_blob(descriptor, content).await })
    }

    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        self.blob_exists(descriptor)
    }

    /// The tag becomes the ref name `REPO:TAG`.
    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let name = tag.map(|t| bundle_ref_name(&self.repository, t.as_str()));
            self.writer()?
                .push_manifest_named(manifest, name.as_deref())
                .await
        })
    }

    /// A root copied without a tag is listed untagged, with
    /// [`REPOSITORY_ANNOTATION`].
    fn record_root<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if tag.is_none() {
                self.writer()?
                    .record_untagged(manifest, REPOSITORY_ANNOTATION, &self.repository)
                    .await;
            }
            Ok(())
        })
    }
}
