//! Shared pagination of `tags/list` and `_catalog`: `n`/`last` parameters,
//! `Link: <…>; rel="next"` (same host only), pages streamed one by one, and
//! client-side paging for registries that ignore `n` and `last`
//! (distribution 2.8 on tags).
//!
//! Registries return names in their own order (lexical for tags); the client
//! sorts only a response that shows the registry ignored paging: more names
//! than `n`, the `last` name itself listed, or (tags) names out of lexical
//! order, as distribution 2.8 sends them in storage order. Such a response
//! is the whole listing, so sorting it gives the lexical order; a registry
//! that pages properly is never reordered across pages. The walker refuses
//! a `next` link to a page it already fetched (a loop).

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};

use futures_util::Stream;
use http::{Method, StatusCode};
use registry_core::{Body, Error};
use serde::Deserialize;

use crate::client::{Client, header_str};

/// The largest `n` sent (ECR refuses more).
pub const MAX_PAGE_SIZE: usize = 1000;
/// The page size used to list everything.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
const LIST_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The names on this page.
    pub items: Vec<String>,
    /// The `last` value that fetches the following page, when there may be one.
    pub next: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tags,
    Catalog,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// One response: its items and the resolved `Link` next URL.
pub(crate) struct Fetched {
    pub(crate) items: Vec<String>,
    pub(crate) link: Option<String>,
}

pub(crate) fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub(crate) fn first_url(base: &str, n: Option<usize>, last: Option<&str>) -> String {
    let mut q = Vec::new();
    if let Some(n) = n {
        q.push(format!("n={}", n.clamp(1, MAX_PAGE_SIZE)));
    }
    if let Some(l) = last {
        q.push(format!("last={}", encode(l)));
    }
    if q.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

impl Client {
    pub(crate) async fn fetch_list(
        &self,
        url: &str,
        kind: Kind,
        what: &str,
    ) -> Result<Fetched, Error> {
        let req = self.request(Method::GET, url, Body::empty())?;
        let resp = self.send_expect(req, &[StatusCode::OK], what).await?;
        let link = header_str(&resp, "link")
            .and_then(next_link)
            .map(|l| self.same_host_link(&l, what))
            .transpose()?;
        let body = resp
            .into_body()
            .collect_bytes(LIST_BODY_LIMIT)
            .await
            .map_err(|e| e.context(what))?;
        let doc: Doc = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(format!("{what}: invalid JSON")).with_source(e))?;
        let items = match kind {
            Kind::Tags => doc.tags,
            Kind::Catalog => doc.repositories,
        }
        .unwrap_or_default();
        Ok(Fetched { items, link })
    }

    /// Resolves a `Link` target; refuses another scheme or host.
    fn same_host_link(&self, link: &str, what: &str) -> Result<String, Error> {
        let resolved = self.resolve_location(link)?;
        let base: http::Uri = self.url("/").parse().expect("valid base URL");
        if resolved.scheme() != base.scheme() || resolved.authority() != base.authority() {
            return Err(Error::protocol(format!(
                "{what}: refusing to follow a pagination link to another host: {resolved}"
            )));
        }
        Ok(resolved.to_string())
    }

    /// One page with `n` = `limit` and `last`, corrected client-side when
    /// the registry ignored them.
    pub(crate) async fn list_page(
        &self,
        base: &str,
        kind: Kind,
        limit: Option<usize>,
        last: Option<&str>,
        what: &str,
    ) -> Result<Page, Error> {
        let url = first_url(base, limit, last);
        let fetched = self.fetch_list(&url, kind, what).await?;
        let mut items = fetched.items;
        let limit = limit.map(|n| n.clamp(1, MAX_PAGE_SIZE));
        let mut next = fetched
            .link
            .as_deref()
            .and_then(|l| query_param(l, "last"))
            .or_else(|| fetched.link.as_ref().and(items.last().cloned()));
        if ignored_paging(&items, limit, last) {
            // The registry ignored `n` or `last` (distribution 2.8 on tags,
            // which also returns them unsorted): page client-side.
            items.sort();
            if let Some(l) = last {
                items.retain(|i| i.as_str() > l);
            }
            next = None;
            if let Some(n) = limit
                && items.len() > n
            {
                items.truncate(n);
                next = items.last().cloned();
            }
        } else if out_of_order(kind, &items) {
            items.sort();
        }
        Ok(Page { items, next })
    }

    /// All pages as a stream, fetched as it is polled (one response at a
    /// time): follows `Link`, pages client-side when the registry returned
    /// more than asked for, and ends with an error on a `next` link to a
    /// page already fetched.
    pub(crate) fn list_pages(
        &self,
        base: String,
        kind: Kind,
        page_size: usize,
        start_after: Option<String>,
        prefix: Option<String>,
        what: String,
    ) -> impl Stream<Item = Result<Vec<String>, Error>> + Send + 'static + use<> {
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let state = PageState {
            client: self.clone(),
            next_url: Some(first_url(&base, Some(page_size), start_after.as_deref())),
            seen: SeenUrls::default(),
            fetched: 0,
            buffered: VecDeque::new(),
            start_after,
            prefix,
            kind,
            page_size,
            what,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(page) = st.buffered.pop_front() {
                    return Some((Ok(page), st));
                }
                let url = st.next_url.take()?;
                if !st.seen.insert(&url) {
                    let err =
                        Error::protocol(format!("{}: pagination loops back to {url}", st.what));
                    return Some((Err(err), st));
                }
                st.fetched += 1;
                match st.client.fetch_list(&url, st.kind, &st.what).await {
                    Err(e) => return Some((Err(e), st)),
                    Ok(f) => {
                        let mut items = f.items;
                        let start = if st.fetched == 1 {
                            st.start_after.as_deref()
                        } else {
                            None
                        };
                        if ignored_paging(&items, Some(st.page_size), start) {
                            items.sort();
                            if let Some(l) = start {
                                items.retain(|i| i.as_str() > l);
                            }
                        } else if out_of_order(st.kind, &items) {
                            items.sort();
                        }
                        st.next_url = f.link;
                        if let Some(p) = &st.prefix {
                            // Names are sorted: past the prefix range, stop.
                            if items.last().is_some_and(|l| {
                                l.as_str() > p.as_str() && !l.starts_with(p.as_str())
                            }) {
                                st.next_url = None;
                            }
                            items.retain(|i| i.starts_with(p.as_str()));
                        }
                        if items.is_empty() && st.next_url.is_some() {
                            continue;
                        }
                        for chunk in items.chunks(st.page_size) {
                            st.buffered.push_back(chunk.to_vec());
                        }
                        if st.buffered.is_empty() {
                            return None;
                        }
                    }
                }
            }
        })
    }
}

struct PageState {
    client: Client,
    next_url: Option<String>,
    seen: SeenUrls,
    fetched: usize,
    buffered: VecDeque<Vec<String>>,
    start_after: Option<String>,
    prefix: Option<String>,
    kind: Kind,
    page_size: usize,
    what: String,
}

/// The page URLs fetched so far, to refuse a loop. Kept as 64-bit keyed
/// hashes (randomly keyed per walk, so a server cannot aim at a collision)
/// of the URL with its query pairs decoded and sorted: the memory per page
/// is a few bytes, and `?last=a&n=2` is the same page as `?n=2&last=a`.
#[derive(Default)]
struct SeenUrls {
    hasher: RandomState,
    hashes: HashSet<u64>,
}

impl SeenUrls {
    /// Records `url`; false when it was seen before.
    fn insert(&mut self, url: &str) -> bool {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        pairs.sort();
        self.hashes.insert(self.hasher.hash_one((path, pairs)))
    }
}

/// Whether a tags response is out of lexical order, which a registry that
/// pages by `n`/`last` cannot produce (distribution 2.8 sends its storage
/// order). The catalog is left in the registry's order: distribution sorts
/// it path component by component.
fn out_of_order(kind: Kind, items: &[String]) -> bool {
    kind == Kind::Tags && !items.is_sorted()
}

/// Whether a response shows the registry ignored `n` (more items than
/// asked for) or `last` (the `last` item itself is listed).
fn ignored_paging(items: &[String], limit: Option<usize>, last: Option<&str>) -> bool {
    limit.is_some_and(|n| items.len() > n) || last.is_some_and(|l| items.iter().any(|i| i == l))
}

/// The target of the `rel="next"` entry of a `Link` header.
pub(crate) fn next_link(header: &str) -> Option<String> {
    for part in header.split(',') {
        let part = part.trim();
        let Some(rest) = part.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
    }
    None
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_parsing() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"<https://x/prev>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            first_url("http://r/v2/_catalog", Some(5000), None),
            "http://r/v2/_catalog?n=1000"
        );
        assert_eq!(
            first_url("http://r/v2/_catalog", Some(10), Some("a/b")),
            "http://r/v2/_catalog?n=10&last=a%2Fb"
        );
        assert_eq!(first_url("u", None, None), "u");
        assert_eq!(
            query_param("/x?last=a%2Fb&n=1", "last").as_deref(),
            Some("a/b")
        );
    }

    #[test]
    fn seen_urls() {
        let mut seen = SeenUrls::default();
        assert!(seen.insert("http://r/v2/a/tags/list?n=2"));
        assert!(seen.insert("http://r/v2/a/tags/list?last=b&n=2"));
        assert!(seen.insert("http://r/v2/a/tags/list?last=c&n=2"));
        assert!(seen.insert("http://r/v2/b/tags/list?last=c&n=2"));
        assert!(!seen.insert("http://r/v2/a/tags/list?n=2"));
        assert!(!seen.insert("http://r/v2/a/tags/list?n=2&last=b"));
        assert!(!seen.insert("http://r/v2/a/tags/list?last=%63&n=2"));
    }

    #[test]
    fn only_tags_out_of_lexical_order_are_sorted() {
        let v = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(out_of_order(Kind::Tags, &v(&["b", "a"])));
        assert!(!out_of_order(Kind::Tags, &v(&["a", "b", "c"])));
        assert!(!out_of_order(Kind::Tags, &[]));
        assert!(!out_of_order(Kind::Catalog, &v(&["org/a", "org-x/d"])));
        assert!(ignored_paging(&v(&["a", "b", "c"]), Some(2), None));
        assert!(ignored_paging(&v(&["a", "b"]), Some(2), Some("a")));
        assert!(!ignored_paging(&v(&["b", "c"]), Some(2), Some("a")));
    }
}
