//! Repositories of a registry, addressed by UUID
//! (`/v1/registries/{registry_id}/repositories`), or by name like the Go
//! SDK ([`RepositoriesService::get_by_name`], `id_by_name`,
//! `delete_by_name`: one exact-match look-up, then the UUID operation).

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use http::Method;
use serde::{Deserialize, Serialize};

pub use crate::client::RepositoriesService;
use crate::error::{Error, ErrorKind};
use crate::ids::{RegistryId, RepositoryId};
use crate::paging::{
    Accepts, ItemStream, ListMetadata, ListOptions, Paginated, PaginationMetadata, walk,
};
use crate::request::Call;
use crate::{serde_util, validate};

/// `AmountRepositoryResponse`: the user's repository count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountRepositoryResponse {
    /// Total number of repositories of the user, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// `RepositoryV1Response`: a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryV1Response {
    /// The repository's UUID.
    pub id: RepositoryId,
    /// Name of its registry.
    pub registry_name: String,
    /// The repository's name, e.g. `alpine`.
    pub name: String,
    /// Number of images in it.
    pub image_count: u64,
    /// When it was created.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// `RepositoriesV1Response`: one page of repositories, with the optional
/// `goal.total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoriesV1Response {
    /// The user's repository count, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<AmountRepositoryResponse>,
    /// The repositories of this page.
    pub results: Vec<RepositoryV1Response>,
    /// Pagination metadata.
    pub meta: ListMetadata,
}

impl Paginated for RepositoriesV1Response {
    type Item = RepositoryV1Response;
    fn page(&self) -> PaginationMetadata {
        self.meta.page
    }
    fn into_results(self) -> Vec<RepositoryV1Response> {
        self.results
    }
}

fn repositories_path(registry_id: &RegistryId) -> String {
    format!("/v1/registries/{}/repositories", registry_id.segment())
}

impl RepositoriesService {
    /// `getRepositoriesV1`: `GET /v1/registries/{registry_id}/repositories`,
    /// one page. Takes `limit`, `offset`, `sort` (default `created_at:desc`)
    /// and `name` (a filter the API may match loosely; see
    /// [`get_by_name`](Self::get_by_name) for an exact look-up).
    pub async fn list(
        &self,
        registry_id: &RegistryId,
        options: ListOptions,
    ) -> Result<RepositoriesV1Response, Error> {
        const OP: &str = "getRepositoriesV1";
        let q = options.query(OP, Accepts::Name)?;
        let call = Call::new(OP, Method::GET, repositories_path(registry_id)).query(q);
        self.client.json(call).await
    }

    /// Every repository of the registry, page after page, as a stream.
    pub fn list_stream(
        &self,
        registry_id: &RegistryId,
        options: ListOptions,
    ) -> ItemStream<RepositoryV1Response> {
        let ctx = (self.clone(), registry_id.clone());
        let fetch = |(this, reg): (Self, RegistryId), o| async move { this.list(&reg, o).await };
        walk("getRepositoriesV1", options, ctx, fetch)
    }

    /// `getRepositoryV1`: `GET /v1/registries/{registry_id}/repositories/{repository_id}`.
    pub async fn get(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
    ) -> Result<RepositoryV1Response, Error> {
        const OP: &str = "getRepositoryV1";
        let path = repository_path(registry_id, repository_id);
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `deleteRepositoryV1`: `DELETE /v1/registries/{registry_id}/repositories/{repository_id}`.
    pub async fn delete(
        &self,
        registry_id: &RegistryId,
        repository_id: &RepositoryId,
    ) -> Result<(), Error> {
        const OP: &str = "deleteRepositoryV1";
        let path = repository_path(registry_id, repository_id);
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }

    /// The repository named exactly `name` (e.g. `team/app`): the Go SDK's
    /// `Repositories.Get(registryID, repositoryName)`.
    ///
    /// One look-up with the `name` filter of `getRepositoriesV1`, walking
    /// its pages (the API may match the filter as a prefix or substring, or
    /// ignore it), keeping only the exact match. No repository of that name
    /// is an [`ErrorKind::NotFound`] error; more than one (a server that
    /// does not keep names unique) is an [`ErrorKind::Conflict`] error
    /// listing their ids, rather than a guess. The name-based operations of
    /// this service and of [`ImagesService`](crate::ImagesService) resolve
    /// names here, once, then call the UUID operation.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// let repo = mgc.repositories().get_by_name(&registry, "team/app").await?;
    /// println!("{} has {} images", repo.id, repo.image_count);
    /// # Ok(()) }
    /// ```
    pub async fn get_by_name(
        &self,
        registry_id: &RegistryId,
        name: &str,
    ) -> Result<RepositoryV1Response, Error> {
        const OP: &str = "getRepositoriesV1";
        validate::non_empty(OP, "repository name", name)?;
        let mut found: Vec<RepositoryV1Response> = self
            .list_stream(registry_id, ListOptions::new().name(name))
            .try_filter(|repo| std::future::ready(repo.name == name))
            .try_collect()
            .await?;
        match found.len() {
            0 => Err(Error::new(
                ErrorKind::NotFound,
                format!("no repository named {name:?} in registry {registry_id}"),
            )
            .with_operation(OP)),
            1 => Ok(found.remove(0)),
            n => {
                let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
                Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "{n} repositories are named {name:?} in registry {registry_id} ({}); \
                         address the repository by its id instead",
                        ids.join(", ")
                    ),
                )
                .with_operation(OP))
            }
        }
    }

    /// The id of the repository named exactly `name`; see
    /// [`get_by_name`](Self::get_by_name) for how it is found and the errors.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// let id = mgc.repositories().id_by_name(&registry, "team/app").await?;
    /// mgc.scans().schedule(&registry, &id, "latest").await?;
    /// # Ok(()) }
    /// ```
    pub async fn id_by_name(
        &self,
        registry_id: &RegistryId,
        name: &str,
    ) -> Result<RepositoryId, Error> {
        Ok(self.get_by_name(registry_id, name).await?.id)
    }

    /// Deletes the repository named exactly `name` with all its images: the
    /// Go SDK's `Repositories.Delete(registryID, repositoryName)`. The name
    /// is resolved once ([`get_by_name`](Self::get_by_name)), then
    /// `deleteRepositoryV1` is called with its id.
    ///
    /// ```no_run
    /// # async fn run(mgc: mgc_api::MgcClient, registry: mgc_api::RegistryId) -> Result<(), mgc_api::Error> {
    /// mgc.repositories().delete_by_name(&registry, "team/old-app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_by_name(&self, registry_id: &RegistryId, name: &str) -> Result<(), Error> {
        let id = self.id_by_name(registry_id, name).await?;
        self.delete(registry_id, &id).await
    }
}

/// `/v1/registries/{r}/repositories/{id}`.
pub(crate) fn repository_path(registry_id: &RegistryId, repository_id: &RepositoryId) -> String {
    format!(
        "{}/{}",
        repositories_path(registry_id),
        repository_id.segment()
    )
}
