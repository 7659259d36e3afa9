//! `delete_tag`: the OCI tag `DELETE`, with safe fallbacks for registries
//! that refuse it (distribution 2.8 answers `400 DIGEST_INVALID`): the
//! manifest by digest when nothing else holds it, else a placeholder
//! manifest pushed under the tag and deleted by digest (regclient's way).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use registry_core::{Digest, Error, ErrorKind};

use crate::client::Client;
use crate::descriptor;
use crate::image::{ImageBuilder, NewImage};
use crate::manifest::Manifest;
use crate::media_type::OCI_EMPTY;
use crate::reference::{IntoTag, Tag, TagOrDigest};

/// The annotation that makes each placeholder manifest unique.
pub const PLACEHOLDER_ANNOTATION: &str = "dev.crctl.delete-tag.placeholder";

/// What [`Client::delete_tag`] did.
///
/// ```no_run
/// # async fn run(app: oci_dist::Client) -> Result<(), oci_dist::Error> {
/// use oci_dist::TagDeletion;
/// match app.delete_tag("v1").await? {
///     TagDeletion::TagDeleted => println!("the registry deleted the tag"),
///     TagDeletion::ManifestDeleted { digest } => println!("deleted {digest}, the tag's only holder"),
///     TagDeletion::PlaceholderDeleted { digest, placeholder } => {
///         println!("untagged {digest} (still tagged elsewhere) through placeholder {placeholder}")
///     }
/// }
/// # Ok(()) }
/// ```
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
    /// The registry does not delete tags and other tags (or a tagged index)
    /// hold the manifest, so the tag was pointed at a small placeholder
    /// manifest of its own (an OCI image manifest with the empty config
    /// `{}`, no layers and a unique [`PLACEHOLDER_ANNOTATION`]), and the
    /// placeholder was deleted by digest, taking the tag with it. The
    /// manifest, its blobs and every other tag are untouched.
    PlaceholderDeleted {
        /// The digest of the manifest the tag pointed to; it stays.
        digest: Digest,
        /// The digest of the deleted placeholder.
        placeholder: Digest,
    },
}

/// A fresh placeholder manifest for `tag`: the empty config, no layers,
/// and an annotation unique to this call (time, process, a counter and
/// per-process random keys), so no other manifest has its digest.
fn placeholder(tag: &Tag) -> Result<NewImage, Error> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let unique = format!(
        "{tag} {nanos} {} {} {random:016x}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    ImageBuilder::new()
        .config_bytes(OCI_EMPTY, Bytes::from_static(b"{}"))
        .annotation(PLACEHOLDER_ANNOTATION, unique)
        .build()
}

/// Whether an error is a registry refusing an operation it does not
/// support (`400`, `405`, `501`, or `UNSUPPORTED`).
fn is_refusal(e: &Error) -> bool {
    matches!(e.status().map(|s| s.as_u16()), Some(400 | 405 | 501))
        || e.kind() == ErrorKind::Unsupported
}

impl Client {
    /// Deletes a tag. A tag that does not exist is an error of kind
    /// [`ErrorKind::NotFound`].
    ///
    /// When the registry refuses tag deletion (`400`, `405`, or
    /// "unsupported"), it lists all tags and resolves each (one request per
    /// tag) to see what else holds the manifest:
    ///
    /// - nothing: the manifest is deleted by digest, and the tag with it
    ///   ([`TagDeletion::ManifestDeleted`]);
    /// - other tags, or a tagged index listing it: the tag is pointed at a
    ///   unique placeholder manifest (its empty config blob `{}` pushed
    ///   first), the tag is checked to still point at it, and the
    ///   placeholder is deleted by digest, so exactly that tag goes and the
    ///   manifest, its blobs and the other tags stay
    ///   ([`TagDeletion::PlaceholderDeleted`]). Whether the registry deletes
    ///   manifests at all is asked first, with a `DELETE` of the
    ///   placeholder's digest before it exists (`404`: it does); if it does
    ///   not (`405 UNSUPPORTED` when deletes are disabled), nothing is
    ///   changed and the error (kind [`ErrorKind::Conflict`]) says which
    ///   tags hold the manifest. If deleting the placeholder fails anyway,
    ///   the tag is put back on the manifest.
    ///
    /// A tag that moves while this runs is left alone (an error of kind
    /// [`ErrorKind::Conflict`]).
    ///
    /// A digest given as `tag` is an error of kind
    /// [`ErrorKind::InvalidInput`]: delete a manifest with
    /// [`Client::delete_manifest`].
    pub async fn delete_tag(&self, tag: impl IntoTag) -> Result<TagDeletion, Error> {
        let tag = tag.into_tag()?;
        let what = format!("DELETE tag {}:{tag}", self.registry());
        let url = self.repo_url(&format!("manifests/{tag}"))?;
        let refusal = match self.send_delete(&url, &what).await {
            Ok(_) => return Ok(TagDeletion::TagDeleted),
            Err(e) if is_refusal(&e) => e,
            Err(e) => return Err(e),
        };
        tracing::info!(error = %refusal, "registry refused the tag DELETE; checking whether the manifest can be deleted by digest");
        let target = TagOrDigest::Tag(tag.clone());
        let digest = self.get_digest(&target).await?;
        let holders = self.other_holders(&tag, &digest).await?;
        if !holders.is_empty() {
            return self
                .delete_tag_with_placeholder(&tag, &digest, &holders, &refusal)
                .await;
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

    /// The placeholder path of [`Client::delete_tag`]: `tag` points at
    /// `digest`, which `holders` also hold.
    async fn delete_tag_with_placeholder(
        &self,
        tag: &Tag,
        digest: &Digest,
        holders: &[String],
        refusal: &Error,
    ) -> Result<TagDeletion, Error> {
        let registry = self.registry();
        let refused = |why: String| {
            Error::new(
                ErrorKind::Conflict,
                format!(
                    "cannot delete tag {tag} of {registry}: the registry does not support deleting tags ({}), \
                     deleting manifest {digest} by digest would also remove {}, and {why}; nothing was deleted",
                    refusal.message(),
                    holders.join(", ")
                ),
            )
        };
        let image = placeholder(tag)?;
        let placeholder = image.digest().clone();
        // Does the registry delete manifests? Ask about one that is not there.
        match self.delete_manifest_only(&placeholder).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if is_refusal(&e) => {
                return Err(refused(format!(
                    "it refuses manifest deletes too ({})",
                    e.message()
                )));
            }
            Err(e) => return Err(e),
        }
        let original = self
            .get_manifest_target(&TagOrDigest::Digest(digest.clone()))
            .await?;
        self.push_blob_bytes(Bytes::from_static(b"{}")).await?;
        let target = TagOrDigest::Tag(tag.clone());
        let now = self.get_digest(&target).await?;
        if &now != digest {
            return Err(refused(format!("the tag moved to {now} meanwhile")));
        }
        tracing::info!(%tag, %digest, %placeholder, holders = %holders.join(", "), "untagging through a placeholder manifest");
        self.put_manifest_raw(&target, image.manifest()).await?;
        // Delete the placeholder only while the tag is still on it.
        match self.get_digest(&target).await {
            Ok(now) if now == placeholder => {}
            moved => {
                // The placeholder is unique and untagged now: drop it.
                let _ = self.delete_manifest_only(&placeholder).await;
                let now = moved.map_or_else(|e| format!("({e})"), |d| d.to_string());
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "cannot delete tag {tag} of {registry}: it was changed by someone else \
                         while being deleted (now {now}); it was left as it is"
                    ),
                ));
            }
        }
        if let Err(e) = self.delete_manifest_only(&placeholder).await {
            return Err(self.restore_tag(tag, &original, e).await);
        }
        Ok(TagDeletion::PlaceholderDeleted {
            digest: digest.clone(),
            placeholder,
        })
    }

    /// Points `tag` back at `original` after `failure`; the error to report.
    async fn restore_tag(&self, tag: &Tag, original: &Manifest, failure: Error) -> Error {
        let digest = original.digest();
        match self
            .put_manifest_raw(&TagOrDigest::Tag(tag.clone()), original)
            .await
        {
            Ok(_) => failure.context(format!(
                "deleting tag {tag} through a placeholder manifest failed; the tag points at {digest} again"
            )),
            Err(e) => failure.context(format!(
                "deleting tag {tag} through a placeholder manifest failed, and pointing it back at {digest} failed too ({e})"
            )),
        }
    }

    /// `DELETE /v2/<name>/manifests/<digest>`, nothing else (no referrers
    /// clean-up: that is [`Client::delete_manifest`]).
    pub(crate) async fn delete_manifest_only(&self, digest: &Digest) -> Result<(), Error> {
        let what = format!(
            "DELETE manifest {}",
            self.describe(&TagOrDigest::Digest(digest.clone()))
        );
        let url = self.repo_url(&format!("manifests/{digest}"))?;
        self.send_delete(&url, &what).await
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
