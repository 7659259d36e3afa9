//! The four scenarios (push, pull, in-registry copy, tag listing). Tools
//! alternate run by run (A B C A B C …); every run is checked cheaply
//! (manifest digest by `HEAD` after a push or copy, the pulled layout's
//! index and blob sizes after a pull, the tag count after a listing).

use std::path::{Path, PathBuf};
use std::time::Instant;

use test_support::TestRegistry;

use super::image::{Image, TAG};
use super::raw::{Raw, SmallImage};
use super::report::{Sample, Scenario, ToolResult};
use super::tools::{self, Copy, Tool, Tools};

/// Repository of the image the pull and copy scenarios read.
pub(crate) const SOURCE_REPO: &str = "bench/src";
/// Repository of the small image (trial copies).
pub(crate) const SMALL_REPO: &str = "bench/small";
/// Repository holding the 10,000 tags.
pub(crate) const TAGS_REPO: &str = "bench/tags";
/// How many tags the listing scenario creates.
pub(crate) const TAG_COUNT: usize = 10_000;

/// What every scenario needs.
pub(crate) struct Ctx {
    /// Kept alive for the whole bench (registries and raw clients run on it).
    pub(crate) rt: tokio::runtime::Runtime,
    /// The external tools.
    pub(crate) tools: Tools,
    /// The test image.
    pub(crate) image: Image,
    /// The long-lived registry (pull, copy, tags); pushes get fresh ones.
    pub(crate) registry: TestRegistry,
    /// Raw client of `registry`.
    pub(crate) raw: Raw,
    /// Runs per tool.
    pub(crate) runs: usize,
    /// Unique per bench invocation, part of every repository name.
    pub(crate) nonce: String,
    /// Scratch space for pulled layouts.
    pub(crate) work: PathBuf,
    /// Why crctl cannot copy yet (its trial copy failed), if so.
    pub(crate) crctl_copy: Result<(), String>,
}

/// Starts a registry that logs only warnings (request logs would cost time).
pub(crate) async fn start_registry() -> TestRegistry {
    TestRegistry::builder()
        .anonymous()
        .log_level("warn")
        .start()
        .await
}

/// Flushes dirty pages so one run's writes do not slow the next one down.
pub(crate) fn sync() {
    let _ = std::process::Command::new("sync").status();
}

impl Ctx {
    fn host(&self) -> String {
        self.registry.host()
    }

    /// Whether `tool` can take part in a copy scenario.
    pub(crate) fn availability(&self, tool: Tool) -> Result<(), String> {
        match tool {
            Tool::Raw | Tool::RawDurable => Ok(()),
            Tool::Crctl => {
                self.tools.binary(tool)?;
                self.crctl_copy.clone()
            }
            other => self.tools.binary(other).map(drop),
        }
    }

    /// Runs `f(tool, run)` for every run and tool, alternating tools run by
    /// run. A tool stops at its first failure.
    pub(crate) fn alternate(
        &self,
        tools: &[Tool],
        available: impl Fn(Tool) -> Result<(), String>,
        f: impl FnMut(Tool, usize) -> Result<Sample, String>,
    ) -> Vec<ToolResult> {
        self.alternate_n(self.runs, tools, available, f)
    }

    /// [`Ctx::alternate`] with `runs` runs per tool instead of `--runs`.
    pub(crate) fn alternate_n(
        &self,
        runs: usize,
        tools: &[Tool],
        available: impl Fn(Tool) -> Result<(), String>,
        mut f: impl FnMut(Tool, usize) -> Result<Sample, String>,
    ) -> Vec<ToolResult> {
        let mut results: Vec<ToolResult> = tools.iter().map(|&t| ToolResult::new(t)).collect();
        for r in &mut results {
            if let Err(e) = available(r.tool) {
                eprintln!("bench:   {} unavailable: {e}", r.tool.name());
                r.error = Some(e);
            }
        }
        for run in 0..runs {
            for r in results.iter_mut().filter(|r| r.error.is_none()) {
                match f(r.tool, run) {
                    Ok(s) => {
                        let cpu = s.cpu_s.map_or(String::new(), |c| format!(", CPU {c:.2} s"));
                        let rss = s.rss_kib.map_or(String::new(), |k| {
                            format!(", peak RSS {:.1} MiB", k as f64 / 1024.0)
                        });
                        eprintln!(
                            "bench:   run {}/{} {:<10} {:.3} s{cpu}{rss}",
                            run + 1,
                            runs,
                            r.tool.name(),
                            s.seconds
                        );
                        r.samples.push(s);
                    }
                    Err(e) => {
                        eprintln!(
                            "bench:   run {}/{} {} FAILED: {e}",
                            run + 1,
                            runs,
                            r.tool.name()
                        );
                        r.error = Some(e);
                    }
                }
            }
        }
        results
    }

    /// Runs an external tool and turns it into a sample.
    pub(crate) fn run_tool(
        &self,
        tool: Tool,
        args: &[std::ffi::OsString],
    ) -> Result<(Sample, String), String> {
        let t = self.tools.run(tool, args)?;
        Ok((
            Sample {
                seconds: t.seconds,
                rss_kib: t.peak_rss_kib,
                cpu_s: t.cpu_seconds,
            },
            t.stdout,
        ))
    }

    /// Push: layout → a fresh registry (so neither blob mounts nor skopeo's
    /// blob-info cache can skip uploads), fresh repository each run.
    pub(crate) fn push(&self) -> Scenario {
        eprintln!("bench: push ({} runs each)", self.runs);
        let layout = self.image.oci_ref();
        let tools = self.alternate(
            &[Tool::Crctl, Tool::Skopeo, Tool::Raw],
            |t| self.availability(t),
            |tool, run| {
                let registry = self.rt.block_on(start_registry());
                let host = registry.host();
                let repo = format!("bench/push-{}-{}-{run}", tool.name(), self.nonce);
                let raw = Raw::new(&host)?;
                let sample = if tool == Tool::Raw {
                    let (cpu, start) = (tools::own_cpu_seconds(), Instant::now());
                    self.rt.block_on(raw.push(&self.image, &repo))?;
                    Sample {
                        seconds: start.elapsed().as_secs_f64(),
                        rss_kib: None,
                        cpu_s: cpu_since(cpu),
                    }
                } else {
                    let copy = Copy::Push {
                        layout: &layout,
                        registry: &host,
                        repo: &repo,
                    };
                    self.run_tool(tool, &tools::copy_args(tool, &copy))?.0
                };
                let digest = self.rt.block_on(raw.manifest_digest(&repo, TAG))?;
                if digest != self.image.manifest.digest {
                    return Err(format!(
                        "pushed manifest is {digest}, expected {} (the tool rewrote it)",
                        self.image.manifest.digest
                    ));
                }
                drop(registry);
                sync();
                Ok(sample)
            },
        );
        Scenario {
            name: "push",
            description: format!(
                "OCI layout -> empty registry, {} layers of gzip ({:.0} MiB)",
                self.image.layers.len(),
                self.image.total_bytes() as f64 / 1048576.0
            ),
            bytes: Some(self.image.total_bytes()),
            extra: None,
            target: "crctl >= 1.3x faster than skopeo (ratio <= 0.77), within 1.1x of raw, peak RSS < 32 MiB",
            tools,
        }
    }

    /// Pull: registry → a fresh layout directory on the disk each run. On
    /// a disk slower than the network, a durable pull is bound by the disk:
    /// `raw-durable` (the raw pull plus the `fsync`s) is that limit.
    pub(crate) fn pull(&self) -> Scenario {
        self.pull_into(
            "pull",
            &self.work,
            &[
                Tool::Crctl,
                Tool::Skopeo,
                Tool::OciClient,
                Tool::Raw,
                Tool::RawDurable,
            ],
            "crctl >= 2x faster than skopeo (ratio <= 0.5), <= 1.2x raw-durable (both durable), peak RSS < 32 MiB",
        )
    }

    /// Pull into tmpfs (`/dev/shm`), where writing and `fsync` cost no
    /// disk time: each client's own cost (crctl still syncs every blob).
    /// `None` when there is no tmpfs with room for the image.
    pub(crate) fn pull_tmpfs(&self) -> Option<Scenario> {
        let shm = Path::new("/dev/shm");
        let room = tools::free_bytes(shm).unwrap_or(0);
        if room < 2 * self.image.total_bytes() {
            eprintln!(
                "bench: pull-tmpfs skipped: /dev/shm missing or short of room ({room} bytes free)"
            );
            return None;
        }
        let dir = shm.join(format!("crctl-bench-{}", self.nonce));
        let scenario = self.pull_into(
            "pull-tmpfs",
            &dir,
            &[Tool::Crctl, Tool::OciClient, Tool::Raw],
            "crctl <= 0.8x oci-client and <= 1.2x raw, peak RSS < 32 MiB",
        );
        let _ = std::fs::remove_dir_all(&dir);
        Some(scenario)
    }

    /// Registry → a fresh layout under `root` each run, for `tools`.
    fn pull_into(
        &self,
        name: &'static str,
        root: &Path,
        tools: &[Tool],
        target: &'static str,
    ) -> Scenario {
        eprintln!("bench: {name} ({} runs each)", self.runs);
        let host = self.host();
        let tools = self.alternate(
            tools,
            |t| self.availability(t),
            |tool, run| {
                let dest = root.join(format!("pull-{}-{run}", tool.name()));
                remove_dir(&dest)?;
                let sample = if matches!(tool, Tool::Raw | Tool::RawDurable) {
                    let (cpu, start) = (tools::own_cpu_seconds(), Instant::now());
                    let durable = tool == Tool::RawDurable;
                    let digest = self
                        .rt
                        .block_on(self.raw.pull(SOURCE_REPO, &dest, durable))?;
                    let seconds = start.elapsed().as_secs_f64();
                    let cpu_s = cpu_since(cpu);
                    expect_digest(&digest, &self.image.manifest.digest)?;
                    Sample {
                        seconds,
                        rss_kib: None,
                        cpu_s,
                    }
                } else {
                    let copy = Copy::Pull {
                        registry: &host,
                        repo: SOURCE_REPO,
                        dest: &dest,
                    };
                    let (sample, stdout) = self.run_tool(tool, &tools::copy_args(tool, &copy))?;
                    if tool == Tool::OciClient {
                        expect_digest(stdout.trim(), &self.image.manifest.digest)?;
                    } else {
                        check_index(&dest, &self.image.manifest.digest)?;
                    }
                    sample
                };
                check_blobs(&dest, &self.image)?;
                remove_dir(&dest)?;
                sync();
                Ok(sample)
            },
        );
        Scenario {
            name,
            description: format!(
                "registry -> fresh OCI layout in {}, {:.0} MiB",
                root.display(),
                self.image.total_bytes() as f64 / 1048576.0
            ),
            bytes: Some(self.image.total_bytes()),
            extra: None,
            target,
            tools,
        }
    }

    /// Copy inside one registry to a fresh repository (blob mounts).
    pub(crate) fn copy(&self) -> Scenario {
        eprintln!("bench: copy inside one registry ({} runs each)", self.runs);
        let host = self.host();
        let tools = self.alternate(
            &[Tool::Crctl, Tool::Skopeo],
            |t| self.availability(t),
            |tool, run| {
                let to = format!("bench/copy-{}-{}-{run}", tool.name(), self.nonce);
                let copy = Copy::Within {
                    registry: &host,
                    from: SOURCE_REPO,
                    to: &to,
                };
                let (sample, _) = self.run_tool(tool, &tools::copy_args(tool, &copy))?;
                let digest = self.rt.block_on(self.raw.manifest_digest(&to, TAG))?;
                expect_digest(&digest, &self.image.manifest.digest)?;
                Ok(sample)
            },
        );
        Scenario {
            name: "copy",
            description: format!(
                "registry -> same registry, new repository ({:.0} MiB image)",
                self.image.total_bytes() as f64 / 1048576.0
            ),
            bytes: None,
            extra: None,
            target: "crctl < 0.5 s (mounts, no bytes re-sent)",
            tools,
        }
    }

    /// Seeds [`TAG_COUNT`] tags (once), then lists them.
    pub(crate) fn tags(&self, small: &SmallImage) -> Result<Scenario, String> {
        eprintln!("bench: creating {TAG_COUNT} tags in {TAGS_REPO}");
        let start = Instant::now();
        self.rt.block_on(async {
            self.raw
                .push_small(small, TAGS_REPO, &super::raw::tag_name(0))
                .await?;
            self.raw.seed_tags(small, TAGS_REPO, TAG_COUNT, 16).await
        })?;
        eprintln!(
            "bench: {TAG_COUNT} tags created in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        eprintln!("bench: listing {TAG_COUNT} tags ({} runs each)", self.runs);
        let host = self.host();
        let tools = self.alternate(
            &[Tool::Crctl, Tool::Skopeo],
            |t| self.tools.binary(t).map(drop),
            |tool, _| {
                let (sample, stdout) =
                    self.run_tool(tool, &tools::tags_args(tool, &host, TAGS_REPO))?;
                let n = tools::count_tags(tool, &stdout)?;
                if n != TAG_COUNT {
                    return Err(format!("listed {n} tags, expected {TAG_COUNT}"));
                }
                Ok(sample)
            },
        );
        Ok(Scenario {
            name: "tags",
            description: format!("list the {TAG_COUNT} tags of one repository"),
            bytes: None,
            extra: None,
            target: "every tag listed (no numeric target)",
            tools,
        })
    }
}

/// CPU seconds this process used since `before`.
fn cpu_since(before: Option<f64>) -> Option<f64> {
    Some(tools::own_cpu_seconds()? - before?)
}

fn expect_digest(actual: &str, expected: &str) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("got manifest {actual}, expected {expected}"))
    }
}

/// The pulled layout's `index.json` points at `digest`.
pub(crate) fn check_index(dir: &Path, digest: &str) -> Result<(), String> {
    let path = dir.join("index.json");
    let text = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let index: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let found = index["manifests"]
        .as_array()
        .is_some_and(|m| m.iter().any(|d| d["digest"] == digest));
    if found {
        Ok(())
    } else {
        Err(format!("{} does not reference {digest}", path.display()))
    }
}

/// Every blob of `image` exists in `dir` with its size.
fn check_blobs(dir: &Path, image: &Image) -> Result<(), String> {
    for blob in image.blobs() {
        let path = Image::blob_path_in(dir, &blob.digest);
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len != blob.size {
            return Err(format!(
                "{} is {len} bytes, expected {}",
                path.display(),
                blob.size
            ));
        }
    }
    Ok(())
}

/// Removes a directory when it exists.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("removing {}: {e}", dir.display())),
    }
}
