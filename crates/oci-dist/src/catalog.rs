//! Repository listing (`GET /v2/_catalog`). On a scoped client only the
//! repositories under the scope are returned (the Go seed lists the whole
//! registry despite its documentation).

use futures_util::{Stream, TryStreamExt};
use registry_core::Error;

use crate::client::Client;
use crate::paging::{DEFAULT_PAGE_SIZE, Kind, Page};

impl Client {
    /// The prefix repositories must have (`scope/`), empty when unscoped.
    fn catalog_prefix(&self) -> Result<String, Error> {
        if self.scope().is_empty() {
            return Ok(String::new());
        }
        crate::reference::validate_repository(self.scope())?;
        Ok(format!("{}/", self.scope()))
    }

    /// One page of the catalog: at most `limit` names after `last` (when
    /// scoped, the page is filtered to the scope and may hold fewer).
    pub async fn list_repositories_page(
        &self,
        limit: Option<usize>,
        last: Option<&str>,
    ) -> Result<Page, Error> {
        let prefix = self.catalog_prefix()?;
        let base = self.url("/v2/_catalog");
        let what = format!("list repositories of {}", self.registry());
        let start = last.or((!prefix.is_empty()).then_some(prefix.as_str()));
        let mut page = self
            .list_page(&base, Kind::Catalog, limit, start, &what)
            .await?;
        if !prefix.is_empty() && !keep_prefixed(&mut page.items, &prefix) {
            page.next = None;
            page.next_link = None;
        }
        Ok(page)
    }

    /// The catalog page by page (`n` = `page_size`, at most 1000), limited
    /// to the scope; listing stops once names sort past the scope. Pages are
    /// fetched as the stream is polled; a `next` link back to a page already
    /// fetched ends the stream with an error.
    pub fn list_repositories_pages(
        &self,
        page_size: usize,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        self.list_repositories_pages_after(page_size, None)
    }

    /// Like [`Client::list_repositories_pages`], starting after repository
    /// `last` (or at the scope, when `last` sorts before it).
    pub fn list_repositories_pages_after(
        &self,
        page_size: usize,
        last: Option<&str>,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        let prefix = self.catalog_prefix();
        let base = self.url("/v2/_catalog");
        let what = format!("list repositories of {}", self.registry());
        let last = last.map(str::to_owned);
        let client = self.clone();
        futures_util::stream::once(async move { prefix })
            .map_ok(move |prefix| {
                let start = start_after(last.as_deref(), &prefix);
                let prefix = (!prefix.is_empty()).then_some(prefix);
                client.list_pages(
                    base.clone(),
                    Kind::Catalog,
                    page_size,
                    start,
                    prefix,
                    what.clone(),
                )
            })
            .try_flatten()
    }

    /// Every repository under the scope (the whole catalog when unscoped).
    pub async fn list_repositories(&self) -> Result<Vec<String>, Error> {
        self.list_repositories_pages(DEFAULT_PAGE_SIZE)
            .try_concat()
            .await
    }
}

/// Where a scoped listing starts: after `last`, but not before the scope
/// (`prefix`, empty when unscoped).
fn start_after(last: Option<&str>, prefix: &str) -> Option<String> {
    match last {
        Some(l) if l >= prefix => Some(l.to_owned()),
        _ if !prefix.is_empty() => Some(prefix.to_owned()),
        _ => None,
    }
}

/// Whether `name` sorts after every name starting with `prefix`.
fn past_prefix(name: &str, prefix: &str) -> bool {
    name > prefix && !name.starts_with(prefix)
}

/// Keeps the (sorted) names starting with `prefix`. False when the last one
/// sorts past every such name: no later page can hold one.
pub(crate) fn keep_prefixed(names: &mut Vec<String>, prefix: &str) -> bool {
    let within = !names.last().is_some_and(|l| past_prefix(l, prefix));
    names.retain(|n| n.starts_with(prefix));
    within
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ordering() {
        assert!(past_prefix("org0", "org/"));
        assert!(past_prefix("orh", "org/"));
        assert!(!past_prefix("org/a", "org/"));
        assert!(!past_prefix("org-a", "org/"));
        assert!(!past_prefix("a", "org/"));
    }

    #[test]
    fn names_are_kept_to_the_prefix() {
        let mut names = vec!["org/a".to_owned(), "org/b".to_owned(), "org0".to_owned()];
        assert!(!keep_prefixed(&mut names, "org/"));
        assert_eq!(names, ["org/a", "org/b"]);
        let mut names = vec!["a".to_owned(), "org/a".to_owned()];
        assert!(keep_prefixed(&mut names, "org/"));
        assert_eq!(names, ["org/a"]);
    }

    #[test]
    fn scoped_start() {
        assert_eq!(start_after(None, ""), None);
        assert_eq!(start_after(Some("b"), "").as_deref(), Some("b"));
        assert_eq!(start_after(None, "org/").as_deref(), Some("org/"));
        assert_eq!(start_after(Some("a"), "org/").as_deref(), Some("org/"));
        assert_eq!(start_after(Some("org/b"), "org/").as_deref(), Some("org/b"));
    }
}
