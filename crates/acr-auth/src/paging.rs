//! Paged listings: the options of the three list operations, and what a
//! page holds. [`Page`], the `Link: <…>; rel="next"` parsing ([`next_link`])
//! and the walker across pages are [`registry_core::paging`]'s, shared with
//! `oci-dist`.

use serde::de::DeserializeOwned;

/// One page of a listing: `items`, `next_link` (the absolute URL of the
/// next page, from the `Link` header or the body's `link`; `None` on the
/// last page), `next` (its `last` value), `registry_login_server`
/// (`registry`) and `repository` (`imageName`) for tag and manifest lists.
pub use registry_core::paging::Page;
/// The target of the `rel="next"` entry of the `Link` headers, as written
/// (usually a path such as `/acr/v1/_catalog?last=b&n=2`).
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert(http::header::LINK, r#"</acr/v1/a/_tags?last=v2&n=2&orderby=>; rel="next""#.parse().unwrap());
/// assert_eq!(acr_auth::paging::next_link(&h).as_deref(), Some("/acr/v1/a/_tags?last=v2&n=2&orderby="));
/// ```
pub use registry_core::paging::next_link;

use crate::models::{ManifestAttributes, TagAttributes};

/// Sort order of tags and manifests (`orderby`): the Go SDK's
/// `ArtifactTagOrderBy` and `ArtifactManifestOrderBy`, which have the same
/// values.
///
/// ```
/// use acr_auth::OrderBy;
/// let wire: Vec<&str> = OrderBy::ALL.iter().map(|o| o.as_str()).collect();
/// assert_eq!(wire, ["timeasc", "timedesc", "none"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    /// Most recently updated first (`timedesc`).
    LastUpdatedOnDescending,
    /// Least recently updated first (`timeasc`).
    LastUpdatedOnAscending,
    /// No order (`none`): no `orderby` is sent, as the service documents
    /// for this value, so the registry's default order applies.
    None,
}

impl OrderBy {
    /// Every order, in the order (and with the wire values) of the Go
    /// SDK's `PossibleArtifactTagOrderByValues()` and
    /// `PossibleArtifactManifestOrderByValues()`.
    pub const ALL: &[OrderBy] = &[
        OrderBy::LastUpdatedOnAscending,
        OrderBy::LastUpdatedOnDescending,
        OrderBy::None,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderBy::LastUpdatedOnDescending => "timedesc",
            OrderBy::LastUpdatedOnAscending => "timeasc",
            OrderBy::None => "none",
        }
    }
}

/// Options of [`AcrClient::list_repositories`](crate::AcrClient::list_repositories).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRepositoriesOptions {
    /// Most items per page (`n`).
    pub page_size: Option<u32>,
    /// Start after this repository (`last`).
    pub last: Option<String>,
}

registry_core::setters!(ListRepositoriesOptions {
    page_size: u32,
    last: impl Into<String>,
});

impl ListRepositoriesOptions {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        list_query(&self.last, self.page_size, None, None)
    }
}

/// Options of [`AcrClient::list_tags`](crate::AcrClient::list_tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTagsOptions {
    /// Most items per page (`n`).
    pub page_size: Option<u32>,
    /// Start after this tag (`last`).
    pub last: Option<String>,
    /// Sort order (`orderby`).
    pub order_by: Option<OrderBy>,
    /// Only tags pointing at this manifest digest (`digest`).
    pub digest: Option<String>,
}

registry_core::setters!(ListTagsOptions {
    page_size: u32,
    last: impl Into<String>,
    order_by: OrderBy,
    /// The filter on the manifest digest.
    digest: impl Into<String>,
});

impl ListTagsOptions {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        list_query(
            &self.last,
            self.page_size,
            self.order_by,
            self.digest.as_deref(),
        )
    }
}

/// Options of [`AcrClient::list_manifests`](crate::AcrClient::list_manifests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListManifestsOptions {
    /// Most items per page (`n`).
    pub page_size: Option<u32>,
    /// Start after this manifest (`last`).
    pub last: Option<String>,
    /// Sort order (`orderby`).
    pub order_by: Option<OrderBy>,
}

registry_core::setters!(ListManifestsOptions {
    page_size: u32,
    last: impl Into<String>,
    order_by: OrderBy,
});

impl ListManifestsOptions {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        list_query(&self.last, self.page_size, self.order_by, None)
    }
}

/// The query of a listing, in this order: `last`, `n`, `orderby` (not for
/// [`OrderBy::None`], as the service documents) and `digest`, each when set.
fn list_query(
    last: &Option<String>,
    n: Option<u32>,
    order: Option<OrderBy>,
    digest: Option<&str>,
) -> Vec<(&'static str, String)> {
    let order = order.filter(|o| *o != OrderBy::None);
    let q = [
        ("last", last.clone()),
        ("n", n.map(|n| n.to_string())),
        ("orderby", order.map(|o| o.as_str().to_owned())),
        ("digest", digest.map(str::to_owned)),
    ];
    q.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for String {}
    impl Sealed for super::TagAttributes {}
    impl Sealed for super::ManifestAttributes {}
}

/// What a listing holds: repository names (`String`), [`TagAttributes`]
/// or [`ManifestAttributes`].
pub trait PageItem: DeserializeOwned + Send + 'static + sealed::Sealed {
    /// The JSON field holding the items.
    const FIELD: &'static str;
}

impl PageItem for String {
    const FIELD: &'static str = "repositories";
}

impl PageItem for TagAttributes {
    const FIELD: &'static str = "tags";
}

impl PageItem for ManifestAttributes {
    const FIELD: &'static str = "manifests";
}

/// Parses a page body; `link` is the `Link` next target, if any (else the
/// body's `link`), left for the caller to resolve.
pub(crate) fn parse_page<T: PageItem>(
    body: &[u8],
    link: Option<String>,
) -> Result<Page<T>, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_slice(body)?;
    let items = match v.get_mut(T::FIELD).map(serde_json::Value::take) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(list) => serde_json::from_value(list)?,
    };
    let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_owned);
    let mut page = Page::new(items);
    page.next_link = link.or_else(|| text("link").filter(|l| !l.is_empty()));
    page.registry_login_server = text("registry");
    page.repository = text("imageName");
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_parse_items_and_links() {
        let body = br#"{"registry":"r.azurecr.io","imageName":"a","tags":[{"name":"v1","digest":"sha256:1","signed":false,"extra":1}],"link":"/acr/v1/a/_tags?last=v1"}"#;
        let p: Page<TagAttributes> = parse_page(body, None).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].signed, Some(false));
        assert_eq!(p.next_link.as_deref(), Some("/acr/v1/a/_tags?last=v1"));
        assert_eq!(p.repository.as_deref(), Some("a"));
        let p: Page<String> = parse_page(br#"{"repositories":null}"#, Some("/x".into())).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.next_link.as_deref(), Some("/x"));
        assert_eq!(
            ListTagsOptions::default()
                .page_size(2)
                .order_by(OrderBy::LastUpdatedOnAscending)
                .digest("sha256:1")
                .last("v1")
                .query(),
            vec![
                ("last", "v1".to_owned()),
                ("n", "2".to_owned()),
                ("orderby", "timeasc".to_owned()),
                ("digest", "sha256:1".to_owned())
            ]
        );
        // `none` means no orderby at all.
        assert_eq!(
            ListManifestsOptions::default()
                .order_by(OrderBy::None)
                .query(),
            vec![]
        );
        assert_eq!(
            ListTagsOptions::default().order_by(OrderBy::None).query(),
            vec![]
        );
    }
}
