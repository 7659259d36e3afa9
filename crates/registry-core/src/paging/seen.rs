//! The loop guard: [`SeenPages`] and [`same_page`].

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, RandomState};

use url::Url;

/// Whether `a` and `b` are the same page: equal but for the order and the
/// percent-encoding of their query parameters, and their fragments.
pub fn same_page(a: &Url, b: &Url) -> bool {
    page_key(a) == page_key(b)
}

/// The URL without query and fragment, and its query pairs decoded and
/// sorted.
fn page_key(url: &Url) -> (&str, Vec<(String, String)>) {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort();
    (&url[..url::Position::AfterPath], pairs)
}

/// The pages fetched so far, to refuse a server that sends one again: kept
/// as 64-bit keyed hashes (randomly keyed per `SeenPages`, so a server
/// cannot aim at a collision), a few bytes per page however long the
/// listing.
///
/// ```
/// use registry_core::paging::SeenPages;
/// let url = |s: &str| url::Url::parse(s).unwrap();
/// let mut seen = SeenPages::new();
/// assert!(seen.insert_url(&url("http://r/v2/a/tags/list?last=b&n=2")));
/// assert!(!seen.insert_url(&url("http://r/v2/a/tags/list?n=2&last=%62")));
/// // Any hashable key: e.g. the bytes of a page, for offset paging.
/// assert!(seen.insert(&b"[1,2]"[..]));
/// assert!(!seen.insert(&b"[1,2]"[..]));
/// ```
#[derive(Debug, Default)]
pub struct SeenPages {
    hasher: RandomState,
    hashes: HashSet<u64>,
}

impl SeenPages {
    /// Nothing seen yet.
    pub fn new() -> SeenPages {
        SeenPages::default()
    }

    /// Records the page at `url` (compared as in [`same_page`]); false
    /// when it was seen before.
    pub fn insert_url(&mut self, url: &Url) -> bool {
        self.insert(&page_key(url))
    }

    /// Records a page by any key (its content, its offset, …); false when
    /// it was seen before.
    pub fn insert<K: Hash + ?Sized>(&mut self, key: &K) -> bool {
        self.hashes.insert(self.hasher.hash_one(key))
    }

    /// How many pages were recorded.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn seen_urls() {
        let mut seen = SeenPages::default();
        assert!(seen.is_empty());
        assert!(seen.insert_url(&url("http://r/v2/a/tags/list?n=2")));
        assert!(seen.insert_url(&url("http://r/v2/a/tags/list?last=b&n=2")));
        assert!(seen.insert_url(&url("http://r/v2/a/tags/list?last=c&n=2")));
        assert!(seen.insert_url(&url("http://r/v2/b/tags/list?last=c&n=2")));
        assert!(!seen.insert_url(&url("http://r/v2/a/tags/list?n=2")));
        assert!(!seen.insert_url(&url("http://r/v2/a/tags/list?n=2&last=b")));
        assert!(!seen.insert_url(&url("http://r/v2/a/tags/list?last=%63&n=2")));
        assert!(!seen.insert_url(&url("http://r:80/v2/a/tags/list?n=2#frag")));
        assert_eq!(seen.len(), 4);
        assert!(same_page(
            &url("http://r/a?x=1&y=%2F"),
            &url("http://r/a?y=/&x=1")
        ));
        assert!(!same_page(&url("http://r/a?x=1"), &url("http://r/b?x=1")));
        assert!(!same_page(&url("http://r/a?x=1"), &url("https://r/a?x=1")));
    }
}
