//! `tags` and `catalog`: printed page by page as the registry sends them
//! (each page flushed), so memory stays flat and a long listing shows
//! output at once.

use std::pin::pin;

use facade::core::Error;
use facade::oci::paging::{DEFAULT_PAGE_SIZE, Page};
use futures_util::{Stream, TryStreamExt};

use crate::cli::GlobalOptions;
use crate::exit::Failure;
use crate::output::{Flow, Listing};
use crate::target;

/// Prints `pages` as they arrive under `key`. The pages printed before a
/// failure stay printed; the failure is returned.
async fn print_pages(
    global: &GlobalOptions,
    key: &'static str,
    pages: impl Stream<Item = Result<Vec<String>, Error>>,
) -> Result<(), Failure> {
    let mut listing = Listing::new(key, global.json);
    let mut pages = pin!(pages);
    while let Some(page) = pages.try_next().await? {
        if listing.page(&page)? == Flow::Stop {
            return Ok(());
        }
    }
    listing.finish()
}

/// Prints the one page of `--limit`.
fn print_page(global: &GlobalOptions, key: &'static str, page: Page) -> Result<(), Failure> {
    let mut listing = Listing::new(key, global.json);
    if listing.page(&page.items)? == Flow::Stop {
        return Ok(());
    }
    listing.finish()
}

/// `crctl tags REPO [--limit N] [--last T]`: `--limit` is one request for
/// at most N tags; otherwise every page (after `--last`), streamed.
pub async fn tags(
    global: &GlobalOptions,
    repository: &str,
    limit: Option<usize>,
    last: Option<&str>,
) -> Result<(), Failure> {
    let reference = target::parse_reference(repository)?;
    if reference.tag().is_some() || reference.digest().is_some() {
        return Err(Failure::usage(format!(
            "{repository}: name a repository, without tag or digest"
        )));
    }
    let client = target::repository_client(global, &reference)?;
    match limit {
        Some(n) => print_page(global, "tags", client.list_tags_page(Some(n), last).await?),
        None => {
            let pages = client.list_tags_pages_after(DEFAULT_PAGE_SIZE, last);
            print_pages(global, "tags", pages).await
        }
    }
}

/// `crctl catalog HOST[:PORT] [--prefix P] [--limit N] [--last R]`, like
/// `tags`.
pub async fn catalog(
    global: &GlobalOptions,
    registry: &str,
    prefix: Option<&str>,
    limit: Option<usize>,
    last: Option<&str>,
) -> Result<(), Failure> {
    if registry.contains('/') {
        return Err(Failure::usage(format!(
            "{registry}: name a registry (HOST[:PORT]); use --prefix for a scope"
        )));
    }
    let mut client = target::client(global, registry)?;
    if let Some(p) = prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        client = client.with_segment(p);
    }
    match limit {
        Some(n) => print_page(
            global,
            "repositories",
            client.list_repositories_page(Some(n), last).await?,
        ),
        None => {
            let pages = client.list_repositories_pages_after(DEFAULT_PAGE_SIZE, last);
            print_pages(global, "repositories", pages).await
        }
    }
}
