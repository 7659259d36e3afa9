//! One module per command; [`run`] dispatches.

use crate::cli::{Cli, Command};
use crate::exit::Failure;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let global = cli.global;
    match cli.command {
        Command::Mgc(args) => crate::mgc::run(args, &global).await,
        Command::Acr(args) => crate::acr::run(args, &global).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "crctl", &mut std::io::stdout());
            Ok(())
        }
        other => Err(Failure::new(
            crate::exit::FAILURE,
            format!("{other:?}: not available yet"),
        )),
    }
}
