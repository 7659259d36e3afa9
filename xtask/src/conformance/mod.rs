//! `cargo xtask conformance`: a client-side conformance suite that mirrors
//! the OCI distribution-spec conformance groups (pull, push, content
//! discovery, content management) plus the auth flows, run through the
//! `facade` against a local `docker-registry` it starts itself (or
//! `--registry URL`). Prints a table and writes JUnit XML and Markdown
//! under `target/conformance/`; exits non-zero when a check fails.

mod auth;
mod discovery;
mod fixtures;
mod management;
mod pull;
mod push;
mod report;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Instant;

use report::Outcome;

/// Arguments of `cargo xtask conformance`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Test this registry (`http://host:port` or `host:port`) instead of
    /// starting one; the auth group still uses local registries.
    #[arg(long)]
    registry: Option<String>,
    /// Skip the auth group (needs local docker-registry instances).
    #[arg(long)]
    no_auth: bool,
}

/// A boxed check result.
pub(crate) type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// Runs one check, timing it.
pub(crate) async fn check<'a>(
    out: &mut Vec<Outcome>,
    group: &'static str,
    name: &'static str,
    f: CheckFuture<'a>,
) {
    let started = Instant::now();
    let failure = f.await.err();
    let elapsed = started.elapsed();
    let mark = if failure.is_some() { "FAIL" } else { "ok" };
    eprintln!("  {mark:>4}  {group}/{name}");
    out.push(Outcome {
        group,
        name,
        failure,
        elapsed,
    });
}

/// `Err(message)` unless `cond`.
pub(crate) fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(message()) }
}

/// Maps any displayable error to the check's error string.
pub(crate) fn e<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |err| format!("{what}: {err}")
}

async fn suite(args: &Args) -> Result<(Vec<Outcome>, String), String> {
    crate::registry::ensure_binary()?;
    let local;
    let url = match &args.registry {
        Some(u) => u.clone(),
        None => {
            local = test_support::TestRegistry::anonymous().await;
            local.url()
        }
    };
    let client = facade::Registry::builder(
        url.trim_start_matches("http://")
            .trim_start_matches("https://"),
    )
    .docker_config(false)
    .transport(facade::TransportOptions::new().plain_http(!url.starts_with("https://")))
    .build()
    .map_err(|e| format!("client for {url}: {e}"))?;
    let mut out = Vec::new();
    eprintln!("conformance against {url}");
    pull::run(&client, &mut out).await;
    push::run(&client, &url, &mut out).await;
    discovery::run(&client, &url, &mut out).await;
    management::run(&client, &mut out).await;
    if !args.no_auth {
        auth::run(&mut out).await;
    }
    Ok((out, url))
}

/// Runs `cargo xtask conformance`.
pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conformance: starting tokio failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (outcomes, url) = match runtime.block_on(suite(&args)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report::table(&outcomes));
    let dir = crate::workspace_root().join("target/conformance");
    if let Err(e) = report::write(&dir, &outcomes, &url) {
        eprintln!(
            "conformance: writing the report to {} failed: {e}",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "reports: {}/junit.xml, {}/report.md",
        dir.display(),
        dir.display()
    );
    if outcomes.iter().any(|o| o.failure.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
