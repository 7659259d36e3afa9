//! Tag listing (`GET /v2/<name>/tags/list`): one page, all pages as a
//! stream, or everything.

use futures_util::{Stream, TryStreamExt};
use registry_core::Error;

use crate::client::Client;
use crate::paging::{DEFAULT_PAGE_SIZE, Kind, MAX_PAGE_SIZE, Page};

impl Client {
    /// One page of tags: at most `limit` tags after `last`, in lexical
    /// order; [`Page::next`] is the `last` of the following page (`None`
    /// at the end).
    ///
    /// `limit` is what you get, whatever the registry's page size: `n` is
    /// sent as at most [`MAX_PAGE_SIZE`] (1000) per request, and a larger
    /// `limit` takes several requests, following the registry's `Link:
    /// <…>; rel="next"` headers (same host only), until `limit` tags or the
    /// end. Registries that ignore `n`/`last` (distribution 2.8, which
    /// sends every tag, unsorted, in one response whatever `n` says: it
    /// has no cap on tags) are paged client-side from that one response, so
    /// the result is the same. Server caps are listed in
    /// [`paging`](crate::paging#page-sizes-and-server-caps).
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let first = app.list_tags_page(Some(100), None).await?;
    /// if let Some(last) = &first.next {
    ///     let second = app.list_tags_page(Some(100), Some(last)).await?;
    ///     # drop(second);
    /// }
    /// // More than one request's worth: 5000 tags (fewer only at the end).
    /// let many = app.list_tags_page(Some(5000), None).await?;
    /// assert!(many.items.len() == 5000 || many.next.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn list_tags_page(
        &self,
        limit: Option<usize>,
        last: Option<&str>,
    ) -> Result<Page, Error> {
        let base = self.repo_url("tags/list")?;
        let what = format!("list tags of {}", self.registry());
        match limit {
            Some(n) if n > MAX_PAGE_SIZE => {
                self.list_long_page(&base, Kind::Tags, n, last, &what).await
            }
            _ => self.list_page(&base, Kind::Tags, limit, last, &what).await,
        }
    }

    /// Every tag, page by page, following `Link: <…>; rel="next"` (same host
    /// only) with `n` = `page_size` (at most 1000). Each page is fetched when
    /// the stream is polled, so memory stays flat however many pages there
    /// are; a `next` link back to a page already fetched ends the stream
    /// with an error. Pages are in the registry's order, sorted only when
    /// the registry ignored `n` (module [`paging`](crate::paging)).
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = std::pin::pin!(app.list_tags_pages(100));
    /// while let Some(page) = pages.try_next().await? {
    ///     for tag in page {
    ///         println!("{tag}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_tags_pages(
        &self,
        page_size: usize,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        self.list_tags_pages_after(page_size, None)
    }

    /// Like [`Client::list_tags_pages`], starting after tag `last` (sent as
    /// `last` on the first request).
    pub fn list_tags_pages_after(
        &self,
        page_size: usize,
        last: Option<&str>,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        let what = format!("list tags of {}", self.registry());
        let base = self.repo_url("tags/list");
        let last = last.map(str::to_owned);
        let client = self.clone();
        futures_util::stream::once(async move { base })
            .map_ok(move |base| {
                client.list_pages(
                    base,
                    Kind::Tags,
                    page_size,
                    last.clone(),
                    None,
                    what.clone(),
                )
            })
            .try_flatten()
    }

    /// Every tag of the repository: the pages of [`Client::list_tags_pages`]
    /// concatenated (lexical order on registries that page by `n`/`last`,
    /// and on those that ignore it, which are sorted client-side).
    pub async fn list_tags(&self) -> Result<Vec<String>, Error> {
        self.list_tags_pages(DEFAULT_PAGE_SIZE).try_concat().await
    }
}
