//! [`Tag`], a validated tag, and [`TagOrDigest`], what a manifest is
//! addressed by within a repository.

use std::fmt;
use std::str::FromStr;

use registry_core::{Digest, Error};

#[cfg(doc)]
use super::IntoTarget;
use super::{DEFAULT_TAG, validate_tag};

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
pub struct Tag(pub(super) String);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tests::p;

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
}
