//! [`Registry`]: an OCI client for any registry, with credentials from
//! options, the environment or docker's config.json.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use oci_dist::blob::ResumePolicy;

use registry_core::auth::{Authenticator, DockerAuth};
use registry_core::credentials::{
    Credential, CredentialChain, CredentialProvider, DockerConfig, Static,
};
use registry_core::timeout::LowSpeed;
use registry_core::{Error, HttpClient};

/// Transport settings shared by every client the facade builds.
///
/// ```
/// let t = facade::TransportOptions::new().plain_http(true).jobs(8);
/// # drop(t);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    plain_http: Option<bool>,
    insecure: bool,
    ca_pem: Vec<Vec<u8>>,
    jobs: Option<usize>,
    user_agent: Option<String>,
    response_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    low_speed: Option<Option<LowSpeed>>,
    retry_budget: Option<Duration>,
    resume: Option<ResumePolicy>,
}

impl TransportOptions {
    /// Defaults: HTTPS (plain HTTP for loopback hosts), verified TLS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Speak plain HTTP to registries.
    pub fn plain_http(mut self, yes: bool) -> Self {
        self.plain_http = Some(yes);
        self
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

    /// The `User-Agent`.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Time allowed from the end of a request body to the response head
    /// (default 30 s).
    pub fn response_timeout(mut self, d: Duration) -> Self {
        self.response_timeout = Some(d);
        self
    }

    /// Longest silence while a response body is read (default 30 s).
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.read_timeout = Some(d);
        self
    }

    /// The low-speed limit (default 1 KiB/s over 30 s); `None` turns it off.
    pub fn low_speed_limit(mut self, limit: Option<LowSpeed>) -> Self {
        self.low_speed = Some(limit);
        self
    }

    /// The wall time one request may take across its retries (default 2
    /// minutes).
    pub fn retry_budget(mut self, d: Duration) -> Self {
        self.retry_budget = Some(d);
        self
    }

    /// How blob reads resume after a broken connection.
    pub fn resume(mut self, policy: ResumePolicy) -> Self {
        self.resume = Some(policy);
        self
    }

    /// Builds an HTTP client with `authenticator`.
    pub fn http_client(&self, authenticator: Arc<dyn Authenticator>) -> Result<HttpClient, Error> {
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
            .user_agent(
                self.user_agent
                    .clone()
                    .unwrap_or_else(|| crate::USER_AGENT.to_owned()),
            )
            .insecure_skip_verify(self.insecure)
            .authenticator_arc(authenticator);
        for pem in &self.ca_pem {
            b = b.add_root_pem(pem.clone());
        }
        b.build()
    }

    /// An OCI client for `host` over `http`.
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
}

/// Entry point for plain OCI registries.
#[derive(Debug, Clone, Copy)]
pub struct Registry;

impl Registry {
    /// A builder for the registry at `host` (`host[:port]`).
    pub fn builder(host: impl Into<String>) -> RegistryBuilder {
        RegistryBuilder {
            host: host.into(),
            explicit: None,
            env: None,
            docker_config: true,
            transport: TransportOptions::new(),
        }
    }
}

/// Builds an [`oci_dist::Client`] with the credential chain explicit >
/// environment > docker config.json > anonymous.
///
/// ```
/// let client = facade::Registry::builder("127.0.0.1:5000")
///     .env_credentials("CRCTL_USERNAME", "CRCTL_PASSWORD")
///     .build()
///     .unwrap();
/// assert_eq!(client.registry(), "127.0.0.1:5000");
/// ```
#[derive(Debug)]
pub struct RegistryBuilder {
    host: String,
    explicit: Option<Credential>,
    env: Option<(String, String)>,
    docker_config: bool,
    transport: TransportOptions,
}

impl RegistryBuilder {
    /// User name and password (or an admin/repository token).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.explicit = Some(Credential::basic(username.into(), password.into()));
        self
    }

    /// Any credential.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.explicit = Some(credential);
        self
    }

    /// Read user name and password from these environment variables.
    pub fn env_credentials(
        mut self,
        user_var: impl Into<String>,
        password_var: impl Into<String>,
    ) -> Self {
        self.env = Some((user_var.into(), password_var.into()));
        self
    }

    /// Whether to consult docker's config.json (default yes).
    pub fn docker_config(mut self, yes: bool) -> Self {
        self.docker_config = yes;
        self
    }

    /// Transport settings.
    pub fn transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// The credential chain this builder would use.
    pub fn credential_chain(&self) -> CredentialChain {
        let mut chain = CredentialChain::new();
        if let Some(c) = &self.explicit {
            chain = chain.with(
                Static::new(c.clone())
                    .for_host(self.host.clone())
                    .for_host(oci_dist::reference::endpoint_for(&self.host)),
            );
        }
        if let Some((u, p)) = &self.env {
            let hosts = [
                self.host.clone(),
                oci_dist::reference::endpoint_for(&self.host).to_owned(),
            ];
            let env = registry_core::credentials::Environment::new(u.clone(), p.clone());
            chain = chain.with(move |h: &str| {
                if hosts.iter().any(|x| x == h) {
                    env.credential(h)
                } else {
                    None
                }
            });
        }
        if self.docker_config {
            chain = chain.with(DockerConfig::new());
        }
        chain
    }

    /// Builds the client.
    pub fn build(self) -> Result<oci_dist::Client, Error> {
        let auth: Arc<dyn Authenticator> = Arc::new(DockerAuth::new(self.credential_chain()));
        let http = self.transport.http_client(auth)?;
        self.transport.oci_client(&self.host, http)
    }
}
