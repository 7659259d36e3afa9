//! `crctl acr repositories list | show | update | delete`.

use clap::Subcommand;
use facade::acr::{AcrClient, ListRepositoriesOptions};

use super::list::{PageArgs, PropertyArgs, collect};
use crate::exit::Failure;
use crate::output::print_json;

/// `crctl acr repositories …`
#[derive(Debug, Subcommand)]
pub enum RepositoriesCommand {
    /// List repository names (a JSON array of strings).
    List {
        #[command(flatten)]
        paging: PageArgs,
    },
    /// Show a repository's properties.
    Show {
        /// The repository, e.g. org/app.
        repository: String,
    },
    /// Update a repository's writeable properties; prints the new properties.
    Update {
        /// The repository.
        repository: String,
        #[command(flatten)]
        properties: PropertyArgs,
    },
    /// Delete a repository with all its tags and manifests; prints what was deleted.
    Delete {
        /// The repository.
        repository: String,
    },
}

/// Runs one repositories command.
pub async fn run(acr: &AcrClient, command: RepositoriesCommand) -> Result<(), Failure> {
    match command {
        RepositoriesCommand::List { paging } => {
            let options = ListRepositoriesOptions {
                page_size: paging.limit,
                last: paging.last.clone(),
            };
            let names = collect(
                &paging,
                || acr.list_repositories(options.clone()),
                || acr.list_repositories_page(&options),
            )
            .await?;
            print_json(&names)
        }
        RepositoriesCommand::Show { repository } => {
            print_json(&acr.repository_properties(&repository).await?)
        }
        RepositoriesCommand::Update {
            repository,
            properties,
        } => print_json(
            &acr.update_repository_properties(&repository, &properties.properties())
                .await?,
        ),
        RepositoriesCommand::Delete { repository } => {
            print_json(&acr.delete_repository(&repository).await?)
        }
    }
}
