//! `crctl mgc repositories list | get | delete`.

use clap::Subcommand;
use facade::mgc::RegistryId;

use super::Ctx;
use super::list::{NamedPageArgs, print_list};
use super::repository::{RepositoryArg, RepositoryArgs};
use crate::exit::Failure;

/// `crctl mgc repositories …`
#[derive(Debug, Subcommand)]
pub enum RepositoriesCommand {
    /// List a registry's repositories (a JSON array).
    List {
        /// The registry ID (a UUID).
        registry_id: RegistryId,
        #[command(flatten)]
        list: NamedPageArgs,
    },
    /// Show a repository.
    Get {
        #[command(flatten)]
        repo: RepositoryArgs,
    },
    /// Delete a repository with all its images; prints nothing.
    Delete {
        #[command(flatten)]
        repo: RepositoryArgs,
    },
}

/// The table columns of a repository list.
const COLUMNS: &[&str] = &["id", "name", "image_count", "registry_name", "updated_at"];

/// Runs one repositories command.
pub async fn run(ctx: &Ctx, command: RepositoriesCommand) -> Result<(), Failure> {
    let repositories = ctx.api.repositories();
    match command {
        RepositoriesCommand::List { registry_id, list } => {
            let options = list.options();
            print_list(
                ctx,
                &list.paging,
                COLUMNS,
                || repositories.list_stream(&registry_id, options.clone()),
                || repositories.list(&registry_id, options.clone()),
            )
            .await
        }
        RepositoriesCommand::Get { repo } => {
            // By name, the look-up answers the repository itself.
            let found = match &repo.repository {
                RepositoryArg::Id(id) => repositories.get(&repo.registry_id, id).await?,
                RepositoryArg::Name(name) => {
                    repositories.get_by_name(&repo.registry_id, name).await?
                }
            };
            ctx.out.object(&found)
        }
        RepositoriesCommand::Delete { repo } => Ok(repositories
            .delete(&repo.registry_id, &repo.id(ctx).await?)
            .await?),
    }
}
