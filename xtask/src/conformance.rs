//! `cargo xtask conformance`: NOT YET IMPLEMENTED — a placeholder that exits with code 2.
//! Another engineer will fill it in; keep the module boundary.

use std::process::ExitCode;

/// Arguments of `cargo xtask conformance` (all accepted and ignored for now).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Arguments for the future implementation.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// Runs `cargo xtask conformance`: not yet implemented.
pub(crate) fn run(args: Args) -> ExitCode {
    let _ = args.rest;
    crate::not_implemented("conformance")
}
