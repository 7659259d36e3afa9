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

mod link;
mod page;
mod seen;
mod walk;

pub use link::{Link, links, next_link, parse_link_header};
pub use page::Page;
pub use seen::{SeenPages, same_page};
pub use walk::{resolve_next, walk};
