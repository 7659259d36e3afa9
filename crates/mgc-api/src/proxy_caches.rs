//! Proxy caches (`/v0/proxy-caches`).

use chrono::{DateTime, Utc};
use http::Method;
use registry_core::Secret;
use serde::{Deserialize, Serialize};

pub use crate::client::ProxyCachesService;
use crate::error::Error;
use crate::ids::ProxyCacheId;
use crate::paging::{Accepts, ItemStream, ListOptions, ListResponse, walk};
use crate::request::Call;
use crate::{serde_util, validate};

/// `ProxyCacheRequest`: what [`ProxyCachesService::create`] sends. Unset
/// optional fields are omitted.
///
/// ```
/// let req = mgc_api::ProxyCacheRequest::new("dockerhub", "docker-hub", "https://hub.docker.com")
///     .access_key("me")
///     .access_secret("s3cret");
/// assert!(!format!("{req:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyCacheRequest {
    /// Unique per tenant: lowercase letters and digits, at most 63.
    pub name: String,
    /// Provider identifier, e.g. `docker-hub`.
    pub provider: String,
    /// Endpoint URL of the proxied registry.
    pub url: String,
    /// Provider access id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Provider access secret.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_util::opt_secret"
    )]
    pub access_secret: Option<Secret>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ProxyCacheRequest {
    /// A proxy cache `name` for `provider` at `url`.
    pub fn new(
        name: impl Into<String>,
        provider: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        ProxyCacheRequest {
            name: name.into(),
            provider: provider.into(),
            url: url.into(),
            access_key: None,
            access_secret: None,
            description: None,
        }
    }
}

registry_core::setters!(ProxyCacheRequest {
    access_key: impl Into<String>,
    access_secret: impl Into<Secret>,
    description: impl Into<String>,
});

/// `UpdateProxyCacheRequest`: the fields [`ProxyCachesService::update`]
/// changes. Only the fields set are sent; unset ones are omitted (not `null`).
///
/// ```
/// let req = mgc_api::UpdateProxyCacheRequest::new().description("mirror");
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"description":"mirror"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateProxyCacheRequest {
    /// New name: lowercase letters and digits, at most 63.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New endpoint URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New provider access id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// New provider access secret.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serde_util::opt_secret"
    )]
    pub access_secret: Option<Secret>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl UpdateProxyCacheRequest {
    /// Changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

registry_core::setters!(UpdateProxyCacheRequest {
    name: impl Into<String>,
    url: impl Into<String>,
    access_key: impl Into<String>,
    access_secret: impl Into<Secret>,
    description: impl Into<String>,
});

/// `ProxyCacheCredentialStatusRequest`: credentials to test with
/// [`ProxyCachesService::check_credentials`]. `credential_type` is required by
/// the spec; it defaults to `basic`, the spec's example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyCacheCredentialStatusRequest {
    /// Type of the remote registry, e.g. `docker-hub`.
    pub provider: String,
    /// Endpoint URL of the remote registry.
    pub url: String,
    /// Kind of credential, e.g. `basic`.
    pub credential_type: String,
    /// Access key or username.
    pub access_key: String,
    /// Secret or password.
    #[serde(with = "serde_util::secret")]
    pub access_secret: Secret,
}

impl ProxyCacheCredentialStatusRequest {
    /// `basic` credentials for `provider` at `url`.
    pub fn new(
        provider: impl Into<String>,
        url: impl Into<String>,
        access_key: impl Into<String>,
        access_secret: impl Into<Secret>,
    ) -> Self {
        ProxyCacheCredentialStatusRequest {
            provider: provider.into(),
            url: url.into(),
            credential_type: "basic".to_owned(),
            access_key: access_key.into(),
            access_secret: access_secret.into(),
        }
    }

    /// Sets `credential_type`.
    pub fn credential_type(mut self, kind: impl Into<String>) -> Self {
        self.credential_type = kind.into();
        self
    }
}

/// `CreateProxyCacheResponse`: the proxy cache just created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateProxyCacheResponse {
    /// Its UUID.
    pub id: ProxyCacheId,
    /// Its name.
    pub name: String,
}

/// `ProxyCacheResponse`: a proxy cache, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCacheResponse {
    /// Its UUID.
    pub id: ProxyCacheId,
    /// Its name.
    pub name: String,
    /// Provider of the proxied registry.
    pub provider: String,
    /// URL of the proxied registry.
    pub url: String,
    /// When it was created.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// Description (in the spec's example, not its properties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `ProxyCacheDetailedResponse`: one proxy cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCacheDetailedResponse {
    /// Its UUID.
    pub id: ProxyCacheId,
    /// Its name.
    pub name: String,
    /// Provider of the proxied registry.
    pub provider: String,
    /// URL of the proxied registry.
    pub url: String,
    /// When it was created.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
    /// Description.
    pub description: String,
}

/// `UpdateProxyCacheResponse`: the proxy cache after an update.
pub type UpdateProxyCacheResponse = ProxyCacheResponse;

/// `ProxyCachesResponse`: one page of proxy caches.
pub type ProxyCachesResponse = ListResponse<ProxyCacheResponse>;

/// `ProxyCacheStatusResponse`: connection status of a proxy cache, or the
/// result of a credential check (the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCacheStatusResponse {
    /// e.g. `connected`, `unreachable`; for credentials `valid`, `invalid`.
    pub status: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `ProxyCacheCredentialStatusResponse`: result of a credential check.
pub type ProxyCacheCredentialStatusResponse = ProxyCacheStatusResponse;

fn proxy_cache_path(id: &ProxyCacheId) -> String {
    format!("/v0/proxy-caches/{}", id.segment())
}

impl ProxyCachesService {
    /// `createProxyCache`: `POST /v0/proxy-caches`. Not retried.
    pub async fn create(
        &self,
        request: ProxyCacheRequest,
    ) -> Result<CreateProxyCacheResponse, Error> {
        const OP: &str = "createProxyCache";
        validate::resource_name(OP, "proxy cache name", &request.name)?;
        validate::non_empty(OP, "provider", &request.provider)?;
        validate::non_empty(OP, "url", &request.url)?;
        let call = Call::new(OP, Method::POST, "/v0/proxy-caches".into()).json(&request)?;
        self.client.json(call).await
    }

    /// `getProxyCaches`: one page. Takes `limit`, `offset` and `sort`
    /// (default `created_at:asc`); no `name` filter.
    pub async fn list(&self, options: ListOptions) -> Result<ProxyCachesResponse, Error> {
        const OP: &str = "getProxyCaches";
        let q = options.query(OP, Accepts::Paging)?;
        let call = Call::new(OP, Method::GET, "/v0/proxy-caches".into()).query(q);
        self.client.json(call).await
    }

    /// Every proxy cache, page after page, as a stream.
    pub fn list_stream(&self, options: ListOptions) -> ItemStream<ProxyCacheResponse> {
        let fetch = |this: Self, o| async move { this.list(o).await };
        walk("getProxyCaches", options, self.clone(), fetch)
    }

    /// `getProxyCache`: `GET /v0/proxy-caches/{proxy_cache_id}`.
    pub async fn get(
        &self,
        proxy_cache_id: &ProxyCacheId,
    ) -> Result<ProxyCacheDetailedResponse, Error> {
        const OP: &str = "getProxyCache";
        let path = proxy_cache_path(proxy_cache_id);
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `updateProxyCache`: `PATCH /v0/proxy-caches/{proxy_cache_id}` with only
    /// the fields set. At least one must be. Not retried.
    pub async fn update(
        &self,
        proxy_cache_id: &ProxyCacheId,
        request: UpdateProxyCacheRequest,
    ) -> Result<UpdateProxyCacheResponse, Error> {
        const OP: &str = "updateProxyCache";
        let path = proxy_cache_path(proxy_cache_id);
        if request.is_empty() {
            return Err(Error::invalid_input(
                OP,
                "nothing to update: no field is set",
            ));
        }
        if let Some(name) = &request.name {
            validate::resource_name(OP, "proxy cache name", name)?;
        }
        if let Some(url) = &request.url {
            validate::non_empty(OP, "url", url)?;
        }
        let call = Call::new(OP, Method::PATCH, path).json(&request)?;
        self.client.json(call).await
    }

    /// `deleteProxyCache`: `DELETE /v0/proxy-caches/{proxy_cache_id}`.
    pub async fn delete(&self, proxy_cache_id: &ProxyCacheId) -> Result<(), Error> {
        const OP: &str = "deleteProxyCache";
        let path = proxy_cache_path(proxy_cache_id);
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }

    /// `getProxyCacheStatus`: `GET /v0/proxy-caches/{proxy_cache_id}/status`,
    /// whether the configured proxy cache can reach its registry.
    pub async fn status(
        &self,
        proxy_cache_id: &ProxyCacheId,
    ) -> Result<ProxyCacheStatusResponse, Error> {
        const OP: &str = "getProxyCacheStatus";
        let path = format!("{}/status", proxy_cache_path(proxy_cache_id));
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `checkProxyCacheCredentialStatus`: `POST /v0/proxy-caches/status`,
    /// tests credentials against a remote registry without storing anything.
    pub async fn check_credentials(
        &self,
        request: ProxyCacheCredentialStatusRequest,
    ) -> Result<ProxyCacheCredentialStatusResponse, Error> {
        const OP: &str = "checkProxyCacheCredentialStatus";
        validate::non_empty(OP, "provider", &request.provider)?;
        validate::non_empty(OP, "url", &request.url)?;
        validate::non_empty(OP, "credential_type", &request.credential_type)?;
        let call = Call::new(OP, Method::POST, "/v0/proxy-caches/status".into()).json(&request)?;
        self.client.json(call).await
    }
}
