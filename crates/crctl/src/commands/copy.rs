//! `crctl copy SRC DST [--all-platforms]`: between registries, OCI
//! layouts, OCI archives and Docker archives; prints the destination
//! digest.

use std::path::Path;

use facade::oci::archive::{DockerArchiveWriter, OciArchiveWriter};
use facade::oci::content::{ImageDestination, ImageSource};
use facade::oci::layout::OciLayout;
use facade::oci::{CopyOptions, Reference, Tag, TagOrDigest, copy};

use crate::cli::GlobalOptions;
use crate::commands::resolve::{open_source, wanted_platform};
use crate::exit::Failure;
use crate::output;
use crate::progress::CopyBars;
use crate::target::{self, Target};

/// Where a copy writes.
enum Writer {
    /// A registry or a layout: written as the copy goes.
    Direct(Box<dyn ImageDestination>),
    /// An archive: in place only once finished.
    OciArchive(Box<OciArchiveWriter>),
    /// A Docker archive: in place only once finished.
    DockerArchive(Box<DockerArchiveWriter>),
}

impl Writer {
    fn as_dest(&self) -> &dyn ImageDestination {
        match self {
            Writer::Direct(d) => d.as_ref(),
            Writer::OciArchive(w) => w.as_ref(),
            Writer::DockerArchive(w) => w.as_ref(),
        }
    }

    /// Puts an archive in place (after a successful copy).
    async fn finish(self) -> Result<(), Failure> {
        match self {
            Writer::Direct(_) => Ok(()),
            Writer::OciArchive(w) => {
                let path = w.path().to_path_buf();
                w.finish()
                    .await
                    .map_err(|e| Failure::from(e).context(format!("writing {}", path.display())))
            }
            Writer::DockerArchive(w) => {
                let path = w.path().to_path_buf();
                w.finish()
                    .await
                    .map_err(|e| Failure::from(e).context(format!("writing {}", path.display())))
            }
        }
    }
}

/// A destination, with the tag to give the image there.
struct Destination {
    dest: Writer,
    tag: Option<Tag>,
    /// A layout this command created: removed again if the copy fails.
    created: Option<std::path::PathBuf>,
}

async fn open_destination(
    global: &GlobalOptions,
    arg: &str,
    source_tag: Option<&Tag>,
    source_name: Option<&Reference>,
) -> Result<Destination, Failure> {
    match Target::parse(arg)? {
        Target::Registry(r) => {
            let tag = match r.target() {
                _ if r.digest().is_some() => None,
                TagOrDigest::Tag(t) if r.tag().is_some() => Some(t),
                _ => Some(source_tag.cloned().unwrap_or_else(Tag::latest)),
            };
            Ok(Destination {
                dest: Writer::Direct(Box::new(target::repository_client(global, &r)?)),
                tag,
                created: None,
            })
        }
        Target::Layout { path, tag } => {
            let existed = Path::new(&path).join("oci-layout").exists();
            let layout = OciLayout::create(&path)
                .await
                .map_err(|e| Failure::from(e).context(format!("creating {}", path.display())))?;
            // Without a tag, the copy lists the image untagged in index.json.
            Ok(Destination {
                dest: Writer::Direct(Box::new(layout)),
                tag: tag.or_else(|| source_tag.cloned()),
                created: (!existed).then_some(path),
            })
        }
        Target::OciArchive { path, tag } => {
            // Built in a temporary file, renamed over `path` (replacing any
            // file there) only when the copy succeeded.
            let writer = OciArchiveWriter::create(&path)
                .await
                .map_err(|e| Failure::from(e).context(format!("creating {}", path.display())))?;
            Ok(Destination {
                dest: Writer::OciArchive(Box::new(writer)),
                tag: tag.or_else(|| source_tag.cloned()),
                created: None,
            })
        }
        Target::DockerArchive { path, reference } => {
            // `RepoTags`: the given `REPO:TAG`, else the source's name
            // with its tag, else none (untagged).
            let (name, tag) = match reference {
                Some(r) => {
                    let tag = r.tag().map(Tag::new).transpose()?;
                    (Some(r), tag)
                }
                None => (source_name.cloned(), source_tag.cloned()),
            };
            let creating = |e| Failure::from(e).context(format!("creating {}", path.display()));
            let mut writer = DockerArchiveWriter::create(&path).await.map_err(creating)?;
            if let Some(name) = name {
                writer = writer.with_repository(&name.name()).map_err(creating)?;
            }
            Ok(Destination {
                dest: Writer::DockerArchive(Box::new(writer)),
                tag,
                created: None,
            })
        }
    }
}

/// Runs the copy.
pub async fn run(
    global: &GlobalOptions,
    src: &str,
    dst: &str,
    all_platforms: bool,
) -> Result<(), Failure> {
    let source = open_source(global, src).await?;
    // The source's tag (`latest` for a registry reference without one, a
    // docker archive's `RepoTags` tag); none when it is named by digest.
    let name_tag = source
        .name
        .as_ref()
        .and_then(|n| n.tag())
        .and_then(|t| Tag::new(t).ok());
    let source_tag = source.reference.tag().or(name_tag.as_ref());
    let dest = open_destination(global, dst, source_tag, source.name.as_ref()).await?;
    let mut options = CopyOptions::default().jobs(global.jobs);
    if !all_platforms {
        options = options.platform(wanted_platform(global)?);
    }
    let bars = CopyBars::new().map(std::sync::Arc::new);
    if let Some(b) = &bars {
        let b = b.clone();
        options = options.progress(move |e: &facade::oci::ProgressEvent| {
            facade::oci::Progress::report(b.as_ref(), e)
        });
    }
    let result = copy(
        source.source.as_ref() as &dyn ImageSource,
        &source.reference,
        dest.dest.as_dest(),
        dest.tag.as_ref(),
        &options,
    )
    .await;
    if let Some(b) = &bars {
        b.finish();
    }
    let report = match result {
        Ok(mut r) => {
            // A docker archive stores no manifest: print the digest that
            // reading the archive gives the image.
            if let Writer::DockerArchive(w) = &dest.dest
                && let Some(d) = w.archived_digest(&r.digest).await
            {
                r.digest = d;
                r.media_type = facade::oci::media_type::DOCKER_MANIFEST.to_owned();
            }
            dest.dest.finish().await?;
            r
        }
        Err(e) => {
            if let Some(path) = &dest.created {
                // Leave nothing half-written behind.
                let _ = std::fs::remove_dir_all(path);
            }
            return Err(Failure::from(e));
        }
    };
    tracing::info!(
        blobs = report.blobs,
        copied = report.copied,
        skipped = report.skipped,
        mounted = report.mounted,
        bytes = report.bytes_copied,
        "copy finished"
    );
    if global.json {
        return output::print_json(&serde_json::json!({
            "digest": report.digest.to_string(),
            "mediaType": report.media_type,
            "blobs": report.blobs,
            "copied": report.copied,
            "skipped": report.skipped,
            "mounted": report.mounted,
            "bytesCopied": report.bytes_copied,
        }));
    }
    output::print_lines([report.digest.to_string()])
}
