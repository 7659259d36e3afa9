//! Options shared by the subcommands: paging (`--limit`, `--last`,
//! `--all`), order (`--orderby`), and the writeable properties of `update`.

use clap::{Args, ValueEnum};
use facade::acr::{OrderBy, Page, WriteableProperties};
use facade::core::Error;
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;

use crate::exit::Failure;

/// `--limit`, `--last`, `--all`.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// At most this many items per page (the registry's `n`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Start after this item (a repository name, tag or digest).
    #[arg(long, value_name = "ITEM")]
    pub last: Option<String>,
    /// Walk every page (--limit is then the page size) instead of printing one.
    #[arg(long)]
    pub all: bool,
}

/// [`PageArgs`] and `--orderby`, for the lists the registry sorts.
#[derive(Debug, Args)]
pub struct OrderedPageArgs {
    #[command(flatten)]
    pub paging: PageArgs,
    /// Sort by last update time.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub orderby: Option<Order>,
}

/// The values of `--orderby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Oldest update first.
    Timeasc,
    /// Newest update first.
    Timedesc,
}

impl OrderedPageArgs {
    /// As the client wants it.
    pub fn order_by(&self) -> Option<OrderBy> {
        self.orderby.map(|o| match o {
            Order::Timeasc => OrderBy::LastUpdatedOnAscending,
            Order::Timedesc => OrderBy::LastUpdatedOnDescending,
        })
    }
}

/// The writeable properties `update` sets (at least one).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct PropertyArgs {
    /// Whether it can be deleted (deleteEnabled).
    #[arg(long, value_name = "BOOL")]
    pub delete_enabled: Option<bool>,
    /// Whether it can be written (writeEnabled).
    #[arg(long, value_name = "BOOL")]
    pub write_enabled: Option<bool>,
    /// Whether it can be read (readEnabled).
    #[arg(long, value_name = "BOOL")]
    pub read_enabled: Option<bool>,
    /// Whether it is listed (listEnabled).
    #[arg(long, value_name = "BOOL")]
    pub list_enabled: Option<bool>,
}

impl PropertyArgs {
    /// The PATCH body: only the flags given.
    pub fn properties(&self) -> WriteableProperties {
        WriteableProperties {
            can_delete: self.delete_enabled,
            can_write: self.write_enabled,
            can_read: self.read_enabled,
            can_list: self.list_enabled,
        }
    }
}

/// Every item (`--all`), or the items of the one page asked for.
pub async fn collect<T, P>(
    paging: &PageArgs,
    all: impl FnOnce() -> BoxStream<'static, Result<T, Error>>,
    one: impl FnOnce() -> P,
) -> Result<Vec<T>, Failure>
where
    P: Future<Output = Result<Page<T>, Error>>,
{
    if paging.all {
        return Ok(all().try_collect().await?);
    }
    let page = one().await?;
    if page.next_link.is_some() {
        tracing::info!("more items follow: pass --all, or --last with the last item printed");
    }
    Ok(page.items)
}
