//! `crctl mgc credentials get | reset-password`.

use clap::Subcommand;

use super::Ctx;
use crate::exit::Failure;

/// `crctl mgc credentials …`
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Print the docker login of the registries (username, password, email).
    Get,
    /// Make a new password (the old one stops working); prints the new login.
    ResetPassword,
}

/// Runs one credentials command.
pub async fn run(ctx: &Ctx, command: CredentialsCommand) -> Result<(), Failure> {
    let credentials = ctx.api.credentials();
    let login = match command {
        CredentialsCommand::Get => credentials.get().await?,
        CredentialsCommand::ResetPassword => credentials.reset_password().await?,
    };
    ctx.out.object(&login)
}
