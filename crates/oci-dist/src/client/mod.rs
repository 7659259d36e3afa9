//! [`Client`]: a registry client scoped to a repository path, and its
//! [`ClientBuilder`].
//!
//! Scoping follows the deckhouse seed: `with_segment` appends path segments
//! and returns a new, cheap clone; operations taking a tag or digest act on
//! the repository the segments name.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use registry_core::{Error, HttpClient};

use crate::reference::{self, Reference, TagOrDigest};

mod blob_info;
mod builder;
mod request;

pub(crate) use blob_info::BlobInfo;
pub use builder::ClientBuilder;
pub(crate) use request::{
    OCTET_STREAM, content_length, content_type, error_from, header_str, parsed_header,
};

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
    /// Where blobs were seen in this registry during this process.
    blob_info: BlobInfo,
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

    /// Where blobs were seen in this registry (shared by every clone).
    pub(crate) fn blob_info(&self) -> &BlobInfo {
        &self.shared.blob_info
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
}

/// Whether a `host[:port]` names the loopback interface (the one test, in
/// [`registry_core::host`]).
pub use registry_core::host::is_loopback;

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::ErrorKind;

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
