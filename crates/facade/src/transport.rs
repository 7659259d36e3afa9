//! [`TransportOptions`]: the one set of transport settings every client of
//! the stack is built from (OCI registries, Azure, the Magalu API).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use oci_dist::blob::ResumePolicy;
use registry_core::auth::Authenticator;
use registry_core::redirect::RedirectLayer;
use registry_core::timeout::LowSpeed;
use registry_core::{Error, HttpClient};

/// Transport settings shared by every client the facade builds: the one
/// way in for plain HTTP, TLS (`insecure`, extra roots), the
/// `User-Agent`, concurrency, timeouts, the low-speed limit, the retry
/// budget and how blob reads resume.
///
/// [`http_client`](Self::http_client) and
/// [`api_http_client`](Self::api_http_client) build the HTTP stack;
/// [`oci_client`](Self::oci_client) puts an OCI client on it;
/// [`Registry`](crate::Registry), [`Azure`](crate::Azure) and
/// [`Magalu`](crate::Magalu) take a `TransportOptions` and use these.
///
/// ```
/// use std::time::Duration;
/// let t = facade::TransportOptions::new()
///     .plain_http(true)
///     .jobs(8)
///     .user_agent("my-tool/1.0")
///     .response_timeout(Duration::from_secs(10))
///     .retry_budget(Duration::from_secs(60));
/// # drop(t);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Read by `Azure` (checked against the endpoint's scheme).
    pub(crate) plain_http: Option<bool>,
    insecure: bool,
    ca_pem: Vec<Vec<u8>>,
    jobs: Option<usize>,
    /// Read by `Magalu` (the API's `User-Agent`).
    pub(crate) user_agent: Option<String>,
    response_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    low_speed: Option<Option<LowSpeed>>,
    retry_budget: Option<Duration>,
    resume: Option<ResumePolicy>,
}

registry_core::setters!(TransportOptions {
    /// Speak plain HTTP to registries (`true`), or HTTPS even to loopback
    /// hosts (`false`).
    plain_http: bool,
    /// The `User-Agent` (default [`crate::USER_AGENT`]).
    user_agent: impl Into<String>,
    /// Time allowed from the end of a request body to the response head
    /// (default 30 s).
    response_timeout: Duration,
    /// Longest silence while a response body is read (default 30 s).
    read_timeout: Duration,
    /// The wall time one request may take across its retries (default 2
    /// minutes).
    retry_budget: Duration,
    /// How blob reads resume after a broken connection.
    resume: ResumePolicy,
});

impl TransportOptions {
    /// Defaults: HTTPS (plain HTTP for loopback hosts), verified TLS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Do not verify TLS certificates.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.insecure = yes;
        self
    }

    /// Trust extra root certificates (PEM text).
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }

    /// Trust extra root certificates from a PEM file.
    pub fn ca_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| Error::from(e).context(format!("reading {}", path.display())))?;
        Ok(self.ca_pem(pem))
    }

    /// Concurrent transfers for image push, pull and copy.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = Some(n.max(1));
        self
    }

    /// The low-speed limit (default 1 KiB/s over 30 s); `None` turns it off.
    pub fn low_speed_limit(mut self, limit: Option<LowSpeed>) -> Self {
        self.low_speed = Some(limit);
        self
    }

    /// The HTTP stack with these settings, below any authentication.
    fn http_builder(&self) -> registry_core::ClientBuilder {
        let mut b = HttpClient::builder();
        if let Some(d) = self.response_timeout {
            b = b.response_timeout(d);
        }
        if let Some(d) = self.read_timeout {
            b = b.read_timeout(d);
        }
        match self.low_speed {
            Some(Some(l)) => b = b.low_speed_limit(l),
            Some(None) => b = b.no_low_speed_limit(),
            None => {}
        }
        if let Some(d) = self.retry_budget {
            b = b.retry_budget(d);
        }
        let mut b = b
            .user_agent(self.user_agent.as_deref().unwrap_or(crate::USER_AGENT))
            .insecure_skip_verify(self.insecure);
        for pem in &self.ca_pem {
            b = b.add_root_pem(pem.clone());
        }
        b
    }

    /// Builds an HTTP client with `authenticator` (registries: the Docker
    /// token flow, Basic, Azure's exchange).
    pub fn http_client(&self, authenticator: Arc<dyn Authenticator>) -> Result<HttpClient, Error> {
        self.http_builder().authenticator_arc(authenticator).build()
    }

    /// Builds an HTTP client for a management API that authenticates with a
    /// header of its own (the Magalu API key or token): no authenticator,
    /// and no redirects, so that header never follows one to another host.
    ///
    /// ```
    /// let http = facade::TransportOptions::new().insecure(true).api_http_client().unwrap();
    /// # drop(http);
    /// ```
    pub fn api_http_client(&self) -> Result<HttpClient, Error> {
        self.http_builder()
            .redirects(RedirectLayer::new().max_hops(0))
            .build()
    }

    /// An OCI client for `host` over `http` (built by
    /// [`http_client`](Self::http_client)): plain HTTP, jobs and the resume
    /// policy from these options.
    pub fn oci_client(&self, host: &str, http: HttpClient) -> Result<oci_dist::Client, Error> {
        let mut b = oci_dist::Client::builder(host).http_client(http);
        if let Some(p) = self.plain_http {
            b = b.plain_http(p);
        }
        if let Some(j) = self.jobs {
            b = b.jobs(j);
        }
        if let Some(r) = self.resume {
            b = b.resume(r);
        }
        b.build()
    }

    /// [`http_client`](Self::http_client) and [`oci_client`](Self::oci_client)
    /// in one step.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use facade::core::{auth::DockerAuth, credentials::Anonymous};
    /// let client = facade::TransportOptions::new()
    ///     .registry_client("127.0.0.1:5000", Arc::new(DockerAuth::new(Anonymous)))
    ///     .unwrap();
    /// assert_eq!(client.registry(), "127.0.0.1:5000");
    /// ```
    pub fn registry_client(
        &self,
        host: &str,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<oci_dist::Client, Error> {
        self.oci_client(host, self.http_client(authenticator)?)
    }
}
