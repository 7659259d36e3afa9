//! [`Registry`]: an OCI client for any registry, with credentials from
//! options, the environment or docker's config.json.

use std::sync::Arc;

use registry_core::Error;
use registry_core::auth::{Authenticator, DockerAuth};
use registry_core::credentials::{
    Credential, CredentialChain, CredentialProvider, DockerConfig, Static,
};

use crate::TransportOptions;

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
        self.transport.registry_client(&self.host, auth)
    }
}
