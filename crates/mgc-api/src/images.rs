//! Images of a repository (`/v1/registries/{registry_id}/repositories/{repository_id}/images`),
//! the repository given by UUID, or by name like the Go SDK (the
//! `*_by_repository_name` methods: one exact-match look-up, then the UUID
//! operation).

use chrono::{DateTime, Utc};
use http::Method;
use serde::{Deserialize, Serialize};

pub use crate::client::ImagesService;
use crate::error::Error;
use crate::ids::{RegistryId, RepositoryId};
use crate::paging::{Accepts, ItemStream, ListOptions, ListResponse, walk};
use crate::repositories::repository_path;
use crate::request::Call;
use crate::{serde_util, validate};

/// `expand` value: include `tags_details`.
pub const EXPAND_TAGS_DETAILS: &str = "tags_details";
/// `expand` value: include `extra_attr`.
pub const EXPAND_EXTRA_ATTR: &str = "extra_attr";
/// `expand` value: include `manifest_media_type`.
pub const EXPAND_MANIFEST_MEDIA_TYPE: &str = "manifest_media_type";
/// `expand` value: include `media_type`.
pub const EXPAND_MEDIA_TYPE: &str = "media_type";
/// Every `expand` value the spec lists.
pub const EXPAND_ALL: [&str; 4] = [
    EXPAND_TAGS_DETAILS,
    EXPAND_EXTRA_ATTR,
    EXPAND_MANIFEST_MEDIA_TYPE,
    EXPAND_MEDIA_TYPE,
];

/// `ImageTagResponse`: details of one tag of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageTagResponse {
    /// Tag name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the tag was pushed.
    #[serde(
        default,
        deserialize_with = "serde_util::opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub pushed_at: Option<DateTime<Utc>>,
    /// When the tag was last pulled.
    #[serde(
        default,
        deserialize_with = "serde_util::opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub pulled_at: Option<DateTime<Utc>>,
    /// Whether the image is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
}

/// `ImageResponse`: an image of a repository. The `expand`-only fields are
/// `None` unless asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResponse {
    /// The image digest, e.g. `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// When it was pushed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub pushed_at: DateTime<Utc>,
    /// When it was last pulled. Required by the spec; `null` or `""` (never
    /// pulled) read as `None`.
    #[serde(deserialize_with = "serde_util::opt_timestamp")]
    pub pulled_at: Option<DateTime<Utc>>,
    /// The manifest media type (with `expand=manifest_media_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_media_type: Option<String>,
    /// The config media type (with `expand=media_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Tags of the image.
    pub tags: Vec<String>,
    /// Per-tag details (with `expand=tags_details`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_details: Option<Vec<ImageTagResponse>>,
    /// Extra attributes, a JSON object (with `expand=extra_attr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_attr: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `ImagesResponse`: one page of images.
pub type ImagesResponse = ListResponse<ImageResponse>;

/// Checks the digest or tag and builds `.../images/{digest_or_tag}`.
pub(crate) fn image_path(
    op: &'static str,
    registry_id: &RegistryId,
    repository_id: &RepositoryId,
    digest_or_tag: &str,
) -> Result<String, Error> {
    let repo = repository_path(registry_id, repository_id);
    validate::digest_or_tag(op, digest_or_tag)?;
    let image = validate::segment(digest_or_tag);
    Ok(format!("{repo}/images/{image}"))
}

impl ImagesService {
    /// `getImagesV1`: one page of the repository's images. Takes `limit`,
    /// `offset`, `sort` (default `pushed_at:desc`), `name` and `expand`
    /// (sent as repeated `expand=` parameters; see [`EXPAND_ALL`]).
    pub async fn list(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        options: ListOptions,
    ) -> Result<ImagesResponse, Error> {
        const OP: &str = "getImagesV1";
        let path = format!("{}/images", repository_path(registry_id, repository_id));
        let q = options.query(OP, Accepts::NameExpand)?;
        let call = Call::new(OP, Method::GET, path).query(q);
        self.client.json(call).await
    }

    /// Every image of the repository, page after page, as a stream.
    pub fn list_stream(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        options: ListOptions,
    ) -> ItemStream<ImageResponse> {
        let ctx = (self.clone(), registry_id.clone(), repository_id.clone());
        let fetch = |(this, reg, repo): (Self, RegistryId, RepositoryId), o| async move {
            this.list(&reg, &repo, o).await
        };
        walk("getImagesV1", options, ctx, fetch)
    }

    /// `getImageV1`: the image with this digest or tag.
    pub async fn get(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        digest_or_tag: &str,
    ) -> Result<ImageResponse, Error> {
        const OP: &str = "getImageV1";
        let path = image_path(OP, registry_id, repository_id, digest_or_tag)?;
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `deleteImageV1`: deletes the image with this digest or tag.
    pub async fn delete(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
        digest_or_tag: &str,
    ) -> Result<(), Error> {
        const OP: &str = "deleteImageV1";
        let path = image_path(OP, registry_id, repository_id, digest_or_tag)?;
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }

    /// The id of the repository named `repository_name`, resolved once.
    async fn repository_id(
        &self,
        registry_id: &RegistryId,
        repository_name: &str,
    ) -> Result<RepositoryId, Error> {
        self.client
            .repositories()
            .id_by_name(registry_id, repository_name)
            .await
    }

    /// [`list`](Self::list) in the repository named exactly
    /// `repository_name`: the Go SDK's `Images.List(registryID,
    /// repositoryName, opts)`. The name is resolved once
    /// ([`get_by_name`](crate::RepositoriesService::get_by_name): not found and ambiguous names
    /// are errors), then `getImagesV1` is called with its id.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// use mgc_api::ListOptions;
    /// let page = mgc
    ///     .images()
    ///     .list_by_repository_name(&registry, "team/app", ListOptions::new().limit(10))
    ///     .await?;
    /// for image in page.results {
    ///     println!("{} {:?}", image.digest, image.tags);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_by_repository_name(
        &self,
        registry_id: &RegistryId,
        repository_name: &str,
        options: ListOptions,
    ) -> Result<ImagesResponse, Error> {
        // Refuse bad options before the look-up is sent.
        options.query("getImagesV1", Accepts::NameExpand)?;
        let id = self.repository_id(registry_id, repository_name).await?;
        self.list(registry_id, &id, options).await
    }

    /// [`get`](Self::get) in the repository named exactly
    /// `repository_name`: the Go SDK's `Images.Get(registryID,
    /// repositoryName, digestOrTag)`. The digest or tag is checked before
    /// anything is sent; the name is resolved once, then `getImageV1` is
    /// called with the repository's id.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// let image = mgc.images().get_by_repository_name(&registry, "team/app", "latest").await?;
    /// println!("{}", image.digest);
    /// # Ok(()) }
    /// ```
    pub async fn get_by_repository_name(
        &self,
        registry_id: &RegistryId,
        repository_name: &str,
        digest_or_tag: &str,
    ) -> Result<ImageResponse, Error> {
        validate::digest_or_tag("getImageV1", digest_or_tag)?;
        let id = self.repository_id(registry_id, repository_name).await?;
        self.get(registry_id, &id, digest_or_tag).await
    }

    /// [`delete`](Self::delete) in the repository named exactly
    /// `repository_name`: the Go SDK's `Images.Delete(registryID,
    /// repositoryName, digestOrTag)`. The digest or tag is checked before
    /// anything is sent; the name is resolved once, then `deleteImageV1` is
    /// called with the repository's id.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// mgc.images().delete_by_repository_name(&registry, "team/app", "old").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_by_repository_name(
        &self,
        registry_id: &RegistryId,
        repository_name: &str,
        digest_or_tag: &str,
    ) -> Result<(), Error> {
        validate::digest_or_tag("deleteImageV1", digest_or_tag)?;
        let id = self.repository_id(registry_id, repository_name).await?;
        self.delete(registry_id, &id, digest_or_tag).await
    }
}
