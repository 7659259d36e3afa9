//! Mirrors many images: plan, then act.
//!
//! A sync takes [`SyncJob`]s (a source repository, which of its tags, the
//! destination repository name), lists and resolves every selected tag to
//! a digest and compares it with the destination ([`plan`]): a tag already
//! at the same digest is skipped without touching a blob. The plan is
//! sorted, so the same inputs give the same plan. [`execute`] then copies
//! each image with [`copy`](mod@crate::copy)'s own plan and transfer steps,
//! sharing across the whole run:
//!
//! - one concurrency limit (`jobs`) for resolutions and blob transfers of
//!   every image;
//! - a blob ledger: each blob moves once per destination per run, however
//!   many images share it; a later image in another repository of the same
//!   destination registry mounts it from where it landed;
//! - failures: one failed image does not stop the others; each is listed in
//!   the [`SyncReport`], and a rerun does only what is left.
//!
//! Sources and destinations are [`Endpoint`]s: anything that opens a
//! repository as an [`ImageSource`] + [`ImageDestination`](crate::ImageDestination) ([`Store`]) and
//! lists its tags: [`RegistryEndpoint`], [`LayoutEndpoint`] (one layout
//! per repository) and [`ArchiveEndpoint`] (a bundle). After [`execute`],
//! the caller calls [`Endpoint::finish`] on the destination.
//!
//! **Bundles** carry a mirror across an air gap: every repository in one
//! OCI archive (`oci-archive:FILE.tar`), each blob stored once, each tag
//! listed in `index.json` under the ref name `REPO:TAG`
//! (`library/alpine:3.19`, what `skopeo copy oci-archive:FILE.tar:REPO:TAG`
//! reads), an image copied by digest only listed untagged with
//! [`REPOSITORY_ANNOTATION`]. As a destination, nothing is compared (every
//! tag is copied), the run's ledger stores each blob once, and
//! [`Endpoint::finish`] writes `index.json` and renames the file into
//! place (the images that failed are simply not in it; dropped unfinished
//! it leaves nothing). As a source, [`ArchiveEndpoint::repositories`] and
//! the ref names give every repository and tag back, so a second sync
//! recreates `PREFIX/REPO:TAG` with the same digests.
//!
//! ```no_run
//! use std::sync::Arc;
//! use oci_dist::Client;
//! use oci_dist::sync::{self, RegistryEndpoint, SyncJob, SyncOptions, TagSelector};
//! # async fn run() -> Result<(), oci_dist::Error> {
//! let src = Arc::new(RegistryEndpoint::new(Client::new("registry-a.example")?));
//! let dst = RegistryEndpoint::new(Client::new("registry-b.example")?);
//! let jobs = vec![SyncJob::new(src, "library/alpine", TagSelector::All, "mirror/library/alpine")];
//! let opts = SyncOptions::default().jobs(8);
//! let plan = sync::plan(&jobs, &dst, &opts).await;
//! let report = sync::execute(&plan, &jobs, &dst, &opts).await;
//! println!("{} copied, {} failed", report.copied(), report.failed());
//! # Ok(()) }
//! ```

mod archive;
pub mod config;
mod endpoint;
mod run;

use std::sync::Arc;

use futures_util::StreamExt;
use registry_core::{Digest, Error, ErrorKind};
use serde::Serialize;
use sha2::Digest as _;

use crate::content::ImageSource;
use crate::copy::CopyOptions;
use crate::platform;
use crate::reference::{Tag, TagOrDigest};
use oci_spec::image::Platform;

pub use archive::{ArchiveEndpoint, REPOSITORY_ANNOTATION, bundle_ref_name, split_bundle_ref_name};
pub use endpoint::{Endpoint, LayoutEndpoint, RegistryEndpoint, Store};
pub use run::{ImageOutcome, ImageResult, SyncReport, execute};

/// Which tags of a repository a job takes.
///
/// ```
/// use oci_dist::sync::TagSelector;
/// let s = TagSelector::regex("^v1\\.").unwrap();
/// assert!(s.select(vec!["v1.0".into(), "v2.0".into()]) == vec!["v1.0".to_string()]);
/// ```
#[derive(Debug, Clone)]
pub enum TagSelector {
    /// Every tag.
    All,
    /// These tags (or digests, `sha256:…`: copied by digest, untagged).
    List(Vec<String>),
    /// The tags the regex matches (anywhere, as skopeo).
    Regex(regex::Regex),
    /// The tags that read as versions matching the constraint; with
    /// `latest`, only the N highest.
    Semver {
        /// The constraint.
        req: semver::VersionReq,
        /// Keep only the N highest versions.
        latest: Option<usize>,
    },
}

impl TagSelector {
    /// A regex selector.
    ///
    /// ```
    /// assert!(oci_dist::sync::TagSelector::regex("(").is_err());
    /// ```
    pub fn regex(re: &str) -> Result<TagSelector, Error> {
        regex::Regex::new(re)
            .map(TagSelector::Regex)
            .map_err(|e| Error::invalid_input(format!("bad tag regex: {e}")))
    }

    /// A semver selector (`">= 1.2, < 2"`), optionally the latest N.
    ///
    /// ```
    /// use oci_dist::sync::TagSelector;
    /// let s = TagSelector::semver(">= 1.0", Some(1)).unwrap();
    /// assert_eq!(s.select(vec!["1.0".into(), "v1.5".into(), "x".into()]), vec!["v1.5".to_string()]);
    /// ```
    pub fn semver(constraint: &str, latest: Option<usize>) -> Result<TagSelector, Error> {
        let req = config::parse_constraint(constraint).map_err(Error::invalid_input)?;
        Ok(TagSelector::Semver { req, latest })
    }

    /// Whether the selector needs the repository's tag list.
    pub fn needs_listing(&self) -> bool {
        !matches!(self, TagSelector::List(_))
    }

    /// The selected tags out of `tags` (a list selector returns its list).
    pub fn select(&self, tags: Vec<String>) -> Vec<String> {
        match self {
            TagSelector::All => tags,
            TagSelector::List(l) => l.clone(),
            TagSelector::Regex(re) => tags.into_iter().filter(|t| re.is_match(t)).collect(),
            TagSelector::Semver { req, latest } => {
                let mut v: Vec<(semver::Version, String)> = tags
                    .into_iter()
                    .filter_map(|t| config::tag_version(&t).map(|v| (v, t)))
                    .filter(|(v, _)| req.matches(v))
                    .collect();
                v.sort();
                if let Some(n) = latest {
                    v.drain(..v.len().saturating_sub(*n));
                }
                v.into_iter().map(|(_, t)| t).collect()
            }
        }
    }
}

/// One source repository to mirror.
#[derive(Clone)]
pub struct SyncJob {
    /// Where it comes from.
    pub source: Arc<dyn Endpoint>,
    /// Its repository at the source.
    pub repository: String,
    /// Which tags.
    pub tags: TagSelector,
    /// Tags matching any of these are left out.
    pub deny: Vec<regex::Regex>,
    /// Only these platforms of an index (empty: all, digests unchanged);
    /// see [`CopyOptions::platforms`].
    pub platforms: Vec<Platform>,
    /// Carry each image's referrers along (signatures, SBOMs,
    /// attestations; and theirs), for images copied and images found.
    pub referrers: bool,
    /// Its repository at the destination.
    pub destination: String,
}

impl std::fmt::Debug for SyncJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncJob")
            .field("source", &self.source.describe())
            .field("repository", &self.repository)
            .field("tags", &self.tags)
            .field(
                "platforms",
                &self
                    .platforms
                    .iter()
                    .map(platform::to_string)
                    .collect::<Vec<_>>(),
            )
            .field("referrers", &self.referrers)
            .field("destination", &self.destination)
            .finish()
    }
}

impl SyncJob {
    /// A job taking `tags` of `repository` at `source` to `destination`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oci_dist::sync::{RegistryEndpoint, SyncJob, TagSelector};
    /// let src = Arc::new(RegistryEndpoint::new(oci_dist::Client::new("r.example").unwrap()));
    /// let job = SyncJob::new(src, "org/app", TagSelector::All, "mirror/org/app");
    /// assert_eq!(job.source_name(), "r.example/org/app");
    /// ```
    pub fn new(
        source: Arc<dyn Endpoint>,
        repository: impl Into<String>,
        tags: TagSelector,
        destination: impl Into<String>,
    ) -> SyncJob {
        SyncJob {
            source,
            repository: repository.into(),
            tags,
            deny: Vec::new(),
            platforms: Vec::new(),
            referrers: false,
            destination: destination.into(),
        }
    }

    /// The copy options for this job's images: `base` with its platforms.
    pub(crate) fn copy_options(&self, base: &CopyOptions) -> CopyOptions {
        base.clone().platforms(self.platforms.clone())
    }

    /// `source/repository`, the name shards are cut by.
    pub fn source_name(&self) -> String {
        let s = self.source.describe();
        if self.repository.is_empty() {
            s
        } else {
            format!("{s}/{}", self.repository)
        }
    }
}

/// The destination repository name for `repository` under `prefix`: the
/// whole path, or with `flat` its last component (skopeo's naming).
///
/// ```
/// use oci_dist::sync::destination_name;
/// assert_eq!(destination_name("mirror", "library/alpine", false), "mirror/library/alpine");
/// assert_eq!(destination_name("", "library/alpine", true), "alpine");
/// ```
pub fn destination_name(prefix: &str, repository: &str, flat: bool) -> String {
    let repo = if flat {
        repository.rsplit('/').next().unwrap_or(repository)
    } else {
        repository
    };
    let prefix = prefix.trim_matches('/');
    match (prefix.is_empty(), repo.is_empty()) {
        (true, _) => repo.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}/{repo}"),
    }
}

/// The `I`-th of `N` disjoint slices of a sync, by source repository.
///
/// ```
/// use oci_dist::sync::Shard;
/// let s: Shard = "1/3".parse().unwrap();
/// assert_eq!((s.index, s.count), (1, 3));
/// assert!("3/3".parse::<Shard>().is_err());
/// let n = (0..3).filter(|i| Shard { index: *i, count: 3 }.contains("r.example/app")).count();
/// assert_eq!(n, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Whether the repository `name` falls in this shard: a stable hash
    /// (SHA-256, first 8 bytes) modulo the count, the same on every machine.
    pub fn contains(&self, name: &str) -> bool {
        let h = sha2::Sha256::digest(name.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        n % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shard, Error> {
        let bad = || Error::invalid_input(format!("bad shard {s:?}: expected I/N with 0 <= I < N"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Options of a sync.
///
/// ```
/// use oci_dist::sync::SyncOptions;
/// let o = SyncOptions::default().jobs(8).shard("0/2".parse().unwrap());
/// assert_eq!(o.jobs, 8);
/// ```
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The one concurrency limit of the run (default 4).
    pub jobs: usize,
    /// Only this slice of the jobs.
    pub shard: Option<Shard>,
    /// Per-image copy options (platform selection, mounting).
    pub copy: CopyOptions,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            jobs: crate::client::DEFAULT_JOBS,
            shard: None,
            copy: CopyOptions::default(),
        }
    }
}

impl SyncOptions {
    /// Sets the concurrency limit.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = n.max(1);
        self.copy = self.copy.jobs(self.jobs);
        self
    }

    /// Reports progress to `p`: the blob events of every image (bytes,
    /// with an overall total that grows as images are planned) and an
    /// [`Image`](crate::progress::ProgressEvent::Image) event as each
    /// image finishes.
    ///
    /// ```
    /// use oci_dist::{progress::ProgressEvent, sync::SyncOptions};
    /// let opts = SyncOptions::default().progress(|e: &ProgressEvent| {
    ///     if let ProgressEvent::Image { done, total, .. } = e {
    ///         eprintln!("{done}/{total} images");
    ///     }
    /// });
    /// # drop(opts);
    /// ```
    pub fn progress(mut self, p: impl crate::progress::Progress + 'static) -> Self {
        self.copy = self.copy.progress(p);
        self
    }

    /// Does only this shard.
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }
}

/// What the plan does with one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Copy it.
    Copy,
    /// The destination tag has the digest already.
    Skip,
    /// It could not be resolved (see the error).
    Fail,
}

/// One image of the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanItem {
    /// `source/repository`.
    pub source: String,
    /// The tag (at source and destination).
    pub tag: String,
    /// The destination repository.
    pub destination: String,
    /// What will be done.
    pub action: Action,
    /// The source digest (`None` when it could not be resolved).
    pub digest: Option<Digest>,
    /// The digest the destination gets when a platform filter rewrites
    /// the source's index (absent: the source digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Digest>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Index of its job in the job list.
    #[serde(skip)]
    pub job: usize,
}

impl PlanItem {
    /// The item of `tag` of job `i`: what resolving it found, or why it
    /// could not be resolved.
    fn new(i: usize, job: &SyncJob, tag: String, resolved: Result<Resolved, String>) -> PlanItem {
        let (action, digest, filtered, error) = match resolved {
            Ok(r) => (
                if r.same { Action::Skip } else { Action::Copy },
                Some(r.source),
                r.filtered,
                None,
            ),
            Err(e) => (Action::Fail, None, None, Some(e)),
        };
        PlanItem {
            source: job.source_name(),
            tag,
            destination: job.destination.clone(),
            action,
            digest,
            filtered,
            error,
            job: i,
        }
    }
}

/// A sorted plan; see [`plan`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncPlan {
    /// Every image, sorted by source, tag, destination.
    pub items: Vec<PlanItem>,
}

impl SyncPlan {
    /// How many items take `action`.
    ///
    /// ```
    /// use oci_dist::sync::{Action, SyncPlan};
    /// assert_eq!(SyncPlan::default().count(Action::Copy), 0);
    /// ```
    pub fn count(&self, action: Action) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }
}

/// Lists and resolves every selected tag of `jobs` (in `options.shard`)
/// and compares it with `destination`, `options.jobs` requests at a time.
/// Never fails as a whole: a repository or tag that cannot be read is a
/// [`Action::Fail`] item.
pub async fn plan(jobs: &[SyncJob], destination: &dyn Endpoint, options: &SyncOptions) -> SyncPlan {
    let limit = options.jobs.max(1);
    let selected: Vec<(usize, &SyncJob)> = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| options.shard.is_none_or(|s| s.contains(&j.source_name())))
        .collect();
    // The tags of every job.
    let listed: Vec<(usize, Result<Vec<String>, Error>)> = futures_util::stream::iter(selected)
        .map(|(i, job)| async move {
            let tags = if job.tags.needs_listing() {
                job.source.list_tags(&job.repository).await
            } else {
                Ok(Vec::new())
            };
            let tags = tags.map(|t| {
                let mut t = job.tags.select(t);
                t.retain(|t| !job.deny.iter().any(|d| d.is_match(t)));
                t.sort();
                t.dedup();
                t
            });
            (i, tags)
        })
        .buffer_unordered(limit)
        .collect()
        .await;
    let mut items = Vec::new();
    let mut to_resolve = Vec::new();
    for (i, tags) in listed {
        match tags {
            Ok(tags) => to_resolve.extend(tags.into_iter().map(|t| (i, t))),
            Err(e) => {
                let why = Err(format!("listing tags: {e}"));
                items.push(PlanItem::new(i, &jobs[i], String::new(), why));
            }
        }
    }
    let resolved: Vec<PlanItem> = futures_util::stream::iter(to_resolve)
        .map(|(i, tag)| {
            let job = &jobs[i];
            async move {
                let resolved = resolve_pair(job, &tag, destination, &options.copy).await;
                PlanItem::new(i, job, tag, resolved.map_err(|e| e.to_string()))
            }
        })
        .buffer_unordered(limit)
        .collect()
        .await;
    items.extend(resolved);
    items.sort();
    SyncPlan { items }
}

/// A tag, or a digest (skopeo's `images` lists take both; a tag never
/// contains `:`).
pub(crate) fn target_of(tag: &str) -> Result<TagOrDigest, Error> {
    if tag.contains(':') {
        Ok(TagOrDigest::Digest(tag.parse()?))
    } else {
        Ok(TagOrDigest::Tag(Tag::new(tag)?))
    }
}

/// A tag resolved at both ends.
struct Resolved {
    /// The source's digest.
    source: Digest,
    /// What the destination gets instead, when a platform filter rewrote
    /// an index.
    filtered: Option<Digest>,
    /// Whether the destination tag has it already.
    same: bool,
}

/// The source digest of `tag` (and the filtered one, when the job's
/// platforms rewrite an index: that takes the index itself, not a `HEAD`),
/// and whether the destination tag has what the copy would give.
async fn resolve_pair(
    job: &SyncJob,
    tag: &str,
    destination: &dyn Endpoint,
    copy: &CopyOptions,
) -> Result<Resolved, Error> {
    let target = target_of(tag)?;
    let source = job.source.open(&job.repository, false).await?;
    let src = source.resolve(&target).await?.digest().clone();
    let filtered = if job.platforms.is_empty() {
        None
    } else {
        let pinned = TagOrDigest::Digest(src.clone());
        let root = crate::copy::fetch_root(&*source, &pinned, &job.copy_options(copy)).await?;
        (root.digest() != &src).then(|| root.digest().clone())
    };
    let at_destination = async {
        ImageSource::resolve(&*destination.open(&job.destination, false).await?, &target).await
    };
    let dst = match at_destination.await {
        Ok(d) => Some(d),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e.context("resolving at the destination")),
    };
    let wanted = filtered.as_ref().unwrap_or(&src);
    let same = dst.is_some_and(|d| d.digest() == wanted);
    Ok(Resolved {
        source: src,
        filtered,
        same,
    })
}
