//! Command-line targets: registry references (`HOST[:PORT]/REPO[:TAG][@DIGEST]`),
//! OCI image layout directories (`oci:PATH[:TAG]`), OCI archives
//! (`oci-archive:FILE.tar[:TAG]`) and Docker archives
//! (`docker-archive:FILE.tar[:REPO:TAG]`), parsed once into a [`Target`],
//! and the clients for them (built in [`crate::connect`]).
//!
//! Paths containing `:`: for `oci-archive:` the part after the last `:` is
//! the tag only when it is a valid tag (otherwise the whole text is the
//! path), so `oci-archive:a:b.tar` is the file `a:b.tar` and
//! `oci-archive:a:b.tar:v1` that file's tag `v1`. For `docker-archive:` the
//! path ends at the first `:` after which the rest is a valid `REPO:TAG`
//! reference, so `docker-archive:x.tar:localhost:5000/app:v1` is the file
//! `x.tar` and `localhost:5000/app:v1`. (skopeo always splits at the first
//! `:`; ours accepts the same inputs and also paths with a `:`.)

use std::path::PathBuf;

use facade::oci::{Reference, Tag};

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

/// `PATH[:TAG]`: the tag is the last `:` component when it is a valid tag.
fn split_path_tag(rest: &str) -> (PathBuf, Option<Tag>) {
    if let Some((p, t)) = rest.rsplit_once(':')
        && !p.is_empty()
        && let Ok(tag) = Tag::new(t)
    {
        return (PathBuf::from(p), Some(tag));
    }
    (PathBuf::from(rest), None)
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
                    let (path, tag) = split_path_tag(rest);
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
