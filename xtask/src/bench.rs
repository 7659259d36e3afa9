//! `cargo xtask bench`: crctl measured side by side with skopeo, the
//! oci-client crate and raw baselines, against a local `docker-registry`.
//!
//! What it does, in order:
//! 1. Re-executes itself as a release build (`cargo build --release -p
//!    xtask`), so the in-process raw baselines run optimised.
//! 2. Builds `crctl` (`cargo build --release -p crctl`) and the oci-client
//!    peer (`xtask/peers/oci-client-pull`, its own lock file, into
//!    `target/peers`); installs Debian's `skopeo` and `time` when missing and
//!    root. A tool that cannot be had is reported as unavailable.
//! 3. Generates the test image once ([`image`]): 8 gzip layers of 128 MiB
//!    random bytes in an OCI layout under `target/bench/image/`.
//! 4. Starts a registry, uploads the image to `bench/src`, and checks with a
//!    trial copy of a small image that `crctl copy` works.
//! 5. Runs the scenarios ([`scenarios`]): push (a fresh registry and
//!    repository every run), pull, in-registry copy, listing 10,000 tags,
//!    and ([`sync`]) mirroring 20 repositories × 3 tags into a fresh
//!    registry with `crctl sync` and `skopeo sync`, then no-op reruns;
//!    tools alternate run by run, `--runs` (default 5) each.
//! 6. Prints a table with medians, ratios, peak RSS and the targets,
//!    and writes `target/bench/results.json` ([`report`]).
//!
//! Develop with a small image: `cargo xtask bench --layers 2 --layer-mib 8 --runs 2`.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

mod image;
mod raw;
mod report;
mod scenarios;
mod sync;
mod targets;
mod tools;

use raw::{Raw, SmallImage};
use report::Report;
use scenarios::Ctx;
use tools::{Tool, Tools};

/// Arguments of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Runs per tool and scenario (tools alternate run by run; the issue asks for at least 5).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Layers in the test image.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    layers: u64,
    /// MiB of random bytes in each layer.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    layer_mib: u64,
    /// Build nothing: use the crctl, peer and xtask binaries already in target/.
    #[arg(long)]
    skip_build: bool,
    /// Run only these scenarios (repeat the flag or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Which>,
    /// Stay in this (debug) build instead of re-executing the release one;
    /// the raw baselines are then slower than they should be.
    #[arg(long, hide = true)]
    debug_build: bool,
}

/// A scenario of the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// OCI layout → registry.
    Push,
    /// Registry → OCI layout on the disk.
    Pull,
    /// Registry → OCI layout in tmpfs (`/dev/shm`): the client's own cost,
    /// without the disk's.
    PullTmpfs,
    /// Registry → same registry, another repository.
    Copy,
    /// Listing 10,000 tags.
    Tags,
    /// Mirroring 20 repositories × 3 tags to a fresh registry (`sync`), then
    /// no-op reruns (`sync-rerun`).
    Sync,
}

/// Runs `cargo xtask bench`.
pub(crate) fn run(args: Args) -> ExitCode {
    let root = crate::workspace_root();
    let target = target_dir(&root);
    if cfg!(debug_assertions) && !args.debug_build {
        return reexec_release(&root, &target, args.skip_build);
    }
    match bench(&args, &root, &target) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo xtask bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `target/`, honouring `CARGO_TARGET_DIR`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Builds the release xtask and replaces this process with it.
fn reexec_release(root: &Path, target: &Path, skip_build: bool) -> ExitCode {
    let bin = target.join("release").join("xtask");
    if !(skip_build && bin.is_file())
        && let Err(e) = tools::cargo_build(root, &["-p", "xtask"])
    {
        eprintln!("cargo xtask bench: {e}");
        return ExitCode::FAILURE;
    }
    let err = Command::new(&bin).args(std::env::args_os().skip(1)).exec();
    eprintln!("cargo xtask bench: running {}: {err}", bin.display());
    ExitCode::FAILURE
}

fn bench(args: &Args, root: &Path, target: &Path) -> Result<(), String> {
    let runs = usize::try_from(args.runs).map_err(|_| "--runs is too large")?;
    let layers = usize::try_from(args.layers).map_err(|_| "--layers is too large")?;
    if runs < 5 {
        eprintln!("bench: --runs {runs}: fewer than the 5 runs the issue asks for");
    }
    let wants = |w: Which| args.only.is_empty() || args.only.contains(&w);
    let bench_dir = target.join("bench");
    let work = bench_dir.join("work");
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    crate::registry::ensure_binary()?;

    let crctl = tools::crctl(root, target, args.skip_build);
    let peer = if wants(Which::Pull) || wants(Which::PullTmpfs) {
        tools::peer(root, target, args.skip_build)
    } else {
        Err("not needed".to_owned())
    };
    let tools = Tools {
        crctl,
        skopeo: tools::ensure_package("skopeo", "skopeo"),
        peer,
        time: tools::ensure_time(),
        scratch: work.clone(),
    };
    for (name, r) in [
        ("crctl", &tools.crctl),
        ("skopeo", &tools.skopeo),
        ("oci-client peer", &tools.peer),
    ] {
        match r {
            Ok(p) => eprintln!("bench: {name}: {}", p.display()),
            Err(e) => eprintln!("bench: {name} unavailable: {e}"),
        }
    }

    // The big image only matters to push, pull and copy; otherwise a 1 MiB
    // stand-in saves generating (and caching) a GiB.
    let big =
        wants(Which::Push) || wants(Which::Pull) || wants(Which::PullTmpfs) || wants(Which::Copy);
    let (layers, layer_mib) = if big {
        (layers, args.layer_mib)
    } else {
        (1, 1)
    };
    let image = image::ensure(&bench_dir.join("image"), layers, layer_mib)?;
    warm_page_cache(&image)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the tokio runtime: {e}"))?;
    let registry = rt.block_on(scenarios::start_registry());
    let raw = Raw::new(&registry.host())?;
    eprintln!("bench: registry at {}", registry.url());
    let small = SmallImage::new();
    let start = Instant::now();
    rt.block_on(raw.push_small(&small, scenarios::SMALL_REPO, image::TAG))?;
    if wants(Which::Pull) || wants(Which::PullTmpfs) || wants(Which::Copy) {
        rt.block_on(raw.push(&image, scenarios::SOURCE_REPO))?;
        eprintln!(
            "bench: image uploaded to {}/{} in {:.1} s",
            registry.host(),
            scenarios::SOURCE_REPO,
            start.elapsed().as_secs_f64()
        );
    }
    let crctl_copy = match &tools.crctl {
        Ok(_) => trial_copy(&tools, &registry.host(), &small, &work),
        Err(e) => Err(e.clone()),
    };
    if let Err(e) = &crctl_copy {
        eprintln!("bench: crctl copy unavailable: {e}");
    }

    let nonce = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let ctx = Ctx {
        rt,
        tools,
        image,
        registry,
        raw,
        runs,
        nonce,
        work,
        crctl_copy,
    };
    let load_before = loadavg();
    if load_before.first().is_some_and(|l| *l > 0.5) {
        eprintln!(
            "bench: load average is {load_before:?}: other work on this machine will add noise"
        );
    }
    let mut scenarios = Vec::new();
    if wants(Which::Push) {
        scenarios.push(ctx.push());
    }
    if wants(Which::Pull) {
        scenarios.push(ctx.pull());
    }
    if wants(Which::PullTmpfs) {
        scenarios.extend(ctx.pull_tmpfs());
    }
    if wants(Which::Copy) {
        scenarios.push(ctx.copy());
    }
    if wants(Which::Tags) {
        scenarios.push(ctx.tags(&small)?);
    }
    if wants(Which::Sync) {
        let fixture = ctx.sync_setup(&bench_dir.join("image"))?;
        let (sync, rerun) = ctx.sync(&fixture);
        scenarios.push(sync);
        scenarios.push(rerun);
    }
    let checks = targets::check(&scenarios);
    let report = Report {
        meta: meta(&ctx, args, layer_mib, &load_before),
        scenarios,
        checks,
    };
    println!("{}", report.table());
    let path = bench_dir.join("results.json");
    report.write(&path)?;
    println!("results written to {}", path.display());
    Ok(())
}

/// Reads the layout once so that the first run does not pay for the disk.
fn warm_page_cache(image: &image::Image) -> Result<(), String> {
    for blob in image.blobs() {
        let path = image.blob_path(&blob.digest);
        let mut f =
            std::fs::File::open(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        std::io::copy(&mut f, &mut std::io::sink())
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `crctl copy` of the small image into a layout: proves copy works before
/// the big runs.
fn trial_copy(tools: &Tools, host: &str, small: &SmallImage, work: &Path) -> Result<(), String> {
    let dest = work.join("trial");
    scenarios::remove_dir(&dest)?;
    let copy = tools::Copy::Pull {
        registry: host,
        repo: scenarios::SMALL_REPO,
        dest: &dest,
    };
    tools
        .run(Tool::Crctl, &tools::copy_args(Tool::Crctl, &copy))
        .map_err(|e| format!("trial copy failed: {e}"))?;
    scenarios::check_index(&dest, &small.digest).map_err(|e| format!("trial copy: {e}"))?;
    scenarios::remove_dir(&dest)
}

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// Context for the JSON report.
fn meta(ctx: &Ctx, args: &Args, layer_mib: u64, load_before: &[f64]) -> serde_json::Value {
    let version = |bin: Result<&Path, String>, arg: &str| {
        bin.ok().and_then(|b| {
            let out = Command::new(b).arg(arg).output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
    };
    json!({
        "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "runs": args.runs,
        "image": {
            "dir": ctx.image.dir,
            "layers": ctx.image.layers.len(),
            "layer_mib": layer_mib,
            "layer_media_type": image::LAYER_TYPE,
            "total_bytes": ctx.image.total_bytes(),
            "manifest_digest": ctx.image.manifest.digest,
        },
        "registry": version(test_support::registry::docker_registry_path().as_deref().ok_or_else(String::new), "--version"),
        "skopeo": version(ctx.tools.binary(Tool::Skopeo), "--version"),
        "crctl": version(ctx.tools.binary(Tool::Crctl), "--version"),
        "crctl_copy": ctx.crctl_copy.as_ref().err(),
        "peak_rss_and_cpu": if ctx.tools.time.is_some() { "/usr/bin/time -f '%M %U %S' (raw: /proc/self/stat)" } else { "unavailable" },
    })
}
