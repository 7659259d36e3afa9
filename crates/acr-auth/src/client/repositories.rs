//! [`AcrClient`]: repository operations.

use futures_util::stream::BoxStream;
use http::Method;
use registry_core::Error;

use super::AcrClient;
use super::request::{parse_json, repo_path, scope};
use crate::models::{ContainerRepositoryProperties, DeletedRepository, WriteableProperties};
use crate::paging::{ListRepositoriesOptions, Page};

impl AcrClient {
    /// The first page of repository names (`GET /acr/v1/_catalog`).
    pub async fn list_repositories_page(
        &self,
        options: &ListRepositoriesOptions,
    ) -> Result<Page<String>, Error> {
        let url = self.url(&["_catalog"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every repository name, following `Link` to the last page.
    pub fn list_repositories(
        &self,
        options: ListRepositoriesOptions,
    ) -> BoxStream<'static, Result<String, Error>> {
        self.items(self.url(&["_catalog"], &options.query()))
    }

    /// A repository's properties (`GET /acr/v1/{name}`).
    pub async fn repository_properties(
        &self,
        name: &str,
    ) -> Result<ContainerRepositoryProperties, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        let what = format!("repository {name}");
        self.properties(url, name, None, &what).await
    }

    /// Updates a repository's writeable properties (`PATCH /acr/v1/{name}`);
    /// only the fields set are sent.
    pub async fn update_repository_properties(
        &self,
        name: &str,
        properties: &WriteableProperties,
    ) -> Result<ContainerRepositoryProperties, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        let what = format!("repository {name}");
        self.properties(url, name, Some(properties), &what).await
    }

    /// Deletes a repository with all its tags and manifests
    /// (`DELETE /acr/v1/{name}`).
    pub async fn delete_repository(&self, name: &str) -> Result<DeletedRepository, Error> {
        let url = self.url(&[&repo_path(name)?], &[])?;
        let what = || format!("deleting repository {name}");
        let (_, body) = self
            .send(Method::DELETE, url, scope(name, "delete"), None, what)
            .await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(DeletedRepository::default());
        }
        parse_json(&body, what)
    }
}
