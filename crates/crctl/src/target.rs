//! Command-line targets: registry references (`HOST[:PORT]/REPO[:TAG][@DIGEST]`)
//! and OCI image layout directories (`oci:PATH[:TAG]`), and the clients for
//! them (built in [`crate::connect`]).

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
}

impl Target {
    /// Parses `oci:PATH[:TAG]` or a registry reference; a malformed
    /// reference or tag is a usage error.
    pub fn parse(s: &str) -> Result<Target, Failure> {
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
}
