//! `crctl sync SOURCE --to DEST`: mirror many images (oci_dist::sync).
//! SOURCE is a skopeo-format YAML file, a bundle (`oci-archive:FILE`, or a
//! path ending in `.tar` that is a file: every repository and tag of its
//! `REPO:TAG` ref names), an OCI layout (`oci:PATH`, or a directory holding
//! an `oci-layout` file) or `HOST/REPO` (all tags, or `--tags REGEX`); DEST
//! is `HOST[:PORT][/PREFIX]`, `oci:PATH` (one layout per repository under
//! PATH) or a bundle `oci-archive:FILE.tar` (every repository in one
//! archive, put in place when the run ends: with the images that were
//! copied, and not at all when every image failed, which leaves an existing
//! file as it was).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use facade::oci::sync::{
    self, Action, ArchiveEndpoint, Endpoint, ImageOutcome, LayoutEndpoint, RegistryEndpoint,
    SyncJob, SyncOptions, SyncPlan, SyncReport, TagSelector, config::SyncConfig, destination_name,
};

use crate::cli::GlobalOptions;
use crate::connect::{self, RegistryLogin};
use crate::exit::{FAILURE, Failure};
use crate::output::{self, AtomicFile, terminal_safe};
use crate::progress::CopyBars;
use facade::oci::platform;

/// The arguments of `crctl sync`.
pub struct SyncArgs<'a> {
    /// SOURCE.
    pub source: &'a str,
    /// DEST.
    pub to: &'a str,
    /// Print the plan only.
    pub dry_run: bool,
    /// `I/N`.
    pub shard: Option<&'a str>,
    /// Where to write the JSON result.
    pub report: Option<&'a Path>,
    /// Keep only the last component of repository names.
    pub flat: bool,
    /// Tag regex for a `HOST/REPO` source.
    pub tags: Option<&'a str>,
    /// `--platforms`: for every job without its own.
    pub platforms: &'a [String],
    /// `--referrers`: for every job.
    pub referrers: bool,
}

fn registry_endpoint(
    global: &GlobalOptions,
    host: &str,
    login: RegistryLogin,
) -> Result<Arc<dyn Endpoint>, Failure> {
    Ok(Arc::new(RegistryEndpoint::new(connect::registry(
        global, host, login,
    )?)))
}

/// The destination endpoint and the prefix repositories go under.
async fn destination(
    global: &GlobalOptions,
    to: &str,
) -> Result<(Arc<dyn Endpoint>, String), Failure> {
    if let Some(path) = to.strip_prefix("oci:") {
        if path.is_empty() {
            return Err(Failure::usage("--to oci:PATH needs a path"));
        }
        return Ok((Arc::new(LayoutEndpoint::new(path)), String::new()));
    }
    if let Some(path) = to.strip_prefix("oci-archive:") {
        if path.is_empty() {
            return Err(Failure::usage("--to oci-archive:FILE needs a path"));
        }
        // Written in a temporary file beside it; in place only by `finish`.
        let bundle = ArchiveEndpoint::create(path)
            .await
            .map_err(|e| Failure::from(e).context(format!("creating {path}")))?;
        return Ok((Arc::new(bundle), String::new()));
    }
    let (host, prefix) = to.split_once('/').unwrap_or((to, ""));
    if host.is_empty() {
        return Err(Failure::usage(format!(
            "bad --to {to:?}: expected HOST[:PORT][/PREFIX], oci:PATH or oci-archive:FILE"
        )));
    }
    Ok((
        registry_endpoint(global, host, RegistryLogin::Usual)?,
        prefix.to_owned(),
    ))
}

/// The sync jobs SOURCE names: a layout, a bundle, a YAML file or one
/// registry repository.
async fn jobs(
    global: &GlobalOptions,
    args: &SyncArgs<'_>,
    prefix: &str,
) -> Result<Vec<SyncJob>, Failure> {
    let as_file = Path::new(args.source);
    let layout = args.source.strip_prefix("oci:").or_else(|| {
        (as_file.is_dir() && as_file.join("oci-layout").is_file()).then_some(args.source)
    });
    if let Some(path) = layout {
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source: Arc<dyn Endpoint> = Arc::new(LayoutEndpoint::new(path));
        let dest = destination_name(prefix, &name, args.flat);
        return Ok(vec![SyncJob::new(source, "", selector(args)?, dest)]);
    }
    let bundle = args
        .source
        .strip_prefix("oci-archive:")
        .or_else(|| (args.source.ends_with(".tar") && as_file.is_file()).then_some(args.source));
    if let Some(path) = bundle {
        return bundle_jobs(args, path, prefix).await;
    }
    if as_file.is_file() || args.source.ends_with(".yaml") || args.source.ends_with(".yml") {
        return yaml_jobs(global, args, as_file, prefix);
    }
    let (host, repo) = args
        .source
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty() && !r.contains([':', '@']))
        .ok_or_else(|| {
            Failure::usage(format!(
                "bad SOURCE {:?}: expected a YAML file, a bundle (oci-archive:FILE or FILE.tar), oci:PATH or HOST/REPO",
                args.source
            ))
        })?;
    let source = registry_endpoint(global, host, RegistryLogin::Usual)?;
    let dest = destination_name(prefix, repo, args.flat);
    Ok(vec![SyncJob::new(source, repo, selector(args)?, dest)])
}

/// The tags `--tags` selects (all without it).
fn selector(args: &SyncArgs<'_>) -> Result<TagSelector, Failure> {
    Ok(match args.tags {
        Some(re) => TagSelector::regex(re).map_err(|e| Failure::usage(e.to_string()))?,
        None => TagSelector::All,
    })
}

/// One job per repository of the bundle at `path`.
async fn bundle_jobs(
    args: &SyncArgs<'_>,
    path: &str,
    prefix: &str,
) -> Result<Vec<SyncJob>, Failure> {
    if path.is_empty() {
        return Err(Failure::usage("SOURCE oci-archive:FILE needs a path"));
    }
    let bundle = Arc::new(
        ArchiveEndpoint::open(path)
            .await
            .map_err(|e| Failure::from(e).context(format!("opening {path}")))?,
    );
    let selector = selector(args)?;
    Ok(bundle
        .repositories()
        .into_iter()
        .map(|r| {
            let source: Arc<dyn Endpoint> = bundle.clone();
            let dest = destination_name(prefix, &r, args.flat);
            SyncJob::new(source, r, selector.clone(), dest)
        })
        .collect())
}

/// The jobs of a skopeo-style YAML file, each registry with its settings.
fn yaml_jobs(
    global: &GlobalOptions,
    args: &SyncArgs<'_>,
    file: &Path,
    prefix: &str,
) -> Result<Vec<SyncJob>, Failure> {
    if args.tags.is_some() {
        return Err(Failure::usage(
            "--tags applies to a HOST/REPO, bundle or layout source, not a YAML file",
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::from(e).context(format!("reading {}", file.display())))?;
    let config = SyncConfig::parse(&text).map_err(|e| Failure::from(e).context(file.display()))?;
    let mut endpoints = std::collections::BTreeMap::new();
    for (host, section) in &config.registries {
        let mut g = global.clone();
        // skopeo's `tls-verify: false` also allows plain HTTP, which is
        // already the default for loopback hosts (where --insecure would
        // ask for TLS).
        g.insecure |= !section.tls_verify && !facade::core::host::is_loopback(host);
        let login = match &section.credentials {
            Some(c) => RegistryLogin::Only {
                username: c.username.clone(),
                password: c.password.clone(),
            },
            None => RegistryLogin::Usual,
        };
        endpoints.insert(host.clone(), registry_endpoint(&g, host, login)?);
    }
    config
        .jobs(prefix, args.flat, |host, _| Ok(endpoints[host].clone()))
        .map_err(Failure::from)
}

/// Runs the sync.
pub async fn run(global: &GlobalOptions, args: SyncArgs<'_>) -> Result<(), Failure> {
    let mut options = SyncOptions::default().jobs(global.jobs);
    if let Some(s) = args.shard {
        options = options.shard(
            s.parse()
                .map_err(|e: facade::Error| Failure::usage(e.to_string()))?,
        );
    }
    let platforms = args
        .platforms
        .iter()
        .map(|p| platform::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::usage(format!("--platforms: {e}")))?;
    let (dest, prefix) = destination(global, args.to).await?;
    let mut jobs = jobs(global, &args, &prefix).await?;
    for job in &mut jobs {
        if job.platforms.is_empty() {
            job.platforms = platforms.clone();
        }
        job.referrers |= args.referrers;
    }
    let plan = sync::plan(&jobs, dest.as_ref(), &options).await;
    if args.dry_run {
        return print_plan(global, &args, &plan);
    }
    let bars = (!global.json)
        .then(CopyBars::for_sync)
        .flatten()
        .map(Arc::new);
    if let Some(b) = &bars {
        let b = b.clone();
        options = options.progress(move |e: &facade::oci::ProgressEvent| {
            facade::oci::Progress::report(b.as_ref(), e)
        });
    }
    let report = sync::execute(&plan, &jobs, dest.as_ref(), &options).await;
    if let Some(b) = &bars {
        b.finish();
    }
    // A bundle lands with what was copied, unless nothing was and images
    // failed (an existing file then stays as it was).
    if report.copied() > 0 || report.failed() == 0 {
        dest.finish()
            .await
            .map_err(|e| Failure::from(e).context(format!("writing {}", dest.describe())))?;
    }
    if let Some(path) = args.report {
        write_report(path, &report)?;
    }
    print_report(global, &report)?;
    failures(&report)
}

/// `--dry-run`'s output: the plan, one line per image (or JSON).
fn print_plan(global: &GlobalOptions, args: &SyncArgs<'_>, plan: &SyncPlan) -> Result<(), Failure> {
    if let Some(path) = args.report {
        write_report(path, plan)?;
    }
    if global.json {
        return output::print_json(plan);
    }
    let lines = plan.items.iter().map(|i| {
        let action = match i.action {
            Action::Copy => "copy",
            Action::Skip => "skip",
            Action::Fail => "fail",
        };
        let detail = match (&i.digest, &i.error) {
            (Some(d), _) => d.to_string(),
            (None, e) => e.clone().unwrap_or_default(),
        };
        image_line(action, &i.source, &i.destination, &i.tag, &detail)
    });
    output::print_lines(lines)
}

/// The run's output: one line per image and a summary (or JSON).
fn print_report(global: &GlobalOptions, report: &SyncReport) -> Result<(), Failure> {
    if global.json {
        return output::print_json(report);
    }
    let mut lines: Vec<String> = report
        .images
        .iter()
        .map(|i| {
            let outcome = match i.outcome {
                ImageOutcome::Copied => "copied",
                ImageOutcome::Skipped => "skipped",
                ImageOutcome::Failed => "failed",
            };
            let digest = i.digest.as_ref().map(ToString::to_string);
            let digest = digest.as_deref().unwrap_or("");
            image_line(outcome, &i.source, &i.destination, &i.tag, digest)
        })
        .collect();
    lines.push(format!(
        "{} copied, {} skipped, {} failed; {} bytes moved, {} bytes deduplicated, {:.1}s",
        report.copied(),
        report.skipped(),
        report.failed(),
        report.bytes_moved,
        report.bytes_deduplicated,
        report.seconds
    ));
    output::print_lines(lines)
}

/// `WHAT<TAB>SOURCE:TAG<TAB>DEST:TAG<TAB>DETAIL`, safe for a terminal.
fn image_line(what: &str, source: &str, destination: &str, tag: &str, detail: &str) -> String {
    terminal_safe(&format!(
        "{what}\t{source}:{tag}\t{destination}:{tag}\t{detail}"
    ))
    .into_owned()
}

/// Each failed image on stderr, and exit code 1, when any failed.
fn failures(report: &SyncReport) -> Result<(), Failure> {
    let failed: Vec<String> = report
        .images
        .iter()
        .filter(|i| i.outcome == ImageOutcome::Failed)
        .map(|i| {
            format!(
                "{}:{}: {}",
                i.source,
                i.tag,
                i.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    for f in &failed {
        let _ = writeln!(err, "crctl: sync: {}", terminal_safe(f));
    }
    Err(Failure::new(
        FAILURE,
        format!("{} of {} images failed", failed.len(), report.images.len()),
    ))
}

/// Writes `value` as JSON to `path`, atomically.
fn write_report(path: &Path, value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut f = AtomicFile::create(path)?;
    serde_json::to_writer_pretty(f.file(), value)
        .map_err(|e| Failure::new(FAILURE, format!("writing {}: {e}", path.display())))?;
    f.commit()
}
