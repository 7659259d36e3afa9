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

/// A validated tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
///
/// Checked once when made ([`Tag::new`], `parse`, `TryFrom`); every API
/// taking a `Tag` trusts it.
///
/// ```
/// use oci_dist::Tag;
/// let t = Tag::new("v1.2.3").unwrap();
/// assert_eq!(t.as_str(), "v1.2.3");
/// assert_eq!(t, "v1.2.3");
/// assert_eq!(":v1".parse::<Tag>().unwrap(), "v1");
/// assert!(Tag::new("bad tag").is_err());
/// let digest = format!("sha256:{}", "a".repeat(64));
/// assert!(Tag::new(digest).unwrap_err().to_string().contains("is a digest, not a tag"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Validates `tag` (see [`validate_tag`]).
    pub fn new(tag: impl Into<String>) -> Result<Tag, Error> {
        let tag = tag.into();
        if tag.contains(':') && tag.parse::<Digest>().is_ok() {
            return Err(Error::invalid_input(format!(
                "{tag} is a digest, not a tag"
            )));
        }
        validate_tag(&tag)?;
        Ok(Tag(tag))
    }

    /// `latest`, the tag used when a reference names neither tag nor digest.
    pub fn latest() -> Tag {
        Tag(DEFAULT_TAG.to_owned())
    }

    /// A tag built by this crate from characters that are always valid
    /// (e.g. the referrers fallback tag); checked in debug builds.
    pub(crate) fn from_valid(tag: String) -> Tag {
        debug_assert!(validate_tag(&tag).is_ok(), "invalid tag {tag:?}");
        Tag(tag)
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Tag {
    type Err = Error;

    /// Parses a tag, with or without a leading `:`.
    fn from_str(s: &str) -> Result<Tag, Error> {
        Tag::new(s.strip_prefix(':').unwrap_or(s))
    }
}

impl TryFrom<&str> for Tag {
    type Error = Error;

    fn try_from(s: &str) -> Result<Tag, Error> {
        s.parse()
    }
}

impl TryFrom<String> for Tag {
    type Error = Error;

    fn try_from(s: String) -> Result<Tag, Error> {
        match s.strip_prefix(':') {
            Some(t) => Tag::new(t),
            None => Tag::new(s),
        }
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Tag {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Tag {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.0
    }
}

/// What a manifest is addressed by within a repository: a tag or a digest.
///
/// Library functions take it typed: [`ImageSource`](crate::ImageSource)
/// methods take `&TagOrDigest`, and [`Client`](crate::Client) operations and
/// [`copy`](crate::copy::copy) take any [`IntoTarget`], which includes
/// strings (`"v1.2.3"`, `"sha256:…"`, `"@sha256:…"`), parsed once.
///
/// ```
/// use oci_dist::reference::TagOrDigest;
/// assert!(matches!("v1".parse::<TagOrDigest>().unwrap(), TagOrDigest::Tag(t) if t == "v1"));
/// let d = format!("@sha256:{}", "a".repeat(64));
/// assert!(matches!(d.parse::<TagOrDigest>().unwrap(), TagOrDigest::Digest(_)));
/// assert!("bad tag".parse::<TagOrDigest>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagOrDigest {
    /// A tag.
    Tag(Tag),
    /// A digest.
    Digest(Digest),
}

impl TagOrDigest {
    /// The form used in URLs: the tag or the digest string.
    pub fn as_path(&self) -> String {
        match self {
            TagOrDigest::Tag(t) => t.as_str().to_owned(),
            TagOrDigest::Digest(d) => d.to_string(),
        }
    }

    /// The digest, if this is one.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            TagOrDigest::Digest(d) => Some(d),
            TagOrDigest::Tag(_) => None,
        }
    }

    /// The tag, if this is one.
    pub fn tag(&self) -> Option<&Tag> {
        match self {
            TagOrDigest::Tag(t) => Some(t),
            TagOrDigest::Digest(_) => None,
        }
    }
}

impl FromStr for TagOrDigest {
    type Err = Error;

    /// `TAG`, `:TAG`, `ALG:HEX` or `@ALG:HEX`.
    fn from_str(s: &str) -> Result<TagOrDigest, Error> {
        if let Some(tag) = s.strip_prefix(':') {
            return Tag::new(tag).map(TagOrDigest::Tag);
        }
        let s = s.strip_prefix('@').unwrap_or(s);
        if s.contains(':') {
            return s
                .parse::<Digest>()
                .map(TagOrDigest::Digest)
                .map_err(|e| e.context(format!("invalid tag or digest {s:?}")));
        }
        validate_tag(s)?;
        Ok(TagOrDigest::Tag(Tag(s.to_owned())))
    }
}

impl fmt::Display for TagOrDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagOrDigest::Tag(t) => write!(f, ":{t}"),
            TagOrDigest::Digest(d) => write!(f, "@{d}"),
        }
    }
}

impl From<Tag> for TagOrDigest {
    fn from(t: Tag) -> TagOrDigest {
        TagOrDigest::Tag(t)
    }
}

impl From<Digest> for TagOrDigest {
    fn from(d: Digest) -> TagOrDigest {
        TagOrDigest::Digest(d)
    }
}

impl TryFrom<&str> for TagOrDigest {
    type Error = Error;

    fn try_from(s: &str) -> Result<TagOrDigest, Error> {
        s.parse()
    }
}

/// A tag or digest argument: what [`Client`](crate::Client) operations
/// naming a manifest and [`copy`](crate::copy::copy) accept.
///
/// The typed values ([`TagOrDigest`], [`Tag`], [`Digest`], owned or
/// borrowed) convert without any check; strings are parsed here, once, as
/// [`TagOrDigest::from_str`] does. See the [crate documentation](crate#typed-arguments).
pub trait IntoTarget {
    /// The tag or digest.
    fn into_target(self) -> Result<TagOrDigest, Error>;
}

impl IntoTarget for TagOrDigest {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(self)
    }
}

impl IntoTarget for &TagOrDigest {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(self.clone())
    }
}

impl IntoTarget for Tag {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(TagOrDigest::Tag(self))
    }
}

impl IntoTarget for &Tag {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(TagOrDigest::Tag(self.clone()))
    }
}

impl IntoTarget for Digest {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(TagOrDigest::Digest(self))
    }
}

impl IntoTarget for &Digest {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        Ok(TagOrDigest::Digest(self.clone()))
    }
}

impl IntoTarget for &str {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        self.parse()
    }
}

impl IntoTarget for String {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        self.parse()
    }
}

impl IntoTarget for &String {
    fn into_target(self) -> Result<TagOrDigest, Error> {
        self.parse()
    }
}

/// The optional tag argument of [`copy`](crate::copy::copy): a tag
/// (`"v1"`, a [`Tag`]) or an `Option<&Tag>` (`None`: no tag). Strings are
/// validated here, once.
///
/// `Option<&Tag>` is the only `Option` implementing it, so that a bare
/// `None` needs no type annotation; keep it that way.
pub trait IntoOptionalTag {
    /// The tag, if any.
    fn into_optional_tag(self) -> Result<Option<Tag>, Error>;
}

impl IntoOptionalTag for Option<&Tag> {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        Ok(self.cloned())
    }
}

impl IntoOptionalTag for Tag {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        Ok(Some(self))
    }
}

impl IntoOptionalTag for &Tag {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        Ok(Some(self.clone()))
    }
}

impl IntoOptionalTag for &str {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        self.parse().map(Some)
    }
}

impl IntoOptionalTag for String {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        Tag::try_from(self).map(Some)
    }
}

impl IntoOptionalTag for &String {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        self.parse().map(Some)
    }
}

/// A tag argument: what [`Client::tag_image`](crate::Client::tag_image)
/// and [`Client::delete_tag`](crate::Client::delete_tag) accept. A [`Tag`]
/// converts without a check; strings are validated here, once
/// ([`Tag::from_str`]).
pub trait IntoTag {
    /// The tag.
    fn into_tag(self) -> Result<Tag, Error>;
}

impl IntoTag for Tag {
    fn into_tag(self) -> Result<Tag, Error> {
        Ok(self)
    }
}

impl IntoTag for &Tag {
    fn into_tag(self) -> Result<Tag, Error> {
        Ok(self.clone())
    }
}

impl IntoTag for &str {
    fn into_tag(self) -> Result<Tag, Error> {
        self.parse()
    }
}

impl IntoTag for String {
    fn into_tag(self) -> Result<Tag, Error> {
        Tag::try_from(self)
    }
}

impl IntoTag for &String {
    fn into_tag(self) -> Result<Tag, Error> {
        self.parse()
    }
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

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), Error> {
    let ok_first = tag
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let ok_rest = tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if tag.is_empty() {
        return Err(Error::invalid_input("tag is empty"));
    }
    if !ok_first || !ok_rest {
        return Err(Error::invalid_input(format!(
            "tag {tag:?} must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'"
        )));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(Error::invalid_input(format!(
            "tag {tag:?} is longer than {MAX_TAG_LEN} characters"
        )));
    }
    Ok(())
}

/// Checks a repository path: `/`-separated components of lowercase letters
/// and digits joined by `.`, `_`, `__` or runs of `-`; at most 255 characters.
pub fn validate_repository(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid_input("repository name is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_input(format!(
            "repository name {name:?} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    for component in name.split('/') {
        validate_path_component(component)?;
    }
    Ok(())
}

/// Checks one path component of a repository name.
pub fn validate_path_component(c: &str) -> Result<(), Error> {
    let bad = || {
        Error::invalid_input(format!(
            "repository path component {c:?} must be lowercase letters and digits, \
             separated by '.', '_', '__' or '-'"
        ))
    };
    if c.is_empty() {
        return Err(Error::invalid_input(
            "repository path has an empty component (leading, trailing or double '/')",
        ));
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: '.', '_', '__' or one or more '-'.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return Err(bad()),
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return Err(bad());
        }
    }
    Ok(())
}

/// Checks a registry `host[:port]` (host name, IPv4, or `[IPv6]`).
pub fn validate_registry(registry: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid_input(format!("registry {registry:?}: {why}"));
    if registry.is_empty() {
        return Err(bad("it is empty"));
    }
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("unterminated '[' of an IPv6 address"))?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("not a valid IPv6 address"))?;
        match after {
            "" => (None, None),
            p => (
                None,
                Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            ),
        }
    } else {
        match registry.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(bad(&format!("port {p:?} is not a number from 0 to 65535")));
    }
    if let Some(h) = host {
        for label in h.split('.') {
            let b = label.as_bytes();
            let ok = !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-';
            if !ok {
                return Err(bad(&format!(
                    "host label {label:?} must be letters, digits and inner '-'"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
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

    #[test]
    fn path_component_separators() {
        for ok in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2-c3__d4"] {
            validate_path_component(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["-a", "a-", ".a", "a.", "a_.b", "a-.b", "A", "a b", "a/b"] {
            assert!(validate_path_component(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_or_digest_parsing() {
        let d = format!("sha256:{}", "c".repeat(64));
        assert_eq!(
            d.parse::<TagOrDigest>().unwrap(),
            format!("@{d}").parse::<TagOrDigest>().unwrap()
        );
        assert_eq!("latest".parse::<TagOrDigest>().unwrap().as_path(), "latest");
        assert!("sha256:zz".parse::<TagOrDigest>().is_err());
        assert_eq!(
            ":v1".parse::<TagOrDigest>().unwrap(),
            TagOrDigest::Tag(Tag::new("v1").unwrap())
        );
    }

    #[test]
    fn tags_are_validated_once_when_made() {
        let t = Tag::new("v1.2-rc_1").unwrap();
        assert_eq!(t.as_str(), "v1.2-rc_1");
        assert_eq!(t.to_string(), "v1.2-rc_1");
        assert_eq!(Tag::try_from(":v1".to_owned()).unwrap(), "v1");
        for bad in ["", "-x", "bad tag", "a/b", &"t".repeat(129)] {
            let err = Tag::new(bad).unwrap_err();
            assert_eq!(err.kind(), registry_core::ErrorKind::InvalidInput, "{bad}");
        }
        let d = format!("sha256:{}", "c".repeat(64));
        assert!(
            Tag::new(d.as_str())
                .unwrap_err()
                .to_string()
                .contains("is a digest")
        );
        assert_eq!(Tag::latest(), DEFAULT_TAG);
        let r = p("r.example/app:v1");
        assert_eq!(r.target(), TagOrDigest::Tag(Tag::new("v1").unwrap()));
        assert_eq!(r.with_tag(&t).unwrap().tag(), Some("v1.2-rc_1"));
        assert!(r.with_tag("bad tag").is_err());
    }

    #[test]
    fn arguments_convert_typed_values_as_they_are_and_parse_strings() {
        let d: Digest = format!("sha256:{}", "d".repeat(64)).parse().unwrap();
        let t = Tag::new("v1").unwrap();
        let by_digest = TagOrDigest::Digest(d.clone());
        let by_tag = TagOrDigest::Tag(t.clone());
        assert_eq!((&d).into_target().unwrap(), by_digest);
        assert_eq!(d.to_string().into_target().unwrap(), by_digest);
        assert_eq!(format!("@{d}").as_str().into_target().unwrap(), by_digest);
        assert_eq!((&by_tag).into_target().unwrap(), by_tag);
        assert_eq!(t.clone().into_target().unwrap(), by_tag);
        assert_eq!("v1".into_target().unwrap(), by_tag);
        assert!("bad tag".into_target().is_err());

        assert_eq!("v1".into_tag().unwrap(), t);
        assert_eq!((&t).into_tag().unwrap(), t);
        assert!(d.to_string().into_tag().is_err());

        fn optional(tag: impl IntoOptionalTag) -> Result<Option<Tag>, Error> {
            tag.into_optional_tag()
        }
        assert_eq!(optional(None).unwrap(), None);
        assert_eq!(optional(Some(&t)).unwrap(), Some(t.clone()));
        assert_eq!(optional("v1").unwrap(), Some(t.clone()));
        assert_eq!(optional(&t).unwrap(), Some(t));
        assert!(optional("bad tag").is_err());
    }
}
