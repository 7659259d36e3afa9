//! Tag listing (`GET /v2/<name>/tags/list`): one page, all pages as a
//! stream, or everything.

use futures_util::{Stream, TryStreamExt};
use registry_core::Error;

use crate::client::Client;
use crate::paging::{DEFAULT_PAGE_SIZE, Kind, Page};

impl Client {
    /// One page of tags: at most `limit` (sent as `n`, at most 1000) after
    /// `last`. Registries that ignore `n`/`last` (distribution 2.8) are
    /// paged client-side, so the result is the same.
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let first = app.list_tags_page(Some(100), None).await?;
    /// if let Some(last) = &first.next {
    ///     let second = app.list_tags_page(Some(100), Some(last)).await?;
    ///     # drop(second);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_tags_page(
        &self,
        limit: Option<usize>,
        last: Option<&str>,
    ) -> Result<Page, Error> {
        let base = self.repo_url("tags/list")?;
        let what = format!("list tags of {}", self.registry());
        self.list_page(&base, Kind::Tags, limit, last, &what).await
    }

    /// Every tag, page by page, following `Link: <…>; rel="next"` (same host
    /// only) with `n` = `page_size` (at most 1000).
    pub fn list_tags_pages(
        &self,
        page_size: usize,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        let what = format!("list tags of {}", self.registry());
        let base = self.repo_url("tags/list");
        let client = self.clone();
        futures_util::stream::once(async move { base })
            .map_ok(move |base| {
                client.list_pages(base, Kind::Tags, page_size, None, None, what.clone())
            })
            .try_flatten()
    }

    /// Every tag of the repository, sorted (distribution 2.8 sends them
    /// in storage order).
    pub async fn list_tags(&self) -> Result<Vec<String>, Error> {
        let pages: Vec<Vec<String>> = self
            .list_tags_pages(DEFAULT_PAGE_SIZE)
            .try_collect()
            .await?;
        let mut tags = pages.concat();
        tags.sort();
        Ok(tags)
    }
}
