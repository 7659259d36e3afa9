//! Shared pagination of `tags/list` and `_catalog`: `n`/`last` parameters,
//! `Link: <…>; rel="next"` (same host only), and client-side paging for
//! registries that ignore `n` and `last` (distribution 2.8 on tags).

use std::collections::VecDeque;

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
        }
        Ok(Page { items, next })
    }

    /// All pages as a stream: follows `Link`, pages client-side when the
    /// registry returned more than asked for.
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
            seen: Vec::new(),
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
                if st.seen.contains(&url) {
                    let err =
                        Error::protocol(format!("{}: pagination loops back to {url}", st.what));
                    return Some((Err(err), st));
                }
                st.seen.push(url.clone());
                match st.client.fetch_list(&url, st.kind, &st.what).await {
                    Err(e) => return Some((Err(e), st)),
                    Ok(f) => {
                        let mut items = f.items;
                        let start = if st.seen.len() == 1 {
                            st.start_after.as_deref()
                        } else {
                            None
                        };
                        if ignored_paging(&items, Some(st.page_size), start) {
                            items.sort();
                            if let Some(l) = start {
                                items.retain(|i| i.as_str() > l);
                            }
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
    seen: Vec<String>,
    buffered: VecDeque<Vec<String>>,
    start_after: Option<String>,
    prefix: Option<String>,
    kind: Kind,
    page_size: usize,
    what: String,
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
}
