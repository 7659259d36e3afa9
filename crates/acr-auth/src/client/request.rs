//! [`AcrClient`]: shared plumbing: sending requests, URLs, scopes, paging.

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method, Request};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use registry_core::auth::{RequiredScopes, Scope, Scopes};
use registry_core::paging::{resolve_next, same_page, walk};
use registry_core::{Body, Digest, Error, HttpClient};
use serde::de::DeserializeOwned;
use url::Url;

use super::AcrClient;
use crate::models::WriteableProperties;
use crate::paging::{Page, PageItem, next_link, parse_page};

/// Largest JSON response accepted.
const MAX_JSON: usize = 16 << 20;

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl AcrClient {
    // ----- paging -----

    /// The page after `page`, or `None` when it was the last.
    pub async fn next_page<T: PageItem>(&self, page: &Page<T>) -> Result<Option<Page<T>>, Error> {
        match &page.next_link {
            None => Ok(None),
            Some(link) => {
                let url = Url::parse(link).map_err(|e| {
                    Error::invalid_input(format!("next link {link:?} is not a URL")).with_source(e)
                })?;
                self.fetch_page(url).await.map(Some)
            }
        }
    }

    pub(super) async fn fetch_page<T: PageItem>(&self, url: Url) -> Result<Page<T>, Error> {
        let scopes = listing_scopes(&url);
        let what = || format!("listing {}", url.path());
        let (headers, body) = self
            .send(Method::GET, url.clone(), scopes, None, what)
            .await?;
        let mut page = parse_page::<T>(&body, next_link(&headers)).map_err(|e| {
            Error::protocol(format!("{}: the response is not the expected JSON", what()))
                .with_source(e)
        })?;
        if let Some(link) = page.next_link.take() {
            let next = self.resolve_next(&url, &link, &what())?;
            if same_page(&next, &url) {
                return Err(Error::protocol(format!(
                    "{}: the next link points back at the same page",
                    what()
                )));
            }
            page.set_next_link(Some(&next));
        }
        Ok(page)
    }

    /// Resolves a `Link` target against the page it came from; it must stay
    /// on the registry's origin, and keeps our `api-version`.
    pub(super) fn resolve_next(&self, current: &Url, link: &str, what: &str) -> Result<Url, Error> {
        let mut next = resolve_next(current, link, what)?;
        if next.origin() != self.endpoint.origin() {
            return Err(Error::protocol(format!(
                "{what}: refusing to follow the next-page link {next} off {}",
                self.endpoint
            )));
        }
        if !next.query_pairs().any(|(k, _)| k == "api-version") {
            next.query_pairs_mut()
                .append_pair("api-version", &self.api_version);
        }
        Ok(next)
    }

    /// Every item of every page, from `first` to the end, pages fetched as
    /// the stream is polled ([`registry_core::paging::walk`]: same origin
    /// only, a link back to a page already fetched is an error).
    pub(super) fn items<T: PageItem>(
        &self,
        first: Result<Url, Error>,
    ) -> BoxStream<'static, Result<T, Error>> {
        let first = match first {
            Ok(url) => url,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let client = self.clone();
        let what = format!("listing {}", first.path());
        walk(first, what, move |url| {
            let client = client.clone();
            async move { client.fetch_page::<T>(url).await }
        })
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    // ----- plumbing -----

    /// `{endpoint}/acr/v1/{segments…}?api-version=…&{query}`; segments are
    /// already escaped.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url, Error> {
        let path = format!("/acr/v1/{}", segments.join("/"));
        let mut url = self.endpoint.join(&path).map_err(|e| {
            Error::invalid_input(format!("bad metadata API path {path:?}")).with_source(e)
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", &self.api_version);
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// The properties at `url` of `subject` in repository `name`:
    /// read, or with `update` patched (only the fields set are sent).
    pub(super) async fn properties<T: DeserializeOwned>(
        &self,
        url: Url,
        name: &str,
        update: Option<&WriteableProperties>,
        subject: &str,
    ) -> Result<T, Error> {
        let (method, action, verb) = match update {
            None => (Method::GET, "metadata_read", "getting"),
            Some(_) => (Method::PATCH, "metadata_write", "updating"),
        };
        let body =
            update.map(|p| Bytes::from(serde_json::to_vec(p).expect("properties serialise")));
        let what = || format!("{verb} the properties of {subject}");
        let (_, bytes) = self
            .send(method, url, scope(name, action), body, what)
            .await?;
        parse_json(&bytes, what)
    }

    /// Sends one request to the metadata API with the scopes it needs
    /// ([`send_checked`]).
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        scopes: Scopes,
        body: Option<Bytes>,
        what: impl Fn() -> String,
    ) -> Result<(HeaderMap, Bytes), Error> {
        let mut b = Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(ACCEPT, "application/json");
        if body.is_some() {
            b = b.header(CONTENT_TYPE, "application/json");
        }
        let mut req = b
            .body(body.map_or_else(Body::empty, Body::full))
            .map_err(|e| Error::invalid_input(format!("{}: bad request", what())).with_source(e))?;
        req.extensions_mut().insert(RequiredScopes(scopes));
        send_checked(&self.http, req, MAX_JSON, what).await
    }
}

/// Sends `req` over `http` and reads at most `limit` bytes of the answer:
/// its headers and body, or for a non-success status an error with the
/// registry's `{"errors":[…]}` body. `what` names the request in errors.
/// The metadata API's requests and the token requests
/// ([`AcrTokenClient`](crate::AcrTokenClient)) go through it.
pub(crate) async fn send_checked(
    http: &HttpClient,
    req: Request<Body>,
    limit: usize,
    what: impl Fn() -> String,
) -> Result<(HeaderMap, Bytes), Error> {
    let resp = http.send(req).await.map_err(|e| e.context(what()))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect_bytes(limit)
        .await
        .map_err(|e| e.context(what()))?;
    if !status.is_success() {
        return Err(Error::from_response(status, &bytes).context(what()));
    }
    Ok((headers, bytes))
}

/// Decodes a JSON answer; `what` names the request in the error.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    what: impl Fn() -> String,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::protocol(format!("{}: the response is not the expected JSON", what())).with_source(e)
    })
}

/// A repository name as escaped path segments, checked.
pub(super) fn repo_path(name: &str) -> Result<String, Error> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(Error::invalid_input(format!(
            "invalid repository name {name:?}"
        )));
    }
    let escaped: Vec<String> = parts
        .iter()
        .map(|p| utf8_percent_encode(p, SEGMENT).to_string())
        .collect();
    Ok(escaped.join("/"))
}

pub(super) fn segment(value: &str, what: &str) -> Result<String, Error> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::invalid_input(format!("invalid {what} {value:?}")));
    }
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

pub(super) fn parse_digest(digest: &str) -> Result<Digest, Error> {
    digest
        .parse::<Digest>()
        .map_err(|e| e.context("the manifest digest"))
}

/// `repository:{name}:{action}`.
pub(super) fn scope(name: &str, action: &str) -> Scopes {
    Scopes::new([Scope::repository(name, &[action])])
}

/// The scopes a listing URL needs: the catalog, or reading a repository's
/// metadata.
pub(super) fn listing_scopes(url: &Url) -> Scopes {
    let path = url.path();
    let Some(rest) = path.strip_prefix("/acr/v1/") else {
        return Scopes::default();
    };
    if rest == "_catalog" {
        return Scopes::new([Scope::new("registry", "catalog", &["*"])]);
    }
    let name = rest
        .strip_suffix("/_tags")
        .or_else(|| rest.strip_suffix("/_manifests"))
        .unwrap_or(rest);
    let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    scope(&name, "metadata_read")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::endpoint::parse_endpoint;

    #[test]
    pub(super) fn endpoints_and_paths() {
        assert_eq!(
            parse_endpoint("myreg.azurecr.io").unwrap().as_str(),
            "https://myreg.azurecr.io/"
        );
        assert_eq!(
            parse_endpoint("http://127.0.0.1:5000/v2/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000/"
        );
        assert!(parse_endpoint("ftp://x").is_err());
        assert_eq!(
            parse_endpoint("https://Reg.azurecr.io:443?x#y")
                .unwrap()
                .as_str(),
            "https://reg.azurecr.io/"
        );
        assert!(parse_endpoint("https://u:p@reg.azurecr.io").is_err());
        assert_eq!(repo_path("a/b-c").unwrap(), "a/b-c");
        assert!(repo_path("a//b").is_err() && repo_path("../x").is_err() && repo_path("").is_err());
        assert_eq!(segment("v1?x", "tag").unwrap(), "v1%3Fx");
        let url = Url::parse("https://r/acr/v1/org/app/_tags?n=1").unwrap();
        assert_eq!(
            listing_scopes(&url).key(),
            "repository:org/app:metadata_read"
        );
        let url = Url::parse("https://r/acr/v1/_catalog").unwrap();
        assert_eq!(listing_scopes(&url).key(), "registry:catalog:*");
    }
}
