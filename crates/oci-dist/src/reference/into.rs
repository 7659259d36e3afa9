//! The edge conversions [`IntoTarget`], [`IntoTag`] and [`IntoOptionalTag`]:
//! typed values pass through, strings are parsed once.

use registry_core::{Digest, Error};

use super::{Tag, TagOrDigest};
#[cfg(doc)]
use std::str::FromStr;

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

/// The optional tag argument of [`copy`](crate::copy::copy): a tag (any
/// [`IntoTag`]: `"v1"`, a [`Tag`]) or an `Option<&Tag>` (`None`: no tag). Strings are
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

/// Every tag argument is an optional tag that is there.
impl<T: IntoTag> IntoOptionalTag for T {
    fn into_optional_tag(self) -> Result<Option<Tag>, Error> {
        self.into_tag().map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;

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
