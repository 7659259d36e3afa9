//! `crctl acr`.

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// `crctl acr` arguments.
#[derive(Debug, clap::Args)]
pub struct AcrArgs {}

/// Runs `crctl acr`.
pub async fn run(_args: AcrArgs, _global: &GlobalOptions) -> Result<(), Failure> {
    Err(Failure::new(
        crate::exit::FAILURE,
        "crctl acr: not available yet",
    ))
}
