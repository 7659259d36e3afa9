//! [`Client`]: a registry client scoped to a repository path, and its
//! [`ClientBuilder`].
//!
//! Scoping follows the deckhouse seed: `with_segment` appends path segments
//! and returns a new, cheap clone; operations taking a tag or digest act on
//! the repository the segments name.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use registry_core::auth::DockerAuth;
use registry_core::credentials::{Anonymous, CredentialProvider};
use registry_core::{Body, Error, ErrorKind, HttpClient};

use crate::reference::{self, Reference, TagOrDigest};

/// The default chunk size of chunked uploads (8 MiB).
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// The default number of concurrent blob transfers.
pub const DEFAULT_JOBS: usize = 4;
/// How much of an error response body is read.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Path segments for [`Client::with_segment`]: one (`"org"`) or several
/// (`["team", "app"]`, a slice or a `Vec`).
pub trait IntoSegments {
    /// The segments.
    fn into_segments(self) -> Vec<String>;
}

impl IntoSegments for &str {
    fn into_segments(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoSegments for String {
    fn into_segments(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoSegments for &String {
    fn into_segments(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<const N: usize> IntoSegments for [&str; N] {
    fn into_segments(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl IntoSegments for &[&str] {
    fn into_segments(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl IntoSegments for Vec<&str> {
    fn into_segments(self) -> Vec<String> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl IntoSegments for Vec<String> {
    fn into_segments(self) -> Vec<String> {
        self
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) chunk_size: u64,
    pub(crate) chunked_uploads: bool,
    pub(crate) jobs: usize,
    pub(crate) resume: crate::blob::ResumePolicy,
}

struct Shared {
    http: HttpClient,
    /// The registry as named by the user (`docker.io`, `127.0.0.1:5000`).
    registry: String,
    /// `scheme://endpoint` for API requests.
    base: String,
    options: Options,
    /// Set after a `413` to a monolithic upload: use chunks from then on.
    refuses_large_bodies: AtomicBool,
}

/// A distribution-spec client for one registry, scoped to a repository path.
///
/// Cheap to clone, `Send + Sync`; every operation is `async` and cancelled
/// by dropping its future.
///
/// ```no_run
/// use oci_dist::Client;
/// # async fn run() -> Result<(), registry_core::Error> {
/// let registry = Client::new("registry.example.com")?;
/// let app = registry.with_segment("org").with_segment(["team", "app"]);
/// assert_eq!(app.registry(), "registry.example.com/org/team/app");
/// let digest = app.get_digest("v1.0.0").await?;
/// println!("{digest}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    scope: Arc<str>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.shared.registry)
            .field("base", &self.shared.base)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `registry` (`host[:port]`, or a URL `http://host:port`
    /// to force the scheme) with anonymous access (the Docker token flow
    /// still runs for public images).
    pub fn new(registry: &str) -> Result<Client, Error> {
        Client::builder(registry).build()
    }

    /// A builder for `registry`.
    pub fn builder(registry: &str) -> ClientBuilder {
        ClientBuilder::new(registry)
    }

    /// A new client with more path segments; each may itself contain `/`.
    /// Invalid segments are reported by the first operation that uses them.
    pub fn with_segment(&self, segments: impl IntoSegments) -> Client {
        let mut scope = self.scope.to_string();
        for s in segments.into_segments() {
            let s = s.trim_matches('/');
            if s.is_empty() {
                continue;
            }
            if !scope.is_empty() {
                scope.push('/');
            }
            scope.push_str(s);
        }
        Client {
            shared: self.shared.clone(),
            scope: scope.into(),
        }
    }

    /// A client on the same registry scoped to exactly `repository`.
    pub fn with_repository(&self, repository: &str) -> Client {
        Client {
            shared: self.shared.clone(),
            scope: repository.trim_matches('/').into(),
        }
    }

    /// A client for the repository of `reference`, which must be on this
    /// client's registry; use [`Reference::target`] for the tag or digest.
    pub fn for_reference(&self, reference: &Reference) -> Result<Client, Error> {
        if reference.registry() != self.shared.registry {
            return Err(Error::invalid_input(format!(
                "reference {reference} is on registry {}, this client is for {}",
                reference.registry(),
                self.shared.registry
            )));
        }
        Ok(self.with_repository(reference.repository()))
    }

    /// The full path: `host/scope` (just `host` when unscoped).
    pub fn registry(&self) -> String {
        if self.scope.is_empty() {
            self.shared.registry.clone()
        } else {
            format!("{}/{}", self.shared.registry, self.scope)
        }
    }

    /// The registry host as given (`host[:port]`).
    pub fn host(&self) -> &str {
        &self.shared.registry
    }

    /// The scope path (the repository name for repository operations);
    /// empty when unscoped.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.shared.http
    }

    pub(crate) fn options(&self) -> &Options {
        &self.shared.options
    }

    /// Whether the registry answered `413` to a monolithic upload before.
    pub(crate) fn refuses_large_bodies(&self) -> bool {
        self.shared.refuses_large_bodies.load(Ordering::Relaxed)
    }

    pub(crate) fn set_refuses_large_bodies(&self) {
        self.shared
            .refuses_large_bodies
            .store(true, Ordering::Relaxed);
    }

    /// The repository name, validated.
    pub(crate) fn repo(&self) -> Result<&str, Error> {
        if self.scope.is_empty() {
            return Err(Error::invalid_input(format!(
                "client for {} has no repository: add one with with_segment()",
                self.shared.registry
            )));
        }
        reference::validate_repository(&self.scope)
            .map_err(|e| e.context(format!("invalid scope of {}", self.registry())))?;
        Ok(&self.scope)
    }

    /// `repo` plus a tag or digest, for messages.
    pub(crate) fn describe(&self, target: &TagOrDigest) -> String {
        format!("{}{target}", self.registry())
    }

    /// `scheme://endpoint` + `path`.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.shared.base)
    }

    /// `scheme://endpoint/v2/<repo>/<suffix>`.
    pub(crate) fn repo_url(&self, suffix: &str) -> Result<String, Error> {
        Ok(format!("{}/v2/{}/{suffix}", self.shared.base, self.repo()?))
    }

    /// Resolves a `Location` header against the registry base URL.
    pub(crate) fn resolve_location(&self, location: &str) -> Result<http::Uri, Error> {
        let base: http::Uri = self
            .shared
            .base
            .parse()
            .map_err(|e| Error::invalid_input("invalid registry URL").with_source(e))?;
        registry_core::redirect::resolve_location(&base, location)
    }

    /// Builds a request.
    pub(crate) fn request(
        &self,
        method: Method,
        url: &str,
        body: Body,
    ) -> Result<Request<Body>, Error> {
        Request::builder()
            .method(method)
            .uri(url)
            .body(body)
            .map_err(|e| Error::invalid_input(format!("invalid request URL {url}")).with_source(e))
    }

    /// Sends a request; a status outside `ok` becomes an error carrying the
    /// registry's error body, prefixed by `what`.
    pub(crate) async fn send_expect(
        &self,
        req: Request<Body>,
        ok: &[StatusCode],
        what: impl fmt::Display,
    ) -> Result<Response<Body>, Error> {
        let resp = self
            .shared
            .http
            .send(req)
            .await
            .map_err(|e| e.context(&what))?;
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        Err(error_from(resp, what).await)
    }
}

/// An error from a response with an unexpected status.
pub(crate) async fn error_from(resp: Response<Body>, what: impl fmt::Display) -> Error {
    let status = resp.status();
    let attempts = resp
        .extensions()
        .get::<registry_core::retry::Attempts>()
        .map_or(1, |a| a.0);
    let body = resp
        .into_body()
        .collect_bytes(ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let mut err = Error::from_response(status, &body);
    if status.is_success() || status.is_redirection() {
        err = Error::new(ErrorKind::Protocol, format!("unexpected HTTP {status}"))
            .with_status(status);
    }
    if attempts > 1 {
        err = err.context(format!("gave up after {attempts} attempts"));
    }
    err.context(what)
}

/// The value of a header as a string, if present and visible ASCII.
pub(crate) fn header_str<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The media type of a response.
pub(crate) fn content_type(resp: &Response<Body>) -> Option<&str> {
    header_str(resp, CONTENT_TYPE.as_str())
}

/// `application/octet-stream`, for upload bodies.
pub(crate) const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// Builds a [`Client`].
///
/// ```
/// use oci_dist::Client;
/// use registry_core::credentials::{Credential, Static};
/// let client = Client::builder("registry.example:5000")
///     .credentials(Static::new(Credential::basic("user", "pass")).for_host("registry.example:5000"))
///     .user_agent("crctl/0.1.0")
///     .chunk_size(16 * 1024 * 1024)
///     .jobs(8)
///     .build()
///     .unwrap();
/// assert_eq!(client.registry(), "registry.example:5000");
/// ```
pub struct ClientBuilder {
    registry: String,
    scheme: Option<&'static str>,
    http: Option<HttpClient>,
    credentials: Option<Arc<dyn CredentialProvider>>,
    plain_http: Option<bool>,
    insecure: Option<bool>,
    user_agent: Option<String>,
    options: Options,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("registry", &self.registry)
            .field("plain_http", &self.plain_http)
            .field("insecure", &self.insecure)
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(registry: &str) -> ClientBuilder {
        let (scheme, host) = if let Some(h) = registry.strip_prefix("https://") {
            (Some("https"), h)
        } else if let Some(h) = registry.strip_prefix("http://") {
            (Some("http"), h)
        } else {
            (None, registry)
        };
        ClientBuilder {
            registry: host.trim_end_matches('/').to_owned(),
            scheme,
            http: None,
            credentials: None,
            plain_http: None,
            insecure: None,
            user_agent: None,
            options: Options {
                chunk_size: DEFAULT_CHUNK_SIZE,
                chunked_uploads: false,
                jobs: DEFAULT_JOBS,
                resume: crate::blob::ResumePolicy::default(),
            },
        }
    }

    /// Uses this HTTP client: its own authenticator, TLS, `User-Agent`,
    /// timeouts and retries. Those belong to the HTTP client then, so
    /// [`credentials`](Self::credentials), [`insecure`](Self::insecure) and
    /// [`user_agent`](Self::user_agent) cannot be combined with it:
    /// [`build`](Self::build) fails with [`ErrorKind::InvalidInput`] naming
    /// them. (`facade::TransportOptions` builds both halves from one set of
    /// options.)
    ///
    /// ```
    /// use oci_dist::{Client, ErrorKind};
    /// let http = registry_core::HttpClient::builder().build().unwrap();
    /// let err = Client::builder("registry.example")
    ///     .http_client(http)
    ///     .insecure(true)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// assert!(err.to_string().contains("insecure"), "{err}");
    /// ```
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Authenticates with credentials from `provider` (Basic or the Docker
    /// token flow, as the registry asks). Not with
    /// [`http_client`](Self::http_client), whose authenticator decides.
    pub fn credentials(mut self, provider: impl CredentialProvider) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Shared credentials.
    pub fn credentials_arc(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Speak plain HTTP (`true`) or HTTPS (`false`). By default loopback
    /// hosts (`localhost`, `127.0.0.0/8`, `[::1]`) use HTTP, others HTTPS.
    /// A registry given as a URL names its scheme; a `plain_http` that
    /// contradicts it fails in [`build`](Self::build).
    pub fn plain_http(mut self, yes: bool) -> Self {
        self.plain_http = Some(yes);
        self
    }

    /// Accept any TLS certificate (test registries only). Not with
    /// [`http_client`](Self::http_client), whose TLS settings decide.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.insecure = Some(yes);
        self
    }

    /// The `User-Agent`. Not with [`http_client`](Self::http_client),
    /// which sets its own.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// The chunk size of chunked uploads (raised to the registry's
    /// `OCI-Chunk-Min-Length` when it asks for more).
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.options.chunk_size = bytes.max(1);
        self
    }

    /// Always upload blobs in chunks instead of one streamed PUT (for
    /// proxies that cap request bodies).
    pub fn chunked_uploads(mut self, yes: bool) -> Self {
        self.options.chunked_uploads = yes;
        self
    }

    /// Concurrent blob transfers in image push, pull and copy.
    pub fn jobs(mut self, n: usize) -> Self {
        self.options.jobs = n.max(1);
        self
    }

    /// How blob reads resume after a broken connection (default
    /// [`ResumePolicy::default`](crate::blob::ResumePolicy)).
    pub fn resume(mut self, policy: crate::blob::ResumePolicy) -> Self {
        self.options.resume = policy;
        self
    }

    /// Builds the client. Fails with [`ErrorKind::InvalidInput`] on an
    /// invalid registry name and on settings that contradict each other
    /// (see [`http_client`](Self::http_client) and
    /// [`plain_http`](Self::plain_http)).
    pub fn build(self) -> Result<Client, Error> {
        let registry = if self.registry == "index.docker.io" {
            reference::DEFAULT_REGISTRY.to_owned()
        } else {
            self.registry
        };
        reference::validate_registry(&registry)?;
        let endpoint = reference::endpoint_for(&registry);
        let scheme = match (self.plain_http, self.scheme) {
            (Some(true), Some("https")) | (Some(false), Some("http")) => {
                return Err(Error::invalid_input(format!(
                    "registry {}://{registry}: plain_http({}) contradicts the URL's scheme",
                    self.scheme.unwrap_or_default(),
                    self.plain_http.unwrap_or_default()
                )));
            }
            (Some(true), _) => "http",
            (Some(false), _) => "https",
            (None, Some(s)) => s,
            (None, None) if is_loopback(endpoint) => "http",
            (None, None) => "https",
        };
        let http = match self.http {
            Some(h) => {
                let conflicts: Vec<&str> = [
                    (self.credentials.is_some(), "credentials(..)"),
                    (self.insecure.is_some(), "insecure(..)"),
                    (self.user_agent.is_some(), "user_agent(..)"),
                ]
                .into_iter()
                .filter_map(|(set, name)| set.then_some(name))
                .collect();
                if !conflicts.is_empty() {
                    return Err(Error::invalid_input(format!(
                        "client for {registry}: http_client(..) brings its own authentication, \
                         TLS and User-Agent; {} cannot be combined with it (set them on the \
                         HTTP client, e.g. through facade::TransportOptions)",
                        conflicts.join(", ")
                    )));
                }
                h
            }
            None => {
                let mut b = registry_core::HttpClient::builder()
                    .insecure_skip_verify(self.insecure.unwrap_or(false))
                    .authenticator(DockerAuth::from_arc(
                        self.credentials.unwrap_or_else(|| Arc::new(Anonymous)),
                    ));
                if let Some(ua) = self.user_agent {
                    b = b.user_agent(ua);
                }
                b.build()?
            }
        };
        Ok(Client {
            shared: Arc::new(Shared {
                http,
                base: format!("{scheme}://{endpoint}"),
                registry,
                options: self.options,
                refuses_large_bodies: AtomicBool::new(false),
            }),
            scope: "".into(),
        })
    }
}

/// Whether a `host[:port]` names the loopback interface (the one test, in
/// [`registry_core::host`]).
pub use registry_core::host::is_loopback;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_registry() {
        let c = Client::new("127.0.0.1:5000").unwrap();
        assert_eq!(c.registry(), "127.0.0.1:5000");
        let app = c.with_segment("org").with_segment(["team", "app"]);
        assert_eq!(app.registry(), "127.0.0.1:5000/org/team/app");
        assert_eq!(app.scope(), "org/team/app");
        assert_eq!(c.with_segment(vec!["a/b", "c"]).scope(), "a/b/c");
        assert_eq!(c.with_segment("/x/").scope(), "x");
        // The original is unchanged.
        assert_eq!(c.scope(), "");
        assert_eq!(app.url("/v2/"), "http://127.0.0.1:5000/v2/");
        assert!(c.repo().is_err());
        let bad = c.with_segment("Bad");
        assert_eq!(bad.repo().unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn scheme_selection() {
        let c = Client::new("registry.example").unwrap();
        assert_eq!(c.url(""), "https://registry.example");
        let c = Client::builder("registry.example:5000")
            .plain_http(true)
            .build()
            .unwrap();
        assert_eq!(c.url(""), "http://registry.example:5000");
        let c = Client::new("http://127.0.0.1:1234").unwrap();
        assert_eq!(c.host(), "127.0.0.1:1234");
        let c = Client::new("docker.io").unwrap();
        assert_eq!(c.url("/v2/"), "https://registry-1.docker.io/v2/");
        assert_eq!(
            c.with_segment("library/alpine").registry(),
            "docker.io/library/alpine"
        );
        let c = Client::builder("localhost:5000")
            .plain_http(false)
            .build()
            .unwrap();
        assert_eq!(c.url(""), "https://localhost:5000");
        assert!(Client::new("bad host").is_err());
        // A scheme in the URL and plain_http must agree.
        let e = Client::builder("https://registry.example")
            .plain_http(true)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("plain_http(true)"), "{e}");
        assert!(
            Client::builder("http://127.0.0.1:1")
                .plain_http(false)
                .build()
                .is_err()
        );
        let c = Client::builder("http://127.0.0.1:1")
            .plain_http(true)
            .build()
            .unwrap();
        assert_eq!(c.url(""), "http://127.0.0.1:1");
    }

    #[test]
    fn http_client_settings_are_not_silently_dropped() {
        let http = || HttpClient::builder().build().unwrap();
        // Alone, each is fine.
        Client::builder("r.example")
            .http_client(http())
            .build()
            .unwrap();
        Client::builder("r.example")
            .credentials(Anonymous)
            .insecure(true)
            .user_agent("ua/1")
            .build()
            .unwrap();
        // Together with an HTTP client, an error naming what conflicts.
        let e = Client::builder("r.example")
            .http_client(http())
            .credentials(Anonymous)
            .user_agent("ua/1")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(msg.contains("http_client(..)"), "{msg}");
        assert!(msg.contains("credentials(..)"), "{msg}");
        assert!(msg.contains("user_agent(..)"), "{msg}");
        assert!(!msg.contains("insecure(..)"), "{msg}");
        let e = Client::builder("r.example")
            .insecure(false)
            .http_client(http())
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("insecure(..)"), "{e}");
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("127.0.0.2:80"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("example.com"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }

    #[test]
    fn for_reference_requires_same_registry() {
        let c = Client::new("127.0.0.1:5000").unwrap();
        let r: Reference = "127.0.0.1:5000/a/b:v1".parse().unwrap();
        assert_eq!(c.for_reference(&r).unwrap().scope(), "a/b");
        let other: Reference = "other.example/a:v1".parse().unwrap();
        assert!(c.for_reference(&other).is_err());
    }
}
