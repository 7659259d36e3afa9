//! `crctl mgc scans schedule | list | get | stop | vulnerabilities`.

use clap::{Subcommand, ValueEnum};
use facade::mgc::{ScanId, ScanStatus, VulnerabilityFilter, VulnerabilitySeverity};

use super::Ctx;
use super::list::{PageArgs, print_list};
use super::repository::RepositoryArgs;
use crate::exit::Failure;

/// `crctl mgc scans …`
#[derive(Debug, Subcommand)]
pub enum ScansCommand {
    /// Schedule a vulnerability scan of an image; prints the scan (its id is the SCAN_ID).
    Schedule {
        #[command(flatten)]
        repo: RepositoryArgs,
        /// The image digest (sha256:…) or a tag.
        digest_or_tag: String,
    },
    /// List the scans of an image (a JSON array).
    List {
        #[command(flatten)]
        repo: RepositoryArgs,
        /// The image digest (sha256:…) or a tag.
        digest_or_tag: String,
        /// Only scans in this state.
        #[arg(long, value_enum, value_name = "STATUS")]
        status: Option<Status>,
        #[command(flatten)]
        paging: PageArgs,
    },
    /// Show a scan: progress and vulnerability counts.
    Get {
        /// The scan ID (a UUID).
        scan_id: ScanId,
    },
    /// Stop a pending or running scan; prints nothing.
    Stop {
        /// The scan ID.
        scan_id: ScanId,
    },
    /// List what a scan found (a JSON array).
    Vulnerabilities {
        /// The scan ID.
        scan_id: ScanId,
        /// Only these severities; repeat or separate with commas.
        #[arg(long, value_enum, value_name = "S", value_delimiter = ',')]
        severity: Vec<Severity>,
        /// Only this package.
        #[arg(long, value_name = "NAME")]
        package_name: Option<String>,
        /// Only this CVE, e.g. CVE-2016-2781.
        #[arg(long, value_name = "ID")]
        cve_id: Option<String>,
        /// Only those with (true) or without (false) a fix.
        #[arg(long, value_name = "BOOL")]
        fixable: Option<bool>,
        #[command(flatten)]
        paging: PageArgs,
    },
}

/// The values of `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// Waiting to run.
    Pending,
    /// Running.
    Running,
    /// Finished.
    Completed,
    /// Failed.
    Failed,
    /// Stopped by a user.
    Stopped,
}

impl From<Status> for ScanStatus {
    fn from(s: Status) -> ScanStatus {
        match s {
            Status::Pending => ScanStatus::Pending,
            Status::Running => ScanStatus::Running,
            Status::Completed => ScanStatus::Completed,
            Status::Failed => ScanStatus::Failed,
            Status::Stopped => ScanStatus::Stopped,
        }
    }
}

/// The values of `--severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Severity {
    /// Severity not known.
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl From<Severity> for VulnerabilitySeverity {
    fn from(s: Severity) -> VulnerabilitySeverity {
        match s {
            Severity::Unknown => VulnerabilitySeverity::Unknown,
            Severity::Low => VulnerabilitySeverity::Low,
            Severity::Medium => VulnerabilitySeverity::Medium,
            Severity::High => VulnerabilitySeverity::High,
            Severity::Critical => VulnerabilitySeverity::Critical,
        }
    }
}

/// The table columns of a scan list.
const SCAN_COLUMNS: &[&str] = &[
    "id",
    "status",
    "digest",
    "input_tag",
    "severity_summary.total",
    "severity_summary.critical",
    "created_at",
];

/// The table columns of a vulnerability list.
const VULNERABILITY_COLUMNS: &[&str] = &[
    "cve_id",
    "severity",
    "package_name",
    "current_version",
    "fixed_version",
];

/// Runs one scans command.
pub async fn run(ctx: &Ctx, command: ScansCommand) -> Result<(), Failure> {
    let scans = ctx.api.scans();
    match command {
        ScansCommand::Schedule {
            repo,
            digest_or_tag,
        } => {
            let repository_id = repo.id(ctx).await?;
            let scan = scans.schedule(&repo.registry_id, &repository_id, &digest_or_tag);
            ctx.out.object(&scan.await?)
        }
        ScansCommand::List {
            repo,
            digest_or_tag,
            status,
            paging,
        } => {
            let options = paging.options();
            let status = status.map(ScanStatus::from);
            let repository_id = repo.id(ctx).await?;
            let (reg, id, image) = (&repo.registry_id, &repository_id, &digest_or_tag);
            print_list(
                ctx,
                &paging,
                SCAN_COLUMNS,
                || scans.list_stream(reg, id, image, options.clone(), status.clone()),
                || scans.list(reg, id, image, options.clone(), status.clone()),
            )
            .await
        }
        ScansCommand::Get { scan_id } => ctx.out.object(&scans.get(&scan_id).await?),
        ScansCommand::Stop { scan_id } => Ok(scans.stop(&scan_id).await?),
        ScansCommand::Vulnerabilities {
            scan_id,
            severity,
            package_name,
            cve_id,
            fixable,
            paging,
        } => {
            let mut filter = VulnerabilityFilter::new();
            for s in severity {
                let s = VulnerabilitySeverity::from(s);
                if !filter.severity.contains(&s) {
                    filter = filter.severity(s);
                }
            }
            filter.package_name = package_name;
            filter.cve_id = cve_id;
            filter.fixable = fixable;
            let options = paging.options();
            print_list(
                ctx,
                &paging,
                VULNERABILITY_COLUMNS,
                || scans.vulnerabilities_stream(&scan_id, options.clone(), filter.clone()),
                || scans.vulnerabilities(&scan_id, options.clone(), filter.clone()),
            )
            .await
        }
    }
}
