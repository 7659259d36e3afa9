//! Transfer progress: [`ProgressEvent`]s delivered to a [`Progress`]
//! callback (a closure, or an `mpsc` sender for a channel).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use registry_core::Digest;

/// How a blob reached the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Its bytes were transferred.
    Copied,
    /// The destination had it already.
    Skipped,
    /// It was mounted from another repository of the same registry.
    Mounted,
}

/// A progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The transfer plan: how many distinct blobs, how many bytes in all.
    Started {
        /// Distinct blobs.
        blobs: usize,
        /// Their total size.
        total_bytes: u64,
    },
    /// Bytes of one blob flowed.
    Blob {
        /// The blob.
        digest: Digest,
        /// Bytes of this blob done so far.
        done: u64,
        /// Its size.
        total: u64,
        /// Bytes of all blobs done so far.
        overall_done: u64,
        /// The size of all blobs.
        overall_total: u64,
    },
    /// A blob is complete at the destination (verified there).
    BlobDone {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
        /// How it got there.
        outcome: BlobOutcome,
        /// Bytes of all blobs done so far.
        overall_done: u64,
        /// The size of all blobs.
        overall_total: u64,
    },
    /// One image of a [`sync`](crate::sync) is finished (copied, found
    /// at the destination, or failed). A sync's `overall_total` grows as
    /// each image is planned.
    Image {
        /// `source/repository`.
        source: String,
        /// The tag.
        tag: String,
        /// The destination repository.
        destination: String,
        /// What happened.
        outcome: crate::sync::ImageOutcome,
        /// Images finished so far.
        done: usize,
        /// Images in the plan.
        total: usize,
    },
    /// A manifest or index was stored.
    Manifest {
        /// Its digest.
        digest: Digest,
        /// Its media type.
        media_type: String,
        /// The tag it was stored under, if any.
        tag: Option<String>,
    },
}

/// Receives [`ProgressEvent`]s. Called from transfer tasks: keep it cheap.
///
/// ```
/// use oci_dist::progress::{Progress, ProgressEvent};
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
/// let p: &dyn Progress = &tx;
/// p.report(&ProgressEvent::Started { blobs: 1, total_bytes: 10 });
/// assert!(rx.try_recv().is_ok());
/// let log = |e: &ProgressEvent| println!("{e:?}");
/// let _p: &dyn Progress = &log;
/// ```
pub trait Progress: Send + Sync {
    /// One event.
    fn report(&self, event: &ProgressEvent);
}

impl<F: Fn(&ProgressEvent) + Send + Sync> Progress for F {
    fn report(&self, event: &ProgressEvent) {
        self(event)
    }
}

impl Progress for tokio::sync::mpsc::UnboundedSender<ProgressEvent> {
    fn report(&self, event: &ProgressEvent) {
        let _ = self.send(event.clone());
    }
}

/// Byte counting shared by the transfers of one operation.
pub(crate) struct Tracker {
    sink: Option<Arc<dyn Progress>>,
    overall_done: AtomicU64,
    overall_total: AtomicU64,
}

/// Bytes between two `Blob` events of one blob.
const REPORT_EVERY: u64 = 256 * 1024;

impl Tracker {
    pub(crate) fn new(sink: Option<Arc<dyn Progress>>, overall_total: u64) -> Arc<Tracker> {
        Arc::new(Tracker {
            sink,
            overall_done: AtomicU64::new(0),
            overall_total: AtomicU64::new(overall_total),
        })
    }

    /// Adds `n` bytes to the overall total (a sync, planning image by image).
    pub(crate) fn grow(&self, n: u64) {
        self.overall_total.fetch_add(n, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.overall_total.load(Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, event: ProgressEvent) {
        if let Some(s) = &self.sink {
            s.report(&event);
        }
    }

    /// A counter for one blob.
    pub(crate) fn blob(self: &Arc<Self>, digest: Digest, total: u64) -> BlobCounter {
        BlobCounter {
            tracker: self.clone(),
            digest,
            total,
            done: Arc::new(AtomicU64::new(0)),
            reported: Arc::new(AtomicU64::new(0)),
        }
    }

    #[cfg(test)]
    pub(crate) fn overall_done(&self) -> u64 {
        self.overall_done.load(Ordering::Relaxed)
    }

    /// Marks a blob complete; `counted` bytes of it were already added.
    pub(crate) fn finish_blob(
        &self,
        digest: &Digest,
        size: u64,
        counted: u64,
        outcome: BlobOutcome,
    ) {
        let add = size.saturating_sub(counted);
        let overall_done = self.overall_done.fetch_add(add, Ordering::Relaxed) + add;
        self.emit(ProgressEvent::BlobDone {
            digest: digest.clone(),
            size,
            outcome,
            overall_done,
            overall_total: self.total(),
        });
    }
}

/// Counts the bytes of one blob (restarting from an offset when an upload
/// is resumed).
#[derive(Clone)]
pub(crate) struct BlobCounter {
    tracker: Arc<Tracker>,
    digest: Digest,
    total: u64,
    done: Arc<AtomicU64>,
    reported: Arc<AtomicU64>,
}

impl BlobCounter {
    /// A stream is (re)opened at `offset`.
    pub(crate) fn reset_to(&self, offset: u64) {
        let prev = self.done.swap(offset, Ordering::Relaxed);
        // `fetch_add` wraps: adding `offset - prev` modulo 2^64 moves the
        // overall count back as well as forward.
        self.tracker
            .overall_done
            .fetch_add(offset.wrapping_sub(prev), Ordering::Relaxed);
        self.reported.store(offset, Ordering::Relaxed);
    }

    pub(crate) fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let overall_done = self.tracker.overall_done.fetch_add(n, Ordering::Relaxed) + n;
        let last = self.reported.load(Ordering::Relaxed);
        if done >= last + REPORT_EVERY || done >= self.total {
            self.reported.store(done, Ordering::Relaxed);
            self.tracker.emit(ProgressEvent::Blob {
                digest: self.digest.clone(),
                done,
                total: self.total,
                overall_done,
                overall_total: self.tracker.total(),
            });
        }
    }

    pub(crate) fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn counting_and_resets() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let events = events.clone();
            move |e: &ProgressEvent| events.lock().unwrap().push(e.clone())
        };
        let t = Tracker::new(Some(Arc::new(sink)), 1000);
        let d = Digest::sha256_of(b"x");
        let c = t.blob(d.clone(), 1000);
        c.add(600);
        c.reset_to(100);
        assert_eq!(t.overall_done(), 100);
        c.add(900);
        assert_eq!(t.overall_done(), 1000);
        t.finish_blob(&d, 1000, c.done(), BlobOutcome::Copied);
        assert_eq!(t.overall_done(), 1000);
        let ev = events.lock().unwrap();
        assert!(matches!(
            ev.last(),
            Some(ProgressEvent::BlobDone {
                overall_done: 1000,
                ..
            })
        ));
        assert!(ev.iter().any(|e| matches!(
            e,
            ProgressEvent::Blob {
                done: 1000,
                total: 1000,
                ..
            }
        )));
    }
}
