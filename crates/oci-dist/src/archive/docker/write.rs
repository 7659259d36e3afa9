//! Writing a Docker archive, streaming.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use registry_core::{Digest, Error, ErrorKind, Result};

use super::{MANIFEST_FILE, ManifestItem, REPOSITORIES_FILE, synthesize};
use crate::archive::checked_content;
use crate::archive::tarfile::TarWriter;
use crate::content::{BlobSource, BoxFuture, ByteStream, ImageDestination};
use crate::descriptor::{CheckedDescriptor, digest_of};
use crate::extract::Compression;
use crate::manifest::Manifest;
use crate::media_type::{DOCKER_CONFIG, OCI_CONFIG};
use crate::reference::{Reference, Tag};

/// Writes a Docker archive (`docker load` reads it), streaming: each blob
/// is appended to the tar as it arrives (never held whole in memory) and
/// checked against its digest while written (a blob that fails is taken
/// back out of the tar). Layers are stored as they come (`<hex>.tar`,
/// compressed or not: `docker load` accepts both), configs as
/// `<hex>.json`; `manifest.json` and `repositories` come last, written by
/// [`finish`](Self::finish). The tar is built in a temporary file in the
/// target's directory and renamed into place by `finish` only; dropped
/// unfinished (a failed copy), it leaves nothing behind.
///
/// An archive holds images, not indexes: copy one platform's image
/// ([`CopyOptions::platform`](crate::CopyOptions::platform)); pushing an
/// index is [`ErrorKind::Unsupported`]. Several images can go into one
/// archive (blobs they share are stored once).
///
/// Names: the tag a copy gives becomes `RepoTags` entry
/// `<repository>:<tag>` with the repository set by
/// [`with_repository`](Self::with_repository); without a repository (or a
/// tag) the image is stored untagged.
///
/// ```no_run
/// use oci_dist::archive::DockerArchiveWriter;
/// use oci_dist::{copy, Client, CopyOptions, Tag};
/// # async fn f(client: Client) -> Result<(), oci_dist::Error> {
/// let archive = DockerArchiveWriter::create("app.tar")
///     .await?
///     .with_repository("localhost:5000/app")?;
/// let options = CopyOptions::default().platform(oci_dist::platform::host());
/// copy(&client, "v1", &archive, Tag::new("v1")?, &options).await?;
/// archive.finish().await?; // app.tar: RepoTags ["localhost:5000/app:v1"]
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DockerArchiveWriter {
    path: PathBuf,
    /// `registry/repository` for `RepoTags`.
    repository: Option<String>,
    state: tokio::sync::Mutex<WriterState>,
}

#[derive(Debug)]
struct WriterState {
    tar: TarWriter,
    /// Blobs in the tar, by digest: their archive names.
    blobs: HashMap<Digest, String>,
    /// Image manifests pushed: their config and layer names.
    images: HashMap<Digest, ManifestItem>,
    /// The images of `manifest.json`.
    items: Vec<ManifestItem>,
    /// Copied manifest digest → the digest a reader gives the image.
    archived: HashMap<Digest, Digest>,
}

fn is_config(media_type: &str) -> bool {
    media_type == DOCKER_CONFIG || media_type == OCI_CONFIG || media_type.ends_with("+json")
}

impl DockerArchiveWriter {
    /// Starts an archive that [`finish`](Self::finish) puts at `path`.
    pub async fn create(path: impl AsRef<Path>) -> Result<DockerArchiveWriter> {
        let path = path.as_ref().to_path_buf();
        let tar = TarWriter::create(&path).await?;
        Ok(DockerArchiveWriter {
            path,
            repository: None,
            state: tokio::sync::Mutex::new(WriterState {
                tar,
                blobs: HashMap::new(),
                images: HashMap::new(),
                items: Vec::new(),
                archived: HashMap::new(),
            }),
        })
    }

    /// The repository of the names images get: `repository:tag`, with
    /// `repository` normalised as a reference is (`app` is
    /// `docker.io/library/app`, as skopeo writes it).
    /// [`ErrorKind::InvalidInput`] when it is not a repository name.
    pub fn with_repository(mut self, repository: &str) -> Result<DockerArchiveWriter> {
        let parsed = Reference::parse(repository)?;
        if parsed.tag().is_some() || parsed.digest().is_some() {
            return Err(Error::invalid_input(format!(
                "{repository:?} is not a repository name (it has a tag or digest)"
            )));
        }
        self.repository = Some(parsed.name());
        Ok(self)
    }

    /// Where the archive goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `manifest.json` and `repositories`, ends the tar and renames
    /// it into place (replacing any file there). An archive without images
    /// is [`ErrorKind::InvalidInput`] (`docker load` refuses it).
    pub async fn finish(self) -> Result<()> {
        let state = self.state.into_inner();
        if state.items.is_empty() {
            return Err(Error::invalid_input(format!(
                "no image was copied into {}",
                self.path.display()
            )));
        }
        let mut tar = state.tar;
        let bytes = serde_json::to_vec(&state.items)
            .map_err(|e| Error::protocol("serialising manifest.json").with_source(e))?;
        tar.append_bytes(MANIFEST_FILE, &bytes).await?;
        // Legacy: repository → tag → the top layer's file id.
        let mut repositories: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
        for item in &state.items {
            let top = item
                .layers
                .last()
                .map_or("", |l| l.trim_end_matches(".tar"));
            for repo_tag in &item.repo_tags {
                if let Some((repo, tag)) = repo_tag.rsplit_once(':') {
                    repositories
                        .entry(repo)
                        .or_default()
                        .insert(tag, top.to_owned());
                }
            }
        }
        let bytes = serde_json::to_vec(&repositories)
            .map_err(|e| Error::protocol("serialising repositories").with_source(e))?;
        tar.append_bytes(REPOSITORIES_FILE, &bytes).await?;
        tar.finish().await
    }

    /// The digest of the manifest [`DockerArchiveReader`](super::DockerArchiveReader)
    /// will synthesise for the image copied from manifest `copied` (an
    /// archive stores no manifest, so the copy's digest is not the
    /// archive's). `None` for an image not copied here, or whose layer
    /// media types do not say their compression.
    ///
    /// ```no_run
    /// # use oci_dist::archive::DockerArchiveWriter;
    /// # use oci_dist::{copy, Client, CopyOptions, Tag};
    /// # async fn f(client: Client) -> Result<(), oci_dist::Error> {
    /// let archive = DockerArchiveWriter::create("app.tar").await?;
    /// let report = copy(&client, "v1", &archive, Tag::new("v1")?, &CopyOptions::default()).await?;
    /// let in_archive = archive.archived_digest(&report.digest).await;
    /// # Ok(()) }
    /// ```
    pub async fn archived_digest(&self, copied: &Digest) -> Option<Digest> {
        self.state.lock().await.archived.get(copied).cloned()
    }

    async fn append_blob(&self, descriptor: &CheckedDescriptor, stream: ByteStream) -> Result<()> {
        let digest = descriptor.digest();
        let mut state = self.state.lock().await;
        if state.blobs.contains_key(digest) {
            return Ok(());
        }
        let suffix = if is_config(descriptor.media_type()) {
            "json"
        } else {
            "tar"
        };
        // sha256 names like docker's; other algorithms keep theirs apart.
        let name = match digest.algorithm().as_str() {
            "sha256" => format!("{}.{suffix}", digest.hex()),
            alg => format!("{alg}-{}.{suffix}", digest.hex()),
        };
        state
            .tar
            .append_stream(&name, descriptor.size(), stream)
            .await
            .map_err(|e| e.context(format!("writing blob {digest} to {}", self.path.display())))?;
        state.blobs.insert(digest.clone(), name);
        Ok(())
    }

    /// Records an image manifest: its config and layers must be in the tar.
    async fn add_image(&self, manifest: &Manifest) -> Result<()> {
        let Some(image) = manifest.as_image() else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: a docker archive holds images, not indexes ({} is one); \
                     copy one platform's image",
                    self.path.display(),
                    manifest.digest()
                ),
            ));
        };
        let config = digest_of(image.config())?;
        let layers = image.layers().iter().map(digest_of);
        let layers: Vec<Digest> = layers.collect::<Result<_>>()?;
        let mut state = self.state.lock().await;
        let name_of = |digest: &Digest| -> Result<String> {
            state.blobs.get(digest).cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "blob {digest} of manifest {} was not written",
                        manifest.digest()
                    ),
                )
            })
        };
        let item = ManifestItem {
            config: name_of(&config)?,
            repo_tags: Vec::new(),
            layers: layers.iter().map(name_of).collect::<Result<_>>()?,
        };
        state.images.insert(manifest.digest().clone(), item);
        // What a reader will see (compression from the media types).
        let facts: Option<Vec<(Compression, u64, &Digest)>> = image
            .layers()
            .iter()
            .zip(&layers)
            .map(|(l, d)| {
                let c = Compression::from_media_type(l.media_type().as_ref()).ok()?;
                Some((c, l.size(), d))
            })
            .collect();
        if let Some(facts) = facts {
            let synthesized = synthesize(&config, image.config().size(), facts.into_iter())?;
            state
                .archived
                .insert(manifest.digest().clone(), synthesized.digest().clone());
        }
        Ok(())
    }
}

impl ImageDestination for DockerArchiveWriter {
    fn describe(&self) -> String {
        format!("docker-archive:{}", self.path.display())
    }

    fn blob_exists<'a>(&'a self, descriptor: &'a CheckedDescriptor) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let state = self.state.lock().await;
            Ok(state.blobs.contains_key(descriptor.digest()))
        })
    }

    fn push_blob<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
        content: &'a dyn BlobSource,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let stream = checked_content(descriptor, content).await?;
            self.append_blob(descriptor, stream).await
        })
    }

    fn manifest_exists<'a>(
        &'a self,
        descriptor: &'a CheckedDescriptor,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let state = self.state.lock().await;
            Ok(state.images.contains_key(descriptor.digest()))
        })
    }

    /// An image manifest is remembered (the archive stores no manifests;
    /// [`record_root`](ImageDestination::record_root) lists it); an index
    /// is refused.
    fn push_manifest<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        let _ = tag;
        Box::pin(self.add_image(manifest))
    }

    /// Lists the image in `manifest.json`, named `repository:tag` when
    /// both are known (a name moves from any other image to this one).
    fn record_root<'a>(
        &'a self,
        manifest: &'a Manifest,
        tag: Option<&'a Tag>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let Some(mut item) = state.images.get(manifest.digest()).cloned() else {
                drop(state);
                self.add_image(manifest).await?;
                return self.record_root(manifest, tag).await;
            };
            let name = match (&self.repository, tag) {
                (Some(repo), Some(tag)) => Some(format!("{repo}:{}", tag.as_str())),
                _ => None,
            };
            if let Some(name) = &name {
                for other in &mut state.items {
                    other.repo_tags.retain(|t| t != name);
                }
            }
            let same = |i: &ManifestItem| i.config == item.config && i.layers == item.layers;
            match state.items.iter_mut().find(|i| same(i)) {
                Some(existing) => existing.repo_tags.extend(name),
                None => {
                    item.repo_tags.extend(name);
                    state.items.push(item);
                }
            }
            Ok(())
        })
    }
}
