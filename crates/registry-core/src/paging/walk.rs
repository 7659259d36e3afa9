//! Following `rel="next"` links: [`resolve_next`] (same origin only) and
//! the lazy [`walk`]er.

use std::future::Future;

use futures_util::Stream;
use url::Url;

use super::{Page, SeenPages};
use crate::Error;

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
struct WalkState<F> {
    next: Option<Url>,
    seen: SeenPages,
    what: String,
    fetch: F,
}

/// Every page of a listing from `first`, as a stream: `fetch` gets each
/// page's URL and returns its items with [`Page::next_link`] set to the
/// `next` target as written (relative or absolute; e.g. from
/// [`next_link`](super::next_link)), or `None` on the last page.
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

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
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
