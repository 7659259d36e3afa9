//! Serde helpers: lenient RFC 3339 timestamps and secrets.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Parses an RFC 3339 timestamp; a timestamp without an offset is taken as
/// UTC (`2024-05-15T19:56:47` or `2024-05-15 19:56:47.123`).
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })
}

/// A required timestamp.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    parse_timestamp(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp")))
}

/// An optional or nullable timestamp: `null` and `""` are `None`.
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_timestamp(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp"))),
    }
}

/// Reads and writes a [`registry_core::Secret`] as a plain JSON string.
pub(crate) mod secret {
    use registry_core::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Writes an `Option<Secret>` (used with `skip_serializing_if`).
pub(crate) fn opt_secret<S: Serializer>(
    s: &Option<registry_core::Secret>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_str(s.expose()),
        None => ser.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let want: DateTime<Utc> = "2024-05-15T19:56:47Z".parse().unwrap();
        for s in [
            "2024-05-15T19:56:47Z",
            "2024-05-15T16:56:47-03:00",
            "2024-05-15T19:56:47",
            "2024-05-15 19:56:47",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        assert!(parse_timestamp("2024-05-15T19:56:47.540734Z").is_some());
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
