//! [`AcrClient`]: manifest operations.

use futures_util::stream::BoxStream;
use http::Method;
use registry_core::Error;

use super::AcrClient;
use super::request::{parse_digest, repo_path, scope};
use crate::models::{ArtifactManifestProperties, ManifestAttributes, WriteableProperties};
use crate::paging::{ListManifestsOptions, Page};

impl AcrClient {
    /// The first page of a repository's manifests
    /// (`GET /acr/v1/{name}/_manifests`).
    pub async fn list_manifests_page(
        &self,
        name: &str,
        options: &ListManifestsOptions,
    ) -> Result<Page<ManifestAttributes>, Error> {
        let url = self.url(&[&repo_path(name)?, "_manifests"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every manifest of a repository, following `Link` to the last page.
    pub fn list_manifests(
        &self,
        name: &str,
        options: ListManifestsOptions,
    ) -> BoxStream<'static, Result<ManifestAttributes, Error>> {
        let url = repo_path(name).and_then(|p| self.url(&[&p, "_manifests"], &options.query()));
        self.items(url)
    }

    /// A manifest's properties (`GET /acr/v1/{name}/_manifests/{digest}`).
    pub async fn manifest_properties(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<ArtifactManifestProperties, Error> {
        let d = parse_digest(digest)?;
        let url = self.url(&[&repo_path(name)?, "_manifests", &d.to_string()], &[])?;
        let what = format!("manifest {name}@{d}");
        self.properties(url, name, None, &what).await
    }

    /// Updates a manifest's writeable properties
    /// (`PATCH /acr/v1/{name}/_manifests/{digest}`); only the fields set are
    /// sent.
    pub async fn update_manifest_properties(
        &self,
        name: &str,
        digest: &str,
        properties: &WriteableProperties,
    ) -> Result<ArtifactManifestProperties, Error> {
        let d = parse_digest(digest)?;
        let url = self.url(&[&repo_path(name)?, "_manifests", &d.to_string()], &[])?;
        let what = format!("manifest {name}@{d}");
        self.properties(url, name, Some(properties), &what).await
    }

    /// Deletes a manifest by digest (`DELETE /v2/{name}/manifests/{digest}`).
    pub async fn delete_manifest(&self, name: &str, digest: &str) -> Result<(), Error> {
        let d = parse_digest(digest)?;
        let path = format!("/v2/{}/manifests/{d}", repo_path(name)?);
        let url = self.endpoint.join(&path).map_err(|e| {
            Error::invalid_input(format!("bad manifest path {path:?}")).with_source(e)
        })?;
        self.send(Method::DELETE, url, scope(name, "delete"), None, || {
            format!("deleting manifest {name}@{d}")
        })
        .await
        .map(drop)
    }
}
