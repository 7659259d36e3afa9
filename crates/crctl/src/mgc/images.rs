//! `crctl mgc images list | get | delete`.

use clap::{Subcommand, ValueEnum};
use facade::mgc::images;

use super::Ctx;
use super::list::{NamedPageArgs, print_list};
use super::repository::{RepositoryArg, RepositoryArgs};
use crate::exit::Failure;

/// `crctl mgc images …`
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// List a repository's images (a JSON array).
    List {
        #[command(flatten)]
        repo: RepositoryArgs,
        /// Extra fields to include; repeat or separate with commas.
        #[arg(long, value_enum, value_name = "FIELD", value_delimiter = ',')]
        expand: Vec<Expand>,
        #[command(flatten)]
        list: NamedPageArgs,
    },
    /// Show an image.
    Get {
        #[command(flatten)]
        repo: RepositoryArgs,
        /// The image digest (sha256:…) or a tag.
        digest_or_tag: String,
    },
    /// Delete an image (by digest, or the image a tag points at); prints nothing.
    Delete {
        #[command(flatten)]
        repo: RepositoryArgs,
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
        ImagesCommand::List { repo, expand, list } => {
            let (registry_id, repository_id) = (&repo.registry_id, repo.id(ctx).await?);
            let mut options = list.options();
            for field in expand {
                let field = field.wire().to_owned();
                if !options.expand.contains(&field) {
                    options.expand.push(field);
                }
            }
            print_list(
                ctx,
                &list.paging,
                COLUMNS,
                || images.list_stream(registry_id, &repository_id, options.clone()),
                || images.list(registry_id, &repository_id, options.clone()),
            )
            .await
        }
        ImagesCommand::Get {
            repo,
            digest_or_tag,
        } => {
            let (registry_id, tag) = (&repo.registry_id, &digest_or_tag);
            let image = match &repo.repository {
                RepositoryArg::Id(id) => images.get(registry_id, id, tag).await?,
                RepositoryArg::Name(name) => {
                    images
                        .get_by_repository_name(registry_id, name, tag)
                        .await?
                }
            };
            ctx.out.object(&image)
        }
        ImagesCommand::Delete {
            repo,
            digest_or_tag,
        } => {
            let (registry_id, tag) = (&repo.registry_id, &digest_or_tag);
            let deleted = match &repo.repository {
                RepositoryArg::Id(id) => images.delete(registry_id, id, tag).await,
                RepositoryArg::Name(name) => {
                    images
                        .delete_by_repository_name(registry_id, name, tag)
                        .await
                }
            };
            Ok(deleted?)
        }
    }
}
