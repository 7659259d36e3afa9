//! Image scans: scheduling, listing, progress, vulnerabilities, stopping
//! (`…/images/{digest_or_tag}/scans` and `/v1/scans/{scan_id}`).

mod models;

pub use models::*;

use http::Method;

pub use crate::client::ScansService;
use crate::error::Error;
use crate::ids::{RegistryId, RepositoryId, ScanId};
use crate::images::image_path;
use crate::paging::{Accepts, ItemStream, ListOptions, walk};
use crate::request::Call;
use crate::validate;

/// Filters of [`ScansService::vulnerabilities`].
///
/// ```
/// use mgc_api::{VulnerabilityFilter, VulnerabilitySeverity};
/// let f = VulnerabilityFilter::new()
///     .severity(VulnerabilitySeverity::High)
///     .severity(VulnerabilitySeverity::Critical)
///     .fixable(true);
/// assert_eq!(f.severity.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VulnerabilityFilter {
    /// Only these severities (sent as repeated `severity=`).
    pub severity: Vec<VulnerabilitySeverity>,
    /// Only this package (`package_name`).
    pub package_name: Option<String>,
    /// Only this CVE (`cve_id`).
    pub cve_id: Option<String>,
    /// Only those with (`true`) or without (`false`) a fix (`fixable`).
    pub fixable: Option<bool>,
}

registry_core::setters!(VulnerabilityFilter {
    package_name: impl Into<String>,
    cve_id: impl Into<String>,
    fixable: bool,
});

impl VulnerabilityFilter {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a severity.
    pub fn severity(mut self, s: VulnerabilitySeverity) -> Self {
        self.severity.push(s);
        self
    }

    fn query(&self, op: &'static str) -> Result<Vec<(&'static str, String)>, Error> {
        let mut q = Vec::new();
        for s in &self.severity {
            s.check_known("severity")
                .map_err(|e| e.with_operation(op))?;
            q.push(("severity", s.as_str().to_owned()));
        }
        if let Some(p) = &self.package_name {
            validate::non_empty(op, "package_name", p)?;
            q.push(("package_name", p.clone()));
        }
        if let Some(c) = &self.cve_id {
            validate::non_empty(op, "cve_id", c)?;
            q.push(("cve_id", c.clone()));
        }
        if let Some(f) = self.fixable {
            q.push(("fixable", f.to_string()));
        }
        Ok(q)
    }
}

fn scan_path(scan_id: &ScanId) -> String {
    format!("/v1/scans/{}", scan_id.segment())
}

impl ScansService {
    /// `scheduleImageScan`: `POST …/images/{digest_or_tag}/scans`. Not retried.
    pub async fn schedule(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        digest_or_tag: &str,
    ) -> Result<ImageScanScheduleResponse, Error> {
        const OP: &str = "scheduleImageScan";
        let image = image_path(OP, registry_id, repository_id, digest_or_tag)?;
        let path = format!("{image}/scans");
        self.client.json(Call::new(OP, Method::POST, path)).await
    }

    /// `getImageScans`: one page of the image's scans. Takes `limit`,
    /// `offset`, `sort` (default `created_at:desc`) and an optional `status`.
    pub async fn list(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        digest_or_tag: &str,
        options: ListOptions,
        status: Option<ScanStatus>,
    ) -> Result<ImageScansResponse, Error> {
        const OP: &str = "getImageScans";
        let image = image_path(OP, registry_id, repository_id, digest_or_tag)?;
        let path = format!("{image}/scans");
        let mut q = options.query(OP, Accepts::Paging)?;
        if let Some(s) = status {
            s.check_known("status").map_err(|e| e.with_operation(OP))?;
            q.push(("status", s.as_str().to_owned()));
        }
        let call = Call::new(OP, Method::GET, path).query(q);
        self.client.json(call).await
    }

    /// Every scan of the image, page after page, as a stream.
    pub fn list_stream(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        digest_or_tag: &str,
        options: ListOptions,
        status: Option<ScanStatus>,
    ) -> ItemStream<ImageScanResponse> {
        let ids = (registry_id.clone(), repository_id.clone());
        let ctx = (self.clone(), ids, digest_or_tag.to_owned(), status);
        let fetch = |(this, (reg, repo), image, status): (Self, _, String, _), o| async move {
            this.list(&reg, &repo, &image, o, status).await
        };
        walk("getImageScans", options, ctx, fetch)
    }

    /// `getImageScan`: `GET /v1/scans/{scan_id}`, progress and summary.
    pub async fn get(&self, scan_id: &ScanId) -> Result<ImageScanResponse, Error> {
        const OP: &str = "getImageScan";
        let path = scan_path(scan_id);
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `getImageScanVulnerabilities`: one page of what the scan found. Takes
    /// `limit`, `offset`, `sort` (default `severity:desc`) and the filters.
    pub async fn vulnerabilities(
        &self,
        scan_id: &ScanId,
        options: ListOptions,
        filter: VulnerabilityFilter,
    ) -> Result<VulnerabilitiesResponse, Error> {
        const OP: &str = "getImageScanVulnerabilities";
        let path = format!("{}/vulnerabilities", scan_path(scan_id));
        let mut q = options.query(OP, Accepts::Paging)?;
        q.extend(filter.query(OP)?);
        let call = Call::new(OP, Method::GET, path).query(q);
        self.client.json(call).await
    }

    /// Every vulnerability of the scan, page after page, as a stream.
    pub fn vulnerabilities_stream(
        &self,
        scan_id: &ScanId,
        options: ListOptions,
        filter: VulnerabilityFilter,
    ) -> ItemStream<VulnerabilityResponse> {
        let ctx = (self.clone(), scan_id.clone(), filter);
        let fetch = |(this, scan, filter): (Self, ScanId, _), o| async move {
            this.vulnerabilities(&scan, o, filter).await
        };
        walk("getImageScanVulnerabilities", options, ctx, fetch)
    }

    /// `stopImageScan`: `POST /v1/scans/{scan_id}/stop`; only `pending` or
    /// `running` scans stop, others are already done (also 204).
    pub async fn stop(&self, scan_id: &ScanId) -> Result<(), Error> {
        const OP: &str = "stopImageScan";
        let path = format!("{}/stop", scan_path(scan_id));
        self.client.empty(Call::new(OP, Method::POST, path)).await
    }
}
