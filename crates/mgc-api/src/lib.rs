//! # mgc-api
//!
//! A client for the Magalu Cloud Container Registry management API: every
//! operation of the service's OpenAPI spec, on the `registry-core`
//! transport (retries with `Retry-After`, timeouts, TLS, redacted logs).
//!
//! | service | operations |
//! |---|---|
//! | [`MgcClient::credentials`] | `get`, `reset_password` |
//! | [`MgcClient::registries`] | `create`, `list`, `list_stream`, `get`, `delete` |
//! | [`MgcClient::repositories`] | `list`, `list_stream`, `get`, `delete`; by name: `get_by_name`, `id_by_name`, `delete_by_name` |
//! | [`MgcClient::images`] | `list`, `list_stream`, `get`, `delete`; by repository name: `list_by_repository_name`, `get_by_repository_name`, `delete_by_repository_name` |
//! | [`MgcClient::proxy_caches`] | `create`, `list`, `list_stream`, `get`, `update`, `delete`, `status`, `check_credentials` |
//! | [`MgcClient::members`] | `add`, `list`, `list_stream`, `get`, `update`, `delete` |
//! | [`MgcClient::users`] | `create`, `get`, `delete` |
//! | [`MgcClient::scans`] | `schedule`, `list`, `list_stream`, `get`, `vulnerabilities`, `vulnerabilities_stream`, `stop` |
//!
//! - Base URL `https://api.magalu.cloud/{region}/container-registry` for
//!   [`Region`] `br-se1` (default), `br-ne1` or `br-mgl1` (URL segment
//!   `br-se-1`), or any base URL.
//! - Authentication: an API key (`X-API-Key`) or a JWT (`Authorization:
//!   Bearer`); both are [`Secret`]s, never shown in
//!   `Debug`, logs or errors.
//! - Every request carries `User-Agent: mgc-api/<version>` and a fresh UUIDv4
//!   `X-Request-ID` (or yours, see [`MgcClient::with_request_id`]); an
//!   [`Error`] reports it with the API's `X-Request-ID` and `X-Mgc-Trace-Id`.
//! - Idempotent calls (GET, DELETE) are retried on 429/5xx and transport
//!   errors; POST and PATCH are not.
//! - Ids are types: [`RegistryId`], [`RepositoryId`], [`ProxyCacheId`],
//!   [`MemberId`], [`UserId`] and [`ScanId`] (see [`ids`]). Every operation
//!   takes the one it names, so ids cannot be swapped; text becomes an id
//!   once, by parsing, which refuses anything but a UUID; the models the
//!   API returns carry their ids typed, ready to be passed back.
//! - Other inputs are checked before sending (names, `_sort`, `_limit`,
//!   digests and tags); path segments are percent-encoded.
//! - Every list has a `*_stream` walking all pages by offset.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use mgc_api::{ListOptions, MgcClient, RegistryRequest, RepositoryId};
//!
//! # async fn run() -> Result<(), mgc_api::Error> {
//! // MGC_API_KEY or MGC_TOKEN, MGC_REGION, MGC_API_URL
//! let mgc = MgcClient::from_env()?;
//! let created = mgc.registries().create(RegistryRequest::new("myregistry")).await?;
//! // `created.id` is a `RegistryId`: it fits where a registry id goes, and only there.
//!
//! // One page...
//! let page = mgc.repositories().list(&created.id, ListOptions::new().limit(50)).await?;
//! println!("{} repositories", page.meta.page.total);
//!
//! // ...or all of them. An id from elsewhere is parsed once (a malformed
//! // one is an `ErrorKind::InvalidInput` error, and nothing is sent).
//! let repository: RepositoryId = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0".parse()?;
//! let all: Vec<_> = mgc
//!     .images()
//!     .list_stream(&created.id, &repository, ListOptions::new().expand("tags_details"))
//!     .try_collect()
//!     .await?;
//!
//! // Users think in names:
//! let repo = mgc.repositories().get_by_name(&created.id, "team/app").await?;
//! mgc.images().delete(&created.id, &repo.id, "latest").await?;
//! # drop(all);
//! # Ok(()) }
//! ```

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
