//! `cargo xtask`: project automation.
//!
//! Subcommands (each in its own module):
//! - `registry start|stop|status [--auth none|htpasswd|token] [--port N]`: a
//!   local `docker-registry` (distribution 2.8) in the background, state in
//!   `target/xtask-registry/` ([`registry`]).
//! - `test`: the README's test command: docker-registry, lints, every test.
//! - `lint`: fmt, clippy, rustdoc, unused dependencies, cargo-deny.
//! - `conformance`: the client-side OCI conformance suite (the main job).
//! - `bench`: benchmarks against skopeo and oci-client.
//! - `man`: crctl's man pages ([`dist`], which also holds the packaging
//!   and install checks of `lint` and `test`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod conformance;
mod dist;
mod lint;
mod registry;
mod test;

/// Project automation for the crctl workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local docker-registry for development and conformance runs.
    Registry(registry::RegistryArgs),
    /// Client-side OCI conformance suite against a local registry.
    Conformance(conformance::Args),
    /// Benchmarks against skopeo, oci-client and a raw baseline.
    Bench(bench::Args),
    /// Formatting, clippy and rustdoc (warnings denied); cargo-machete and
    /// cargo-deny when installed.
    Lint(lint::Args),
    /// The test command: installs docker-registry when missing (as root),
    /// runs the lints, then every test of the workspace.
    Test(test::Args),
    /// Write crctl's man pages (default target/man).
    Man(dist::ManArgs),
}

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Registry(args) => registry::run(args),
        Command::Conformance(args) => conformance::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Test(args) => test::run(args),
        Command::Man(args) => dist::man(args),
    }
}
