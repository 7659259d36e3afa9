//! Progress bars on a terminal (stderr); nothing when stderr or stdout is
//! not a terminal, so scripts and pipes get clean output.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use facade::oci::progress::BlobOutcome;
use facade::oci::{Progress, ProgressEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress is drawn at all.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:20!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        .expect("static template")
        .progress_chars("=> ")
}

/// One bar for one transfer.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A byte bar (hidden when not on a terminal).
    pub fn bytes(total: Option<u64>, label: &str) -> Bar {
        if !enabled() {
            return Bar(None);
        }
        let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        pb.set_style(bytes_style());
        pb.set_message(short(label));
        Bar(Some(pb))
    }

    /// Adds transferred bytes.
    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc(n);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

fn short(label: &str) -> String {
    let l = label.strip_prefix("sha256:").unwrap_or(label);
    l.chars().take(12).collect()
}

/// Per-blob bars and an overall bar for image copies and syncs.
pub struct CopyBars {
    multi: MultiProgress,
    overall: ProgressBar,
    blobs: Mutex<HashMap<String, ProgressBar>>,
    /// A sync: the overall bar counts images too, and blobs found or
    /// mounted are not announced one by one.
    sync: bool,
}

impl CopyBars {
    /// Bars when on a terminal.
    pub fn new() -> Option<CopyBars> {
        if !enabled() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(bytes_style());
        overall.set_message("total");
        Some(CopyBars {
            multi,
            overall,
            blobs: Mutex::new(HashMap::new()),
            sync: false,
        })
    }

    /// Bars for a sync when on a terminal: the overall bar says how many
    /// images are done, and its total grows as images are planned.
    pub fn for_sync() -> Option<CopyBars> {
        let mut bars = CopyBars::new()?;
        bars.sync = true;
        bars.overall.set_message("images 0");
        Some(bars)
    }

    fn overall_at(&self, done: u64, total: u64) {
        if self.overall.length() != Some(total) {
            self.overall.set_length(total);
        }
        self.overall.set_position(done);
    }

    /// Clears every bar.
    pub fn finish(&self) {
        for pb in self
            .blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            pb.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

impl Progress for CopyBars {
    fn report(&self, event: &ProgressEvent) {
        let mut blobs = self.blobs.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::Started { total_bytes, .. } => self.overall.set_length(*total_bytes),
            ProgressEvent::Blob {
                digest,
                done,
                total,
                overall_done,
                overall_total,
            } => {
                let pb = blobs.entry(digest.to_string()).or_insert_with(|| {
                    let pb = self.multi.add(ProgressBar::new(*total));
                    pb.set_style(bytes_style());
                    pb.set_message(short(&digest.to_string()));
                    pb
                });
                pb.set_position(*done);
                self.overall_at(*overall_done, *overall_total);
            }
            ProgressEvent::BlobDone {
                digest,
                outcome,
                overall_done,
                overall_total,
                ..
            } => {
                if let Some(pb) = blobs.remove(&digest.to_string()) {
                    pb.finish_and_clear();
                }
                if *outcome != BlobOutcome::Copied && !self.sync {
                    let what = if *outcome == BlobOutcome::Mounted {
                        "mounted"
                    } else {
                        "exists"
                    };
                    let _ = self
                        .multi
                        .println(format!("{} {what}", short(&digest.to_string())));
                }
                self.overall_at(*overall_done, *overall_total);
            }
            ProgressEvent::Image { done, total, .. } => {
                self.overall.set_message(format!("images {done}/{total}"));
            }
            _ => {}
        }
    }
}
