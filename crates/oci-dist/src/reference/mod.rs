//! Image references (`[registry[:port]/]path/to/repo[:tag][@digest]`),
//! validated with clear errors, and the tag-or-digest part that scoped
//! client operations take.
//!
//! Grammar and normalisation follow `distribution/reference`: the first
//! path component is a registry when it contains `.` or `:` or is
//! `localhost`; otherwise the registry is `docker.io`, where one-component
//! names get the `library/` prefix.

use std::fmt;
use std::str::FromStr;

use registry_core::{Digest, Error};

mod into;
mod tag;
mod validate;

pub use into::{IntoOptionalTag, IntoTag, IntoTarget};
pub use tag::{Tag, TagOrDigest};
pub use validate::{validate_path_component, validate_registry, validate_repository, validate_tag};

/// The registry used when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The API endpoint of [`DEFAULT_REGISTRY`].
pub const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";
/// The tag used when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository name accepted.
pub const MAX_NAME_LEN: usize = 255;
/// The longest tag accepted.
pub const MAX_TAG_LEN: usize = 128;

/// A parsed, normalised image reference.
///
/// ```
/// use oci_dist::Reference;
/// let r: Reference = "alpine".parse().unwrap();
/// assert_eq!(r.registry(), "docker.io");
/// assert_eq!(r.repository(), "library/alpine");
/// assert_eq!(r.tag(), None);
/// assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
///
/// let r: Reference = "localhost:5000/org/app:v1".parse().unwrap();
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("localhost:5000", "org/app", Some("v1")));
///
/// let err = "example.com/Org/app".parse::<Reference>().unwrap_err();
/// assert!(err.to_string().contains("\"Org\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<Tag>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference string.
    pub fn parse(s: &str) -> Result<Reference, Error> {
        let bad = |why: String| Error::invalid_input(format!("invalid reference {s:?}: {why}"));
        if s.is_empty() {
            return Err(bad("it is empty".into()));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let digest = d
                    .parse::<Digest>()
                    .map_err(|e| bad(format!("digest {d:?}: {}", e.message())))?;
                (n, Some(digest))
            }
            None => (s, None),
        };
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i..].contains('/') => {
                validate_tag(&name_tag[i + 1..]).map_err(|e| bad(e.message().to_owned()))?;
                (&name_tag[..i], Some(Tag(name_tag[i + 1..].to_owned())))
            }
            _ => (name_tag, None),
        };
        let (registry, remote) = split_registry(name);
        let registry = match registry {
            Some(r) => {
                validate_registry(r).map_err(|e| bad(e.message().to_owned()))?;
                r.to_owned()
            }
            None => DEFAULT_REGISTRY.to_owned(),
        };
        let registry = if registry == "index.docker.io" {
            DEFAULT_REGISTRY.to_owned()
        } else {
            registry
        };
        let mut repository = remote.to_owned();
        if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        validate_repository(&repository).map_err(|e| bad(e.message().to_owned()))?;
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// A reference from its parts, validated (no normalisation).
    pub fn new(
        registry: &str,
        repository: &str,
        target: Option<TagOrDigest>,
    ) -> Result<Reference, Error> {
        validate_registry(registry)?;
        validate_repository(repository)?;
        let (tag, digest) = match target {
            None => (None, None),
            Some(TagOrDigest::Tag(t)) => (Some(t), None),
            Some(TagOrDigest::Digest(d)) => (None, Some(d)),
        };
        Ok(Reference {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// The registry, `host[:port]` (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host to send API requests to (`registry-1.docker.io` for Docker Hub).
    pub fn endpoint(&self) -> &str {
        endpoint_for(&self.registry)
    }

    /// The repository path, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if one was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_ref().map(Tag::as_str)
    }

    /// The digest, if one was given.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to fetch: the digest when there is one (it wins over a tag),
    /// else the tag, else `latest`.
    pub fn target(&self) -> TagOrDigest {
        match (&self.digest, &self.tag) {
            (Some(d), _) => TagOrDigest::Digest(d.clone()),
            (None, Some(t)) => TagOrDigest::Tag(t.clone()),
            (None, None) => TagOrDigest::Tag(Tag::latest()),
        }
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: impl IntoTag) -> Result<Reference, Error> {
        Ok(Reference {
            tag: Some(tag.into_tag()?),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest (the tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Reference, Error> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => write!(f, ":{t}@{d}"),
            (Some(t), None) => write!(f, ":{t}"),
            (None, Some(d)) => write!(f, "@{d}"),
            (None, None) => write!(f, ":{DEFAULT_TAG}"),
        }
    }
}

/// The API host for a registry name (`docker.io` → `registry-1.docker.io`).
pub fn endpoint_for(registry: &str) -> &str {
    if registry == DEFAULT_REGISTRY || registry == "index.docker.io" {
        DOCKER_HUB_ENDPOINT
    } else {
        registry
    }
}

fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.starts_with('[')
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn p(s: &str) -> Reference {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_normalisation() {
        let r = p("ubuntu:22.04");
        assert_eq!(r.to_string(), "docker.io/library/ubuntu:22.04");
        assert_eq!(r.endpoint(), "registry-1.docker.io");
        assert_eq!(p("index.docker.io/foo/bar").name(), "docker.io/foo/bar");
        assert_eq!(p("docker.io/alpine").repository(), "library/alpine");
        assert_eq!(p("user/app").name(), "docker.io/user/app");
    }

    #[test]
    fn registries_with_ports_and_paths() {
        let r = p("127.0.0.1:5000/a/b/c:v1.2-rc_1");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b/c");
        assert_eq!(r.tag(), Some("v1.2-rc_1"));
        let r = p("[::1]:5000/app");
        assert_eq!(r.registry(), "[::1]:5000");
        assert_eq!(p("localhost/app").registry(), "localhost");
        assert_eq!(p("registry.example/app").tag(), None);
        assert_eq!(
            p("registry.example/app").target(),
            TagOrDigest::Tag(Tag::latest())
        );
    }

    #[test]
    fn digest_wins_over_tag() {
        let d = format!("sha256:{}", "b".repeat(64));
        let r = p(&format!("r.example/app:v1@{d}"));
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.target(), TagOrDigest::Digest(d.parse().unwrap()));
        assert_eq!(r.to_string(), format!("r.example/app:v1@{d}"));
    }

    #[test]
    fn errors_name_the_bad_part() {
        let cases = [
            ("r.example/app:", "tag is empty"),
            ("r.example/app:-x", "\"-x\""),
            ("r.example/App", "\"App\""),
            ("r.example/a//b", "empty component"),
            ("r.example/a/", "empty component"),
            ("r.example:99999/a", "port \"99999\""),
            ("r.example/a@sha256:abc", "digest \"sha256:abc\""),
            ("r.exa_mple/a", "host label \"exa_mple\""),
            ("", "empty"),
            ("r.example/a..b", "\"a..b\""),
            ("r.example/a___b", "\"a___b\""),
        ];
        for (input, needle) in cases {
            let err = input.parse::<Reference>().unwrap_err();
            assert_eq!(
                err.kind(),
                registry_core::ErrorKind::InvalidInput,
                "{input}"
            );
            assert!(err.to_string().contains(needle), "{input}: {err}");
        }
        let long = format!("r.example/{}", "a".repeat(256));
        assert!(long.parse::<Reference>().is_err());
        let long_tag = format!("r.example/a:{}", "t".repeat(129));
        assert!(long_tag.parse::<Reference>().is_err());
    }
}
