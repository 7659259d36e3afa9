//! `crctl mgc registries list | get | create | delete`.

use clap::Subcommand;
use facade::mgc::{ProxyCacheId, RegistryId, RegistryRequest};

use super::Ctx;
use super::list::{NamedPageArgs, print_list};
use crate::exit::Failure;

/// `crctl mgc registries …`
#[derive(Debug, Subcommand)]
pub enum RegistriesCommand {
    /// List registries (a JSON array).
    List {
        #[command(flatten)]
        list: NamedPageArgs,
    },
    /// Show a registry.
    Get {
        /// The registry ID (a UUID).
        registry_id: RegistryId,
    },
    /// Create a registry; prints its id and name.
    Create {
        /// A globally unique name: lowercase letters and digits, at most 63.
        name: String,
        /// Make it a proxy for this proxy cache (its ID).
        #[arg(long, value_name = "ID")]
        proxy_cache_id: Option<ProxyCacheId>,
    },
    /// Delete a registry; prints nothing.
    Delete {
        /// The registry ID.
        registry_id: RegistryId,
    },
}

/// The table columns of a registry list.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "storage_usage_bytes",
    "proxy_cache_id",
    "created_at",
];

/// Runs one registries command.
pub async fn run(ctx: &Ctx, command: RegistriesCommand) -> Result<(), Failure> {
    let registries = ctx.api.registries();
    match command {
        RegistriesCommand::List { list } => {
            let options = list.options();
            print_list(
                ctx,
                &list.paging,
                COLUMNS,
                || registries.list_stream(options.clone()),
                || registries.list(options.clone()),
            )
            .await
        }
        RegistriesCommand::Get { registry_id } => {
            ctx.out.object(&registries.get(&registry_id).await?)
        }
        RegistriesCommand::Create {
            name,
            proxy_cache_id,
        } => {
            let mut request = RegistryRequest::new(name);
            if let Some(id) = proxy_cache_id {
                request = request.proxy_cache_id(id);
            }
            ctx.out.object(&registries.create(request).await?)
        }
        RegistriesCommand::Delete { registry_id } => Ok(registries.delete(&registry_id).await?),
    }
}
