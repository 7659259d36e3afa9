//! [`AcrClient`]: tag operations.

use futures_util::stream::BoxStream;
use http::Method;
use registry_core::Error;

use super::AcrClient;
use super::request::{repo_path, scope, segment};
use crate::models::{ArtifactTagProperties, TagAttributes, WriteableProperties};
use crate::paging::{ListTagsOptions, Page};

impl AcrClient {
    /// The first page of a repository's tags (`GET /acr/v1/{name}/_tags`).
    pub async fn list_tags_page(
        &self,
        name: &str,
        options: &ListTagsOptions,
    ) -> Result<Page<TagAttributes>, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags"], &options.query())?;
        self.fetch_page(url).await
    }

    /// Every tag of a repository, following `Link` to the last page.
    pub fn list_tags(
        &self,
        name: &str,
        options: ListTagsOptions,
    ) -> BoxStream<'static, Result<TagAttributes, Error>> {
        let url = repo_path(name).and_then(|p| self.url(&[&p, "_tags"], &options.query()));
        self.items(url)
    }

    /// A tag's properties (`GET /acr/v1/{name}/_tags/{tag}`).
    pub async fn tag_properties(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<ArtifactTagProperties, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        let what = format!("tag {name}:{tag}");
        self.properties(url, name, None, &what).await
    }

    /// Updates a tag's writeable properties
    /// (`PATCH /acr/v1/{name}/_tags/{tag}`); only the fields set are sent.
    pub async fn update_tag_properties(
        &self,
        name: &str,
        tag: &str,
        properties: &WriteableProperties,
    ) -> Result<ArtifactTagProperties, Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        let what = format!("tag {name}:{tag}");
        self.properties(url, name, Some(properties), &what).await
    }

    /// Deletes a tag, leaving its manifest
    /// (`DELETE /acr/v1/{name}/_tags/{tag}`).
    pub async fn delete_tag(&self, name: &str, tag: &str) -> Result<(), Error> {
        let url = self.url(&[&repo_path(name)?, "_tags", &segment(tag, "tag")?], &[])?;
        self.send(Method::DELETE, url, scope(name, "delete"), None, || {
            format!("deleting tag {name}:{tag}")
        })
        .await
        .map(drop)
    }
}
