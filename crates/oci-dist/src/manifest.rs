//! Manifest operations: resolve (`HEAD`, falling back to `GET`), get with
//! exact bytes, exists, put, delete, and the image config.

mod document;

pub use document::{MAX_MANIFEST_SIZE, Manifest, ParsedManifest};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use oci_spec::image::{Descriptor, ImageConfiguration};
use registry_core::{Body, Digest, Error, ErrorKind};

use crate::client::{Client, content_length, content_type, header_str, parsed_header};
use crate::descriptor::CheckedDescriptor;
use crate::media_type::MANIFEST_ACCEPT;
use crate::reference::{IntoTarget, TagOrDigest};

/// What the registry answered to a manifest `PUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// The digest of the manifest bytes.
    pub digest: Digest,
    /// The `Location` the registry returned, if any.
    pub location: Option<String>,
}

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
const OCI_SUBJECT: &str = "oci-subject";

/// The `Accept` value for exactly `media_types` (bare `type/subtype` each).
fn accept_header(media_types: &[&str]) -> Result<HeaderValue, Error> {
    if media_types.is_empty() {
        return Err(Error::invalid_input(
            "no media type to accept: give at least one",
        ));
    }
    // RFC 9110 tchar.
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    for mt in media_types {
        match mt.split_once('/') {
            Some((t, sub)) if token(t) && token(sub) => {}
            _ => {
                return Err(Error::invalid_input(format!(
                    "{mt:?} is not a media type (type/subtype)"
                )));
            }
        }
    }
    Ok(HeaderValue::from_str(&media_types.join(", ")).expect("tokens are header-safe"))
}

/// Refuses to push `manifest` under a digest other than its own.
pub(crate) fn check_push_target(target: &TagOrDigest, manifest: &Manifest) -> Result<(), Error> {
    match target.digest() {
        Some(d) if d != manifest.digest() => Err(Error::invalid_input(format!(
            "cannot push manifest {} under digest {d}",
            manifest.digest()
        ))),
        _ => Ok(()),
    }
}

impl Client {
    /// The descriptor (media type, digest, size) of the manifest a tag or
    /// digest points to: `HEAD`, falling back to `GET` only when the
    /// registry answered without `Docker-Content-Digest` (or refused `HEAD`
    /// with 405). A failed `HEAD` is not tried again as a `GET`.
    ///
    /// This trusts the registry's `Docker-Content-Digest` for a tag; to act
    /// on the manifest, fetch it with [`Client::get_manifest`] instead,
    /// which takes the digest from the bytes.
    ///
    /// A missing manifest is an error of kind [`ErrorKind::NotFound`].
    pub async fn resolve(&self, target: impl IntoTarget) -> Result<CheckedDescriptor, Error> {
        self.resolve_target(&target.into_target()?).await
    }

    pub(crate) async fn resolve_target(
        &self,
        target: &TagOrDigest,
    ) -> Result<CheckedDescriptor, Error> {
        let what = format!("HEAD manifest {}", self.describe(target));
        let url = self.repo_url(&format!("manifests/{}", target.as_path()))?;
        let mut req = self.request(Method::HEAD, &url, Body::empty())?;
        req.headers_mut()
            .insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        match self.send_expect(req, &[StatusCode::OK], &what).await {
            Ok(resp) => {
                let digest = parsed_header::<Digest>(&resp, DOCKER_CONTENT_DIGEST);
                let size = content_length(&resp);
                let mt = content_type(&resp).map(crate::media_type::essence);
                if let (Some(digest), Some(size), Some(mt)) = (digest, size, mt)
                    && crate::media_type::is_manifest(mt)
                    && target.digest().is_none_or(|d| d == &digest)
                {
                    return Ok(CheckedDescriptor::from_parts(mt, digest, size));
                }
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
        Ok(self.get_manifest_target(target).await?.checked_descriptor())
    }

    /// The digest of the manifest a tag points to (see [`Client::resolve`]).
    pub async fn get_digest(&self, target: impl IntoTarget) -> Result<Digest, Error> {
        Ok(self.resolve(target).await?.digest().clone())
    }

    /// Whether the manifest exists: `Ok(())`, or an error of kind
    /// [`ErrorKind::NotFound`] when it does not (other kinds for other
    /// failures).
    pub async fn check_image_exists(&self, target: impl IntoTarget) -> Result<(), Error> {
        self.resolve_target(&target.into_target()?).await.map(drop)
    }

    /// Like [`Client::check_image_exists`] as a boolean: `Ok(false)` only
    /// for not found.
    pub async fn manifest_exists(&self, target: impl IntoTarget) -> Result<bool, Error> {
        match self.resolve_target(&target.into_target()?).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The manifest or index a tag or digest points to, as the exact bytes
    /// received with their media type and digest, plus the parsed document.
    /// Fetched by digest, the bytes are checked against it; by tag, against
    /// the registry's `Docker-Content-Digest` when sent.
    pub async fn get_manifest(&self, target: impl IntoTarget) -> Result<Manifest, Error> {
        self.get_manifest_target(&target.into_target()?).await
    }

    /// [`Client::get_manifest`] sending exactly `media_types` as `Accept`
    /// (the seed's `GetManifest` with `Accept`), e.g. only
    /// [`OCI_MANIFEST`](crate::media_type::OCI_MANIFEST), or only
    /// [`DOCKER_MANIFEST`](crate::media_type::DOCKER_MANIFEST), instead of
    /// every type this client reads. Each must be a bare `type/subtype`
    /// (no parameters, no list); an empty list or a malformed type is an
    /// [`ErrorKind::InvalidInput`] error and nothing is sent.
    ///
    /// The manifest returned is always of one of the types asked for. A
    /// registry may answer with another type (HTTP allows it): that is an
    /// [`ErrorKind::Unsupported`] error naming the type it sent. Other
    /// answers are passed on as errors. What docker-registry 2.8 does:
    ///
    /// - a Docker manifest asked for by digest, OCI types only: sends it as
    ///   it is (so `Unsupported` here);
    /// - the same by tag: takes the client for a pre-schema-2 one, fails to
    ///   rewrite the manifest to schema 1 and answers `400
    ///   MANIFEST_INVALID` ([`ErrorKind::Protocol`], status and OCI error
    ///   kept);
    /// - an OCI manifest or index asked for with Docker types only: `404
    ///   MANIFEST_UNKNOWN` ([`ErrorKind::NotFound`]).
    ///
    /// ```no_run
    /// use oci_dist::media_type::DOCKER_MANIFEST;
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let m = app.get_manifest_accepting("v1", &[DOCKER_MANIFEST]).await?;
    /// assert_eq!(m.media_type(), DOCKER_MANIFEST);
    /// # Ok(()) }
    /// ```
    pub async fn get_manifest_accepting(
        &self,
        target: impl IntoTarget,
        media_types: &[&str],
    ) -> Result<Manifest, Error> {
        let target = target.into_target()?;
        let accept = accept_header(media_types)?;
        self.get_manifest_as(&target, accept, Some(media_types))
            .await
    }

    pub(crate) async fn get_manifest_target(
        &self,
        target: &TagOrDigest,
    ) -> Result<Manifest, Error> {
        self.get_manifest_as(target, HeaderValue::from_static(MANIFEST_ACCEPT), None)
            .await
    }

    /// `GET` with `accept`; when `only` is given, an answer of another
    /// media type is refused.
    async fn get_manifest_as(
        &self,
        target: &TagOrDigest,
        accept: HeaderValue,
        only: Option<&[&str]>,
    ) -> Result<Manifest, Error> {
        let what = format!("GET manifest {}", self.describe(target));
        let url = self.repo_url(&format!("manifests/{}", target.as_path()))?;
        let mut req = self.request(Method::GET, &url, Body::empty())?;
        req.headers_mut().insert(ACCEPT, accept);
        let resp = self.send_expect(req, &[StatusCode::OK], &what).await?;
        let not_asked = |mt: &str| {
            let mt = crate::media_type::essence(mt);
            only.filter(|o| !o.iter().any(|a| a.eq_ignore_ascii_case(mt)))
                .map(|o| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{what}: the registry answered with media type {mt:?}, \
                             not one of those accepted ({})",
                            o.join(", ")
                        ),
                    )
                })
        };
        if let Some(mt) = content_type(&resp)
            && crate::media_type::is_manifest(crate::media_type::essence(mt))
            && let Some(e) = not_asked(mt)
        {
            return Err(e);
        }
        if let Some(len) = content_length(&resp)
            && len > MAX_MANIFEST_SIZE as u64
        {
            return Err(Error::protocol(format!(
                "{what}: manifest is {len} bytes, more than the {MAX_MANIFEST_SIZE}-byte limit"
            )));
        }
        let mt = content_type(&resp).map(str::to_owned);
        let header_digest = parsed_header::<Digest>(&resp, DOCKER_CONTENT_DIGEST);
        let bytes = resp
            .into_body()
            .collect_bytes(MAX_MANIFEST_SIZE)
            .await
            .map_err(|e| e.context(&what))?;
        let result = match (target.digest(), header_digest) {
            (Some(d), _) => Manifest::verified(bytes, mt.as_deref(), d),
            (None, Some(claimed)) => {
                let m = Manifest::verified(bytes, mt.as_deref(), &claimed);
                m.map_err(|e| match e.kind() {
                    ErrorKind::DigestMismatch => e.context(
                        "the manifest disagrees with the registry's Docker-Content-Digest",
                    ),
                    _ => e,
                })
            }
            (None, None) => Manifest::new(bytes, mt.as_deref()),
        };
        let manifest = result.map_err(|e| e.context(&what))?;
        not_asked(manifest.media_type()).map_or(Ok(manifest), Err)
    }

    /// Fetches a manifest by descriptor (digest), checking its size too.
    /// (With a [`CheckedDescriptor`], call [`ImageSource::fetch_manifest`](crate::ImageSource::fetch_manifest).)
    pub async fn fetch_manifest(&self, descriptor: &Descriptor) -> Result<Manifest, Error> {
        self.fetch_checked_manifest(&CheckedDescriptor::try_from(descriptor)?)
            .await
    }

    pub(crate) async fn fetch_checked_manifest(
        &self,
        descriptor: &CheckedDescriptor,
    ) -> Result<Manifest, Error> {
        let digest = descriptor.digest();
        let m = self
            .get_manifest_target(&TagOrDigest::Digest(digest.clone()))
            .await?;
        if m.size() != descriptor.size() {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "manifest {digest} is {} bytes, its descriptor says {}",
                    m.size(),
                    descriptor.size()
                ),
            ));
        }
        Ok(m)
    }

    /// Uploads a manifest under a tag or its digest (`PUT` with its media
    /// type; the bytes are sent exactly as they are). When the manifest has
    /// a `subject` and the registry does not confirm it handled it
    /// (`OCI-Subject`), the referrers tag-schema index is updated.
    pub async fn put_manifest(
        &self,
        target: impl IntoTarget,
        manifest: &Manifest,
    ) -> Result<PushedManifest, Error> {
        self.put_manifest_target(&target.into_target()?, manifest)
            .await
    }

    pub(crate) async fn put_manifest_target(
        &self,
        target: &TagOrDigest,
        manifest: &Manifest,
    ) -> Result<PushedManifest, Error> {
        check_push_target(target, manifest)?;
        let pushed = self.put_manifest_raw(target, manifest).await?;
        if let Some(subject) = manifest.subject()
            && !pushed.1
        {
            self.add_fallback_referrer(subject, manifest)
                .await
                .map_err(|e| {
                    e.context(format!(
                    "manifest {} was pushed but updating the referrers index of its subject failed",
                    manifest.digest()
                ))
                })?;
        }
        Ok(pushed.0)
    }

    /// Uploads manifest bytes with a media type (see [`Client::put_manifest`]).
    pub async fn put_manifest_bytes(
        &self,
        target: impl IntoTarget,
        media_type: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<PushedManifest, Error> {
        let target = target.into_target()?;
        let m = Manifest::new(bytes, Some(media_type))?;
        self.put_manifest_target(&target, &m).await
    }

    /// The `PUT` itself; returns whether the registry confirmed the subject.
    pub(crate) async fn put_manifest_raw(
        &self,
        target: &TagOrDigest,
        manifest: &Manifest,
    ) -> Result<(PushedManifest, bool), Error> {
        let what = format!("PUT manifest {}", self.describe(target));
        let url = self.repo_url(&format!("manifests/{}", target.as_path()))?;
        let mut req = self.request(Method::PUT, &url, Body::full(manifest.bytes().clone()))?;
        let ct = HeaderValue::from_str(manifest.media_type())
            .map_err(|_| Error::invalid_content("media type is not a valid header value"))?;
        req.headers_mut().insert(CONTENT_TYPE, ct);
        let resp = self
            .send_expect(
                req,
                &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
                &what,
            )
            .await?;
        if let Some(d) = parsed_header::<Digest>(&resp, DOCKER_CONTENT_DIGEST)
            && d.algorithm() == manifest.digest().algorithm()
            && &d != manifest.digest()
        {
            return Err(Error::protocol(format!(
                "{what}: registry stored digest {d}, expected {}",
                manifest.digest()
            )));
        }
        let subject_ok = resp.headers().contains_key(OCI_SUBJECT);
        let location = header_str(&resp, "location").map(str::to_owned);
        Ok((
            PushedManifest {
                digest: manifest.digest().clone(),
                location,
            },
            subject_ok,
        ))
    }

    /// Deletes a manifest by digest. When it had a `subject`, it is also
    /// removed from the referrers tag-schema index, if there is one.
    pub async fn delete_manifest(&self, digest: &Digest) -> Result<(), Error> {
        let target = TagOrDigest::Digest(digest.clone());
        let subject = match self.get_manifest_target(&target).await {
            Ok(m) => m.subject().cloned(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(e),
            Err(_) => None,
        };
        self.delete_manifest_only(digest).await?;
        if let Some(subject) = subject {
            self.remove_fallback_referrer(&subject, digest).await.map_err(|e| {
                e.context(format!(
                    "manifest {digest} was deleted but updating the referrers index of its subject failed"
                ))
            })?;
        }
        Ok(())
    }

    /// The image configuration of an image (for an index, of the image for
    /// the host platform; see [`Client::get_image`] to choose one).
    pub async fn get_image_config(
        &self,
        target: impl IntoTarget,
    ) -> Result<ImageConfiguration, Error> {
        let image = self
            .get_image(target, &crate::image::GetImageOptions::default())
            .await?;
        Ok(image.config().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_type::{DOCKER_MANIFEST, OCI_MANIFEST};

    #[test]
    fn accept_is_exactly_the_types_given() {
        assert_eq!(accept_header(&[OCI_MANIFEST]).unwrap(), OCI_MANIFEST);
        assert_eq!(
            accept_header(&[DOCKER_MANIFEST, OCI_MANIFEST]).unwrap(),
            format!("{DOCKER_MANIFEST}, {OCI_MANIFEST}").as_str()
        );
        for bad in [
            &[][..],
            &[""][..],
            &["application"][..],
            &["a/b, c/d"][..],
            &["a/b;q=1"][..],
            &["a/b\r\nX: y"][..],
        ] {
            assert_eq!(
                accept_header(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
