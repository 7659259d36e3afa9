//! [`Page`], one page of a listing.

use url::Url;

/// One page of a listing (tags, repositories, manifests, …).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T = String> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The `last` value that fetches the following page, when there may be
    /// one (the `last` parameter of [`Page::next_link`], or a cursor the
    /// client computed).
    pub next: Option<String>,
    /// The absolute URL of the following page, on the same origin, when
    /// the server linked to one (`Link: <…>; rel="next"`, or ACR's body
    /// `link`); `None` on the last page.
    pub next_link: Option<String>,
    /// The repository listed, when the response names it (`name` of
    /// `tags/list`, ACR's `imageName`).
    pub repository: Option<String>,
    /// The registry's host as the response names it (ACR's `registry`).
    pub registry_login_server: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page::new(Vec::new())
    }
}

impl<T> Page<T> {
    /// A page of `items` with nothing after it.
    pub fn new(items: Vec<T>) -> Page<T> {
        Page {
            items,
            next: None,
            next_link: None,
            repository: None,
            registry_login_server: None,
        }
    }

    /// Sets [`Page::next_link`] to `url` and [`Page::next`] to its `last`
    /// query parameter (`None` when it has none).
    pub fn set_next_link(&mut self, url: Option<&Url>) {
        self.next = url.and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "last")
                .map(|(_, v)| v.into_owned())
        });
        self.next_link = url.map(Url::to_string);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn pages_carry_the_next_cursor() {
        let mut p: Page = Page::default();
        assert_eq!(p, Page::new(vec![]));
        p.set_next_link(Some(&url("http://r/v2/_catalog?n=2&last=a%2Fb")));
        assert_eq!(p.next.as_deref(), Some("a/b"));
        assert_eq!(
            p.next_link.as_deref(),
            Some("http://r/v2/_catalog?n=2&last=a%2Fb")
        );
        p.set_next_link(Some(&url("http://r/v2/_catalog?cursor=z")));
        assert_eq!(p.next, None);
        p.set_next_link(None);
        assert_eq!((p.next, p.next_link), (None, None));
    }
}
