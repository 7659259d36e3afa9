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
//! that pages properly is never reordered across pages.
//!
//! # Page sizes and server caps
//!
//! At most [`MAX_PAGE_SIZE`] (1000) names are asked for per request (`n`),
//! because registries cap it: distribution 2.8's `_catalog` refuses a
//! larger `n` with `400 PAGINATION_NUMBER_INVALID` (its `catalog.maxentries`
//! setting, 1000 by default) and sends 100 names when no `n` is given; ECR
//! refuses more than 1000; Docker Hub and others send fewer than asked and
//! link to the rest. distribution 2.8's `tags/list` has no cap: it ignores
//! `n` and `last` and sends every tag, unsorted, in one response. A
//! [`Client::list_tags_page`] limit above 1000 is therefore served by
//! several requests, following the `Link` headers, until the limit is
//! reached or the listing ends (or by one response, paged client-side, on
//! a registry that ignores `n`).
//!
//! The `Link` parsing, the [`Page`] type and the walker are
//! [`registry_core::paging`]'s: pages are fetched as the stream is polled,
//! a `next` link to another origin or to a page already fetched (a loop;
//! URLs compared with their query decoded and sorted) ends the listing with
//! an error.

use std::collections::VecDeque;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use http::{Method, StatusCode};
use registry_core::paging::{SeenPages, resolve_next, walk};
use registry_core::{Body, Error};
use serde::Deserialize;
use url::Url;

use crate::client::Client;

/// One page of a listing: `items` (the names), `next` (the `last` value
/// that fetches the following page) and the registry's `next_link`; the
/// one page type of every crate ([`registry_core::paging::Page`]).
pub use registry_core::paging::Page;

/// The largest `n` sent (ECR refuses more).
pub const MAX_PAGE_SIZE: usize = 1000;
/// The page size used to list everything.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
const LIST_BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tags,
    Catalog,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// `s` percent-encoded for a query value (everything but ASCII letters and
/// digits): the crate's one encoder, for `last=`, `artifactType=`, a
/// mount's `mount=`/`from=` and an upload's `digest=`.
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

/// `url` with its `n` parameter set to `n` (the others kept).
fn with_n(url: &Url, n: usize) -> Url {
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "n")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(others)
        .append_pair("n", &n.to_string());
    out
}

fn parse_url(url: &str) -> Result<Url, Error> {
    Url::parse(url)
        .map_err(|e| Error::invalid_input(format!("invalid listing URL {url:?}")).with_source(e))
}

impl Client {
    /// One response as the registry sent it: its names and its `Link`
    /// next URL, resolved (same origin only).
    pub(crate) async fn fetch_list(&self, url: Url, kind: Kind, what: &str) -> Result<Page, Error> {
        let req = self.request(Method::GET, url.as_str(), Body::empty())?;
        let resp = self.send_expect(req, &[StatusCode::OK], what).await?;
        let next = registry_core::paging::next_link(resp.headers())
            .map(|l| resolve_next(&url, &l, what))
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
        let mut page = Page::new(items);
        if kind == Kind::Tags {
            page.repository = doc.name;
        }
        page.set_next_link(next.as_ref());
        Ok(page)
    }

    /// One page with `n` = `limit` (at most [`MAX_PAGE_SIZE`]) and `last`,
    /// corrected client-side when the registry ignored them: one request.
    pub(crate) async fn list_page(
        &self,
        base: &str,
        kind: Kind,
        limit: Option<usize>,
        last: Option<&str>,
        what: &str,
    ) -> Result<Page, Error> {
        let sent = limit.map(|n| n.clamp(1, MAX_PAGE_SIZE));
        let url = parse_url(&first_url(base, sent, last))?;
        let (page, _) = self.page_at(url, kind, sent, sent, last, what).await?;
        Ok(page)
    }

    /// Up to `limit` names after `last`, whatever the size of the
    /// registry's pages: `n` is at most [`MAX_PAGE_SIZE`] per request, and
    /// while fewer than `limit` names came and the registry links to a next
    /// page, that page is fetched (its `n` set to what is still wanted).
    /// A registry that ignored `n`/`last` sent everything in one response,
    /// which is paged client-side. A `Link` back to a page already fetched
    /// is an error.
    pub(crate) async fn list_long_page(
        &self,
        base: &str,
        kind: Kind,
        limit: usize,
        last: Option<&str>,
        what: &str,
    ) -> Result<Page, Error> {
        let limit = limit.max(1);
        let sent = limit.min(MAX_PAGE_SIZE);
        let url = parse_url(&first_url(base, Some(sent), last))?;
        let mut seen = SeenPages::new();
        seen.insert_url(&url);
        let (mut page, whole) = self
            .page_at(url, kind, Some(sent), Some(limit), last, what)
            .await?;
        if whole {
            return Ok(page);
        }
        while page.items.len() < limit {
            let Some(link) = page.next_link.as_deref() else {
                break;
            };
            let link = parse_url(link)?;
            if !seen.insert_url(&link) {
                return Err(Error::protocol(format!(
                    "{what}: pagination loops back to {link}, a page already fetched"
                )));
            }
            let remaining = limit - page.items.len();
            let n = remaining.min(MAX_PAGE_SIZE);
            let (more, _) = self
                .page_at(with_n(&link, n), kind, Some(n), Some(remaining), None, what)
                .await?;
            page.items.extend(more.items);
            page.next = more.next;
            page.next_link = more.next_link;
        }
        Ok(page)
    }

    /// The response at `url` (which asked for `sent` names), at most `want`
    /// names of it: sorted and paged client-side when it shows the
    /// registry ignored `n` or `last` (then `true`: it was the whole
    /// listing, nothing follows it on the registry).
    async fn page_at(
        &self,
        url: Url,
        kind: Kind,
        sent: Option<usize>,
        want: Option<usize>,
        last: Option<&str>,
        what: &str,
    ) -> Result<(Page, bool), Error> {
        let mut page = self.fetch_list(url, kind, what).await?;
        if page.next.is_none() && page.next_link.is_some() {
            page.next = page.items.last().cloned();
        }
        let whole = put_in_order(kind, &mut page.items, sent, last);
        if whole {
            page.next = None;
            page.next_link = None;
        }
        if let Some(n) = want
            && page.items.len() > n
        {
            page.items.truncate(n);
            page.next = page.items.last().cloned();
            page.next_link = None;
        }
        Ok((page, whole))
    }

    /// All pages as a stream, fetched as it is polled (one response at a
    /// time, by [`registry_core::paging::walk`]): follows `Link` (same
    /// origin only), pages client-side when the registry returned more than
    /// asked for, and ends with an error on a `next` link to a page already
    /// fetched.
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
        let raw: RawPages =
            match parse_url(&first_url(&base, Some(page_size), start_after.as_deref())) {
                Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
                Ok(first) => {
                    let client = self.clone();
                    let fetch_what = what.clone();
                    walk(first, what, move |url| {
                        let client = client.clone();
                        let what = fetch_what.clone();
                        async move { client.fetch_list(url, kind, &what).await }
                    })
                    .boxed()
                }
            };
        let state = PageState {
            raw,
            done: false,
            fetched: 0,
            buffered: VecDeque::new(),
            start_after,
            prefix,
            kind,
            page_size,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(page) = st.buffered.pop_front() {
                    return Some((Ok(page), st));
                }
                if st.done {
                    return None;
                }
                let page = match st.raw.next().await? {
                    Ok(page) => page,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                };
                let (items, more) = st.accept(page);
                // The walker is not polled again once there is no more:
                // nothing further is fetched.
                st.done = !more;
                if items.is_empty() && more {
                    continue;
                }
                for chunk in items.chunks(st.page_size) {
                    st.buffered.push_back(chunk.to_vec());
                }
                if st.buffered.is_empty() {
                    return None;
                }
            }
        })
    }
}

type RawPages = Pin<Box<dyn Stream<Item = Result<Page, Error>> + Send>>;

struct PageState {
    raw: RawPages,
    done: bool,
    fetched: usize,
    buffered: VecDeque<Vec<String>>,
    start_after: Option<String>,
    prefix: Option<String>,
    kind: Kind,
    page_size: usize,
}

impl PageState {
    /// The names of a fetched page as the caller sees them (sorted and cut
    /// after `start_after` when the registry ignored the paging, kept to
    /// the prefix), and whether more pages may follow.
    fn accept(&mut self, page: Page) -> (Vec<String>, bool) {
        self.fetched += 1;
        let mut items = page.items;
        let start = self.start_after.as_deref().filter(|_| self.fetched == 1);
        put_in_order(self.kind, &mut items, Some(self.page_size), start);
        let mut more = page.next_link.is_some();
        if let Some(p) = &self.prefix {
            more &= crate::catalog::keep_prefixed(&mut items, p);
        }
        (items, more)
    }
}

/// Sorts a response's `items` when it shows the registry ignored `n` (more
/// than `sent`) or `last` (distribution 2.8 on tags, which also returns
/// them unsorted): it is the whole listing, paged client-side (cut after
/// `last`), and the answer is `true`. Tags out of lexical order are sorted
/// too.
fn put_in_order(
    kind: Kind,
    items: &mut Vec<String>,
    sent: Option<usize>,
    last: Option<&str>,
) -> bool {
    let whole = ignored_paging(items, sent, last);
    if whole || out_of_order(kind, items) {
        items.sort();
    }
    if let (true, Some(l)) = (whole, last) {
        items.retain(|i| i.as_str() > l);
    }
    whole
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(parse_url("u").is_err());
        // The `last` of a next link is decoded (registry_core::paging,
        // where the Link parsing and loop tests live).
        let mut page: Page = Page::default();
        page.set_next_link(Some(&parse_url("http://r/x?last=a%2Fb&n=1").unwrap()));
        assert_eq!(page.next.as_deref(), Some("a/b"));
    }

    #[test]
    fn next_links_get_the_remaining_count_as_n() {
        let link = parse_url("http://r/v2/a/tags/list?last=t%2F1&n=1000").unwrap();
        let next = with_n(&link, 200);
        let pairs: Vec<(String, String)> = next.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("last".to_owned(), "t/1".to_owned()),
                ("n".to_owned(), "200".to_owned())
            ]
        );
        let bare = with_n(&parse_url("http://r/v2/a/tags/list").unwrap(), 5);
        assert_eq!(bare.query(), Some("n=5"));
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
        // The whole listing, paged client-side: sorted and cut after `last`.
        let mut items = v(&["c", "a", "b"]);
        assert!(put_in_order(Kind::Catalog, &mut items, Some(2), Some("a")));
        assert_eq!(items, ["b", "c"]);
        let mut items = v(&["b", "a"]);
        assert!(!put_in_order(Kind::Tags, &mut items, Some(2), None));
        assert_eq!(items, ["a", "b"]);
        let mut items = v(&["org/b", "org/a"]);
        assert!(!put_in_order(Kind::Catalog, &mut items, Some(2), None));
        assert_eq!(items, ["org/b", "org/a"], "the catalog keeps its order");
    }
}
