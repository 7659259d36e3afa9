//! The JSON shapes of ACR's metadata API (`/acr/v1`, api-version
//! 2021-07-01), with the SDK's field names and the wire names as serde
//! renames. Reading is tolerant: unknown fields are ignored, architecture
//! and OS are open enums, timestamps (7 fractional digits on the wire) that
//! cannot be parsed become `None`. Serializing writes the same wire names
//! (timestamps as RFC 3339 UTC), so a value can be printed as ACR would.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

mod values;

pub use values::{Architecture, ContentType, ExchangeGrantType, OperatingSystem, TokenGrantType};

/// The writeable properties of a repository, tag or manifest. In a PATCH
/// only the fields that are `Some` are sent.
///
/// ```
/// use acr_auth::WriteableProperties;
/// let p = WriteableProperties::new().can_delete(false).can_write(true);
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"deleteEnabled":false,"writeEnabled":true}"#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WriteableProperties {
    /// Whether it can be deleted (`deleteEnabled`).
    #[serde(rename = "deleteEnabled", skip_serializing_if = "Option::is_none")]
    pub can_delete: Option<bool>,
    /// Whether it can be written (`writeEnabled`).
    #[serde(rename = "writeEnabled", skip_serializing_if = "Option::is_none")]
    pub can_write: Option<bool>,
    /// Whether it can be read (`readEnabled`).
    #[serde(rename = "readEnabled", skip_serializing_if = "Option::is_none")]
    pub can_read: Option<bool>,
    /// Whether it is listed (`listEnabled`).
    #[serde(rename = "listEnabled", skip_serializing_if = "Option::is_none")]
    pub can_list: Option<bool>,
}

impl WriteableProperties {
    /// No property set (a PATCH with `{}`).
    pub fn new() -> WriteableProperties {
        WriteableProperties::default()
    }
}

registry_core::setters!(WriteableProperties {
    /// (`deleteEnabled`)
    can_delete: bool,
    /// (`writeEnabled`)
    can_write: bool,
    /// (`readEnabled`)
    can_read: bool,
    /// (`listEnabled`)
    can_list: bool,
});

/// Properties of a repository (`GET /acr/v1/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRepositoryProperties {
    /// The registry login server, e.g. `name.azurecr.io` (`registry`).
    #[serde(rename = "registry", default)]
    pub registry_login_server: String,
    /// The repository name (`imageName`).
    #[serde(rename = "imageName", default)]
    pub name: String,
    /// When it was created (`createdTime`).
    #[serde(rename = "createdTime", default, deserialize_with = "timestamp")]
    pub created_on: Option<DateTime<Utc>>,
    /// When it was last updated (`lastUpdateTime`).
    #[serde(rename = "lastUpdateTime", default, deserialize_with = "timestamp")]
    pub last_updated_on: Option<DateTime<Utc>>,
    /// How many manifests it holds.
    #[serde(rename = "manifestCount", default)]
    pub manifest_count: Option<u64>,
    /// How many tags it holds.
    #[serde(rename = "tagCount", default)]
    pub tag_count: Option<u64>,
    /// Its writeable properties (`changeableAttributes`).
    #[serde(rename = "changeableAttributes", default)]
    pub properties: WriteableProperties,
}

/// What deleting a repository removed (`DELETE /acr/v1/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRepository {
    /// Digests of the deleted manifests (`manifestsDeleted`).
    #[serde(rename = "manifestsDeleted", default)]
    pub deleted_manifests: Vec<String>,
    /// The deleted tags (`tagsDeleted`).
    #[serde(rename = "tagsDeleted", default)]
    pub deleted_tags: Vec<String>,
}

/// One tag (an item of `GET /acr/v1/{name}/_tags`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagAttributes {
    /// The tag.
    #[serde(default)]
    pub name: String,
    /// The digest of the manifest it points to.
    #[serde(default)]
    pub digest: String,
    /// When it was created (`createdTime`).
    #[serde(rename = "createdTime", default, deserialize_with = "timestamp")]
    pub created_on: Option<DateTime<Utc>>,
    /// When it was last updated (`lastUpdateTime`).
    #[serde(rename = "lastUpdateTime", default, deserialize_with = "timestamp")]
    pub last_updated_on: Option<DateTime<Utc>>,
    /// Whether it is signed, when the registry says.
    #[serde(default)]
    pub signed: Option<bool>,
    /// Its writeable properties (`changeableAttributes`).
    #[serde(rename = "changeableAttributes", default)]
    pub properties: WriteableProperties,
}

/// A tag with its repository (`GET /acr/v1/{name}/_tags/{tag}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactTagProperties {
    /// The registry login server (`registry`).
    #[serde(rename = "registry", default)]
    pub registry_login_server: String,
    /// The repository (`imageName`).
    #[serde(rename = "imageName", default)]
    pub repository_name: String,
    /// The tag.
    pub tag: TagAttributes,
}

/// The platform of a manifest referenced by an index (`references`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactManifestPlatform {
    /// The referenced manifest.
    #[serde(default)]
    pub digest: String,
    /// Its CPU architecture.
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Its operating system (`os`).
    #[serde(rename = "os", default)]
    pub operating_system: Option<OperatingSystem>,
}

/// One manifest (an item of `GET /acr/v1/{name}/_manifests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestAttributes {
    /// The manifest digest.
    #[serde(default)]
    pub digest: String,
    /// The image size in bytes (`imageSize`).
    #[serde(rename = "imageSize", default)]
    pub size: Option<u64>,
    /// When it was created (`createdTime`).
    #[serde(rename = "createdTime", default, deserialize_with = "timestamp")]
    pub created_on: Option<DateTime<Utc>>,
    /// When it was last updated (`lastUpdateTime`).
    #[serde(rename = "lastUpdateTime", default, deserialize_with = "timestamp")]
    pub last_updated_on: Option<DateTime<Utc>>,
    /// Its CPU architecture (none for an index).
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Its operating system (`os`; none for an index).
    #[serde(rename = "os", default)]
    pub operating_system: Option<OperatingSystem>,
    /// The manifests an index references, with their platforms
    /// (`references`); empty for an image manifest.
    #[serde(rename = "references", default)]
    pub related_artifacts: Vec<ArtifactManifestPlatform>,
    /// The manifest's media type (`mediaType`).
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    /// The config blob's media type (`configMediaType`).
    #[serde(rename = "configMediaType", default)]
    pub config_media_type: Option<String>,
    /// The tags pointing at it.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its writeable properties (`changeableAttributes`).
    #[serde(rename = "changeableAttributes", default)]
    pub properties: WriteableProperties,
}

/// A manifest with its repository (`GET /acr/v1/{name}/_manifests/{digest}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactManifestProperties {
    /// The registry login server (`registry`).
    #[serde(rename = "registry", default)]
    pub registry_login_server: String,
    /// The repository (`imageName`).
    #[serde(rename = "imageName", default)]
    pub repository_name: String,
    /// The manifest.
    pub manifest: ManifestAttributes,
}

/// Parses an ACR timestamp (RFC 3339, 7 fractional digits), tolerantly:
/// any number of fractional digits, a missing offset means UTC, and
/// anything unparseable is `None` rather than an error.
///
/// ```
/// let t = acr_auth::models::parse_timestamp("2018-09-06T06:17:20.9983915Z").unwrap();
/// assert_eq!(t.timestamp_subsec_nanos(), 998_391_500);
/// assert!(acr_auth::models::parse_timestamp("yesterday").is_none());
/// ```
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Offsets chrono's RFC 3339 parser refuses, or more than 9 digits.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.trim_end_matches(['Z', 'z']);
    let naive = match naive.split_once('.') {
        Some((whole, frac)) if frac.len() > 9 && frac.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{whole}.{}", &frac[..9])
        }
        _ => naive.to_owned(),
    };
    NaiveDateTime::parse_from_str(&naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match raw {
        Some(serde_json::Value::String(s)) => {
            let t = parse_timestamp(&s);
            if t.is_none() {
                tracing::debug!(value = %s, "ignoring an unparseable ACR timestamp");
            }
            t
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    #[test]
    fn timestamps_with_seven_digits_and_variants() {
        let t = parse_timestamp("2018-09-07T16:30:46.6583219Z").unwrap();
        assert_eq!(
            t,
            Utc.with_ymd_and_hms(2018, 9, 7, 16, 30, 46).unwrap()
                + chrono::Duration::nanoseconds(658_321_900)
        );
        assert_eq!(
            parse_timestamp("2018-09-07T16:30:46Z")
                .unwrap()
                .nanosecond(),
            0
        );
        assert_eq!(
            parse_timestamp("2018-09-07T18:30:46.5+02:00").unwrap(),
            Utc.with_ymd_and_hms(2018, 9, 7, 16, 30, 46).unwrap()
                + chrono::Duration::milliseconds(500)
        );
        // No offset: UTC. Too many digits: truncated to nanoseconds.
        assert_eq!(
            parse_timestamp("2018-09-07T16:30:46.123")
                .unwrap()
                .nanosecond(),
            123_000_000
        );
        assert_eq!(
            parse_timestamp("2018-09-07T16:30:46.12345678912Z")
                .unwrap()
                .nanosecond(),
            123_456_789
        );
        assert!(parse_timestamp("").is_none());
    }

    #[test]
    fn manifest_attributes_are_read_tolerantly() {
        let m: ManifestAttributes = serde_json::from_value(serde_json::json!({
            "digest": "sha256:abc",
            "imageSize": 12,
            "createdTime": "2018-09-06T06:17:20.9983915Z",
            "lastUpdateTime": "not a time",
            "architecture": "loong64",
            "os": "linux",
            "references": [{"digest": "sha256:def", "architecture": "arm64", "os": "windows"}],
            "quarantineState": "Passed",
            "tags": ["v1"],
            "changeableAttributes": {"deleteEnabled": false, "quarantineDetails": "x"}
        }))
        .unwrap();
        assert_eq!(m.architecture, Some(Architecture::Other("loong64".into())));
        assert_eq!(m.operating_system, Some(OperatingSystem::Linux));
        assert_eq!(
            m.related_artifacts[0].architecture,
            Some(Architecture::Arm64)
        );
        assert_eq!(
            m.related_artifacts[0].operating_system,
            Some(OperatingSystem::Windows)
        );
        assert!(m.created_on.is_some());
        assert_eq!(m.last_updated_on, None);
        assert_eq!(m.properties, WriteableProperties::new().can_delete(false));
        // Architecture round-trips through serde with its wire name.
        assert_eq!(
            serde_json::to_string(&Architecture::I386).unwrap(),
            "\"386\""
        );
        assert_eq!(Architecture::from("ppc641e"), Architecture::Ppc64Le);
    }

    #[test]
    fn serializing_writes_the_wire_names() {
        let wire = serde_json::json!({
            "registry": "r.azurecr.io",
            "imageName": "app",
            "tag": {
                "name": "v1",
                "digest": "sha256:abc",
                "createdTime": "2018-09-06T06:17:20.9983915Z",
                "lastUpdateTime": null,
                "signed": false,
                "changeableAttributes": {"deleteEnabled": false, "writeEnabled": true}
            }
        });
        let t: ArtifactTagProperties = serde_json::from_value(wire).unwrap();
        let out = serde_json::to_value(&t).unwrap();
        assert_eq!(out["imageName"], "app");
        assert_eq!(out["tag"]["createdTime"], "2018-09-06T06:17:20.998391500Z");
        assert_eq!(out["tag"]["lastUpdateTime"], serde_json::Value::Null);
        assert_eq!(
            out["tag"]["changeableAttributes"],
            serde_json::json!({"deleteEnabled": false, "writeEnabled": true})
        );
        // And back: what is printed reads the same.
        let again: ArtifactTagProperties = serde_json::from_value(out).unwrap();
        assert_eq!(again, t);
    }
}
