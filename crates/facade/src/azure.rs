//! [`Azure`]: an OCI client and the ACR metadata client for one Azure
//! Container Registry, sharing one authenticator and token cache.

use std::sync::Arc;

use acr_auth::{AcrAuthenticator, AcrClient, Endpoint, TokenCredential};
use registry_core::auth::Authenticator;
use registry_core::{Error, Secret};

use crate::TransportOptions;

/// An Azure Container Registry: [`Azure::registry`] for the OCI
/// distribution API, [`Azure::metadata`] for `acr/v1`.
#[derive(Debug, Clone)]
pub struct Azure {
    registry: oci_dist::Client,
    metadata: AcrClient,
}

impl Azure {
    /// A builder for the registry at `endpoint` (`https://NAME.azurecr.io`,
    /// `NAME.azurecr.io`, or `http://HOST:PORT` for a test registry).
    pub fn builder(endpoint: impl Into<String>) -> AzureBuilder {
        AzureBuilder {
            endpoint: endpoint.into(),
            auth: None,
            transport: TransportOptions::new(),
        }
    }

    /// The OCI client (manifests, blobs, tags, copy…).
    pub fn registry(&self) -> &oci_dist::Client {
        &self.registry
    }

    /// The metadata API client.
    pub fn metadata(&self) -> &AcrClient {
        &self.metadata
    }
}

/// Builds an [`Azure`] client.
///
/// ```
/// let acr = facade::Azure::builder("http://127.0.0.1:5000")
///     .anonymous()
///     .build()
///     .unwrap();
/// assert_eq!(acr.registry().registry(), "127.0.0.1:5000");
/// ```
#[derive(Debug)]
pub struct AzureBuilder {
    endpoint: String,
    auth: Option<AcrAuthenticator>,
    transport: TransportOptions,
}

impl AzureBuilder {
    /// Authenticate with AAD tokens from `credential` (exchanged for ACR tokens).
    pub fn credential(mut self, credential: impl TokenCredential) -> Self {
        self.auth = Some(AcrAuthenticator::aad(credential));
        self
    }

    /// Anonymous pull access.
    pub fn anonymous(mut self) -> Self {
        self.auth = Some(AcrAuthenticator::anonymous());
        self
    }

    /// Admin user or repository-scoped token.
    pub fn basic(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(AcrAuthenticator::basic(
            username,
            Secret::new(password.into()),
        ));
        self
    }

    /// A fully configured authenticator (audience, tenant…).
    pub fn authenticator(mut self, auth: AcrAuthenticator) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Transport settings.
    pub fn transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Builds the clients (anonymous unless a credential was given).
    ///
    /// The endpoint is parsed by [`acr_auth::Endpoint::parse`] and its
    /// scheme decides how the registry is spoken to: a
    /// [`TransportOptions::plain_http`] that contradicts it is an
    /// [`ErrorKind::InvalidInput`](registry_core::ErrorKind::InvalidInput)
    /// error.
    ///
    /// ```
    /// use facade::{Azure, TransportOptions};
    /// let err = Azure::builder("https://myregistry.azurecr.io")
    ///     .transport(TransportOptions::new().plain_http(true))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), facade::ErrorKind::InvalidInput);
    /// ```
    pub fn build(self) -> Result<Azure, Error> {
        let endpoint = Endpoint::parse(&self.endpoint)?;
        let plain = endpoint.is_plain_http();
        if let Some(p) = self.transport.plain_http
            && p != plain
        {
            return Err(Error::invalid_input(format!(
                "{}: the transport says plain_http({p}), the endpoint says {}",
                endpoint.url(),
                if plain { "http://" } else { "https://" }
            )));
        }
        // Credentials and tokens only ever go to this registry.
        let auth: Arc<dyn Authenticator> = Arc::new(
            self.auth
                .unwrap_or_else(AcrAuthenticator::anonymous)
                .for_host(endpoint.authority().to_owned()),
        );
        let http = self.transport.http_client(auth)?;
        let transport = self.transport.clone().plain_http(plain);
        let registry = transport.oci_client(endpoint.authority(), http.clone())?;
        let metadata = AcrClient::from_http(&endpoint.url(), http)?;
        Ok(Azure { registry, metadata })
    }
}
