//! `crctl mgc images list | get | delete`.

use clap::{Subcommand, ValueEnum};
use facade::mgc::{RegistryId, images};

use super::Ctx;
use super::list::{NameArgs, PageArgs, print_list};
use super::repository::RepositoryArg;
use crate::exit::Failure;

/// `crctl mgc images …`
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// List a repository's images (a JSON array).
    List {
        /// The registry ID (a UUID).
        registry_id: RegistryId,
        /// The repository: its ID (a UUID) or its exact name.
        #[arg(value_name = "REPOSITORY_ID")]
        repository: RepositoryArg,
        /// Extra fields to include; repeat or separate with commas.
        #[arg(long, value_enum, value_name = "FIELD", value_delimiter = ',')]
        expand: Vec<Expand>,
        #[command(flatten)]
        paging: PageArgs,
        #[command(flatten)]
        name: NameArgs,
    },
    /// Show an image.
    Get {
        /// The registry ID.
        registry_id: RegistryId,
        /// The repository: its ID (a UUID) or its exact name.
        #[arg(value_name = "REPOSITORY_ID")]
        repository: RepositoryArg,
        /// The image digest (sha256:…) or a tag.
        digest_or_tag: String,
    },
    /// Delete an image (by digest, or the image a tag points at); prints nothing.
    Delete {
        /// The registry ID.
        registry_id: RegistryId,
        /// The repository: its ID (a UUID) or its exact name.
        #[arg(value_name = "REPOSITORY_ID")]
        repository: RepositoryArg,
        /// The image digest (sha256:…) or a tag.
        digest_or_tag: String,
    },
}

/// The values of `--expand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Expand {
    /// Per-tag details (push and pull times, signed).
    #[value(name = "tags_details")]
    TagsDetails,
    /// Extra attributes.
    #[value(name = "extra_attr")]
    ExtraAttr,
    /// The manifest media type.
    #[value(name = "manifest_media_type")]
    ManifestMediaType,
    /// The config media type.
    #[value(name = "media_type")]
    MediaType,
}

impl Expand {
    /// The `expand` value sent.
    fn wire(self) -> &'static str {
        match self {
            Expand::TagsDetails => images::EXPAND_TAGS_DETAILS,
            Expand::ExtraAttr => images::EXPAND_EXTRA_ATTR,
            Expand::ManifestMediaType => images::EXPAND_MANIFEST_MEDIA_TYPE,
            Expand::MediaType => images::EXPAND_MEDIA_TYPE,
        }
    }
}

/// The table columns of an image list.
const COLUMNS: &[&str] = &["digest", "tags", "size_bytes", "pushed_at", "pulled_at"];

/// Runs one images command.
pub async fn run(ctx: &Ctx, command: ImagesCommand) -> Result<(), Failure> {
    let images = ctx.api.images();
    match command {
        ImagesCommand::List {
            registry_id,
            repository,
            expand,
            paging,
            name,
        } => {
            let repository_id = repository.id(ctx, &registry_id).await?;
            let mut options = paging.named(&name);
            for field in expand {
                let field = field.wire().to_owned();
                if !options.expand.contains(&field) {
                    options.expand.push(field);
                }
            }
            print_list(
                ctx,
                &paging,
                COLUMNS,
                || images.list_stream(&registry_id, &repository_id, options.clone()),
                || images.list(&registry_id, &repository_id, options.clone()),
            )
            .await
        }
        ImagesCommand::Get {
            registry_id,
            repository,
            digest_or_tag,
        } => {
            let image = match &repository {
                RepositoryArg::Id(id) => images.get(&registry_id, id, &digest_or_tag).await?,
                RepositoryArg::Name(name) => {
                    images
                        .get_by_repository_name(&registry_id, name, &digest_or_tag)
                        .await?
                }
            };
            ctx.out.object(&image)
        }
        ImagesCommand::Delete {
            registry_id,
            repository,
            digest_or_tag,
        } => {
            match &repository {
                RepositoryArg::Id(id) => images.delete(&registry_id, id, &digest_or_tag).await?,
                RepositoryArg::Name(name) => {
                    images
                        .delete_by_repository_name(&registry_id, name, &digest_or_tag)
                        .await?
                }
            }
            Ok(())
        }
    }
}
