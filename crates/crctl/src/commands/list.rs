//! `tags` and `catalog`.

use futures_util::TryStreamExt;

use crate::cli::GlobalOptions;
use crate::exit::Failure;
use crate::output;
use crate::target;

fn print(global: &GlobalOptions, key: &str, items: &[String]) -> Result<(), Failure> {
    if global.json {
        return output::print_json(&serde_json::json!({ key: items }));
    }
    output::print_lines(items)
}

/// `crctl tags REPO [--limit N] [--last T]`.
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
    let items = match (limit, last) {
        (Some(n), _) => client.list_tags_page(Some(n), last).await?.items,
        (None, None) => client.list_tags().await?,
        (None, Some(l)) => {
            // Every page after `last`.
            let mut out = Vec::new();
            let mut cursor = Some(l.to_owned());
            while let Some(c) = cursor {
                let page = client.list_tags_page(None, Some(&c)).await?;
                out.extend(page.items);
                cursor = page.next;
            }
            out
        }
    };
    print(global, "tags", &items)
}

/// `crctl catalog HOST[:PORT] [--prefix P] [--limit N] [--last R]`.
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
    let items = match (limit, last) {
        (Some(n), _) => client.list_repositories_page(Some(n), last).await?.items,
        (None, None) => client
            .list_repositories_pages(facade::oci::paging::DEFAULT_PAGE_SIZE)
            .try_collect::<Vec<_>>()
            .await?
            .concat(),
        (None, Some(l)) => {
            let mut out = Vec::new();
            let mut cursor = Some(l.to_owned());
            while let Some(c) = cursor {
                let page = client.list_repositories_page(None, Some(&c)).await?;
                out.extend(page.items);
                cursor = page.next;
            }
            out
        }
    };
    print(global, "repositories", &items)
}
