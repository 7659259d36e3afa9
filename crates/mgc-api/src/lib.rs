#![doc = include_str!("../README.md")]

mod client;
pub mod credentials;
pub mod error;
pub mod ids;
pub mod images;
pub mod members;
pub mod paging;
pub mod proxy_caches;
pub mod registries;
pub mod repositories;
mod request;
pub mod scans;
mod serde_util;
pub mod users;
mod validate;

pub use client::{
    API_KEY_ENV, API_URL_ENV, DEFAULT_USER_AGENT, MgcClient, MgcClientBuilder, REGION_ENV, Region,
    TOKEN_ENV,
};
pub use credentials::{CredentialsResponse, CredentialsService};
pub use error::{ApiErrorBody, Error, ErrorKind, Result};
/// The extension traits for the `*_stream` list operations' streams.
pub use futures_util::{StreamExt, TryStreamExt};
pub use ids::{MemberId, ProxyCacheId, RegistryId, RepositoryId, ScanId, UserId};
pub use images::{ImageResponse, ImageTagResponse, ImagesResponse, ImagesService};
pub use members::{
    MemberRequest, MemberResponse, MemberRole, MemberUpdateRequest, MembersResponse, MembersService,
};
pub use paging::{ItemStream, ListMetadata, ListOptions, ListResponse, PaginationMetadata};
pub use proxy_caches::{
    CreateProxyCacheResponse, ProxyCacheCredentialStatusRequest,
    ProxyCacheCredentialStatusResponse, ProxyCacheDetailedResponse, ProxyCacheRequest,
    ProxyCacheResponse, ProxyCacheStatusResponse, ProxyCachesResponse, ProxyCachesService,
    UpdateProxyCacheRequest, UpdateProxyCacheResponse,
};
pub use registries::{
    CreateRegistryResponse, RegistriesResponse, RegistriesService, RegistryRequest,
    RegistryResponse,
};
pub use repositories::{
    AmountRepositoryResponse, RepositoriesService, RepositoriesV1Response, RepositoryV1Response,
};
pub use scans::{
    ChildImageScanResponse, ImageScanResponse, ImageScanScheduleResponse, ImageScansResponse,
    ScanStatus, ScansService, SeverityResponse, VulnerabilitiesResponse,
    VulnerabilityCvssMaxResponse, VulnerabilityCvssResponse, VulnerabilityCvssSourceResponse,
    VulnerabilityFilter, VulnerabilityResponse, VulnerabilitySeverity,
};
pub use users::{UserResponse, UsersService};
pub use validate::MAX_NAME_LEN;

/// Re-exported: secrets (API keys, tokens, passwords) are this type.
pub use registry_core::Secret;
