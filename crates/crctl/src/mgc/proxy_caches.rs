//! `crctl mgc proxy-caches list | get | create | update | delete | status | check`.

use clap::{Args, Subcommand};
use facade::core::Secret;
use facade::mgc::{
    ProxyCacheCredentialStatusRequest, ProxyCacheId, ProxyCacheRequest, UpdateProxyCacheRequest,
};

use super::Ctx;
use super::list::{PageArgs, print_list};
use crate::exit::Failure;

/// `crctl mgc proxy-caches …`
#[derive(Debug, Subcommand)]
pub enum ProxyCachesCommand {
    /// List proxy caches (a JSON array).
    List {
        #[command(flatten)]
        paging: PageArgs,
    },
    /// Show a proxy cache.
    Get {
        /// The proxy cache ID (a UUID).
        proxy_cache_id: ProxyCacheId,
    },
    /// Create a proxy cache; prints its id and name.
    Create {
        /// Unique per tenant: lowercase letters and digits, at most 63.
        name: String,
        /// The provider of the proxied registry, e.g. docker-hub.
        #[arg(long, value_name = "P")]
        provider: String,
        /// The URL of the proxied registry, e.g. https://hub.docker.com.
        #[arg(long, value_name = "U")]
        url: String,
        /// The provider access key (user name).
        #[arg(long, value_name = "K")]
        access_key: Option<String>,
        /// The provider access secret (password); never printed.
        #[arg(long, value_name = "S")]
        access_secret: Option<Secret>,
        /// Free text.
        #[arg(long, value_name = "D")]
        description: Option<String>,
    },
    /// Change a proxy cache (only the fields given are sent); prints it.
    Update {
        /// The proxy cache ID.
        proxy_cache_id: ProxyCacheId,
        #[command(flatten)]
        fields: UpdateArgs,
    },
    /// Delete a proxy cache; prints nothing.
    Delete {
        /// The proxy cache ID.
        proxy_cache_id: ProxyCacheId,
    },
    /// Whether a proxy cache can reach its registry.
    Status {
        /// The proxy cache ID.
        proxy_cache_id: ProxyCacheId,
    },
    /// Test credentials against a remote registry (nothing is stored).
    Check {
        /// The provider of the remote registry, e.g. docker-hub.
        #[arg(long, value_name = "P")]
        provider: String,
        /// The URL of the remote registry.
        #[arg(long, value_name = "U")]
        url: String,
        /// The access key (user name).
        #[arg(long, value_name = "K")]
        access_key: String,
        /// The access secret (password); never printed.
        #[arg(long, value_name = "S")]
        access_secret: Secret,
        /// The kind of credential.
        #[arg(long, value_name = "TYPE", default_value = "basic")]
        credential_type: String,
    },
}

/// The fields `update` changes (at least one).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct UpdateArgs {
    /// New name: lowercase letters and digits, at most 63.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// New URL of the proxied registry.
    #[arg(long, value_name = "U")]
    url: Option<String>,
    /// New provider access key.
    #[arg(long, value_name = "K")]
    access_key: Option<String>,
    /// New provider access secret; never printed.
    #[arg(long, value_name = "S")]
    access_secret: Option<Secret>,
    /// New description.
    #[arg(long, value_name = "D")]
    description: Option<String>,
}

impl UpdateArgs {
    /// The PATCH body: only the flags given.
    fn request(self) -> UpdateProxyCacheRequest {
        UpdateProxyCacheRequest {
            name: self.name,
            url: self.url,
            access_key: self.access_key,
            access_secret: self.access_secret,
            description: self.description,
        }
    }
}

/// The table columns of a proxy cache list.
const COLUMNS: &[&str] = &["id", "name", "provider", "url", "created_at"];

/// Runs one proxy-caches command.
pub async fn run(ctx: &Ctx, command: ProxyCachesCommand) -> Result<(), Failure> {
    let caches = ctx.api.proxy_caches();
    match command {
        ProxyCachesCommand::List { paging } => {
            let options = paging.options();
            print_list(
                ctx,
                &paging,
                COLUMNS,
                || caches.list_stream(options.clone()),
                || caches.list(options.clone()),
            )
            .await
        }
        ProxyCachesCommand::Get { proxy_cache_id } => {
            ctx.out.object(&caches.get(&proxy_cache_id).await?)
        }
        ProxyCachesCommand::Create {
            name,
            provider,
            url,
            access_key,
            access_secret,
            description,
        } => {
            let request = ProxyCacheRequest {
                access_key,
                access_secret,
                description,
                ..ProxyCacheRequest::new(name, provider, url)
            };
            ctx.out.object(&caches.create(request).await?)
        }
        ProxyCachesCommand::Update {
            proxy_cache_id,
            fields,
        } => ctx
            .out
            .object(&caches.update(&proxy_cache_id, fields.request()).await?),
        ProxyCachesCommand::Delete { proxy_cache_id } => Ok(caches.delete(&proxy_cache_id).await?),
        ProxyCachesCommand::Status { proxy_cache_id } => {
            ctx.out.object(&caches.status(&proxy_cache_id).await?)
        }
        ProxyCachesCommand::Check {
            provider,
            url,
            access_key,
            access_secret,
            credential_type,
        } => {
            let request =
                ProxyCacheCredentialStatusRequest::new(provider, url, access_key, access_secret)
                    .credential_type(credential_type);
            ctx.out.object(&caches.check_credentials(request).await?)
        }
    }
}
