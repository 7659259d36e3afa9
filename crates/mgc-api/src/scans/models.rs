//! The JSON shapes of image scans and vulnerabilities.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{RegistryId, RepositoryId, ScanId};
use crate::paging::ListResponse;
use crate::serde_util;

registry_core::open_enum! {
    /// `ScanStatus`: where an image scan is.
    ///
    /// ```
    /// use mgc_api::ScanStatus;
    /// assert_eq!("running".parse::<ScanStatus>().unwrap(), ScanStatus::Running);
    /// let later: ScanStatus = serde_json::from_str(r#""queued""#).unwrap();
    /// assert_eq!(later, ScanStatus::Other("queued".into()));
    /// ```
    ScanStatus: FromStr<Err = crate::Error> {
        /// Waiting to run.
        Pending = "pending",
        /// Running.
        Running = "running",
        /// Finished.
        Completed = "completed",
        /// Failed.
        Failed = "failed",
        /// Stopped by a user.
        Stopped = "stopped",
    }
}

registry_core::open_enum! {
    /// `VulnerabilitySeverity`.
    ///
    /// ```
    /// use mgc_api::VulnerabilitySeverity;
    /// assert_eq!("critical".parse::<VulnerabilitySeverity>().unwrap(), VulnerabilitySeverity::Critical);
    /// ```
    VulnerabilitySeverity: FromStr<Err = crate::Error> {
        /// Severity not known.
        Unknown = "unknown",
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
}

/// `SeverityResponse`: vulnerability counts of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityResponse {
    /// All vulnerabilities.
    pub total: u64,
    /// Low.
    pub low: u64,
    /// Medium.
    pub medium: u64,
    /// High.
    pub high: u64,
    /// Critical.
    pub critical: u64,
    /// With a fixed version available.
    pub fixable: u64,
}

/// `ImageScanScheduleResponse`: a scan just scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageScanScheduleResponse {
    /// Scan job id (the `scan_id` of the other operations).
    pub id: ScanId,
    /// Image digest.
    pub digest: String,
    /// Registry UUID.
    pub registry_id: RegistryId,
    /// Repository UUID.
    pub repository_id: RepositoryId,
    /// The tag asked for, if the scan was scheduled by tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tag: Option<String>,
    /// Status.
    pub status: ScanStatus,
    /// When it was scheduled.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last update.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// `ImageScanResponse`: an image scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageScanResponse {
    /// Scan job id.
    pub id: ScanId,
    /// Image digest.
    pub digest: String,
    /// Tag asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tag: Option<String>,
    /// Status.
    pub status: ScanStatus,
    /// Operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Vulnerability counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_summary: Option<SeverityResponse>,
    /// When it was scheduled.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last update.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// When it finished, if it has.
    #[serde(
        default,
        deserialize_with = "serde_util::opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<DateTime<Utc>>,
    /// Scans of the platforms of a multi-platform image (`None` in a child
    /// scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_scans: Option<Vec<ChildImageScanResponse>>,
}

/// `ChildImageScanResponse`: the scan of one platform of a multi-platform
/// image; the spec's shape is [`ImageScanResponse`] without `child_scans`.
pub type ChildImageScanResponse = ImageScanResponse;

/// `ImageScansResponse`: one page of scans.
pub type ImageScansResponse = ListResponse<ImageScanResponse>;

/// `VulnerabilityCvssSourceResponse`: CVSS v3 from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityCvssSourceResponse {
    /// CVSS v3 score.
    #[serde(default)]
    pub score: Option<f64>,
    /// CVSS v3 vector.
    #[serde(default)]
    pub vector: Option<String>,
}

/// `VulnerabilityCvssMaxResponse`: the highest CVSS v3 among the sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityCvssMaxResponse {
    /// Source of the highest score.
    #[serde(default)]
    pub source: Option<String>,
    /// The highest score.
    #[serde(default)]
    pub score: Option<f64>,
    /// Its vector.
    #[serde(default)]
    pub vector: Option<String>,
}

/// `VulnerabilityCvssResponse`: CVSS information from the scan sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityCvssResponse {
    /// The preferred CVSS v3 (nullable).
    pub preferred: Option<VulnerabilityCvssSourceResponse>,
    /// The highest CVSS v3 (nullable).
    pub max: Option<VulnerabilityCvssMaxResponse>,
    /// CVSS v3 by source name, e.g. `nvd`, `redhat`.
    pub by_source: BTreeMap<String, VulnerabilityCvssSourceResponse>,
}

/// `VulnerabilityResponse`: one vulnerability found by a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityResponse {
    /// CVE id, e.g. `CVE-2016-2781`.
    pub cve_id: String,
    /// Severity.
    pub severity: VulnerabilitySeverity,
    /// CVSS scores.
    pub cvss: VulnerabilityCvssResponse,
    /// Whether it is allowlisted.
    pub is_allowlisted: bool,
    /// Affected package.
    pub package_name: String,
    /// Installed version of the package.
    pub current_version: String,
    /// Version with a fix (nullable).
    #[serde(default)]
    pub fixed_version: Option<String>,
    /// Whether a fix exists.
    pub fixable: bool,
    /// Path of the affected package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// Description.
    pub description: String,
    /// Reference links.
    pub links: Vec<String>,
}

/// `VulnerabilitiesResponse`: one page of vulnerabilities.
pub type VulnerabilitiesResponse = ListResponse<VulnerabilityResponse>;
