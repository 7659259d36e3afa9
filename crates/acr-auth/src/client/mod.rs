//! [`AcrClient`]: the ACR metadata API (`/acr/v1`, api-version 2021-07-01)
//! over a registry-core [`HttpClient`].

mod endpoint;
mod manifests;
mod repositories;
pub(crate) mod request;
mod tags;

use registry_core::{Error, HttpClient};
use url::Url;

use crate::auth::AcrAuthenticator;

pub use self::endpoint::Endpoint;
use self::endpoint::parse_endpoint;

/// The metadata API version this client speaks.
pub const API_VERSION: &str = "2021-07-01";

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
        let auth = auth.restricted_to(url.authority().to_owned());
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
}
