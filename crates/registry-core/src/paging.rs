//! Paged listings, one way for every crate: the RFC 8288 `Link` header
//! ([`parse_link_header`], [`next_link`]), one [`Page`] type, one walker
//! that follows `rel="next"` ([`walk`]) and the guard against a server that
//! sends a page again ([`SeenPages`]).
//!
//! The walker fetches a page only when its stream is polled, follows
//! `next` links until a page has none, and ends with a
//! [`Protocol`](crate::ErrorKind::Protocol) error instead of following a
//! link to another origin (scheme, host or port) or to a page it already
//! fetched. Two URLs are the same page when they differ only in the order
//! or the percent-encoding of their query parameters
//! (`?last=b&n=2` = `?n=2&last=%62`).
//!
//! ```
//! use futures_util::TryStreamExt;
//! use registry_core::paging::{Page, walk};
//! # async fn run() -> Result<(), registry_core::Error> {
//! let first = url::Url::parse("https://registry.example/v2/_catalog?n=2").unwrap();
//! let pages: Vec<Page<String>> = walk(first, "list repositories", |url: url::Url| async move {
//!     // GET `url` here; the items and the `Link` next target as written.
//!     let mut page = Page::new(vec![url.query().unwrap_or("").to_owned()]);
//!     if !url.as_str().contains("last") {
//!         page.next_link = Some("/v2/_catalog?last=b&n=2".to_owned());
//!     }
//!     Ok(page)
//! })
//! .try_collect()
//! .await?;
//! assert_eq!(pages.len(), 2);
//! assert_eq!(pages[0].next.as_deref(), Some("b"));
//! assert_eq!(pages[1].next_link, None);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};

use futures_util::Stream;
use http::HeaderMap;
use http::header::LINK;
use url::Url;

use crate::Error;

// ----- Link (RFC 8288) -----

/// One link-value of a `Link` header (RFC 8288 §3): the target and its
/// parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target URI reference as written between `<` and `>` (often a
    /// path, to resolve against the request URL).
    pub target: String,
    /// The parameters in order: names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Link {
    /// The value of the first parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The relation types: the space-separated values of the first `rel`
    /// parameter (later ones are ignored, RFC 8288 §3.3).
    pub fn rels(&self) -> impl Iterator<Item = &str> {
        self.param("rel").unwrap_or("").split_ascii_whitespace()
    }

    /// Whether `rel` is one of the relation types (case-insensitive).
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rels().any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// The links of one `Link` header value: `<target>; name=value; …`
/// separated by commas. Commas inside `<…>` and quoted strings are part of
/// them; quoted values are unescaped; parameter names are lower-cased.
///
/// Lenient, as RFC 8288 Appendix B asks: an element that is not a link
/// (garbage) is skipped up to the next comma, and a link is kept with the
/// parameters read before anything malformed.
///
/// ```
/// use registry_core::paging::parse_link_header;
/// let links = parse_link_header(r#"</p?a=1,2>; rel="prev", </n>; REL="next last"; title="a, b""#);
/// assert_eq!(links[0].target, "/p?a=1,2");
/// assert!(links[1].has_rel("next") && links[1].has_rel("last"));
/// assert_eq!(links[1].param("title"), Some("a, b"));
/// ```
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let b = value.as_bytes();
    let mut i = 0;
    let mut links = Vec::new();
    loop {
        skip_ows(b, &mut i);
        match b.get(i) {
            None => return links,
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            Some(b',') => i += 1,
            Some(b'<') => {
                let Some(len) = value[i + 1..].find('>') else {
                    // An unterminated target: nothing after it can be read.
                    return links;
                };
                let target = value[i + 1..i + 1 + len].trim().to_owned();
                i += len + 2;
                let params = parse_params(value, &mut i);
                links.push(Link { target, params });
                skip_ows(b, &mut i);
                if i < b.len() && b[i] != b',' {
                    skip_element(b, &mut i);
                }
            }
            Some(_) => skip_element(b, &mut i),
        }
    }
}

/// `*( OWS ";" OWS name [ BWS "=" BWS ( token / quoted-string ) ] )`;
/// stops before anything else (a comma ends the link-value).
fn parse_params(value: &str, i: &mut usize) -> Vec<(String, String)> {
    let b = value.as_bytes();
    let mut params = Vec::new();
    loop {
        skip_ows(b, i);
        if b.get(*i) != Some(&b';') {
            return params;
        }
        *i += 1;
        skip_ows(b, i);
        let start = *i;
        while *i < b.len() && !matches!(b[*i], b'=' | b';' | b',' | b' ' | b'\t') {
            *i += 1;
        }
        let name = value[start..*i].to_ascii_lowercase();
        skip_ows(b, i);
        let mut param_value = String::new();
        if b.get(*i) == Some(&b'=') {
            *i += 1;
            skip_ows(b, i);
            if b.get(*i) == Some(&b'"') {
                param_value = parse_quoted(b, i);
            } else {
                let start = *i;
                while *i < b.len() && !matches!(b[*i], b';' | b',') {
                    *i += 1;
                }
                param_value = value[start..*i].trim_end().to_owned();
            }
        }
        if !name.is_empty() {
            params.push((name, param_value));
        }
    }
}

/// A quoted-string starting at `b[*i] == '"'`, unescaped; an unterminated
/// one runs to the end.
fn parse_quoted(b: &[u8], i: &mut usize) -> String {
    let mut out = Vec::new();
    *i += 1;
    while let Some(&c) = b.get(*i) {
        *i += 1;
        match c {
            b'"' => break,
            b'\\' if *i < b.len() => {
                out.push(b[*i]);
                *i += 1;
            }
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Moves `i` to the next comma outside `<…>` and quoted strings (or the
/// end).
fn skip_element(b: &[u8], i: &mut usize) {
    while let Some(&c) = b.get(*i) {
        match c {
            b',' => return,
            b'"' => {
                parse_quoted(b, i);
            }
            b'<' => match b[*i..].iter().position(|&c| c == b'>') {
                Some(p) => *i += p + 1,
                None => *i = b.len(),
            },
            _ => *i += 1,
        }
    }
}

fn skip_ows(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t')) {
        *i += 1;
    }
}

/// The links of every `Link` header, in order (values that are not
/// visible ASCII are skipped).
pub fn links(headers: &HeaderMap) -> Vec<Link> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .collect()
}

/// The target of the first link with relation type `next` among the `Link`
/// headers, as written (usually a path such as `/v2/_catalog?last=b&n=2`;
/// resolve it with [`resolve_next`]).
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.append(http::header::LINK, r#"</a?last=x,y&n=2>; rel="prev""#.parse().unwrap());
/// h.append(http::header::LINK, r#"</acr/v1/a/_tags?last=v2&n=2&orderby=>; rel="next""#.parse().unwrap());
/// assert_eq!(
///     registry_core::paging::next_link(&h).as_deref(),
///     Some("/acr/v1/a/_tags?last=v2&n=2&orderby=")
/// );
/// ```
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    links(headers)
        .into_iter()
        .find(|l| l.has_rel("next"))
        .map(|l| l.target)
}

// ----- Page -----

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

// ----- following links -----

/// Resolves a next-page link found in the response to `current` against
/// `current` (RFC 3986) and refuses, with a
/// [`Protocol`](crate::ErrorKind::Protocol) error naming `what`, one on
/// another origin (scheme, host or port). The fragment is dropped.
///
/// ```
/// use registry_core::paging::resolve_next;
/// let page = url::Url::parse("https://r.example/v2/a/tags/list?n=2").unwrap();
/// let next = resolve_next(&page, "/v2/a/tags/list?last=b&n=2", "list tags").unwrap();
/// assert_eq!(next.as_str(), "https://r.example/v2/a/tags/list?last=b&n=2");
/// assert!(resolve_next(&page, "https://elsewhere.example/v2/a/tags/list", "list tags").is_err());
/// assert!(resolve_next(&page, "http://r.example/v2/a/tags/list", "list tags").is_err());
/// ```
pub fn resolve_next(current: &Url, link: &str, what: &str) -> Result<Url, Error> {
    let mut next = current.join(link).map_err(|e| {
        Error::protocol(format!("{what}: the next-page link {link:?} is not a URL")).with_source(e)
    })?;
    next.set_fragment(None);
    if next.origin() != current.origin() {
        return Err(Error::protocol(format!(
            "{what}: refusing to follow a pagination link to another host: {next} \
             (the listing is on {})",
            current.origin().ascii_serialization()
        )));
    }
    Ok(next)
}

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

struct WalkState<F> {
    next: Option<Url>,
    seen: SeenPages,
    what: String,
    fetch: F,
}

/// Every page of a listing from `first`, as a stream: `fetch` gets each
/// page's URL and returns its items with [`Page::next_link`] set to the
/// `next` target as written (relative or absolute; e.g. from
/// [`next_link`]), or `None` on the last page.
///
/// A page is fetched only when the stream is polled. Each yielded page has
/// `next_link` resolved to an absolute URL and `next` set to its `last`
/// parameter (unless `fetch` set one). The stream ends after the last page,
/// after an error from `fetch`, or with a
/// [`Protocol`](crate::ErrorKind::Protocol) error (naming `what`) in place
/// of a page whose link leaves the origin (see [`resolve_next`]), or after
/// the pages before a link back to a page already fetched (see
/// [`SeenPages`]), which is not fetched again.
pub fn walk<T, F, Fut>(
    first: Url,
    what: impl Into<String>,
    fetch: F,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(Url) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, Error>> + Send + 'static,
{
    let state = WalkState {
        next: Some(first),
        seen: SeenPages::new(),
        what: what.into(),
        fetch,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        let url = st.next.take()?;
        if !st.seen.insert_url(&url) {
            let err = Error::protocol(format!(
                "{}: pagination loops back to {url}, a page already fetched",
                st.what
            ));
            return Some((Err(err), st));
        }
        let mut page = match (st.fetch)(url.clone()).await {
            Ok(page) => page,
            Err(e) => return Some((Err(e), st)),
        };
        if let Some(link) = page.next_link.take() {
            let next = match resolve_next(&url, &link, &st.what) {
                Ok(next) => next,
                Err(e) => return Some((Err(e), st)),
            };
            let cursor = page.next.take();
            page.set_next_link(Some(&next));
            page.next = cursor.or(page.next);
            st.next = Some(next);
        }
        Some((Ok(page), st))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::{StreamExt, TryStreamExt};

    use super::*;
    use crate::ErrorKind;

    fn next(v: &str) -> Option<String> {
        parse_link_header(v)
            .into_iter()
            .find(|l| l.has_rel("next"))
            .map(|l| l.target)
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(LINK, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn link_parsing() {
        assert_eq!(
            next(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next(r#"<https://x/prev>; rel="prev""#), None);
        assert_eq!(next("garbage"), None);
    }

    #[test]
    fn link_header_variants() {
        let link = |v: &str| next_link(&headers(&[v]));
        assert_eq!(link(r#"</a?n=1>; rel="next""#).as_deref(), Some("/a?n=1"));
        assert_eq!(link("</a?n=1>;rel=next").as_deref(), Some("/a?n=1"));
        assert_eq!(
            link(r#"</p>; rel="prev", </n?last=x,y>; rel="next""#).as_deref(),
            Some("/n?last=x,y")
        );
        assert_eq!(link(r#"</p>; rel="prev""#), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn commas_inside_targets_and_quoted_values() {
        // The first link's target has commas; so has a quoted title before
        // the rel of the second.
        let links = parse_link_header(
            r#"</v2/_catalog?last=a,b&n=2,3>; rel="prev", </v2/_catalog?last=c,d>; title="x, y; z"; rel="next""#,
        );
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links[0].target, "/v2/_catalog?last=a,b&n=2,3");
        assert!(links[0].has_rel("prev"));
        assert_eq!(links[1].target, "/v2/_catalog?last=c,d");
        assert_eq!(links[1].param("title"), Some("x, y; z"));
        assert!(links[1].has_rel("next"));
        // A comma in a target before the next link, not a separator.
        assert_eq!(
            next("</a,>; rel=prev,</b,c>;rel=next").as_deref(),
            Some("/b,c")
        );
    }

    #[test]
    fn quoted_rel_escapes_and_case() {
        assert_eq!(next(r#"</n>; rel="next""#).as_deref(), Some("/n"));
        assert_eq!(next(r#"</n>; REL="NEXT""#).as_deref(), Some("/n"));
        assert_eq!(next("</n> ;\tRel = Next ").as_deref(), Some("/n"));
        let l = &parse_link_header(r#"</n>; title="a \"quoted\" \\ word"; rel=next"#)[0];
        assert_eq!(l.param("title"), Some(r#"a "quoted" \ word"#));
        assert_eq!(l.param("TITLE"), l.param("title"));
        // Only the first rel counts (RFC 8288 §3.3).
        assert_eq!(next(r#"</n>; rel="prev"; rel="next""#), None);
        // Another parameter mentioning next is not a rel.
        assert_eq!(next(r#"</n>; title="next"; rev=next"#), None);
        assert_eq!(next(r#"</n>; rel="nextpage""#), None);
    }

    #[test]
    fn several_rels() {
        let l = &parse_link_header(r#"</n>; rel="last  next	alternate""#)[0];
        assert_eq!(l.rels().collect::<Vec<_>>(), ["last", "next", "alternate"]);
        assert!(l.has_rel("next") && l.has_rel("Last"));
        assert_eq!(next("</n>; rel=\"prev next\"").as_deref(), Some("/n"));
    }

    #[test]
    fn several_headers() {
        let h = headers(&[
            r#"</first>; rel="first", </prev>; rel="prev""#,
            "garbage",
            r#"</next?last=a,b>; rel="next""#,
            r#"</other>; rel="next""#,
        ]);
        assert_eq!(links(&h).len(), 4);
        assert_eq!(next_link(&h).as_deref(), Some("/next?last=a,b"));
    }

    #[test]
    fn garbage() {
        for v in [
            "",
            "garbage",
            ",,, ,",
            "<",
            "</unterminated; rel=next",
            "rel=next",
            "; rel=next",
            r#""</n>"; rel=next"#,
            "https://x/n; rel=next",
        ] {
            assert_eq!(next(v), None, "{v:?}");
        }
        // Garbage is skipped up to the next comma.
        assert_eq!(
            next(r#"junk "a, b", </n>; rel=next"#).as_deref(),
            Some("/n")
        );
        assert_eq!(next("junk <a,b>, </n>; rel=next").as_deref(), Some("/n"));
        // A link keeps the parameters read before something malformed.
        assert_eq!(
            next(r#"</n>; rel="next" junk; rel=prev, </m>; rel=next"#).as_deref(),
            Some("/n")
        );
        // Empty elements and parameters without values.
        let l = parse_link_header(", </n>;; crossorigin; rel=next,");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].param("crossorigin"), Some(""));
        assert!(l[0].has_rel("next"));
        // Unterminated quotes run to the end.
        assert_eq!(
            parse_link_header(r#"</n>; title="open, </m>; rel=next"#)[0].param("title"),
            Some("open, </m>; rel=next")
        );
    }

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

    #[test]
    fn resolving_next_links() {
        let page = url("http://r:5000/v2/a/tags/list?n=2");
        let r = |l: &str| resolve_next(&page, l, "list tags");
        assert_eq!(
            r("/v2/a/tags/list?last=b&n=2#x").unwrap().as_str(),
            "http://r:5000/v2/a/tags/list?last=b&n=2"
        );
        assert_eq!(
            r("list?last=b").unwrap().as_str(),
            "http://r:5000/v2/a/tags/list?last=b"
        );
        assert_eq!(r("http://r:5000/x").unwrap().as_str(), "http://r:5000/x");
        for other in [
            "http://r:5001/x",
            "https://r:5000/x",
            "http://s:5000/x",
            "//s/x",
        ] {
            let err = r(other).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol);
            assert!(err.to_string().contains("another host"), "{err}");
            assert!(err.to_string().starts_with("list tags: "), "{err}");
        }
        assert!(r("http://[x").is_err());
        // The default port is the same origin.
        let page = url("https://r/v2/_catalog");
        assert!(resolve_next(&page, "https://r:443/v2/_catalog?last=a", "x").is_ok());
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

    /// A walk over `script` (URL path and query → items and link), with
    /// the URLs fetched.
    fn scripted(
        script: &'static [(&'static str, &'static [&'static str], Option<&'static str>)],
    ) -> (
        impl Stream<Item = Result<Page, Error>> + Send + 'static,
        Arc<Mutex<Vec<String>>>,
    ) {
        let fetched = Arc::new(Mutex::new(Vec::new()));
        let log = fetched.clone();
        let pages = walk(
            url(&format!("http://r{}", script[0].0)),
            "list",
            move |u: Url| {
                log.lock()
                    .unwrap()
                    .push(u[url::Position::BeforePath..].to_owned());
                let found = script
                    .iter()
                    .find(|(at, _, _)| *at == &u[url::Position::BeforePath..]);
                async move {
                    let (_, items, link) = found.ok_or_else(|| Error::protocol("not scripted"))?;
                    let mut page = Page::new(items.iter().map(|s| (*s).to_owned()).collect());
                    page.next_link = link.map(str::to_owned);
                    Ok(page)
                }
            },
        );
        (pages, fetched)
    }

    #[tokio::test]
    async fn the_walk_is_lazy_and_follows_next_to_the_end() {
        static SCRIPT: &[(&str, &[&str], Option<&str>)] = &[
            ("/l?n=2", &["a", "b"], Some("/l?last=b&n=2")),
            ("/l?last=b&n=2", &["c", "d"], Some("l?last=d&n=2")),
            ("/l?last=d&n=2", &["e"], None),
        ];
        let (pages, fetched) = scripted(SCRIPT);
        let mut pages = std::pin::pin!(pages);
        assert!(fetched.lock().unwrap().is_empty(), "nothing before a poll");
        let first = pages.try_next().await.unwrap().unwrap();
        assert_eq!(first.items, ["a", "b"]);
        assert_eq!(first.next.as_deref(), Some("b"));
        assert_eq!(first.next_link.as_deref(), Some("http://r/l?last=b&n=2"));
        assert_eq!(fetched.lock().unwrap().len(), 1, "one poll, one fetch");
        let second = pages.try_next().await.unwrap().unwrap();
        assert_eq!(second.next_link.as_deref(), Some("http://r/l?last=d&n=2"));
        assert_eq!(fetched.lock().unwrap().len(), 2);
        let third = pages.try_next().await.unwrap().unwrap();
        assert_eq!((third.items, third.next), (vec!["e".to_owned()], None));
        assert!(pages.try_next().await.unwrap().is_none());
        assert_eq!(
            *fetched.lock().unwrap(),
            ["/l?n=2", "/l?last=b&n=2", "/l?last=d&n=2"]
        );
    }

    #[tokio::test]
    async fn the_walk_refuses_loops_after_the_pages_before() {
        static SCRIPT: &[(&str, &[&str], Option<&str>)] = &[
            ("/l?n=2", &["a", "b"], Some("/l?last=b&n=2")),
            ("/l?last=b&n=2", &["c", "d"], Some("/l?n=2&last=%62")),
        ];
        let (pages, fetched) = scripted(SCRIPT);
        let results: Vec<_> = pages.collect().await;
        assert_eq!(results.len(), 3);
        assert!(results[..2].iter().all(Result::is_ok));
        let err = results[2].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(err.to_string().contains("loops back"), "{err}");
        assert_eq!(fetched.lock().unwrap().len(), 2, "not fetched again");
    }

    #[tokio::test]
    async fn the_walk_refuses_other_origins_and_ends_after_errors() {
        static SCRIPT: &[(&str, &[&str], Option<&str>)] =
            &[("/l?n=1", &["a"], Some("http://elsewhere/l?last=a&n=1"))];
        let (pages, fetched) = scripted(SCRIPT);
        let results: Vec<_> = pages.collect().await;
        assert_eq!(results.len(), 1, "the page with the link is the error");
        let err = results[0].as_ref().unwrap_err();
        assert!(err.to_string().contains("another host"), "{err}");
        assert_eq!(fetched.lock().unwrap().len(), 1);

        static BROKEN: &[(&str, &[&str], Option<&str>)] = &[("/l?n=1", &["a"], Some("/missing"))];
        let (pages, fetched) = scripted(BROKEN);
        let results: Vec<_> = pages.collect().await;
        assert_eq!(results.len(), 2);
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("not scripted")
        );
        assert_eq!(fetched.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_cursor_set_by_fetch_is_kept() {
        let pages: Vec<Page<u8>> = walk(url("http://r/l"), "list", |u: Url| async move {
            let mut page = Page::new(vec![1]);
            if u.query().is_none() {
                page.next = Some("mine".into());
                page.next_link = Some("/l?page=2".into());
            }
            Ok(page)
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].next.as_deref(), Some("mine"));
        assert_eq!(pages[1].next, None);
    }
}
