//! The API's ids, one type each: [`RegistryId`], [`RepositoryId`],
//! [`ProxyCacheId`], [`MemberId`], [`UserId`] and [`ScanId`].
//!
//! Every operation takes the id type it names, so a registry id cannot be
//! passed where a repository id is wanted, and every model the API returns
//! carries its ids typed, ready to be passed back.
//!
//! - **Parsed once, at the boundary.** The spec declares each of these path
//!   parameters (and `MemberRequest.user_id`) `format: uuid`: text becomes
//!   an id through [`FromStr`](std::str::FromStr) or `TryFrom<&str>` /
//!   `TryFrom<String>`, which accept the hyphenated form only (any case,
//!   kept as given) and refuse anything else with an
//!   [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error naming
//!   the spec's parameter (`registry_id "x" is not a UUID …`). Operations
//!   then check nothing more about ids, and a malformed one never reaches
//!   the network. A [`uuid::Uuid`] converts with `From`.
//! - **Ids the API sends are kept as sent.** The spec types the ids of its
//!   responses as plain strings, so decoding a response does not check
//!   them (one odd id does not make a whole page undecodable); they are
//!   still percent-encoded as one path segment when passed back.
//! - JSON is the bare string both ways (`serde(transparent)`); `Display`
//!   and [`AsRef<str>`] give the id as text; `Debug` shows the type, e.g.
//!   `RegistryId("0c6bbd87-…")`. An id compares equal to a `str` with the
//!   same text.
//!
//! ```
//! use mgc_api::{ErrorKind, RegistryId, RepositoryId};
//!
//! let registry: RegistryId = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c".parse()?;
//! let repository = RepositoryId::try_from("ef376048-a0f7-446c-826b-1d5cb3e5a5b0")?;
//! assert_eq!(registry.to_string(), "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c");
//! assert_eq!(registry, "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c");
//! assert_eq!(serde_json::to_string(&repository)?, r#""ef376048-a0f7-446c-826b-1d5cb3e5a5b0""#);
//!
//! let bad = "0c6bbd87881a4bf8".parse::<RegistryId>().unwrap_err();
//! assert_eq!(bad.kind(), ErrorKind::InvalidInput);
//! assert!(bad.to_string().starts_with(r#"registry_id "0c6bbd87881a4bf8" is not a UUID"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The types are distinct: the same UUID as a registry id and as a
//! repository id are two values of two types, and only the right one is
//! accepted by an operation.
//!
//! ```
//! # async fn run(mgc: mgc_api::MgcClient) -> Result<(), mgc_api::Error> {
//! use mgc_api::{RegistryId, RepositoryId};
//! let registry: RegistryId = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c".parse()?;
//! let repository: RepositoryId = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0".parse()?;
//! mgc.repositories().delete(&registry, &repository).await?;
//! # Ok(()) }
//! ```
//!
//! Swapping them does not compile:
//!
//! ```compile_fail
//! # async fn run(mgc: mgc_api::MgcClient) -> Result<(), mgc_api::Error> {
//! use mgc_api::{RegistryId, RepositoryId};
//! let registry: RegistryId = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c".parse()?;
//! let repository: RepositoryId = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0".parse()?;
//! mgc.repositories().delete(&repository, &registry).await?;
//! # Ok(()) }
//! ```

use crate::error::Error;

/// Whether `value` is a UUID in its hyphenated form (any case).
pub(crate) fn is_uuid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

/// The error for `value`, not a UUID, given as the spec's `param`.
fn not_a_uuid(param: &str, value: &str) -> Error {
    Error::invalid(format!(
        "{param} {value:?} is not a UUID (expected the form 0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c)"
    ))
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident => $param:literal) => {
        $(#[$meta])*
        ///
        /// See [the module docs](crate::ids) for how ids are parsed, read from
        /// responses and printed.
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The spec's name for this id as a parameter, used in errors.
            pub const PARAM: &'static str = $param;

            /// Parses a UUID in its hyphenated form (any case, kept as given).
            pub fn parse(value: impl Into<String>) -> Result<$name, Error> {
                let value = value.into();
                if is_uuid(&value) {
                    Ok($name(value))
                } else {
                    Err(not_a_uuid($param, &value))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a `String`.
            pub fn into_string(self) -> String {
                self.0
            }

            /// The id percent-encoded as one URL path segment.
            pub(crate) fn segment(&self) -> String {
                crate::validate::segment(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<$name, Error> {
                $name::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;

            fn try_from(s: &str) -> Result<$name, Error> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(s: String) -> Result<$name, Error> {
                $name::parse(s)
            }
        }

        impl From<uuid::Uuid> for $name {
            /// The UUID in its lowercase hyphenated form.
            fn from(id: uuid::Uuid) -> $name {
                $name(id.hyphenated().to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

uuid_id! {
    /// A container registry's UUID (`registry_id`).
    RegistryId => "registry_id"
}

uuid_id! {
    /// A repository's UUID (`repository_id`).
    RepositoryId => "repository_id"
}

uuid_id! {
    /// A proxy cache's UUID (`proxy_cache_id`).
    ProxyCacheId => "proxy_cache_id"
}

uuid_id! {
    /// A registry membership's UUID (`member_id`): the `id` of a
    /// [`MemberResponse`](crate::MemberResponse), not the user's.
    MemberId => "member_id"
}

uuid_id! {
    /// A container registry user's UUID (`user_id`).
    UserId => "user_id"
}

uuid_id! {
    /// An image scan job's UUID (`scan_id`).
    ScanId => "scan_id"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const ID: &str = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c";

    #[test]
    fn uuids_in_hyphenated_form_only() {
        assert!(is_uuid(ID));
        assert!(is_uuid("0C6BBD87-881A-4BF8-B3F6-4FF3CEACB42C"));
        for bad in [
            "",
            "0c6bbd87881a4bf8b3f64ff3ceacb42c",
            "{0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c}",
            "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42",
            "urn:uuid:0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c",
            " 0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c",
            "../../v0/credentials",
        ] {
            assert!(!is_uuid(bad), "{bad}");
            let e = ScanId::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.to_string().starts_with("scan_id "), "{e}");
        }
    }

    #[test]
    fn every_way_in_checks_and_keeps_the_text() {
        let upper = ID.to_uppercase();
        let a: RegistryId = ID.parse().unwrap();
        let b = RegistryId::try_from(ID).unwrap();
        let c = RegistryId::try_from(ID.to_owned()).unwrap();
        assert_eq!((&a, &b), (&c, &c));
        assert_eq!(RegistryId::parse(upper.as_str()).unwrap().as_str(), upper);
        assert_eq!(RegistryId::from(uuid::Uuid::parse_str(&upper).unwrap()), ID);
        assert!(RepositoryId::try_from("x").is_err());
        assert!(ProxyCacheId::try_from(String::new()).is_err());
        assert!("x".parse::<MemberId>().is_err());
        assert!("x".parse::<UserId>().is_err());
        assert_eq!(a.to_string(), ID);
        assert_eq!(a.as_ref(), ID);
        assert_eq!(String::from(a.clone()), ID);
        assert_eq!(format!("{a:?}"), format!("RegistryId({ID:?})"));
    }

    #[test]
    fn errors_name_the_parameter() {
        for (e, param) in [
            ("x".parse::<RegistryId>().unwrap_err(), "registry_id"),
            ("x".parse::<RepositoryId>().unwrap_err(), "repository_id"),
            ("x".parse::<ProxyCacheId>().unwrap_err(), "proxy_cache_id"),
            ("x".parse::<MemberId>().unwrap_err(), "member_id"),
            ("x".parse::<UserId>().unwrap_err(), "user_id"),
            ("x".parse::<ScanId>().unwrap_err(), "scan_id"),
        ] {
            assert_eq!(
                e.to_string(),
                format!(
                    "{param} \"x\" is not a UUID (expected the form 0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c)"
                )
            );
            assert_eq!(e.operation(), None);
        }
    }

    #[test]
    fn json_is_the_bare_string_and_responses_are_not_checked() {
        let id: UserId = serde_json::from_str(&format!("{ID:?}")).unwrap();
        assert_eq!(id, ID);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("{ID:?}"));
        // An id the API sends is kept as sent, and encoded when passed back.
        let odd: RegistryId = serde_json::from_str(r#""a/b?c""#).unwrap();
        assert_eq!(odd.as_str(), "a/b?c");
        assert_eq!(odd.segment(), "a%2Fb%3Fc");
    }
}
