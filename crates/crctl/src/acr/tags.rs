//! `crctl acr tags list | show | update | delete`.

use clap::Subcommand;
use facade::acr::{AcrClient, ListTagsOptions};
use facade::core::Digest;

use super::list::{OrderedPageArgs, PropertyArgs, collect};
use crate::exit::Failure;
use crate::output::print_json;

/// `crctl acr tags …`
#[derive(Debug, Subcommand)]
pub enum TagsCommand {
    /// List a repository's tags (a JSON array of tag attributes).
    List {
        /// The repository.
        repository: String,
        /// Only the tags of this manifest digest.
        #[arg(long, value_name = "DIGEST")]
        digest: Option<Digest>,
        #[command(flatten)]
        list: OrderedPageArgs,
    },
    /// Show a tag's properties.
    Show {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
    },
    /// Update a tag's writeable properties; prints the new properties.
    Update {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        #[command(flatten)]
        properties: PropertyArgs,
    },
    /// Delete a tag (its manifest stays); prints nothing.
    Delete {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
    },
}

/// Runs one tags command.
pub async fn run(acr: &AcrClient, command: TagsCommand) -> Result<(), Failure> {
    match command {
        TagsCommand::List {
            repository,
            digest,
            list,
        } => {
            let options = ListTagsOptions {
                page_size: list.paging.limit,
                last: list.paging.last.clone(),
                order_by: list.order_by(),
                // Parsed by clap: the registry would take anything.
                digest: digest.map(|d| d.to_string()),
            };
            let tags = collect(
                &list.paging,
                || acr.list_tags(&repository, options.clone()),
                || acr.list_tags_page(&repository, &options),
            )
            .await?;
            print_json(&tags)
        }
        TagsCommand::Show { repository, tag } => {
            print_json(&acr.tag_properties(&repository, &tag).await?)
        }
        TagsCommand::Update {
            repository,
            tag,
            properties,
        } => print_json(
            &acr.update_tag_properties(&repository, &tag, &properties.properties())
                .await?,
        ),
        TagsCommand::Delete { repository, tag } => Ok(acr.delete_tag(&repository, &tag).await?),
    }
}
