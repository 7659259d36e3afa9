//! # acr-auth
//!
//! Azure Container Registry on top of `registry-core`:
//!
//! | module | what |
//! |---|---|
//! | [`auth`] | [`AcrAuthenticator`]: AAD token → ACR refresh token → ACR access token, anonymous access, admin user / repository tokens, as a registry-core [`Authenticator`](registry_core::auth::Authenticator) |
//! | [`exchange`] | [`AcrTokenClient`]: the token exchanges themselves (AAD tokens → ACR refresh token → ACR access token) |
//! | [`credential`] | [`TokenCredential`] (where AAD tokens come from), [`StaticTokenCredential`] (also `AZURE_ACCESS_TOKEN`) |
//! | [`client`] | [`AcrClient`]: the metadata API `/acr/v1` (repositories, tags, manifests and their writeable properties); [`Endpoint`]: the login server, parsed once |
//! | [`models`] | its JSON shapes |
//! | [`paging`] | list options, [`Page`], `Link` pagination |
//!
//! With the `azure-identity` feature, `AzureIdentityCredential` plugs in
//! the Azure SDK for Rust's credentials (managed identity, workload
//! identity, client secret, Azure CLI, …).
//!
//! The authenticator works with any registry-core [`HttpClient`](registry_core::HttpClient),
//! so the standard OCI operations (e.g. `oci-dist`) run against ACR with it:
//!
//! ```no_run
//! use acr_auth::{AcrAuthenticator, AcrClient, ListRepositoriesOptions, StaticTokenCredential};
//! use futures_util::TryStreamExt;
//! # async fn run() -> Result<(), registry_core::Error> {
//! let auth = AcrAuthenticator::aad(StaticTokenCredential::from_env()?);
//! let acr = AcrClient::new("myregistry.azurecr.io", auth)?;
//! let repos: Vec<String> = acr
//!     .list_repositories(ListRepositoriesOptions::default())
//!     .try_collect()
//!     .await?;
//! // The same transport (and token cache) serves the OCI distribution API.
//! let resp = acr
//!     .http()
//!     .send(http::Request::get("https://myregistry.azurecr.io/v2/").body(registry_core::Body::empty()).unwrap())
//!     .await?;
//! # drop((repos, resp));
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod credential;
pub mod exchange;
pub mod models;
pub mod paging;

#[cfg(feature = "azure-identity")]
mod azure_identity;

pub use auth::{AcrAuthenticator, DEFAULT_AUDIENCE, REFRESH_MARGIN};
#[cfg(feature = "azure-identity")]
pub use azure_identity::AzureIdentityCredential;
pub use client::{API_VERSION, AcrClient, Endpoint};
pub use credential::{AZURE_ACCESS_TOKEN_ENV, AccessToken, StaticTokenCredential, TokenCredential};
pub use exchange::{AadExchangeOptions, AcrAccessToken, AcrRefreshToken, AcrTokenClient};
pub use models::{
    Architecture, ArtifactManifestPlatform, ArtifactManifestProperties, ArtifactTagProperties,
    ContainerRepositoryProperties, ContentType, DeletedRepository, ExchangeGrantType,
    ManifestAttributes, OperatingSystem, TagAttributes, TokenGrantType, WriteableProperties,
};
pub use paging::{
    ListManifestsOptions, ListRepositoriesOptions, ListTagsOptions, OrderBy, Page, PageItem,
};
