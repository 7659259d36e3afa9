//! `crctl mgc`.

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// `crctl mgc` arguments.
#[derive(Debug, clap::Args)]
pub struct MgcArgs {}

/// Runs `crctl mgc`.
pub async fn run(_args: MgcArgs, _global: &GlobalOptions) -> Result<(), Failure> {
    Err(Failure::new(
        crate::exit::FAILURE,
        "crctl mgc: not available yet",
    ))
}
