//! [`Manifest`]: a manifest or index as exact bytes, its media type, its
//! digest, and a parsed view.

use std::collections::HashMap;

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use registry_core::{Digest, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::descriptor::CheckedDescriptor;
use crate::media_type::{self, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

/// The largest manifest accepted (the distribution spec's 4 MiB).
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

/// The parsed view of a [`Manifest`].
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedManifest {
    /// An image manifest (OCI, or Docker v2 schema 2, which has the same shape).
    Image(Box<ImageManifest>),
    /// An image index (OCI, or a Docker manifest list).
    Index(Box<ImageIndex>),
}

/// A manifest exactly as stored: its bytes (the digest is always computed
/// over these, never over re-serialised JSON), media type and digest, plus
/// the parsed document.
///
/// ```
/// use oci_dist::Manifest;
/// let raw = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
/// let m = Manifest::new(&raw[..], None).unwrap();
/// assert!(m.is_index());
/// assert_eq!(m.digest(), &registry_core::Digest::sha256_of(raw));
/// assert_eq!(m.bytes().as_ref(), raw);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    bytes: Bytes,
    media_type: String,
    digest: Digest,
    parsed: ParsedManifest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses `bytes`, computing their sha256 digest. `media_type` is the
    /// `Content-Type` it came with, if known; when absent or generic
    /// (`application/json`), the document's own `mediaType` or its shape
    /// decides.
    pub fn new(bytes: impl Into<Bytes>, media_type: Option<&str>) -> Result<Manifest, Error> {
        let bytes = bytes.into();
        let digest = Digest::sha256_of(&bytes);
        Self::build(bytes, media_type, digest)
    }

    /// Like [`Manifest::new`], checking that the bytes hash to `expected`
    /// (with its algorithm): [`ErrorKind::DigestMismatch`] otherwise.
    pub fn verified(
        bytes: impl Into<Bytes>,
        media_type: Option<&str>,
        expected: &Digest,
    ) -> Result<Manifest, Error> {
        let bytes = bytes.into();
        let mut d = expected.digester();
        d.update(&bytes);
        let actual = d.finish();
        if &actual != expected {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("manifest content hashes to {actual}, expected {expected}"),
            ));
        }
        Self::build(bytes, media_type, expected.clone())
    }

    /// `bytes` read for `descriptor` from `place` (a layout, an archive):
    /// [`ErrorKind::DigestMismatch`] unless they have the descriptor's size
    /// and digest; parsed with the descriptor's media type.
    pub(crate) fn verified_for(
        bytes: Bytes,
        descriptor: &CheckedDescriptor,
        place: &str,
    ) -> Result<Manifest, Error> {
        let digest = descriptor.digest();
        if bytes.len() as u64 != descriptor.size() {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "manifest {digest} in {place} is {} bytes, its descriptor says {}",
                    bytes.len(),
                    descriptor.size()
                ),
            ));
        }
        Manifest::verified(bytes, Some(descriptor.media_type()), digest)
    }

    /// Serialises an image manifest once and keeps those bytes.
    pub fn from_image(manifest: &ImageManifest) -> Result<Manifest, Error> {
        let mt = manifest.media_type().as_ref();
        Manifest::serialised(manifest, "image manifest", mt, OCI_MANIFEST)
    }

    /// Serialises an image index once and keeps those bytes.
    pub fn from_index(index: &ImageIndex) -> Result<Manifest, Error> {
        Manifest::serialised(index, "image index", index.media_type().as_ref(), OCI_INDEX)
    }

    /// `document` (`what`) serialised, with its media type or `default`.
    fn serialised(
        document: &impl Serialize,
        what: &str,
        media_type: Option<&MediaType>,
        default: &str,
    ) -> Result<Manifest, Error> {
        let bytes = serde_json::to_vec(document).map_err(|e| {
            Error::invalid_input(format!("serialising the {what} failed")).with_source(e)
        })?;
        let mt = media_type.map_or(default, MediaType::as_ref);
        Manifest::new(bytes, Some(mt))
    }

    fn build(bytes: Bytes, media_type: Option<&str>, digest: Digest) -> Result<Manifest, Error> {
        let probe: Probe = serde_json::from_slice(&bytes)
            .map_err(|e| Error::protocol("manifest is not a JSON object").with_source(e))?;
        if probe.schema_version == Some(1) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "Docker schema 1 manifests are not supported",
            ));
        }
        let declared = media_type
            .map(media_type::essence)
            .filter(|m| media_type::is_manifest(m));
        let media_type = match (declared, probe.media_type.as_deref()) {
            (Some(m), _) => m.to_owned(),
            (None, Some(m)) if media_type::is_manifest(m) => m.to_owned(),
            (None, Some(m)) if media_type.is_none() || is_generic(media_type) => {
                return Err(unsupported(m));
            }
            (None, _) => match (&probe.manifests, &probe.config, media_type) {
                (_, _, Some(m)) if !is_generic(Some(m)) => return Err(unsupported(m)),
                (Some(_), _, _) => OCI_INDEX.to_owned(),
                (None, Some(_), _) => OCI_MANIFEST.to_owned(),
                _ => {
                    return Err(Error::protocol(
                        "document has neither `manifests` nor `config`: not a manifest",
                    ));
                }
            },
        };
        let invalid = |e: serde_json::Error| {
            Error::protocol(format!("invalid {media_type} document")).with_source(e)
        };
        let parsed = if media_type::is_index(&media_type) {
            ParsedManifest::Index(serde_json::from_slice(&bytes).map_err(invalid)?)
        } else {
            ParsedManifest::Image(serde_json::from_slice(&bytes).map_err(invalid)?)
        };
        Ok(Manifest {
            bytes,
            media_type,
            digest,
            parsed,
        })
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The bytes, consuming the manifest.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The media type (without parameters).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The digest of [`Manifest::bytes`].
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The parsed document.
    pub fn parsed(&self) -> &ParsedManifest {
        &self.parsed
    }

    /// Whether this is an index or manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.parsed, ParsedManifest::Index(_))
    }

    /// Whether this uses a Docker media type (v2 schema 2 or manifest list).
    pub fn is_docker(&self) -> bool {
        matches!(
            self.media_type.as_str(),
            DOCKER_MANIFEST | DOCKER_MANIFEST_LIST
        )
    }

    /// The image manifest, if this is one.
    pub fn as_image(&self) -> Option<&ImageManifest> {
        match &self.parsed {
            ParsedManifest::Image(m) => Some(m.as_ref()),
            ParsedManifest::Index(_) => None,
        }
    }

    /// The index, if this is one.
    pub fn as_index(&self) -> Option<&ImageIndex> {
        match &self.parsed {
            ParsedManifest::Index(i) => Some(i.as_ref()),
            ParsedManifest::Image(_) => None,
        }
    }

    /// A descriptor of this manifest (media type, digest, size), with the
    /// artifact type when there is one.
    pub fn descriptor(&self) -> Descriptor {
        self.checked_descriptor().into_descriptor()
    }

    /// [`Manifest::descriptor`] with its digest: what the
    /// [`ImageDestination`](crate::ImageDestination) methods take.
    pub fn checked_descriptor(&self) -> CheckedDescriptor {
        let artifact_type = self.artifact_type();
        CheckedDescriptor::from_parts(&self.media_type, self.digest.clone(), self.size())
            .map_descriptor(|d| {
                if let Some(t) = artifact_type {
                    d.set_artifact_type(Some(t.as_str().into()));
                }
            })
    }

    /// The `subject` (OCI 1.1): the manifest this one refers to.
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.parsed {
            ParsedManifest::Image(m) => m.subject().as_ref(),
            ParsedManifest::Index(i) => i.subject().as_ref(),
        }
    }

    /// The artifact type: `artifactType`, or for an image manifest without
    /// one, its config media type (as the referrers API reports it).
    pub fn artifact_type(&self) -> Option<String> {
        match &self.parsed {
            ParsedManifest::Image(m) => Some(
                m.artifact_type()
                    .as_ref()
                    .unwrap_or_else(|| m.config().media_type())
                    .to_string(),
            ),
            ParsedManifest::Index(i) => i.artifact_type().as_ref().map(|t| t.to_string()),
        }
    }

    /// The annotations of the document.
    pub fn annotations(&self) -> Option<&HashMap<String, String>> {
        match &self.parsed {
            ParsedManifest::Image(m) => m.annotations().as_ref(),
            ParsedManifest::Index(i) => i.annotations().as_ref(),
        }
    }

    /// The blobs an image manifest references: config first, then layers.
    /// Empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match &self.parsed {
            ParsedManifest::Image(m) => std::iter::once(m.config()).chain(m.layers()).collect(),
            ParsedManifest::Index(_) => Vec::new(),
        }
    }

    /// The child manifests of an index. Empty for an image manifest.
    pub fn manifests(&self) -> &[Descriptor] {
        match &self.parsed {
            ParsedManifest::Index(i) => i.manifests(),
            ParsedManifest::Image(_) => &[],
        }
    }
}

fn is_generic(media_type: Option<&str>) -> bool {
    match media_type.map(media_type::essence) {
        None | Some("") => true,
        Some(m) => matches!(
            m,
            "application/json" | "text/plain" | "application/octet-stream"
        ),
    }
}

fn unsupported(media_type: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("unsupported manifest media type {media_type:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

    #[test]
    fn docker_v2_schema2_parses_as_image() {
        let m = Manifest::new(
            DOCKER,
            Some("application/vnd.docker.distribution.manifest.v2+json"),
        )
        .unwrap();
        assert_eq!(m.media_type(), DOCKER_MANIFEST);
        assert!(m.is_docker() && !m.is_index());
        assert_eq!(m.blobs().len(), 1);
        assert_eq!(m.digest(), &Digest::sha256_of(DOCKER.as_bytes()));
        // Without a content type the document's own mediaType decides.
        assert_eq!(
            Manifest::new(DOCKER, None).unwrap().media_type(),
            DOCKER_MANIFEST
        );
        assert_eq!(
            Manifest::new(DOCKER, Some("application/json"))
                .unwrap()
                .media_type(),
            DOCKER_MANIFEST
        );
    }

    #[test]
    fn shape_decides_when_no_media_type() {
        let m = Manifest::new(r#"{"schemaVersion":2,"manifests":[]}"#, None).unwrap();
        assert_eq!(m.media_type(), OCI_INDEX);
        let err = Manifest::new(r#"{"schemaVersion":2}"#, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn schema1_and_unknown_types_are_unsupported() {
        let err = Manifest::new(r#"{"schemaVersion":1,"fsLayers":[]}"#, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let err = Manifest::new(r#"{"schemaVersion":2}"#, Some("application/x-foo")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn verified_checks_digest() {
        let good = Digest::sha256_of(DOCKER.as_bytes());
        assert!(Manifest::verified(DOCKER, None, &good).is_ok());
        let bad = Digest::sha256_of(b"other");
        let err = Manifest::verified(DOCKER, None, &bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        let says = format!("manifest content hashes to {good}, expected {bad}");
        assert!(err.to_string().contains(&says), "{err}");
    }

    #[test]
    fn artifact_type_falls_back_to_config_media_type() {
        let m = Manifest::new(DOCKER, None).unwrap();
        assert_eq!(
            m.artifact_type().as_deref(),
            Some("application/vnd.docker.container.image.v1+json")
        );
    }
}
