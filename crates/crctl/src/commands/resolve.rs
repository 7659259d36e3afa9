//! Shared steps: open a source (registry, layout or archive), resolve a
//! reference, pick the platform's image out of an index.

use facade::oci::archive::{DockerArchiveReader, OciArchiveReader};
use facade::oci::content::ImageSource;
use facade::oci::layout::OciLayout;
use facade::oci::{CheckedDescriptor, Manifest, Reference, TagOrDigest, descriptor, platform};
use oci_spec::image::{Descriptor, Platform};

use crate::cli::GlobalOptions;
use crate::exit::Failure;
use crate::target::{self, Target};

/// A source of images with the reference to look up in it.
pub struct Source {
    /// The registry client or layout.
    pub source: Box<dyn ImageSource>,
    /// Tag or digest to resolve in it.
    pub reference: TagOrDigest,
    /// How the user wrote it, for messages.
    pub shown: String,
    /// The `REPO[:TAG]` the image is known by, when it has one: a registry
    /// reference without a digest, a docker archive's `RepoTags` entry.
    pub name: Option<Reference>,
}

/// Opens `arg` (a registry reference, `oci:PATH[:TAG]`,
/// `oci-archive:FILE[:TAG]` or `docker-archive:FILE[:REPO:TAG]`) for
/// reading.
pub async fn open_source(global: &GlobalOptions, arg: &str) -> Result<Source, Failure> {
    if let Some((path, name)) = target::oci_archive_image(arg) {
        return open_bundle_image(&path, &name, arg).await;
    }
    match Target::parse(arg)? {
        Target::Registry(r) => Ok(Source {
            source: Box::new(target::repository_client(global, &r)?),
            reference: r.target(),
            shown: arg.to_owned(),
            name: r.digest().is_none().then(|| r.clone()),
        }),
        Target::Layout { path, tag } => {
            let layout = OciLayout::open(&path)
                .await
                .map_err(|e| Failure::from(e).context(format!("opening {}", path.display())))?;
            let reference = match tag {
                Some(t) => TagOrDigest::Tag(t),
                None => single_ref(&layout.index().await?, "oci:PATH:TAG", &path)?,
            };
            Ok(Source {
                source: Box::new(layout),
                reference,
                shown: arg.to_owned(),
                name: None,
            })
        }
        Target::OciArchive { path, tag } => {
            let archive = OciArchiveReader::open(&path)
                .await
                .map_err(|e| Failure::from(e).context(format!("opening {}", path.display())))?;
            let reference = match tag {
                Some(t) => TagOrDigest::Tag(t),
                None => single_ref(archive.index(), "oci-archive:FILE:TAG", &path)?,
            };
            Ok(Source {
                source: Box::new(archive),
                reference,
                shown: arg.to_owned(),
                name: None,
            })
        }
        Target::DockerArchive { path, reference } => {
            let opening = || format!("opening {}", path.display());
            let archive = DockerArchiveReader::open(&path)
                .await
                .map_err(|e| Failure::from(e).context(opening()))?;
            // The named image, or the only one (several: name one).
            let selected = archive
                .select(reference.as_ref())
                .await
                .map_err(|e| Failure::from(e).context(opening()))?;
            let name = reference.or_else(|| {
                let tags = archive.repo_tags();
                let first = tags.first()?.first()?;
                Reference::parse(first).ok()
            });
            Ok(Source {
                source: Box::new(archive),
                reference: TagOrDigest::Digest(selected.digest().clone()),
                shown: arg.to_owned(),
                name,
            })
        }
    }
}

/// `oci-archive:FILE:REPO:TAG`: the image of a `crctl sync` bundle listed
/// under that ref name, read by digest.
async fn open_bundle_image(
    path: &std::path::Path,
    name: &str,
    arg: &str,
) -> Result<Source, Failure> {
    let archive = OciArchiveReader::open(path)
        .await
        .map_err(|e| Failure::from(e).context(format!("opening {}", path.display())))?;
    let found = archive
        .list_refs()
        .into_iter()
        .rev()
        .find(|(n, _)| n == name)
        .ok_or_else(|| {
            Failure::new(
                crate::exit::NOT_FOUND,
                format!("{name:?} not found in OCI archive {}", path.display()),
            )
        })?;
    Ok(Source {
        reference: TagOrDigest::Digest(descriptor::digest_of(&found.1)?),
        source: Box::new(archive),
        shown: arg.to_owned(),
        name: name.parse().ok(),
    })
}

/// The only image of a layout's or archive's index when no tag was given.
fn single_ref(
    index: &oci_spec::image::ImageIndex,
    syntax: &str,
    path: &std::path::Path,
) -> Result<TagOrDigest, Failure> {
    match index.manifests().as_slice() {
        [one] => Ok(TagOrDigest::Digest(descriptor::digest_of(one)?)),
        [] => Err(Failure::new(
            crate::exit::NOT_FOUND,
            format!("{} holds no image", path.display()),
        )),
        _ => Err(Failure::usage(format!(
            "{} holds several images: name one with {syntax}",
            path.display()
        ))),
    }
}

/// The platform from `--platform`, or the host's.
pub fn wanted_platform(global: &GlobalOptions) -> Result<Platform, Failure> {
    match &global.platform {
        Some(p) => platform::parse(p).map_err(|e| Failure::usage(e.to_string())),
        None => Ok(platform::host()),
    }
}

/// Fetches the top-level manifest: from a registry with one `GET` by tag or
/// digest, its digest taken from the bytes (never from a `HEAD`).
pub async fn top_manifest(src: &Source) -> Result<(Descriptor, Manifest), Failure> {
    let manifest = src
        .source
        .fetch_reference(&src.reference)
        .await
        .map_err(|e| Failure::from(e).context(&src.shown))?;
    Ok((manifest.descriptor(), manifest))
}

/// The image manifest for the wanted platform (following an index).
pub async fn image_manifest(global: &GlobalOptions, src: &Source) -> Result<Manifest, Failure> {
    let (_, mut manifest) = top_manifest(src).await?;
    let wanted = wanted_platform(global)?;
    for _ in 0..4 {
        let Some(index) = manifest.as_index() else {
            return Ok(manifest);
        };
        let Some(desc) = platform::select(index, &wanted) else {
            return Err(Failure::new(
                crate::exit::NOT_FOUND,
                format!(
                    "{}: no image for platform {} (available: {})",
                    src.shown,
                    platform::to_string(&wanted),
                    platform::available(index).join(", ")
                ),
            ));
        };
        let desc =
            CheckedDescriptor::try_from(desc).map_err(|e| Failure::from(e).context(&src.shown))?;
        manifest = src
            .source
            .fetch_manifest(&desc)
            .await
            .map_err(|e| Failure::from(e).context(&src.shown))?;
    }
    Err(Failure::new(
        crate::exit::FAILURE,
        format!("{}: indexes nested too deeply", src.shown),
    ))
}
