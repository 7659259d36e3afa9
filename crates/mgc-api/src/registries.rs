//! Container registries (`/v0/registries`).

use chrono::{DateTime, Utc};
use http::Method;
use serde::{Deserialize, Serialize};

pub use crate::client::RegistriesService;
use crate::error::Error;
use crate::ids::{ProxyCacheId, RegistryId};
use crate::paging::{Accepts, ItemStream, ListOptions, ListResponse, walk};
use crate::request::Call;
use crate::{serde_util, validate};

/// `RegistryRequest`: what [`RegistriesService::create`] sends.
///
/// ```
/// let req = mgc_api::RegistryRequest::new("coolregistry")
///     .proxy_cache_id("ef376048-a0f7-446c-826b-1d5cb3e5a5b0".parse()?);
/// assert_eq!(
///     serde_json::to_value(&req).unwrap(),
///     serde_json::json!({"name": "coolregistry", "proxy_cache_id": "ef376048-a0f7-446c-826b-1d5cb3e5a5b0"})
/// );
/// # Ok::<(), mgc_api::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryRequest {
    /// Globally unique name: lowercase letters and digits, at most 63.
    pub name: String,
    /// UUID of a proxy cache to front (omitted when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_cache_id: Option<ProxyCacheId>,
}

impl RegistryRequest {
    /// A registry named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RegistryRequest {
            name: name.into(),
            proxy_cache_id: None,
        }
    }
}

registry_core::setters!(RegistryRequest {
    /// Makes the registry a proxy for this proxy cache.
    proxy_cache_id: ProxyCacheId,
});

/// `CreateRegistryResponse`: the registry just created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRegistryResponse {
    /// The registry's UUID.
    pub id: RegistryId,
    /// The registry's name.
    pub name: String,
    /// The proxy cache UUID, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_cache_id: Option<ProxyCacheId>,
}

/// `RegistryResponse`: a container registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryResponse {
    /// The registry's UUID.
    pub id: RegistryId,
    /// The registry's name.
    pub name: String,
    /// Storage used, in bytes.
    pub storage_usage_bytes: u64,
    /// When it was created.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// The assigned proxy cache's UUID, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_cache_id: Option<ProxyCacheId>,
}

/// `RegistriesResponse`: one page of registries.
pub type RegistriesResponse = ListResponse<RegistryResponse>;

impl RegistriesService {
    /// `createRegistry`: `POST /v0/registries`. The name is checked first
    /// (lowercase letters and digits, at most 63). Not retried.
    pub async fn create(&self, request: RegistryRequest) -> Result<CreateRegistryResponse, Error> {
        const OP: &str = "createRegistry";
        validate::resource_name(OP, "registry name", &request.name)?;
        let call = Call::new(OP, Method::POST, "/v0/registries".into()).json(&request)?;
        self.client.json(call).await
    }

    /// `getRegistries`: `GET /v0/registries`, one page. Takes `limit`,
    /// `offset`, `sort` (default `created_at:asc`) and `name`.
    pub async fn list(&self, options: ListOptions) -> Result<RegistriesResponse, Error> {
        const OP: &str = "getRegistries";
        let q = options.query(OP, Accepts::Name)?;
        let call = Call::new(OP, Method::GET, "/v0/registries".into()).query(q);
        self.client.json(call).await
    }

    /// Every registry, page after page from `options.offset`, as a stream.
    pub fn list_stream(&self, options: ListOptions) -> ItemStream<RegistryResponse> {
        let fetch = |this: Self, o| async move { this.list(o).await };
        walk("getRegistries", options, self.clone(), fetch)
    }

    /// `getRegistry`: `GET /v0/registries/{registry_id}`.
    pub async fn get(&self, registry_id: &RegistryId) -> Result<RegistryResponse, Error> {
        const OP: &str = "getRegistry";
        let path = format!("/v0/registries/{}", registry_id.segment());
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `deleteRegistry`: `DELETE /v0/registries/{registry_id}`.
    pub async fn delete(&self, registry_id: &RegistryId) -> Result<(), Error> {
        const OP: &str = "deleteRegistry";
        let path = format!("/v0/registries/{}", registry_id.segment());
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }
}
