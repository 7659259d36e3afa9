//! [`ClientBuilder`] and its build-time conflict checks.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use registry_core::auth::DockerAuth;
use registry_core::credentials::{Anonymous, CredentialProvider};
use registry_core::{Error, HttpClient};

use super::{Client, DEFAULT_CHUNK_SIZE, DEFAULT_JOBS, Options, Shared, is_loopback};
use crate::reference;
#[cfg(doc)]
use registry_core::ErrorKind;

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
    http_client: Option<HttpClient>,
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
    pub(super) fn new(registry: &str) -> ClientBuilder {
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
            http_client: None,
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

    /// Authenticates with credentials from `provider` (Basic or the Docker
    /// token flow, as the registry asks). Not with
    /// [`http_client`](Self::http_client), whose authenticator decides.
    pub fn credentials(self, provider: impl CredentialProvider) -> Self {
        self.credentials_arc(Arc::new(provider))
    }

    /// Shared credentials.
    pub fn credentials_arc(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.credentials = Some(provider);
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
        let http = match self.http_client {
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
                blob_info: Default::default(),
            }),
            scope: "".into(),
        })
    }
}

registry_core::setters!(ClientBuilder {
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
    http_client: HttpClient,
    /// Speak plain HTTP (`true`) or HTTPS (`false`). By default loopback
    /// hosts (`localhost`, `127.0.0.0/8`, `[::1]`) use HTTP, others HTTPS.
    /// A registry given as a URL names its scheme; a `plain_http` that
    /// contradicts it fails in [`build`](Self::build).
    plain_http: bool,
    /// Accept any TLS certificate (test registries only). Not with
    /// [`http_client`](Self::http_client), whose TLS settings decide.
    insecure: bool,
    /// The `User-Agent`. Not with [`http_client`](Self::http_client),
    /// which sets its own.
    user_agent: impl Into<String>,
});

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::ErrorKind;

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
}
