//! Command-line targets: registry references (`HOST[:PORT]/REPO[:TAG][@DIGEST]`),
//! OCI image layout directories (`oci:PATH[:TAG]`), OCI archives
//! (`oci-archive:FILE.tar[:TAG]`) and Docker archives
//! (`docker-archive:FILE.tar[:REPO:TAG]`), parsed once into a [`Target`],
//! and the clients for them (built in [`crate::connect`]).
//!
//! Paths containing `:`: `oci-archive:PATH[:NAME]` names an image by its
//! ref name NAME, a tag (`v1`) or, in a `crctl sync` bundle, `REPO:TAG`
//! (`library/alpine:3.19`; as `crctl copy`'s source only). The path ends
//! at a `:` followed by such a name: the longest path that is an existing
//! file; otherwise the first path ending in `.tar` (skopeo's split, at the
//! first `:`, for `.tar` files); otherwise the last `:` followed by a tag;
//! otherwise the whole text is the path. So `oci-archive:a:b.tar` is the
//! file `a:b.tar`, `oci-archive:a:b.tar:v1` that file's tag `v1`, and
//! `oci-archive:b.tar:library/alpine:3.19` the file `b.tar`'s image
//! `library/alpine:3.19`. For `docker-archive:` the
//! path ends at the first `:` after which the rest is a valid `REPO:TAG`
//! reference, so `docker-archive:x.tar:localhost:5000/app:v1` is the file
//! `x.tar` and `localhost:5000/app:v1`. (skopeo always splits at the first
//! `:`; ours accepts the same inputs and also paths with a `:`.)

use std::path::PathBuf;

use facade::oci::{Reference, Tag, reference};

use crate::cli::GlobalOptions;
use crate::connect;
use crate::exit::Failure;

/// Where an image is.
#[derive(Debug, Clone)]
pub enum Target {
    /// In a registry.
    Registry(Reference),
    /// In an OCI image layout directory, optionally under a tag.
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to use, a tag.
        tag: Option<Tag>,
    },
    /// In an OCI archive (an OCI image layout in one tar file).
    OciArchive {
        /// The tar file.
        path: PathBuf,
        /// The ref name of the image in the archive.
        tag: Option<Tag>,
    },
    /// In a Docker archive (`docker save` format).
    DockerArchive {
        /// The tar file.
        path: PathBuf,
        /// The `REPO:TAG` of the image in the archive (`RepoTags`).
        reference: Option<Reference>,
    },
}

/// Whether `name` can follow an `oci-archive:` path: a tag, or a bundle's
/// `REPO:TAG`.
fn archive_ref_name(name: &str) -> bool {
    Tag::new(name).is_ok()
        || name
            .rsplit_once(':')
            .is_some_and(|(r, t)| reference::validate_repository(r).is_ok() && Tag::new(t).is_ok())
}

/// `oci-archive:`'s `PATH[:NAME]`, split as the module documentation says.
pub fn split_oci_archive(rest: &str) -> (PathBuf, Option<String>) {
    let splits: Vec<(&str, &str)> = rest
        .match_indices(':')
        .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
        .filter(|(p, n)| !p.is_empty() && archive_ref_name(n))
        .collect();
    let chosen = splits
        .iter()
        .rev()
        .find(|(p, _)| std::path::Path::new(p).is_file())
        .or_else(|| splits.iter().find(|(p, _)| p.ends_with(".tar")))
        .or_else(|| splits.iter().rev().find(|(_, n)| Tag::new(*n).is_ok()));
    match chosen {
        Some((p, n)) => (PathBuf::from(p), Some((*n).to_owned())),
        None => (PathBuf::from(rest), None),
    }
}

/// `oci-archive:FILE:REPO:TAG`, an image of a `crctl sync` bundle named by
/// a ref name that is not a tag: the file and the ref name.
pub fn oci_archive_image(s: &str) -> Option<(PathBuf, String)> {
    let rest = s.strip_prefix("oci-archive:")?;
    match split_oci_archive(rest) {
        (path, Some(name)) if Tag::new(&name).is_err() => Some((path, name)),
        _ => None,
    }
}

/// `PATH[:REPO:TAG]`: the path ends at the first `:` after which the rest is
/// a reference with a tag.
fn split_path_reference(rest: &str) -> (PathBuf, Option<Reference>) {
    for (i, _) in rest.match_indices(':') {
        let (p, r) = (&rest[..i], &rest[i + 1..]);
        if p.is_empty() || !r.contains(':') {
            continue;
        }
        if let Ok(reference) = Reference::parse(r)
            && reference.tag().is_some()
            && reference.digest().is_none()
        {
            return (PathBuf::from(p), Some(reference));
        }
    }
    (PathBuf::from(rest), None)
}

impl Target {
    /// Parses `oci:PATH[:TAG]` or a registry reference; a malformed
    /// reference or tag is a usage error.
    pub fn parse(s: &str) -> Result<Target, Failure> {
        for prefix in ["oci-archive:", "docker-archive:"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Err(Failure::usage(format!(
                        "invalid archive reference {s:?}: no path"
                    )));
                }
                return Ok(if prefix == "oci-archive:" {
                    let (path, name) = split_oci_archive(rest);
                    let tag = match name.map(Tag::new).transpose() {
                        Ok(tag) => tag,
                        Err(_) => {
                            return Err(Failure::usage(format!(
                                "{s:?} names a bundle image REPO:TAG: only crctl copy's \
                                 SOURCE takes one (write bundles with crctl sync)"
                            )));
                        }
                    };
                    Target::OciArchive { path, tag }
                } else {
                    let (path, reference) = split_path_reference(rest);
                    Target::DockerArchive { path, reference }
                });
            }
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            if rest.is_empty() {
                return Err(Failure::usage(format!(
                    "invalid layout reference {s:?}: no path"
                )));
            }
            let (path, tag) = match rest.rsplit_once(':') {
                Some((p, t)) if !p.is_empty() && !t.is_empty() && !t.contains('/') => {
                    let tag = Tag::new(t).map_err(|e| {
                        Failure::usage(format!("invalid layout reference {s:?}: {e}"))
                    })?;
                    (p, Some(tag))
                }
                _ => (rest, None),
            };
            return Ok(Target::Layout {
                path: PathBuf::from(path),
                tag,
            });
        }
        Ok(Target::Registry(parse_reference(s)?))
    }
}

/// Parses a registry reference, as a usage error when malformed.
pub fn parse_reference(s: &str) -> Result<Reference, Failure> {
    Reference::parse(s).map_err(|e| Failure::usage(e.to_string()))
}

/// An OCI client for `registry` (`host[:port]`) with the global options'
/// credentials (explicit > env > docker config.json > anonymous), built by
/// [`connect::registry`] as every client is.
pub fn client(global: &GlobalOptions, registry: &str) -> Result<facade::oci::Client, Failure> {
    connect::registry(global, registry, connect::RegistryLogin::Usual)
}

/// A client scoped to a reference's repository.
pub fn repository_client(
    global: &GlobalOptions,
    reference: &Reference,
) -> Result<facade::oci::Client, Failure> {
    Ok(client(global, reference.registry())?.with_repository(reference.repository()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_targets() {
        match Target::parse("oci:/tmp/x:v1").unwrap() {
            Target::Layout { path, tag } => {
                assert_eq!(path, PathBuf::from("/tmp/x"));
                assert_eq!(tag.as_ref().map(Tag::as_str), Some("v1"));
            }
            t => panic!("{t:?}"),
        }
        match Target::parse("oci:dir").unwrap() {
            Target::Layout { path, tag } => {
                assert_eq!(path, PathBuf::from("dir"));
                assert_eq!(tag, None);
            }
            t => panic!("{t:?}"),
        }
        assert!(Target::parse("oci:").is_err());
        assert_eq!(
            Target::parse("oci:dir:bad+tag").unwrap_err().code,
            crate::exit::USAGE
        );
        assert!(matches!(
            Target::parse("127.0.0.1:5000/a/b:t").unwrap(),
            Target::Registry(_)
        ));
        assert_eq!(
            Target::parse("UPPER/Case").unwrap_err().code,
            crate::exit::USAGE
        );
    }

    #[test]
    fn archive_targets() {
        let oci = |s: &str| match Target::parse(s).unwrap() {
            Target::OciArchive { path, tag } => (
                path.to_string_lossy().into_owned(),
                tag.map(|t| t.as_str().to_owned()),
            ),
            t => panic!("{t:?}"),
        };
        assert_eq!(oci("oci-archive:a.tar"), ("a.tar".into(), None));
        assert_eq!(
            oci("oci-archive:a.tar:v1"),
            ("a.tar".into(), Some("v1".into()))
        );
        assert_eq!(oci("oci-archive:d:e/a.tar"), ("d:e/a.tar".into(), None));
        assert_eq!(
            oci("oci-archive:d:e/a.tar:v1"),
            ("d:e/a.tar".into(), Some("v1".into()))
        );
        assert_eq!(
            oci("oci-archive:a.tar:bad+tag"),
            ("a.tar:bad+tag".into(), None)
        );
        assert!(Target::parse("oci-archive:").is_err());
        // Bundle images: `REPO:TAG` after the first `.tar`, or after an
        // existing file.
        let split = |s: &str| {
            let (p, n) = split_oci_archive(s);
            (p.to_string_lossy().into_owned(), n)
        };
        assert_eq!(
            split("b.tar:library/alpine:3.19"),
            ("b.tar".into(), Some("library/alpine:3.19".into()))
        );
        assert_eq!(
            split("d:e/b.tar:lib/app:v1"),
            ("d:e/b.tar".into(), Some("lib/app:v1".into()))
        );
        assert_eq!(split("x:app:v1"), ("x:app".into(), Some("v1".into())));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle");
        std::fs::write(&file, b"").unwrap();
        let f = file.to_string_lossy().into_owned();
        assert_eq!(
            split(&format!("{f}:lib/app:v1")),
            (f.clone(), Some("lib/app:v1".into()))
        );
        let (path, name) = oci_archive_image("oci-archive:b.tar:library/alpine:3.19").unwrap();
        assert_eq!(
            (path, name.as_str()),
            (PathBuf::from("b.tar"), "library/alpine:3.19")
        );
        assert!(oci_archive_image("oci-archive:b.tar:v1").is_none());
        assert_eq!(
            Target::parse("oci-archive:b.tar:library/alpine:3.19")
                .unwrap_err()
                .code,
            crate::exit::USAGE
        );

        let docker = |s: &str| match Target::parse(s).unwrap() {
            Target::DockerArchive { path, reference } => (
                path.to_string_lossy().into_owned(),
                reference.map(|r| r.to_string()),
            ),
            t => panic!("{t:?}"),
        };
        assert_eq!(docker("docker-archive:x.tar"), ("x.tar".into(), None));
        assert_eq!(
            docker("docker-archive:x.tar:localhost:5000/app:v1"),
            ("x.tar".into(), Some("localhost:5000/app:v1".into()))
        );
        assert_eq!(
            docker("docker-archive:x.tar:app:v1").1.as_deref(),
            Some("docker.io/library/app:v1")
        );
        assert_eq!(docker("docker-archive:x.tar:app").0, "x.tar:app");
        assert!(Target::parse("docker-archive:").is_err());
    }
}
