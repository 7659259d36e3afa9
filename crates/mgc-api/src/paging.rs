//! Listing: [`ListOptions`], the `meta.page` block of every list response,
//! and streams that walk every page by offset.

use std::future::Future;

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use registry_core::paging::SeenPages;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::validate;

/// A stream of items across every page of a listing.
pub type ItemStream<T> = BoxStream<'static, Result<T, Error>>;

/// Query options of the list operations: `_limit`, `_offset`, `_sort`,
/// `name` and `expand`.
///
/// Not every operation takes every option (see each `list` method); one it
/// does not take is refused before sending rather than silently dropped.
///
/// ```
/// use mgc_api::ListOptions;
/// let opts = ListOptions::new()
///     .limit(20)
///     .offset(40)
///     .sort("created_at:desc")
///     .name("alpine")
///     .expand("tags_details")
///     .expand("extra_attr");
/// assert_eq!(opts.limit, Some(20));
/// assert_eq!(opts.expand, ["tags_details", "extra_attr"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Most items per page (`_limit`, at least 1).
    pub limit: Option<u32>,
    /// Items to skip (`_offset`).
    pub offset: Option<u64>,
    /// Sort order (`_sort`), e.g. `created_at:desc` or `name:asc,created_at:desc`.
    pub sort: Option<String>,
    /// Name filter (`name`).
    pub name: Option<String>,
    /// Extra fields to include (`expand`, sent as repeated parameters).
    pub expand: Vec<String>,
}

/// Which optional parameters a list operation takes, each level adding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Accepts {
    /// `_limit`, `_offset` and `_sort`.
    Paging,
    /// And `name`.
    Name,
    /// And `expand`.
    NameExpand,
}

registry_core::setters!(ListOptions {
    /// `_limit`: at least 1.
    limit: u32,
    /// `_offset`.
    offset: u64,
    /// `_sort`, e.g. `created_at:desc`.
    sort: impl Into<String>,
    /// The `name` filter.
    name: impl Into<String>,
});

impl ListOptions {
    /// No options: the API's defaults.
    pub fn new() -> ListOptions {
        ListOptions::default()
    }

    /// Adds one `expand` value (images: `tags_details`, `extra_attr`,
    /// `manifest_media_type`, `media_type`).
    pub fn expand(mut self, field: impl Into<String>) -> Self {
        self.expand.push(field.into());
        self
    }

    /// Validates the options for operation `op` and renders the query.
    pub(crate) fn query(
        &self,
        op: &'static str,
        accepts: Accepts,
    ) -> Result<Vec<(&'static str, String)>, Error> {
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            if limit < 1 {
                return Err(Error::invalid_input(op, "_limit must be at least 1"));
            }
            q.push(("_limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            q.push(("_offset", offset.to_string()));
        }
        if let Some(sort) = &self.sort {
            validate::sort(op, sort)?;
            q.push(("_sort", sort.clone()));
        }
        if let Some(name) = &self.name {
            if accepts < Accepts::Name {
                return Err(Error::invalid_input(
                    op,
                    "this operation has no `name` filter",
                ));
            }
            validate::non_empty(op, "name filter", name)?;
            q.push(("name", name.clone()));
        }
        if !self.expand.is_empty() && accepts < Accepts::NameExpand {
            return Err(Error::invalid_input(
                op,
                "this operation has no `expand` parameter",
            ));
        }
        for field in &self.expand {
            let ok = !field.is_empty()
                && field
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(Error::invalid_input(
                    op,
                    format!("expand value {field:?} is not a field name"),
                ));
            }
            q.push(("expand", field.clone()));
        }
        Ok(q)
    }
}

/// `PaginationMetadata`: where a page sits in the whole listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaginationMetadata {
    /// Number of items on this page.
    pub count: u64,
    /// Maximum number of items per page.
    pub limit: u64,
    /// Offset of the first item on this page.
    pub offset: u64,
    /// Total number of items across all pages.
    pub total: u64,
}

/// `ListMetadata`: the `meta` block of a list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMetadata {
    /// Pagination of this page.
    pub page: PaginationMetadata,
}

/// One page of a listing: `{results, meta}` (the spec's `RegistriesResponse`,
/// `ProxyCachesResponse`, `MembersResponse`, `ImagesResponse`,
/// `ImageScansResponse` and `VulnerabilitiesResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListResponse<T> {
    /// The items of this page.
    pub results: Vec<T>,
    /// Pagination metadata.
    pub meta: ListMetadata,
}

/// A page type the stream walker can take apart.
pub(crate) trait Paginated: DeserializeOwned + Send + 'static {
    type Item: Serialize + Send + 'static;
    fn page(&self) -> PaginationMetadata;
    fn into_results(self) -> Vec<Self::Item>;
}

impl<T: DeserializeOwned + Serialize + Send + 'static> Paginated for ListResponse<T> {
    type Item = T;
    fn page(&self) -> PaginationMetadata {
        self.meta.page
    }
    fn into_results(self) -> Vec<T> {
        self.results
    }
}

struct WalkState {
    offset: u64,
    seen: SeenPages,
    done: bool,
}

/// Walks every page from `opts.offset` (default 0), `fetch` getting `ctx`
/// (the service and the ids of the listing) and the options of each page. Stops at an empty page or once the offset reaches
/// `meta.page.total`; a page identical to one before (the same items: an
/// API ignoring `_offset`) ends the stream with a [`ErrorKind::Protocol`]
/// error instead of looping. The pages are remembered as hashes
/// ([`SeenPages`], the guard `Link` paging uses too).
pub(crate) fn walk<C, P, F, Fut>(
    op: &'static str,
    opts: ListOptions,
    ctx: C,
    fetch: F,
) -> ItemStream<P::Item>
where
    C: Clone + Send + Sync + 'static,
    P: Paginated,
    F: Fn(C, ListOptions) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<P, Error>> + Send + 'static,
{
    let start = WalkState {
        offset: opts.offset.unwrap_or(0),
        seen: SeenPages::new(),
        done: false,
    };
    let fetch = std::sync::Arc::new(fetch);
    stream::try_unfold(start, move |mut state: WalkState| {
        let fetch = fetch.clone();
        let opts = opts.clone();
        let ctx = ctx.clone();
        async move {
            if state.done {
                return Ok(None);
            }
            let page: P = fetch(ctx, opts.offset(state.offset)).await?;
            let meta = page.page();
            let items = page.into_results();
            if items.is_empty() {
                return Ok(None);
            }
            // Items that do not serialise cannot be compared: not a repeat.
            let repeated = serde_json::to_vec(&items).is_ok_and(|json| !state.seen.insert(&json));
            if repeated {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!(
                        "the API answered offset {} with the same page as before; \
                         stopping instead of looping",
                        state.offset
                    ),
                )
                .with_operation(op));
            }
            let next = state.offset + items.len() as u64;
            state.offset = next;
            state.done = next >= meta.total;
            Ok(Some((items, state)))
        }
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_rendering_and_checks() {
        let q = ListOptions::new()
            .limit(3)
            .offset(6)
            .sort("name:asc")
            .name("x")
            .expand("a")
            .expand("b")
            .query("getImagesV1", Accepts::NameExpand)
            .unwrap();
        assert_eq!(
            q,
            vec![
                ("_limit", "3".to_owned()),
                ("_offset", "6".to_owned()),
                ("_sort", "name:asc".to_owned()),
                ("name", "x".to_owned()),
                ("expand", "a".to_owned()),
                ("expand", "b".to_owned()),
            ]
        );
        let err = ListOptions::new().limit(0).query("op", Accepts::Paging);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(
            ListOptions::new()
                .name("x")
                .query("op", Accepts::Paging)
                .is_err()
        );
        assert!(
            ListOptions::new()
                .expand("x")
                .query("op", Accepts::Name)
                .is_err()
        );
        assert!(
            ListOptions::new()
                .sort("bad")
                .query("op", Accepts::Paging)
                .is_err()
        );
        assert!(
            ListOptions::new()
                .expand("a&b")
                .query("op", Accepts::NameExpand)
                .is_err()
        );
    }
}
