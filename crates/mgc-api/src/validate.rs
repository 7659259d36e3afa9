//! Input checks made before any request is sent, and path-segment encoding.
//! (Ids are checked when they are parsed: [`crate::ids`].)

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::Error;

/// Longest registry or proxy-cache name.
pub const MAX_NAME_LEN: usize = 63;

/// Characters escaped in a path segment: everything but RFC 3986 `pchar`
/// minus a few that some routers treat specially.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'=');

/// Percent-encodes one path segment.
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A registry or proxy-cache name: lowercase ASCII letters and digits, 1 to 63.
pub(crate) fn resource_name(op: &'static str, what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(op, format!("{what} is empty")));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(Error::invalid_input(
            op,
            format!(
                "{what} {value:?} is {} characters long; at most {MAX_NAME_LEN} are allowed",
                value.len()
            ),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
    {
        return Err(Error::invalid_input(
            op,
            format!(
                "{what} {value:?} contains {c:?}: only lowercase letters and digits are allowed"
            ),
        ));
    }
    Ok(())
}

/// `_sort`: `^[\w-]+:(asc|desc)(,[\w-]+:(asc|desc))*$`.
pub(crate) fn sort(op: &'static str, value: &str) -> Result<(), Error> {
    let valid = !value.is_empty()
        && value.split(',').all(|part| match part.split_once(':') {
            Some((field, dir)) => {
                !field.is_empty()
                    && field
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && (dir == "asc" || dir == "desc")
            }
            None => false,
        });
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_input(
            op,
            format!(
                "_sort {value:?} does not match FIELD:asc|desc[,FIELD:asc|desc...] (e.g. created_at:desc)"
            ),
        ))
    }
}

/// A `digest_or_tag`: a digest (`sha256:<64 hex>`) or a tag
/// (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
pub(crate) fn digest_or_tag(op: &'static str, value: &str) -> Result<(), Error> {
    if value.contains(':') {
        return value
            .parse::<registry_core::Digest>()
            .map(drop)
            .map_err(|e| {
                Error::invalid_input(op, format!("digest_or_tag {value:?} is not a valid digest"))
                    .with_source(e)
            });
    }
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && value.len() <= 128 {
        Ok(())
    } else {
        Err(Error::invalid_input(
            op,
            format!("digest_or_tag {value:?} is neither a digest (sha256:…) nor a valid tag"),
        ))
    }
}

/// A required free-text value.
pub(crate) fn non_empty(op: &'static str, what: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        Err(Error::invalid_input(op, format!("{what} is empty")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(resource_name("op", "registry name", "cool1").is_ok());
        assert!(resource_name("op", "registry name", &"a".repeat(63)).is_ok());
        assert!(resource_name("op", "registry name", &"a".repeat(64)).is_err());
        assert!(resource_name("op", "registry name", "").is_err());
        for bad in ["Cool", "cool_registry", "cool-registry", "café", "a b"] {
            let e = resource_name("op", "registry name", bad).unwrap_err();
            assert!(e.to_string().contains("lowercase"), "{bad}: {e}");
        }
    }

    /// UUID parameters are checked once, when text becomes an id
    /// (`crate::ids`).
    #[test]
    fn uuids() {
        use crate::ids::RegistryId;
        let uuid = |value: &str| RegistryId::parse(value);
        assert!(uuid("0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c").is_ok());
        assert!(uuid("0C6BBD87-881A-4BF8-B3F6-4FF3CEACB42C").is_ok());
        for bad in [
            "",
            "0c6bbd87881a4bf8b3f64ff3ceacb42c",
            "{0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c}",
            "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42",
            "../../v0/credentials",
        ] {
            assert!(uuid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts() {
        for ok in ["created_at:asc", "name:desc,created_at:asc", "a-b:desc"] {
            assert!(sort("op", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "created_at",
            "created_at:up",
            "created_at:asc,",
            ":asc",
            "a b:asc",
            "name:ASC",
        ] {
            assert!(sort("op", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests_and_tags() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert!(digest_or_tag("op", &d).is_ok());
        assert!(digest_or_tag("op", "latest").is_ok());
        assert!(digest_or_tag("op", "v1.2.3-rc_1").is_ok());
        for bad in [
            "",
            "sha256:abc",
            ".hidden",
            "a/b",
            "tag?x",
            &"a".repeat(129),
        ] {
            assert!(digest_or_tag("op", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
        assert_eq!(segment("sha256:abc"), "sha256:abc");
    }
}
