//! `cargo xtask lint`: formatting, clippy with warnings denied, rustdoc
//! with warnings denied, unused dependencies (cargo-machete) and
//! `cargo deny check`, the last two when the tools are installed; and
//! `cargo package` of every published crate.

use std::process::{Command, ExitCode};

/// Arguments of `cargo xtask lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Skip `cargo deny check` even when cargo-deny is installed.
    #[arg(long)]
    no_deny: bool,
}

/// Runs a cargo subcommand in the workspace root, echoing it first.
pub(crate) fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_env(args, &[])
}

/// [`cargo`] with extra environment variables.
pub(crate) fn cargo_env(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    eprintln!("+ {}cargo {}", shown.concat(), args.join(" "));
    let status = cargo_command()
        .args(args)
        .envs(env.iter().copied())
        .current_dir(crate::workspace_root())
        .status()
        .map_err(|e| format!("running cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

/// A `cargo` command without the package variables `cargo run` set for
/// xtask: cargo-machete takes `CARGO_PKG_NAME` as a sign that it runs as a
/// build step and reads its arguments as paths.
fn cargo_command() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_CRATE_")
            || key == "CARGO_MANIFEST_DIR"
            || key == "CARGO_MANIFEST_PATH"
            || key == "CARGO_BIN_NAME"
            || key == "CARGO_PRIMARY_PACKAGE"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

/// Whether `cargo <tool> --version` works.
fn has_cargo_tool(tool: &str) -> bool {
    cargo_command()
        .args([tool, "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cargo deny check`: bans, licenses and sources always; advisories when
/// the RustSec database can be fetched (machines without GitHub access say
/// so and go on, instead of failing on a network error).
fn deny_check() -> Result<(), String> {
    cargo(&["deny", "check", "bans", "licenses", "sources"])?;
    if cargo(&["deny", "fetch", "db"]).is_ok() {
        cargo(&["deny", "check", "--disable-fetch", "advisories"])
    } else {
        eprintln!(
            "the RustSec advisory database could not be fetched; skipping `cargo deny check advisories`"
        );
        Ok(())
    }
}

/// The lint steps, shared with `cargo xtask test`.
pub(crate) fn lint(deny: bool) -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    // Every public item documented, no broken links, in every crate.
    cargo_env(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Every published crate packages and builds from its package.
    crate::dist::package_check()?;
    // Dependencies a crate declares but does not use.
    if has_cargo_tool("machete") {
        cargo(&["machete"])?;
    } else {
        eprintln!(
            "cargo-machete is not installed; skipping the unused-dependency check (cargo install --locked cargo-machete)"
        );
    }
    if deny {
        if has_cargo_tool("deny") {
            deny_check()?;
        } else {
            eprintln!(
                "cargo-deny is not installed; skipping `cargo deny check` (cargo install --locked cargo-deny)"
            );
        }
    }
    Ok(())
}

/// Runs `cargo xtask lint`.
pub(crate) fn run(args: Args) -> ExitCode {
    match lint(!args.no_deny) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lint failed: {e}");
            ExitCode::FAILURE
        }
    }
}
