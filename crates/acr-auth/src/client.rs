//! [`AcrClient`]: the ACR metadata API (`/acr/v1`, api-version 2021-07-01)
//! over a registry-core [`HttpClient`].

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, StatusCode};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use registry_core::auth::{RequiredScopes, Scope, Scopes};
use registry_core::paging::{resolve_next, same_page, walk};
use registry_core::{Body, Digest, Error, HttpClient};
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::AcrAuthenticator;
use crate::models::{
    ArtifactManifestProperties, ArtifactTagProperties, ContainerRepositoryProperties,
    DeletedRepository, ManifestAttributes, TagAttributes, WriteableProperties,
};
use crate::paging::{
    ListManifestsOptions, ListRepositoriesOptions, ListTagsOptions, Page, PageItem, next_link,
    parse_page,
};

/// The metadata API version this client speaks.
pub const API_VERSION: &str = "2021-07-01";

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

/// A client for an Azure Container Registry's metadata API: repositories,
/// tags and manifests with their properties.
///
/// ```no_run
/// use acr_auth::{AcrAuthenticator, AcrClient, ListTagsOptions, OrderBy, StaticTokenCredential, WriteableProperties};
/// use futures_util::TryStreamExt;
/// # async fn run() -> Result<(), registry_core::Error> {
/// let auth = AcrAuthenticator::aad(StaticTokenCredential::from_env()?);
/// let acr = AcrClient::new("https://myregistry.azurecr.io", auth)?;
/// let tags: Vec<_> = acr
///     .list_tags("hello-world", ListTagsOptions::default().order_by(OrderBy::LastUpdatedOnDescending))
///     .try_collect()
///     .await?;
/// for t in &tags {
///     println!("{} {} {:?}", t.name, t.digest, t.last_updated_on);
/// }
/// acr.update_tag_properties("hello-world", "latest", &WriteableProperties::new().can_delete(false))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AcrClient {
    http: HttpClient,
    endpoint: Url,
    api_version: String,
}

impl AcrClient {
    /// A client for the registry at `endpoint` (its login server,
    /// `https://name.azurecr.io` or just `name.azurecr.io`; `http://` for
    /// tests), authenticating with `auth` over the default transport stack.
    /// Unless `auth` was restricted with
    /// [`AcrAuthenticator::for_host`], it is restricted to this endpoint.
    pub fn new(endpoint: &str, auth: AcrAuthenticator) -> Result<AcrClient, Error> {
        let url = parse_endpoint(endpoint)?;
        let auth = auth.restricted_to(url_authority(&url));
        let http = HttpClient::builder().authenticator(auth).build()?;
        Ok(AcrClient::from_parts(url, http))
    }

    /// A client over a transport the caller assembled (which should carry
    /// an [`AcrAuthenticator`]).
    pub fn from_http(endpoint: &str, http: HttpClient) -> Result<AcrClient, Error> {
        Ok(AcrClient::from_parts(parse_endpoint(endpoint)?, http))
    }

    fn from_parts(endpoint: Url, http: HttpClient) -> AcrClient {
        AcrClient {
            http,
            endpoint,
            api_version: API_VERSION.to_owned(),
        }
    }

    /// Uses another `api-version`.
    pub fn with_api_version(mut self, version: impl Into<String>) -> AcrClient {
        self.api_version = version.into();
        self
    }

    /// The registry endpoint, e.g. `https://name.azurecr.io/`.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The transport (for the standard OCI calls on the same connections
    /// and token cache).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    // ----- repositories -----

    /// The first page of repository names (`GET /acr/v1/_catalog`).
    pub async fn list_repositories_page(
        &self,
        options: &ListRepositoriesOptions,
    ) -> Result<Page<String>, Error> {
        let url = self.url(&["_catalog"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every repository name, following `Link` to the last page.
    pub fn list_repositories(
        &self,
        options: ListRepositoriesOptions,
    ) -> BoxStream<'static, Result<String, Error>> {
        self.items(self.url(&["_catalog"], &options.query()))
    }

    /// A repository's properties (`GET /acr/v1/{name}`).
    pub async fn repository_properties(
        &self,
        name: &str,
    ) -> Result<ContainerRepositoryProperties, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        self.json(Method::GET, url, read_scope(name), None, || {
            format!("getting the properties of repository {name}")
        })
        .await
    }

    /// Updates a repository's writeable properties (`PATCH /acr/v1/{name}`);
    /// only the fields set are sent.
    pub async fn update_repository_properties(
        &self,
        name: &str,
        properties: &WriteableProperties,
    ) -> Result<ContainerRepositoryProperties, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        self.json(
            Method::PATCH,
            url,
            write_scope(name),
            Some(patch_body(properties)),
            || format!("updating the properties of repository {name}"),
        )
        .await
    }

    /// Deletes a repository with all its tags and manifests
    /// (`DELETE /acr/v1/{name}`).
    pub async fn delete_repository(&self, name: &str) -> Result<DeletedRepository, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        let what = || format!("deleting repository {name}");
        let (_, _, body) = self
            .send(Method::DELETE, url, delete_scope(name), None, what)
            .await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(DeletedRepository::default());
        }
        parse_json(&body, what)
    }

    // ----- tags -----

    /// The first page of a repository's tags (`GET /acr/v1/{name}/_tags`).
    pub async fn list_tags_page(
        &self,
        name: &str,
        options: &ListTagsOptions,
    ) -> Result<Page<TagAttributes>, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every tag of a repository, following `Link` to the last page.
    pub fn list_tags(
        &self,
        name: &str,
        options: ListTagsOptions,
    ) -> BoxStream<'static, Result<TagAttributes, Error>> {
        let url = repo_path(name).and_then(|p| self.url(&[&p, "_tags"], &options.query()));
        self.items(url)
    }

    /// A tag's properties (`GET /acr/v1/{name}/_tags/{tag}`).
    pub async fn tag_properties(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<ArtifactTagProperties, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        self.json(Method::GET, url, read_scope(name), None, || {
            format!("getting the properties of tag {name}:{tag}")
        })
        .await
    }

    /// Updates a tag's writeable properties
    /// (`PATCH /acr/v1/{name}/_tags/{tag}`); only the fields set are sent.
    pub async fn update_tag_properties(
        &self,
        name: &str,
        tag: &str,
        properties: &WriteableProperties,
    ) -> Result<ArtifactTagProperties, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        self.json(
            Method::PATCH,
            url,
            write_scope(name),
            Some(patch_body(properties)),
            || format!("updating the properties of tag {name}:{tag}"),
        )
        .await
    }

    /// Deletes a tag, leaving its manifest
    /// (`DELETE /acr/v1/{name}/_tags/{tag}`).
    pub async fn delete_tag(&self, name: &str, tag: &str) -> Result<(), Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        self.send(Method::DELETE, url, delete_scope(name), None, || {
            format!("deleting tag {name}:{tag}")
        })
        .await
        .map(drop)
    }

    // ----- manifests -----

    /// The first page of a repository's manifests
    /// (`GET /acr/v1/{name}/_manifests`).
    pub async fn list_manifests_page(
        &self,
        name: &str,
        options: &ListManifestsOptions,
    ) -> Result<Page<ManifestAttributes>, Error> {
        let url = self.url(&[&repo_path(name)?, "_manifests"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every manifest of a repository, following `Link` to the last page.
    pub fn list_manifests(
        &self,
        name: &str,
        options: ListManifestsOptions,
    ) -> BoxStream<'static, Result<ManifestAttributes, Error>> {
        let url = repo_path(name).and_then(|p| self.url(&[&p, "_manifests"], &options.query()));
        self.items(url)
    }

    /// A manifest's properties (`GET /acr/v1/{name}/_manifests/{digest}`).
    pub async fn manifest_properties(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<ArtifactManifestProperties, Error> {
        let d = parse_digest(digest)?;
        let url = self.url(&[&repo_path(name)?, "_manifests", &d.to_string()], &[])?;
        self.json(Method::GET, url, read_scope(name), None, || {
            format!("getting the properties of manifest {name}@{d}")
        })
        .await
    }

    /// Updates a manifest's writeable properties
    /// (`PATCH /acr/v1/{name}/_manifests/{digest}`); only the fields set are
    /// sent.
    pub async fn update_manifest_properties(
        &self,
        name: &str,
        digest: &str,
        properties: &WriteableProperties,
    ) -> Result<ArtifactManifestProperties, Error> {
        let d = parse_digest(digest)?;
        let url = self.url(&[&repo_path(name)?, "_manifests", &d.to_string()], &[])?;
        self.json(
            Method::PATCH,
            url,
            write_scope(name),
            Some(patch_body(properties)),
            || format!("updating the properties of manifest {name}@{d}"),
        )
        .await
    }

    /// Deletes a manifest by digest (`DELETE /v2/{name}/manifests/{digest}`).
    pub async fn delete_manifest(&self, name: &str, digest: &str) -> Result<(), Error> {
        let d = parse_digest(digest)?;
        let path = format!("/v2/{}/manifests/{d}", repo_path(name)?);
        let url = self.endpoint.join(&path).map_err(|e| {
            Error::invalid_input(format!("bad manifest path {path:?}")).with_source(e)
        })?;
        self.send(Method::DELETE, url, delete_scope(name), None, || {
            format!("deleting manifest {name}@{d}")
        })
        .await
        .map(drop)
    }

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

    async fn fetch_page<T: PageItem>(&self, url: Url) -> Result<Page<T>, Error> {
        let scopes = listing_scopes(&url);
        let what = || format!("listing {}", url.path());
        let (_, headers, body) = self
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
    fn resolve_next(&self, current: &Url, link: &str, what: &str) -> Result<Url, Error> {
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
    fn items<T: PageItem>(
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
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url, Error> {
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

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        scopes: Scopes,
        body: Option<Bytes>,
        what: impl Fn() -> String,
    ) -> Result<T, Error> {
        let (_, _, bytes) = self.send(method, url, scopes, body, &what).await?;
        parse_json(&bytes, what)
    }

    /// Sends one request; non-success statuses become errors with the
    /// registry's `{"errors":[…]}` body.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scopes: Scopes,
        body: Option<Bytes>,
        what: impl Fn() -> String,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Error> {
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
        let resp = self.http.send(req).await.map_err(|e| e.context(what()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect_bytes(MAX_JSON)
            .await
            .map_err(|e| e.context(what()))?;
        if !status.is_success() {
            return Err(Error::from_response(status, &bytes).context(what()));
        }
        Ok((status, headers, bytes))
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8], what: impl Fn() -> String) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::protocol(format!("{}: the response is not the expected JSON", what())).with_source(e)
    })
}

fn patch_body(p: &WriteableProperties) -> Bytes {
    Bytes::from(serde_json::to_vec(p).expect("writeable properties serialise"))
}

/// Parses and normalises the endpoint: a login server with or without
/// scheme, no path.
/// The registry endpoint as [`AcrClient`] takes it: an [`Endpoint`], where
/// a path, query or fragment after the login server is ignored.
fn parse_endpoint(endpoint: &str) -> Result<Url, Error> {
    let url = Endpoint::parse_inner(endpoint, false, false)?.url();
    Url::parse(&url).map_err(|e| {
        Error::invalid_input(format!("registry endpoint {endpoint:?} is not a URL")).with_source(e)
    })
}

fn url_authority(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    }
}

/// An Azure Container Registry login server: `https://NAME.azurecr.io`
/// (`http://HOST[:PORT]` for test registries), parsed in one place for the
/// metadata client, the facade and `crctl acr --endpoint`.
///
/// The host is lowercased and a default port dropped, so
/// [`authority`](Self::authority) is what requests carry and what
/// credentials are restricted to.
///
/// ```
/// use acr_auth::Endpoint;
/// let e = Endpoint::parse("https://MyReg.azurecr.io:443/").unwrap();
/// assert_eq!(e.url(), "https://myreg.azurecr.io");
/// assert_eq!(e.authority(), "myreg.azurecr.io");
/// assert!(!e.is_plain_http());
/// assert_eq!(Endpoint::parse("myreg.azurecr.io").unwrap(), e);
/// assert!(Endpoint::parse_with("127.0.0.1:5000", true).unwrap().is_plain_http());
/// assert!(Endpoint::parse("https://myreg.azurecr.io/v2/").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: &'static str,
    authority: String,
}

impl Endpoint {
    /// Parses a login server: `https://HOST[:PORT]`, `http://HOST[:PORT]`,
    /// or a bare `HOST[:PORT]` (HTTPS). A trailing `/` is accepted; a path,
    /// query, fragment or credentials in the URL are refused
    /// ([`ErrorKind::InvalidInput`](registry_core::ErrorKind::InvalidInput)).
    pub fn parse(raw: &str) -> Result<Endpoint, Error> {
        Endpoint::parse_inner(raw, false, true)
    }

    /// As [`parse`](Self::parse), reading a bare `HOST[:PORT]` as plain HTTP
    /// when `plain_http` (an explicit `https://` stays HTTPS).
    pub fn parse_with(raw: &str, plain_http: bool) -> Result<Endpoint, Error> {
        Endpoint::parse_inner(raw, plain_http, true)
    }

    /// The one parser; `strict` refuses what follows the authority, else it
    /// is ignored.
    fn parse_inner(raw: &str, plain_http: bool, strict: bool) -> Result<Endpoint, Error> {
        let bad = |why: &str| Error::invalid_input(format!("registry endpoint {raw:?}: {why}"));
        let trimmed = raw.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) => (s.to_ascii_lowercase(), rest),
            None if plain_http => ("http".to_owned(), trimmed),
            None => ("https".to_owned(), trimmed),
        };
        let scheme = match scheme.as_str() {
            "https" => "https",
            "http" => "http",
            _ => return Err(bad("not an https:// (or http://) URL")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let authority = match rest.find(['/', '?', '#']) {
            Some(_) if strict => {
                return Err(bad(
                    "the login server is a URL without a path, e.g. https://NAME.azurecr.io",
                ));
            }
            Some(i) => &rest[..i],
            None => rest,
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad(
                "credentials do not belong in the URL; use -u/-p (a user name and password) or a token",
            ));
        }
        let parsed: http::uri::Authority = authority
            .parse()
            .map_err(|_| bad("not a valid host[:port]"))?;
        let host = parsed.host().to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        let authority = match parsed.port_u16() {
            Some(p) if p != default_port => format!("{host}:{p}"),
            _ => host,
        };
        Ok(Endpoint { scheme, authority })
    }

    /// `scheme://authority`, without a trailing `/`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// `host[:port]` (no default port), as requests carry it.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the registry is spoken to over plain HTTP.
    pub fn is_plain_http(&self) -> bool {
        self.scheme == "http"
    }
}

/// A repository name as escaped path segments, checked.
fn repo_path(name: &str) -> Result<String, Error> {
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

fn segment(value: &str, what: &str) -> Result<String, Error> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::invalid_input(format!("invalid {what} {value:?}")));
    }
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

fn parse_digest(digest: &str) -> Result<Digest, Error> {
    digest
        .parse::<Digest>()
        .map_err(|e| e.context("the manifest digest"))
}

fn read_scope(name: &str) -> Scopes {
    Scopes::new([Scope::repository(name, &["metadata_read"])])
}

fn write_scope(name: &str) -> Scopes {
    Scopes::new([Scope::repository(name, &["metadata_write"])])
}

fn delete_scope(name: &str) -> Scopes {
    Scopes::new([Scope::repository(name, &["delete"])])
}

/// The scopes a listing URL needs: the catalog, or reading a repository's
/// metadata.
fn listing_scopes(url: &Url) -> Scopes {
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
    read_scope(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_paths() {
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
