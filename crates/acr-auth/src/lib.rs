#![doc = include_str!("../README.md")]

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
/// The extension traits for the streams the list operations return.
pub use futures_util::{StreamExt, TryStreamExt};
pub use models::{
    Architecture, ArtifactManifestPlatform, ArtifactManifestProperties, ArtifactTagProperties,
    ContainerRepositoryProperties, ContentType, DeletedRepository, ExchangeGrantType,
    ManifestAttributes, OperatingSystem, TagAttributes, TokenGrantType, WriteableProperties,
};
pub use paging::{
    ListManifestsOptions, ListRepositoriesOptions, ListTagsOptions, OrderBy, Page, PageItem,
};
/// The error type of every operation, re-exported from `registry-core`.
pub use registry_core::{Error, ErrorKind, Result};
