//! OCI 1.1 referrers: `GET /v2/<name>/referrers/<digest>` with an
//! `artifactType` filter, and the tag-schema fallback (an index tagged
//! `<alg>-<hex>`) for registries without the API (distribution 2.8 answers
//! a plain-text `404`). Pushing or deleting a manifest with a `subject`
//! keeps the fallback index up to date (see [`Client::put_manifest`]).

use http::header::ACCEPT;
use http::{HeaderValue, Method, StatusCode};
use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};
use registry_core::{Body, Digest, Error, ErrorKind};

use crate::client::{Client, header_str};
use crate::descriptor;
use crate::manifest::{MAX_MANIFEST_SIZE, Manifest};
use crate::media_type::OCI_INDEX;
use crate::reference::{Tag, TagOrDigest};

/// The referrers of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrers {
    /// Descriptors of the referring manifests (with `artifactType` and
    /// annotations), filtered by artifact type when one was asked for.
    pub descriptors: Vec<Descriptor>,
    /// Whether they came from the tag-schema fallback rather than the API.
    pub fallback: bool,
}

/// The fallback tag of a subject: `<alg>-<hex>`, cut to 128 characters.
///
/// ```
/// let d = registry_core::Digest::sha256_of(b"x");
/// assert_eq!(oci_dist::referrers::fallback_tag(&d), format!("sha256-{}", d.hex()));
/// ```
pub fn fallback_tag(digest: &Digest) -> String {
    let mut t = format!("{}-{}", digest.algorithm().as_str(), digest.hex());
    t.truncate(crate::reference::MAX_TAG_LEN);
    t
}

/// [`fallback_tag`] as a target: a valid tag by construction.
fn fallback_target(digest: &Digest) -> TagOrDigest {
    TagOrDigest::Tag(Tag::from_valid(fallback_tag(digest)))
}

fn matches_type(d: &Descriptor, artifact_type: Option<&str>) -> bool {
    artifact_type.is_none_or(|t| d.artifact_type().as_ref().is_some_and(|a| a.as_ref() == t))
}

impl Client {
    /// The manifests that refer to `subject`, optionally only those of
    /// `artifact_type`. Uses the referrers API, or the tag-schema fallback
    /// when the registry has none.
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, Error> {
        let what = format!("GET referrers of {}@{subject}", self.registry());
        let mut url = self.repo_url(&format!("referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url.push_str("?artifactType=");
            url.push_str(&crate::paging::encode(t));
        }
        let mut req = self.request(Method::GET, &url, Body::empty())?;
        req.headers_mut()
            .insert(ACCEPT, HeaderValue::from_static(OCI_INDEX));
        let resp = self.http().send(req).await.map_err(|e| e.context(&what))?;
        let (mut descriptors, fallback, filtered) = match resp.status() {
            StatusCode::OK => {
                let filtered = header_str(&resp, "oci-filters-applied")
                    .is_some_and(|f| f.split(',').any(|x| x.trim() == "artifactType"));
                let body = resp
                    .into_body()
                    .collect_bytes(MAX_MANIFEST_SIZE)
                    .await
                    .map_err(|e| e.context(&what))?;
                let index: ImageIndex = serde_json::from_slice(&body).map_err(|e| {
                    Error::protocol(format!("{what}: invalid index")).with_source(e)
                })?;
                (index.manifests().clone(), false, filtered)
            }
            StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::BAD_REQUEST
            | StatusCode::NOT_IMPLEMENTED => {
                let found = self.fallback_index(subject).await?;
                (found.unwrap_or_default(), true, false)
            }
            _ => return Err(crate::client::error_from(resp, &what).await),
        };
        if !filtered {
            descriptors.retain(|d| matches_type(d, artifact_type));
        }
        Ok(Referrers {
            descriptors,
            fallback,
        })
    }

    /// The descriptors of the fallback index of `subject`, if it exists.
    async fn fallback_index(&self, subject: &Digest) -> Result<Option<Vec<Descriptor>>, Error> {
        match self.get_manifest_target(&fallback_target(subject)).await {
            Ok(m) if m.is_index() => Ok(Some(m.manifests().to_vec())),
            Ok(m) => Err(Error::protocol(format!(
                "referrers fallback tag {} holds a {}, not an index",
                fallback_tag(subject),
                m.media_type()
            ))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_fallback_index(
        &self,
        subject: &Digest,
        manifests: Vec<Descriptor>,
    ) -> Result<(), Error> {
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(manifests)
            .build()
            .map_err(|e| {
                Error::invalid_input("building the referrers index failed").with_source(e)
            })?;
        let m = Manifest::from_index(&index)?;
        self.put_manifest_raw(&fallback_target(subject), &m)
            .await
            .map(drop)
    }

    /// Adds `manifest` to the fallback index of `subject`.
    pub(crate) async fn add_fallback_referrer(
        &self,
        subject: &Descriptor,
        manifest: &Manifest,
    ) -> Result<(), Error> {
        let subject = descriptor::digest_of(subject)?;
        let mut manifests = self.fallback_index(&subject).await?.unwrap_or_default();
        if manifests
            .iter()
            .any(|d| descriptor::same_digest(d.digest(), manifest.digest()))
        {
            return Ok(());
        }
        let mut desc = manifest.descriptor();
        if let Some(a) = manifest.annotations()
            && !a.is_empty()
        {
            desc.set_annotations(Some(a.clone()));
        }
        manifests.push(desc);
        self.put_fallback_index(&subject, manifests).await
    }

    /// Removes `digest` from the fallback index of `subject`, if listed.
    pub(crate) async fn remove_fallback_referrer(
        &self,
        subject: &Descriptor,
        digest: &Digest,
    ) -> Result<(), Error> {
        let subject = descriptor::digest_of(subject)?;
        let Some(mut manifests) = self.fallback_index(&subject).await? else {
            return Ok(());
        };
        let before = manifests.len();
        manifests.retain(|d| !descriptor::same_digest(d.digest(), digest));
        if manifests.len() == before {
            return Ok(());
        }
        self.put_fallback_index(&subject, manifests).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tag_is_a_valid_tag() {
        let d: Digest = format!("sha512:{}", "a".repeat(128)).parse().unwrap();
        let t = fallback_tag(&d);
        assert_eq!(t.len(), 128);
        crate::reference::validate_tag(&t).unwrap();
    }
}
