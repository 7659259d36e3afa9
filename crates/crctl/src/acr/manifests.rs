//! `crctl acr manifests list | show | update | delete`.

use clap::Subcommand;
use facade::acr::{AcrClient, ListManifestsOptions};

use super::list::{OrderedPageArgs, PropertyArgs, collect};
use crate::exit::Failure;
use crate::output::print_json;

/// `crctl acr manifests …`
#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// List a repository's manifests (a JSON array of manifest attributes).
    List {
        /// The repository.
        repository: String,
        #[command(flatten)]
        list: OrderedPageArgs,
    },
    /// Show a manifest's properties.
    Show {
        /// The repository.
        repository: String,
        /// The manifest digest, sha256:….
        digest: String,
    },
    /// Update a manifest's writeable properties; prints the new properties.
    Update {
        /// The repository.
        repository: String,
        /// The manifest digest.
        digest: String,
        #[command(flatten)]
        properties: PropertyArgs,
    },
    /// Delete a manifest and the tags pointing at it; prints nothing.
    Delete {
        /// The repository.
        repository: String,
        /// The manifest digest.
        digest: String,
    },
}

/// Runs one manifests command.
pub async fn run(acr: &AcrClient, command: ManifestsCommand) -> Result<(), Failure> {
    match command {
        ManifestsCommand::List { repository, list } => {
            let options = ListManifestsOptions {
                page_size: list.paging.limit,
                last: list.paging.last.clone(),
                order_by: list.order_by(),
            };
            let manifests = collect(
                &list.paging,
                || acr.list_manifests(&repository, options.clone()),
                || acr.list_manifests_page(&repository, &options),
            )
            .await?;
            print_json(&manifests)
        }
        ManifestsCommand::Show { repository, digest } => {
            print_json(&acr.manifest_properties(&repository, &digest).await?)
        }
        ManifestsCommand::Update {
            repository,
            digest,
            properties,
        } => print_json(
            &acr.update_manifest_properties(&repository, &digest, &properties.properties())
                .await?,
        ),
        ManifestsCommand::Delete { repository, digest } => {
            Ok(acr.delete_manifest(&repository, &digest).await?)
        }
    }
}
