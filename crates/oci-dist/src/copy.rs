//! Copies an image or index between any [`ImageSource`] and
//! [`ImageDestination`] (registry repositories, OCI layouts, images being
//! built): blobs first (concurrently; each distinct blob once even when
//! several images of an index share it; skipped when present; mounted when
//! both sides are in one registry), then child manifests, then the root
//! under its tag, which the destination then records
//! ([`ImageDestination::record_root`]: an OCI layout lists an untagged root
//! in `index.json`). Progress is reported per blob and overall.
//!
//! Every descriptor's digest is converted once, when the plan is made
//! ([`CheckedDescriptor`]); sources and destinations get it with the
//! descriptor.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use oci_spec::image::{Descriptor, ImageIndex, Platform};
use registry_core::{Digest, Error, ErrorKind};

use crate::content::{
    BlobPlacement, BlobSource, BoxFuture, ByteStream, ImageDestination, ImageSource,
};
use crate::descriptor::{self, CheckedDescriptor};
use crate::manifest::Manifest;
use crate::platform;
use crate::progress::{BlobCounter, BlobOutcome, Progress, ProgressEvent, Tracker};
use crate::reference::{IntoOptionalTag, IntoTarget, Tag, TagOrDigest};

/// How deep nested indexes may go.
const MAX_DEPTH: usize = 4;

/// Options of [`copy`] (and of each image of a
/// [`sync`](crate::sync)), set through its builder methods.
///
/// ```
/// use oci_dist::copy::CopyOptions;
/// let opts = CopyOptions::default().jobs(8).mount(false).skip_existing(true);
/// assert!(format!("{opts:?}").contains("jobs: 8"));
/// ```
#[derive(Clone)]
pub struct CopyOptions {
    /// Concurrent blob transfers (default 4).
    jobs: usize,
    /// Which images of an index to copy (default all, digests unchanged).
    platforms: Platforms,
    /// Where progress goes.
    progress: Option<Arc<dyn Progress>>,
    /// Mount blobs when source and destination are in one registry (default true).
    mount: bool,
    /// Skip blobs the destination has (`HEAD`) (default true).
    skip_existing: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            jobs: crate::client::DEFAULT_JOBS,
            platforms: Platforms::All,
            progress: None,
            mount: true,
            skip_existing: true,
        }
    }
}

impl std::fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOptions")
            .field("jobs", &self.jobs)
            .field("platforms", &self.platforms)
            .field("progress", &self.progress.is_some())
            .field("mount", &self.mount)
            .field("skip_existing", &self.skip_existing)
            .finish()
    }
}

impl CopyOptions {
    /// Sets the number of concurrent transfers.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = n.max(1);
        self
    }

    /// Copies only the image for `p` out of an index: the destination gets
    /// that image's manifest, not an index.
    pub fn platform(mut self, p: Platform) -> Self {
        self.platforms = Platforms::One(p);
        self
    }

    /// Copies only the images for `wanted` out of an index (with their
    /// attestations, see [`platform::retain`]): the destination gets an
    /// index listing only them, a new digest unless every entry was kept
    /// (then the source's bytes, digest unchanged). An image manifest, and
    /// an index listing no platforms (referrers, artifacts), are copied as
    /// they are; an index with none of them is `NotFound`. An empty list
    /// copies everything.
    ///
    /// ```
    /// use oci_dist::{copy::CopyOptions, platform::parse};
    /// let opts = CopyOptions::default()
    ///     .platforms(vec![parse("linux/amd64").unwrap(), parse("linux/arm64").unwrap()]);
    /// assert!(format!("{opts:?}").contains("linux/arm64"));
    /// ```
    pub fn platforms(mut self, wanted: Vec<Platform>) -> Self {
        self.platforms = if wanted.is_empty() {
            Platforms::All
        } else {
            Platforms::Only(wanted)
        };
        self
    }

    /// Reports progress to `p`.
    pub fn progress(mut self, p: impl Progress + 'static) -> Self {
        self.progress = Some(Arc::new(p));
        self
    }

    /// Where progress goes, if anywhere.
    pub(crate) fn progress_sink(&self) -> Option<Arc<dyn Progress>> {
        self.progress.clone()
    }

    /// Whether to mount blobs when source and destination are repositories
    /// of one registry (default true).
    pub fn mount(mut self, yes: bool) -> Self {
        self.mount = yes;
        self
    }

    /// Whether to skip blobs the destination already has, checked with a
    /// `HEAD` (default true). A registry destination that can mount a blob
    /// mounts it without checking: the mount is one request either way.
    pub fn skip_existing(mut self, yes: bool) -> Self {
        self.skip_existing = yes;
        self
    }
}

/// Which images of an index a copy takes.
#[derive(Clone)]
enum Platforms {
    All,
    /// The one image (the result is its manifest).
    One(Platform),
    /// An index of these.
    Only(Vec<Platform>),
}

impl std::fmt::Debug for Platforms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Platforms::All => f.write_str("all"),
            Platforms::One(p) => f.write_str(&platform::to_string(p)),
            Platforms::Only(ps) => f
                .debug_list()
                .entries(ps.iter().map(platform::to_string))
                .finish(),
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The digest of the root manifest or index at the destination.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Manifests and indexes involved (root included).
    pub manifests: usize,
    /// Distinct blobs involved.
    pub blobs: usize,
    /// Blobs whose bytes were transferred.
    pub copied: usize,
    /// Blobs the destination had.
    pub skipped: usize,
    /// Blobs mounted from the source repository.
    pub mounted: usize,
    /// Bytes of the copied blobs.
    pub bytes_copied: u64,
}

/// Copies `target` (a tag or digest: any [`IntoTarget`], e.g. `"v1"` or a
/// [`TagOrDigest`]) of `source` to `destination`, tagged `tag` there when
/// given (any [`IntoOptionalTag`]: `"v1"`, a [`Tag`], or an `Option<&Tag>`;
/// with `None` it is stored by digest only).
///
/// ```no_run
/// use oci_dist::{Client, copy::{copy, CopyOptions}};
/// # async fn run() -> Result<(), registry_core::Error> {
/// let src = Client::new("registry-a.example")?.with_segment("org/app");
/// let dst = Client::new("registry-b.example")?.with_segment("mirror/org/app");
/// let opts = CopyOptions::default().jobs(8).progress(|e: &oci_dist::progress::ProgressEvent| eprintln!("{e:?}"));
/// let report = copy(&src, "v1", &dst, "v1", &opts).await?;
/// println!("{} ({} blobs copied, {} skipped)", report.digest, report.copied, report.skipped);
/// # Ok(()) }
/// ```
pub async fn copy(
    source: &dyn ImageSource,
    target: impl IntoTarget,
    destination: &dyn ImageDestination,
    tag: impl IntoOptionalTag,
    options: &CopyOptions,
) -> Result<CopyReport, Error> {
    let target = target.into_target()?;
    let tag = tag.into_optional_tag()?;
    let ctx = |e: Error| {
        e.context(format!(
            "copying {}{target} to {}",
            source.describe(),
            destination.describe()
        ))
    };
    copy_inner(source, &target, destination, tag.as_ref(), options)
        .await
        .map_err(ctx)
}

async fn copy_inner(
    source: &dyn ImageSource,
    target: &TagOrDigest,
    destination: &dyn ImageDestination,
    tag: Option<&Tag>,
    options: &CopyOptions,
) -> Result<CopyReport, Error> {
    let plan = Plan::collect(source, target, options).await?;
    let total: u64 = plan.blobs.iter().map(CheckedDescriptor::size).sum();
    let tracker = Tracker::new(options.progress.clone(), total);
    tracker.emit(ProgressEvent::Started {
        blobs: plan.blobs.len(),
        total_bytes: total,
    });
    let outcomes = transfer_blobs(source, destination, &plan.blobs, &tracker, options).await?;
    push_manifests(destination, &plan, tag, &tracker, options.jobs).await?;
    Ok(plan.report(&outcomes))
}

/// What a copy moves: the root manifest, every manifest below it level by
/// level, and the distinct blobs of them all.
pub(crate) struct Plan {
    pub(crate) root: Manifest,
    /// The manifests below the root, level by level (pushed deepest first).
    pub(crate) levels: Vec<Vec<Manifest>>,
    /// Distinct blobs, in first-seen order, digests converted.
    pub(crate) blobs: Vec<CheckedDescriptor>,
}

impl Plan {
    pub(crate) async fn collect(
        source: &dyn ImageSource,
        target: &TagOrDigest,
        options: &CopyOptions,
    ) -> Result<Plan, Error> {
        let root = fetch_root(source, target, options).await?;
        let levels = fetch_levels(source, &root, options.jobs).await?;
        let mut plan = Plan {
            root,
            levels,
            blobs: Vec::new(),
        };
        plan.blobs = distinct_blobs(plan.manifests())?;
        Ok(plan)
    }

    /// The root, then the manifests below it.
    fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        std::iter::once(&self.root).chain(self.levels.iter().flatten())
    }

    fn report(&self, outcomes: &[(BlobOutcome, u64)]) -> CopyReport {
        let count = |o: BlobOutcome| outcomes.iter().filter(|(x, _)| *x == o).count();
        CopyReport {
            digest: self.root.digest().clone(),
            media_type: self.root.media_type().to_owned(),
            manifests: self.manifests().count(),
            blobs: self.blobs.len(),
            copied: count(BlobOutcome::Copied),
            skipped: count(BlobOutcome::Skipped),
            mounted: count(BlobOutcome::Mounted),
            bytes_copied: outcomes
                .iter()
                .filter(|(o, _)| *o == BlobOutcome::Copied)
                .map(|(_, n)| n)
                .sum(),
        }
    }
}

/// The manifest `target` names or, with platforms chosen, what of the
/// index `target` names the copy takes: the one image, or an index of
/// those platforms. Its digest is what the destination gets.
pub(crate) async fn fetch_root(
    source: &dyn ImageSource,
    target: &TagOrDigest,
    options: &CopyOptions,
) -> Result<Manifest, Error> {
    let root = source.fetch_reference(target).await?;
    let Some(index) = root.as_index() else {
        return Ok(root);
    };
    let p = match &options.platforms {
        Platforms::All => return Ok(root),
        Platforms::One(p) => p,
        Platforms::Only(wanted) => return filtered_index(root.clone(), index, wanted),
    };
    let child = platform::select(index, p)
        .ok_or_else(|| no_image("platform", std::slice::from_ref(p), &root, index))?;
    source
        .fetch_manifest(&CheckedDescriptor::try_from(child)?)
        .await
}

/// `root` (the index `index`) listing only the images for `wanted`.
fn filtered_index(
    root: Manifest,
    index: &ImageIndex,
    wanted: &[Platform],
) -> Result<Manifest, Error> {
    let kept = platform::retain(index, wanted);
    // An index of no platform images (referrers, artifacts) is not filtered.
    if kept.len() == index.manifests().len() || platform::available(index).is_empty() {
        return Ok(root);
    }
    if kept.is_empty() {
        return Err(no_image("platforms", wanted, &root, index));
    }
    let mut filtered = index.clone();
    filtered.set_manifests(kept);
    Manifest::from_index(&filtered)
}

/// No image for the `wanted` platforms in `index` (`noun`: "platform" or
/// "platforms"): the error names the platforms the index has.
fn no_image(noun: &str, wanted: &[Platform], root: &Manifest, index: &ImageIndex) -> Error {
    let wanted: Vec<String> = wanted.iter().map(platform::to_string).collect();
    Error::new(
        ErrorKind::NotFound,
        format!(
            "no image for {noun} {} in index {}; available: {}",
            wanted.join(", "),
            root.digest(),
            platform::available(index).join(", ")
        ),
    )
}

/// Every manifest below `root`, level by level, each once. A child whose
/// digest cannot be used (e.g. sha384) is an error, not left out.
async fn fetch_levels(
    source: &dyn ImageSource,
    root: &Manifest,
    jobs: usize,
) -> Result<Vec<Vec<Manifest>>, Error> {
    let mut levels: Vec<Vec<Manifest>> = Vec::new();
    let mut seen: HashSet<Digest> = HashSet::from([root.digest().clone()]);
    loop {
        let current = levels
            .last()
            .map_or(std::slice::from_ref(root), Vec::as_slice);
        if !current.iter().any(Manifest::is_index) {
            return Ok(levels);
        }
        if levels.len() >= MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "indexes nested too deeply",
            ));
        }
        let mut children: Vec<CheckedDescriptor> = Vec::new();
        for d in current.iter().flat_map(|m| m.manifests()) {
            let child = CheckedDescriptor::try_from(d)?;
            if seen.insert(child.digest().clone()) {
                children.push(child);
            }
        }
        let fetched: Vec<Manifest> = futures_util::stream::iter(children)
            .map(|d| async move { source.fetch_manifest(&d).await })
            .buffered(jobs.max(1))
            .try_collect()
            .await?;
        levels.push(fetched);
    }
}

/// The distinct blobs of `manifests` (foreign layers left out), in
/// first-seen order, each digest converted here once for the whole copy.
fn distinct_blobs<'a>(
    manifests: impl Iterator<Item = &'a Manifest>,
) -> Result<Vec<CheckedDescriptor>, Error> {
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    for b in manifests.flat_map(Manifest::blobs) {
        if is_foreign(b) {
            continue;
        }
        let blob = CheckedDescriptor::try_from(b)?;
        if seen.insert(blob.digest().clone()) {
            blobs.push(blob);
        }
    }
    Ok(blobs)
}

/// Transfers (or skips, or mounts) every blob, `options.jobs` at a time.
async fn transfer_blobs(
    source: &dyn ImageSource,
    destination: &dyn ImageDestination,
    blobs: &[CheckedDescriptor],
    tracker: &Arc<Tracker>,
    options: &CopyOptions,
) -> Result<Vec<(BlobOutcome, u64)>, Error> {
    let origin = source.mount_origin();
    futures_util::stream::iter(blobs)
        .map(|d| {
            let placement = BlobPlacement {
                origin: origin.as_ref(),
                mount: options.mount,
                skip_existing: options.skip_existing,
            };
            transfer_blob(source, destination, d, placement, tracker)
        })
        .buffer_unordered(options.jobs.max(1))
        .try_collect()
        .await
}

/// Pushes the manifests below the root (deepest level first, those missing
/// only), then the root under `tag`, and lets the destination record it.
pub(crate) async fn push_manifests(
    destination: &dyn ImageDestination,
    plan: &Plan,
    tag: Option<&Tag>,
    tracker: &Tracker,
    jobs: usize,
) -> Result<(), Error> {
    let pushed = |m: &Manifest, tag: Option<&Tag>| {
        tracker.emit(ProgressEvent::Manifest {
            digest: m.digest().clone(),
            media_type: m.media_type().to_owned(),
            tag: tag.map(|t| t.as_str().to_owned()),
        });
    };
    let root = &plan.root;
    // Untagged, a root already there needs nothing: what it refers to was
    // stored before it (a registry refuses an index with missing children).
    if tag.is_none()
        && destination
            .manifest_exists(&root.checked_descriptor())
            .await?
    {
        return destination.record_root(root, tag).await;
    }
    let check_first = destination.check_manifests_first();
    for level in plan.levels.iter().rev() {
        futures_util::stream::iter(level)
            .map(|m| async move {
                if !check_first || !destination.manifest_exists(&m.checked_descriptor()).await? {
                    destination.push_manifest(m, None).await?;
                    pushed(m, None);
                }
                Ok::<_, Error>(())
            })
            .buffer_unordered(jobs.max(1))
            .try_collect::<()>()
            .await?;
    }
    destination.push_manifest(root, tag).await?;
    pushed(root, tag);
    destination.record_root(root, tag).await
}

/// Foreign (non-distributable) layers with URLs are not copied.
fn is_foreign(d: &Descriptor) -> bool {
    let mt = descriptor::media_type_of(d);
    d.urls().as_ref().is_some_and(|u| !u.is_empty())
        && (mt.contains("foreign") || mt.contains("nondistributable"))
}

/// Lets the destination place one blob
/// ([`ImageDestination::store_blob`]), its content read from `source`.
pub(crate) async fn transfer_blob(
    source: &dyn ImageSource,
    destination: &dyn ImageDestination,
    desc: &CheckedDescriptor,
    placement: BlobPlacement<'_>,
    tracker: &Arc<Tracker>,
) -> Result<(BlobOutcome, u64), Error> {
    let digest = desc.digest();
    let size = desc.size();
    let counter = tracker.blob(digest.clone(), size);
    let content = SourceBlob {
        source,
        desc,
        checked_by_destination: destination.verifies_blobs(),
        counter: counter.clone(),
        failure: Arc::new(Mutex::new(None)),
    };
    match destination.store_blob(desc, &content, placement).await {
        Ok(BlobOutcome::Copied) => {
            tracker.finish_blob(digest, size, counter.done(), BlobOutcome::Copied);
            Ok((BlobOutcome::Copied, size))
        }
        Ok(outcome) => {
            tracker.finish_blob(digest, size, counter.done(), outcome);
            Ok((outcome, 0))
        }
        Err(e) => {
            // A failure of the source stream (e.g. a digest mismatch, a
            // refused resumption) is the real cause, with its status and
            // OCI error codes; the destination only saw a stand-in.
            let source_failure = content.failure.lock().expect("poisoned").take();
            Err(source_failure
                .unwrap_or(e)
                .context(format!("copying blob {digest}")))
        }
    }
}

/// A source blob as upload content: reopenable (from an offset, skipping
/// bytes), counting progress, keeping a failure of the source stream.
struct SourceBlob<'a> {
    source: &'a dyn ImageSource,
    desc: &'a CheckedDescriptor,
    /// The destination checks digests on commit: read the source unverified.
    checked_by_destination: bool,
    counter: BlobCounter,
    /// The last error of a source stream, as it came; its stream handed the
    /// destination a [`stand_in`] instead.
    failure: Arc<Mutex<Option<Error>>>,
}

impl BlobSource for SourceBlob<'_> {
    fn verifies_digest(&self) -> bool {
        !self.checked_by_destination
    }

    fn open(&self, offset: u64) -> BoxFuture<'_, Result<ByteStream, Error>> {
        Box::pin(async move {
            let stream = if offset > 0 || self.checked_by_destination {
                self.source.fetch_blob_from(self.desc, offset).await?
            } else {
                self.source.fetch_blob(self.desc).await?
            };
            self.counter.reset_to(offset);
            let counter = self.counter.clone();
            let failure = self.failure.clone();
            let counted = stream.map(move |item| match item {
                Ok(chunk) => {
                    counter.add(chunk.len() as u64);
                    Ok(chunk)
                }
                Err(e) => {
                    let stand_in = stand_in(&e);
                    *failure.lock().expect("poisoned") = Some(e);
                    Err(stand_in)
                }
            });
            let s: ByteStream = Box::pin(counted);
            Ok(s)
        })
    }
}

/// What the destination sees of a source error: its kind, message and
/// status, so that it decides about retrying and keeping partial content as
/// it would on the original.
fn stand_in(e: &Error) -> Error {
    let out = Error::new(e.kind(), e.to_string());
    match e.status() {
        Some(status) => out.with_status(status),
        None => out,
    }
}
