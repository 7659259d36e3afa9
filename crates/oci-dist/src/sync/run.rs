//! Carrying out a [`SyncPlan`]: every image with copy's plan and transfer
//! steps, one concurrency limit and one blob ledger for the whole run.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use registry_core::{Digest, Error, ErrorKind};
use serde::Serialize;
use tokio::sync::{OnceCell, Semaphore};

use super::{Action, Endpoint, PlanItem, Store, SyncJob, SyncOptions, SyncPlan};
use crate::content::{BlobPlacement, ImageDestination, ImageSource};
use crate::copy::{CopyOptions, Plan, push_manifests, transfer_blob};
use crate::descriptor::CheckedDescriptor;
use crate::progress::{BlobOutcome, ProgressEvent, Tracker};
use crate::reference::TagOrDigest;

/// The most referrers carried along for one image (a guard against a
/// source that lists them without end).
const MAX_REFERRERS: usize = 1000;

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageOutcome {
    /// Copied now.
    Copied,
    /// Already there at the same digest.
    Skipped,
    /// Failed (see the error).
    Failed,
}

/// One image of a [`SyncReport`].
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// `source/repository`.
    pub source: String,
    /// The tag.
    pub tag: String,
    /// The destination repository.
    pub destination: String,
    /// The digest at the destination (copied or found): the source's, or
    /// the filtered index's with a platform filter.
    pub digest: Option<Digest>,
    /// What happened.
    pub outcome: ImageOutcome,
    /// Blobs whose bytes this image moved.
    pub blobs_copied: usize,
    /// Bytes this image moved.
    pub bytes_copied: u64,
    /// Referrers copied with it (with the job's `referrers`).
    pub referrers_copied: usize,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a sync did, image by image, and in total.
///
/// ```
/// let r = oci_dist::sync::SyncReport::default();
/// assert_eq!((r.copied(), r.skipped(), r.failed()), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Every image, in plan order.
    pub images: Vec<ImageResult>,
    /// Blob bytes transferred.
    pub bytes_moved: u64,
    /// Blob bytes not transferred because another image of this run had
    /// moved the blob already (mounted or present).
    pub bytes_deduplicated: u64,
    /// Blobs transferred.
    pub blobs_moved: usize,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl SyncReport {
    fn count(&self, o: ImageOutcome) -> usize {
        self.images.iter().filter(|i| i.outcome == o).count()
    }

    /// Images copied.
    pub fn copied(&self) -> usize {
        self.count(ImageOutcome::Copied)
    }

    /// Images skipped.
    pub fn skipped(&self) -> usize {
        self.count(ImageOutcome::Skipped)
    }

    /// Images failed.
    pub fn failed(&self) -> usize {
        self.count(ImageOutcome::Failed)
    }
}

/// Whether a blob was placed in one destination repository.
type Placed = Arc<OnceCell<()>>;

/// Where each blob landed in this run: the destination repository of the
/// first image that stored it (empty until one did); and, per destination
/// repository, whether it was placed there, so that images of one
/// repository never place the same blob twice (docker-registry rewrites a
/// blob's link file on every mount, and a manifest checked meanwhile sees
/// the blob as unknown).
#[derive(Default)]
struct Ledger {
    blobs: Mutex<HashMap<Digest, Arc<OnceCell<String>>>>,
    placed: Mutex<HashMap<(Digest, String), Placed>>,
    counted: Mutex<HashSet<Digest>>,
}

impl Ledger {
    fn cell(&self, d: &Digest) -> Arc<OnceCell<String>> {
        shared(&self.blobs, d.clone())
    }

    /// Whether this is the first image of the run to plan the blob (its
    /// bytes then count in the run's progress total).
    fn first_sight(&self, d: &Digest) -> bool {
        self.counted.lock().expect("poisoned").insert(d.clone())
    }

    fn placed(&self, d: &Digest, repository: &str) -> Placed {
        shared(&self.placed, (d.clone(), repository.to_owned()))
    }
}

/// The value at `key` in `map`, made when missing.
fn shared<K: Eq + Hash, V: Clone + Default>(map: &Mutex<HashMap<K, V>>, key: K) -> V {
    map.lock()
        .expect("poisoned")
        .entry(key)
        .or_default()
        .clone()
}

struct Run<'a> {
    destination: &'a dyn Endpoint,
    options: &'a SyncOptions,
    permits: Semaphore,
    ledger: Ledger,
    /// Bytes and events of the whole run (`options.copy`'s progress).
    tracker: Arc<Tracker>,
}

#[derive(Default)]
struct ImageTotals {
    copied: usize,
    bytes: u64,
    deduplicated: u64,
}

/// Copies every [`Action::Copy`] item of `plan` (the jobs are those the
/// plan was made from) to `destination`. One failed image does not stop
/// the others; the report lists each image.
pub async fn execute(
    plan: &SyncPlan,
    jobs: &[SyncJob],
    destination: &dyn Endpoint,
    options: &SyncOptions,
) -> SyncReport {
    let started = Instant::now();
    let run = Run {
        destination,
        options,
        permits: Semaphore::new(options.jobs.max(1)),
        ledger: Ledger::default(),
        tracker: Tracker::new(options.copy.progress_sink(), 0),
    };
    let finished = AtomicUsize::new(0);
    let results: Vec<(ImageResult, ImageTotals)> = futures_util::stream::iter(&plan.items)
        .map(|item| {
            let run = &run;
            let finished = &finished;
            async move {
                let mut result = ImageResult {
                    source: item.source.clone(),
                    tag: item.tag.clone(),
                    destination: item.destination.clone(),
                    digest: item.filtered.clone().or_else(|| item.digest.clone()),
                    outcome: ImageOutcome::Skipped,
                    blobs_copied: 0,
                    bytes_copied: 0,
                    referrers_copied: 0,
                    error: item.error.clone(),
                };
                let mut totals = ImageTotals::default();
                match item.action {
                    Action::Skip => {}
                    Action::Fail => result.outcome = ImageOutcome::Failed,
                    Action::Copy => match run.image(item, &jobs[item.job]).await {
                        Ok(t) => {
                            result.outcome = ImageOutcome::Copied;
                            result.blobs_copied = t.copied;
                            result.bytes_copied = t.bytes;
                            totals = t;
                        }
                        Err(e) => {
                            result.outcome = ImageOutcome::Failed;
                            result.error = Some(e.to_string());
                        }
                    },
                }
                let job = &jobs[item.job];
                if job.referrers && result.outcome != ImageOutcome::Failed {
                    match run.referrers(item, job).await {
                        Ok(n) => result.referrers_copied = n,
                        Err(e) => {
                            result.outcome = ImageOutcome::Failed;
                            result.error = Some(format!("referrers: {e}"));
                        }
                    }
                }
                run.tracker.emit(ProgressEvent::Image {
                    source: result.source.clone(),
                    tag: result.tag.clone(),
                    destination: result.destination.clone(),
                    outcome: result.outcome,
                    done: finished.fetch_add(1, Ordering::Relaxed) + 1,
                    total: plan.items.len(),
                });
                (result, totals)
            }
        })
        .buffered(options.jobs.max(1))
        .collect()
        .await;
    let mut report = SyncReport::default();
    for (r, t) in results {
        report.bytes_moved += t.bytes;
        report.blobs_moved += t.copied;
        report.bytes_deduplicated += t.deduplicated;
        report.images.push(r);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Where one image's blobs go in a run: its two stores, the destination
/// repository, how its blobs are placed, the progress.
struct Ends<'a> {
    src: &'a dyn ImageSource,
    dst: &'a dyn ImageDestination,
    repository: &'a str,
    /// Mounted from the source's repository when it can be, skipped
    /// when there.
    placement: BlobPlacement<'a>,
    tracker: &'a Arc<Tracker>,
}

impl Run<'_> {
    async fn image(&self, item: &PlanItem, job: &SyncJob) -> Result<ImageTotals, Error> {
        let ctx = |e: Error| e.context(format!("{}:{}", item.source, item.tag));
        let tag = super::target_of(&item.tag).map_err(ctx)?.tag().cloned();
        let (digest, source, dest) = self.open(item, job).await.map_err(ctx)?;
        let plan = {
            let _permit = self.permits.acquire().await.expect("never closed");
            Plan::collect(
                &*source,
                &TagOrDigest::Digest(digest),
                &job.copy_options(&self.options.copy),
            )
            .await
            .map_err(ctx)?
        };
        let tracker = &self.tracker;
        let new_bytes: u64 = plan
            .blobs
            .iter()
            .filter(|d| self.ledger.first_sight(d.digest()))
            .map(CheckedDescriptor::size)
            .sum();
        tracker.grow(new_bytes);
        let source_origin = if job.source.describe() == self.destination.describe() {
            job.source.mount_origin(&job.repository)
        } else {
            None
        };
        let ends = Ends {
            src: &*source,
            dst: &*dest,
            repository: &job.destination,
            placement: BlobPlacement {
                origin: source_origin.as_ref(),
                mount: true,
                skip_existing: true,
            },
            tracker,
        };
        let outcomes: Vec<(BlobOutcome, u64, u64)> = futures_util::stream::iter(&plan.blobs)
            .map(|d| self.blob(&ends, d))
            .buffer_unordered(self.options.jobs.max(1))
            .try_collect()
            .await
            .map_err(ctx)?;
        push_manifests(&*dest, &plan, tag.as_ref(), tracker, self.options.jobs)
            .await
            .map_err(ctx)?;
        let mut t = ImageTotals::default();
        for (o, moved, dedup) in outcomes {
            if o == BlobOutcome::Copied {
                t.copied += 1;
                t.bytes += moved;
            }
            t.deduplicated += dedup;
        }
        Ok(t)
    }

    /// Copies the referrers of the image (of each image of an index too;
    /// with a platform filter, of the images kept, as the filtered index
    /// is new) and theirs, each by digest, those the destination lacks.
    async fn referrers(&self, item: &PlanItem, job: &SyncJob) -> Result<usize, Error> {
        let (digest, source, dest) = self.open(item, job).await?;
        let root = source
            .fetch_reference(&TagOrDigest::Digest(digest.clone()))
            .await?;
        let mut subjects = Vec::new();
        if item.filtered.is_none() {
            subjects.push(digest);
        }
        if let Some(index) = root.as_index() {
            let images = if job.platforms.is_empty() {
                index.manifests().clone()
            } else {
                crate::platform::retain(index, &job.platforms)
            };
            for d in &images {
                subjects.push(crate::descriptor::digest_of(d)?);
            }
        }
        let options = CopyOptions::default().jobs(self.options.jobs);
        let mut seen = HashSet::new();
        let mut copied = 0;
        while let Some(subject) = subjects.pop() {
            let _permit = self.permits.acquire().await.expect("never closed");
            for r in source.referrers(&subject).await? {
                if seen.len() >= MAX_REFERRERS {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("more than {MAX_REFERRERS} referrers"),
                    ));
                }
                if !seen.insert(r.digest().clone()) {
                    continue;
                }
                subjects.push(r.digest().clone());
                if dest.manifest_exists(&r).await? {
                    continue;
                }
                crate::copy::copy(&*source, r.digest(), &*dest, None::<&crate::Tag>, &options)
                    .await?;
                copied += 1;
            }
        }
        Ok(copied)
    }

    /// The item's source digest, and its source and destination stores.
    async fn open(
        &self,
        item: &PlanItem,
        job: &SyncJob,
    ) -> Result<(Digest, Arc<dyn Store>, Arc<dyn Store>), Error> {
        let digest = item
            .digest
            .clone()
            .ok_or_else(|| Error::invalid_input("a plan item without a digest"))?;
        let source = job.source.open(&job.repository, false).await?;
        let dest = self.destination.open(&job.destination, true).await?;
        Ok((digest, source, dest))
    }

    /// One blob of an image: placed once per destination repository and
    /// moved once per run; later images take it from where it landed.
    /// Returns the outcome, bytes moved, bytes saved.
    async fn blob(
        &self,
        ends: &Ends<'_>,
        desc: &CheckedDescriptor,
    ) -> Result<(BlobOutcome, u64, u64), Error> {
        let cell = self.ledger.placed(desc.digest(), ends.repository);
        let mut mine = None;
        cell.get_or_try_init(|| async {
            mine = Some(self.place(ends, desc).await?);
            Ok::<_, Error>(())
        })
        .await?;
        Ok(mine.unwrap_or((BlobOutcome::Skipped, 0, desc.size())))
    }

    /// Puts a blob into the repository: moved when this run has not moved
    /// it yet, otherwise mounted from where it landed (or checked, copied).
    async fn place(
        &self,
        ends: &Ends<'_>,
        desc: &CheckedDescriptor,
    ) -> Result<(BlobOutcome, u64, u64), Error> {
        let cell = self.ledger.cell(desc.digest());
        let mut mine = None;
        let landed = cell
            .get_or_try_init(|| async {
                let _permit = self.permits.acquire().await.expect("never closed");
                let r =
                    transfer_blob(ends.src, ends.dst, desc, ends.placement, ends.tracker).await?;
                mine = Some(r);
                Ok::<_, Error>(ends.repository.to_owned())
            })
            .await?;
        if let Some((outcome, moved)) = mine {
            return Ok((outcome, moved, 0));
        }
        let size = desc.size();
        if landed == ends.repository {
            return Ok((BlobOutcome::Skipped, 0, size));
        }
        let _permit = self.permits.acquire().await.expect("never closed");
        if let Some(origin) = self.destination.mount_origin(landed) {
            match ends.dst.mount_blob(desc, &origin).await {
                Ok(true) => return Ok((BlobOutcome::Mounted, 0, size)),
                Ok(false) => {}
                Err(e) => {
                    tracing::info!(digest = %desc.digest(), error = %e, "mount failed; copying")
                }
            }
        }
        let (outcome, moved) =
            transfer_blob(ends.src, ends.dst, desc, ends.placement, ends.tracker).await?;
        Ok((outcome, moved, 0))
    }
}
