//! Options of the list commands (`--limit`, `--offset`, `--sort`, `--all`,
//! and `--name` where the API filters by name) and walking the pages.

use clap::Args;
use facade::mgc::{
    self, ItemStream, ListOptions, ListResponse, PaginationMetadata, RepositoriesV1Response,
};
use futures_util::TryStreamExt;
use serde::Serialize;

use super::Ctx;
use crate::exit::Failure;

/// `--limit`, `--offset`, `--sort`, `--all`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Listing")]
pub struct PageArgs {
    /// At most this many items per page (`_limit`; the API's default otherwise).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Skip this many items (`_offset`).
    #[arg(long, value_name = "N")]
    pub offset: Option<u64>,
    /// Order: FIELD:asc|desc, several joined by commas (e.g. created_at:desc).
    #[arg(long, value_name = "FIELD:asc|desc")]
    pub sort: Option<String>,
    /// Walk every page from --offset (--limit is then the page size)
    /// instead of printing one.
    #[arg(long)]
    pub all: bool,
}

/// [`PageArgs`] and `--name`, for the lists the API filters by name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Listing")]
pub struct NamedPageArgs {
    #[command(flatten)]
    pub paging: PageArgs,
    /// Only items whose name matches this (the API's `name` filter).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl PageArgs {
    /// The query options (without a name filter).
    pub fn options(&self) -> ListOptions {
        ListOptions {
            limit: self.limit,
            offset: self.offset,
            sort: self.sort.clone(),
            ..ListOptions::default()
        }
    }
}

impl NamedPageArgs {
    /// The query options with `--name`.
    pub fn options(&self) -> ListOptions {
        ListOptions {
            name: self.name.clone(),
            ..self.paging.options()
        }
    }
}

/// A page of a listing, taken apart.
pub trait Page {
    /// The items listed.
    type Item;
    /// The items and the page's position.
    fn into_parts(self) -> (Vec<Self::Item>, PaginationMetadata);
}

impl<T> Page for ListResponse<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, PaginationMetadata) {
        (self.results, self.meta.page)
    }
}

impl Page for RepositoriesV1Response {
    type Item = mgc::RepositoryV1Response;
    fn into_parts(self) -> (Vec<Self::Item>, PaginationMetadata) {
        (self.results, self.meta.page)
    }
}

/// Prints every item (`--all`: `all` walks the pages), or the items of the
/// one page `one` fetches, as a list whose table shows `columns`.
pub async fn print_list<P, F>(
    ctx: &Ctx,
    paging: &PageArgs,
    columns: &[&str],
    all: impl FnOnce() -> ItemStream<P::Item>,
    one: impl FnOnce() -> F,
) -> Result<(), Failure>
where
    P: Page,
    P::Item: Serialize,
    F: Future<Output = Result<P, mgc::Error>>,
{
    let items = collect(paging, all, one).await?;
    ctx.out.list(&items, columns)
}

/// Every item (`--all`: `all` walks the pages), or the items of the one
/// page `one` fetches.
async fn collect<P, F>(
    paging: &PageArgs,
    all: impl FnOnce() -> ItemStream<P::Item>,
    one: impl FnOnce() -> F,
) -> Result<Vec<P::Item>, Failure>
where
    P: Page,
    F: Future<Output = Result<P, mgc::Error>>,
{
    if paging.all {
        return Ok(all().try_collect().await?);
    }
    let (items, page) = one().await?.into_parts();
    let next = page.offset + items.len() as u64;
    if !items.is_empty() && next < page.total {
        tracing::info!(
            "{} of {} items follow: pass --all, or --offset {next}",
            page.total - next,
            page.total
        );
    }
    Ok(items)
}
