//! `crctl acr`: the Azure Container Registry metadata API (`/acr/v1`):
//! repositories, tags and manifests, their properties and deletion.
//!
//! Every command prints JSON (pretty) on stdout, with ACR's own field
//! names (`imageName`, `lastUpdateTime`, `changeableAttributes`, …); list
//! commands print an array. Failures are one line on stderr with the exit
//! codes of `CLI.md` (3 not found, 4 refused credentials, 2 bad input).

mod connect;
mod list;
mod manifests;
mod repositories;
mod tags;

use clap::{Args, Subcommand};

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// How `crctl acr` authenticates, for `--help`.
#[cfg(feature = "azure-identity")]
const AFTER_HELP: &str = "\
Authenticate with one of:
  --anonymous                 the registry must allow anonymous pull
  --aad-token TOKEN           an AAD access token (default: the env AZURE_ACCESS_TOKEN)
  -u/-p                       admin user or repository-scoped token
  the Azure identity environment credential, when no option above is given:
    AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET         a client secret
    AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE  workload identity
    (AZURE_AUTHORITY_HOST picks another cloud's Entra ID endpoint)
  --azure-identity env|managed|cli
                              the environment credential (required), the managed
                              identity (user-assigned with AZURE_CLIENT_ID), or `az login`";

/// How `crctl acr` authenticates, for `--help`.
#[cfg(not(feature = "azure-identity"))]
const AFTER_HELP: &str = "Authenticate with one of --anonymous, --aad-token (or AZURE_ACCESS_TOKEN), \
                          or -u/-p (admin user or repository-scoped token).";

/// `crctl acr` arguments.
#[derive(Debug, Args)]
#[command(
    about = "Azure Container Registry metadata: repositories, tags, manifests",
    after_help = AFTER_HELP
)]
pub struct AcrArgs {
    #[command(flatten)]
    connect: connect::ConnectArgs,
    #[command(subcommand)]
    command: AcrCommand,
}

#[derive(Debug, Subcommand)]
enum AcrCommand {
    /// Repositories: list, show, update, delete.
    #[command(subcommand)]
    Repositories(repositories::RepositoriesCommand),
    /// Tags of a repository: list, show, update, delete.
    #[command(subcommand)]
    Tags(tags::TagsCommand),
    /// Manifests of a repository: list, show, update, delete.
    #[command(subcommand)]
    Manifests(manifests::ManifestsCommand),
}

/// Runs `crctl acr`.
pub async fn run(args: AcrArgs, global: &GlobalOptions) -> Result<(), Failure> {
    let registry = connect::connect(&args.connect, global)?;
    let acr = registry.client.metadata();
    let done = match args.command {
        AcrCommand::Repositories(c) => repositories::run(acr, c).await,
        AcrCommand::Tags(c) => tags::run(acr, c).await,
        AcrCommand::Manifests(c) => manifests::run(acr, c).await,
    };
    // Say which registry failed; a usage error is about the command line.
    done.map_err(|e| {
        if e.code == crate::exit::USAGE {
            e
        } else {
            e.context(&registry.host)
        }
    })
}
