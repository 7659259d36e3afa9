//! `delete_tag`: the OCI tag `DELETE`, with a safe fallback for registries
//! that refuse it (distribution 2.8 answers `400 DIGEST_INVALID`).

use futures_util::{StreamExt, TryStreamExt};
use http::{Method, StatusCode};
use registry_core::{Body, Digest, Error, ErrorKind};

use crate::client::Client;
use crate::descriptor;
use crate::reference::{IntoTag, Tag, TagOrDigest};

/// What [`Client::delete_tag`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagDeletion {
    /// The registry deleted the tag; the manifest is untouched.
    TagDeleted,
    /// The registry does not delete tags; the manifest had no other tag and
    /// no index referring to it, so it was deleted by digest, and the tag
    /// with it.
    ManifestDeleted {
        /// The digest of the deleted manifest.
        digest: Digest,
    },
}

impl Client {
    /// Deletes a tag. A tag that does not exist is an error of kind
    /// [`ErrorKind::NotFound`].
    ///
    /// When the registry refuses tag deletion (`400`, `405`, or
    /// "unsupported"), the manifest is deleted by digest instead, but only
    /// if no other tag points to it and no tagged index lists it; otherwise
    /// nothing is deleted and the error (kind [`ErrorKind::Conflict`]) says
    /// which tags hold it. The check lists all tags and resolves each, so
    /// it costs one request per tag.
    ///
    /// A digest given as `tag` is an error of kind
    /// [`ErrorKind::InvalidInput`]: delete a manifest with
    /// [`Client::delete_manifest`].
    pub async fn delete_tag(&self, tag: impl IntoTag) -> Result<TagDeletion, Error> {
        let tag = tag.into_tag()?;
        let what = format!("DELETE tag {}:{tag}", self.registry());
        let url = self.repo_url(&format!("manifests/{tag}"))?;
        let req = self.request(Method::DELETE, &url, Body::empty())?;
        let refusal = match self
            .send_expect(
                req,
                &[StatusCode::ACCEPTED, StatusCode::OK, StatusCode::NO_CONTENT],
                &what,
            )
            .await
        {
            Ok(_) => return Ok(TagDeletion::TagDeleted),
            Err(e)
                if matches!(e.status().map(|s| s.as_u16()), Some(400 | 405 | 501))
                    || e.kind() == ErrorKind::Unsupported =>
            {
                e
            }
            Err(e) => return Err(e),
        };
        tracing::info!(error = %refusal, "registry refused the tag DELETE; checking whether the manifest can be deleted by digest");
        let target = TagOrDigest::Tag(tag.clone());
        let digest = self.get_digest(&target).await?;
        let holders = self.other_holders(&tag, &digest).await?;
        if !holders.is_empty() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "cannot delete tag {tag} of {}: the registry does not support deleting tags ({}), \
                     and deleting manifest {digest} by digest would also remove {}; nothing was deleted",
                    self.registry(),
                    refusal.message(),
                    holders.join(", ")
                ),
            ));
        }
        let now = self.get_digest(&target).await?;
        if now != digest {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "cannot delete tag {tag} of {}: it moved from {digest} to {now} during the check; nothing was deleted",
                    self.registry()
                ),
            ));
        }
        self.delete_manifest(&digest).await.map_err(|e| {
            e.context(format!(
                "the registry does not support deleting tags, and deleting manifest {digest} (tag {tag}) failed"
            ))
        })?;
        Ok(TagDeletion::ManifestDeleted { digest })
    }

    /// Other tags pointing to `digest`, and tagged indexes listing it.
    async fn other_holders(&self, tag: &Tag, digest: &Digest) -> Result<Vec<String>, Error> {
        let tags = self.list_tags().await?;
        let others: Vec<String> = tags.into_iter().filter(|t| tag != t.as_str()).collect();
        let jobs = self.options().jobs.max(1) * 2;
        let mut holders: Vec<String> = futures_util::stream::iter(others)
            .map(|t| async move {
                // A tag as the registry lists it: parsed, as the registry's
                // word is checked everywhere.
                let desc = match self.resolve(t.as_str()).await {
                    Ok(d) => d,
                    // Deleted meanwhile: not a holder.
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                if desc.digest() == digest {
                    return Ok(Some(format!("tag {t}")));
                }
                if crate::media_type::is_index(desc.media_type()) {
                    let index = self.fetch_checked_manifest(&desc).await?;
                    if index
                        .manifests()
                        .iter()
                        .any(|m| descriptor::same_digest(m.digest(), digest))
                    {
                        return Ok(Some(format!("index tagged {t} (which lists it)")));
                    }
                }
                Ok::<_, Error>(None)
            })
            .buffer_unordered(jobs)
            .try_filter_map(|x| futures_util::future::ready(Ok(x)))
            .try_collect()
            .await?;
        holders.sort();
        Ok(holders)
    }
}
