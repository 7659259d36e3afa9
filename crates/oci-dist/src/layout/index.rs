//! `index.json` and `oci-layout` of an image layout, on disk or in an
//! archive (`crate::archive`): reading and writing them, ref names,
//! resolving a tag or digest.

use std::fmt::Display;
use std::path::Path;

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};
use registry_core::{Digest, Error, ErrorKind, Result};
use serde::Deserialize;

use super::fs::{io_error, write_atomic};
use super::{BLOBS_DIR, IMAGE_LAYOUT_VERSION, INDEX_FILE, REF_NAME_ANNOTATION};
use crate::descriptor::{CheckedDescriptor, same_digest};

/// Checks a tag against the image layout's ref name grammar:
/// `component ("/" component)*` where a component is alphanumerics separated
/// by single `-`, `.`, `_`, `:`, `@`, `+` or by `--`.
///
/// ```
/// use oci_dist::layout::validate_ref_name;
/// assert!(validate_ref_name("v1.2.3").is_ok());
/// assert!(validate_ref_name("example.com/app:v1").is_ok());
/// assert!(validate_ref_name("").is_err());
/// assert!(validate_ref_name("-v1").is_err());
/// assert!(validate_ref_name("a..b").is_err());
/// ```
pub fn validate_ref_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid_input(format!(
            "invalid ref name {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("empty");
    }
    for component in name.split('/') {
        let bytes = component.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return bad("empty path component");
        };
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return bad("components must start and end with a letter or digit");
        }
        let mut run = 0;
        let mut run_start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b.is_ascii_alphanumeric() {
                run = 0;
                continue;
            }
            if !matches!(b, b'-' | b'.' | b'_' | b':' | b'@' | b'+') {
                return bad(&format!("character {:?} is not allowed", b as char));
            }
            if run == 0 {
                run_start = i;
            }
            run += 1;
            if run > 1 && &bytes[run_start..=i] != b"--" {
                return bad("separators must be single (or \"--\")");
            }
        }
    }
    Ok(())
}

/// The `org.opencontainers.image.ref.name` of an index entry.
pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME_ANNOTATION))
        .map(String::as_str)
}

/// Where the blob `digest` lives in a layout: `blobs/<alg>/<hex>`.
pub(crate) fn blob_name(digest: &Digest) -> String {
    let alg = digest.algorithm().as_str();
    format!("{BLOBS_DIR}/{alg}/{}", digest.hex())
}

/// The `oci-layout` marker this crate writes.
pub(crate) fn marker() -> String {
    format!(r#"{{"imageLayoutVersion":"{IMAGE_LAYOUT_VERSION}"}}"#)
}

/// Checks the `oci-layout` marker `bytes` (of `file`): JSON with an
/// `imageLayoutVersion` of 1.x.
pub(crate) fn check_marker(bytes: &[u8], file: &dyn Display) -> Result<()> {
    #[derive(Deserialize)]
    struct LayoutMarker {
        #[serde(rename = "imageLayoutVersion")]
        image_layout_version: String,
    }
    let marker: LayoutMarker = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid_content(format!("{file} is not a valid oci-layout file")).with_source(e)
    })?;
    let version = marker.image_layout_version;
    if version.split('.').next() != Some("1") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{file}: unsupported imageLayoutVersion {version:?} (expected 1.x)"),
        ));
    }
    Ok(())
}

/// Parses `index.json` (`file`).
pub(crate) fn parse_index(bytes: &[u8], file: &dyn Display) -> Result<ImageIndex> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid_content(format!("{file} is not a valid OCI image index")).with_source(e)
    })
}

/// The bytes of `index.json`.
pub(crate) fn index_bytes(index: &ImageIndex) -> Result<Vec<u8>> {
    serde_json::to_vec(index).map_err(|e| Error::protocol("serialising index.json").with_source(e))
}

pub(crate) fn empty_index() -> Result<ImageIndex> {
    ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(Vec::<Descriptor>::new())
        .build()
        .map_err(|e| Error::protocol("building an empty index").with_source(e))
}

/// The tagged entries of `index`, in index order: each ref name with its
/// descriptor.
pub(crate) fn refs(index: &ImageIndex) -> Vec<(String, Descriptor)> {
    let named = |d: &Descriptor| ref_name(d).map(|n| (n.to_owned(), d.clone()));
    index.manifests().iter().filter_map(named).collect()
}

/// The newest entry of `index` carrying ref name `name`; `NotFound` in
/// `place` (an OCI layout or archive) without one.
pub(crate) fn find_ref(index: &ImageIndex, name: &str, place: &str) -> Result<Descriptor> {
    let found = index
        .manifests()
        .iter()
        .rev()
        .find(|d| ref_name(d) == Some(name));
    found.cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("tag {name:?} not found in {place}"),
        )
    })
}

/// The manifest `digest` of a layout (`place`): its entry in `index`, else
/// the blob `blob` reads (`None`: not there), its media type read from
/// the manifest itself.
pub(crate) async fn resolve_digest(
    index: &ImageIndex,
    digest: &Digest,
    place: &str,
    blob: impl Future<Output = Result<Option<Bytes>>>,
) -> Result<CheckedDescriptor> {
    if let Some(d) = index
        .manifests()
        .iter()
        .find(|d| same_digest(d.digest(), digest))
    {
        return Ok(CheckedDescriptor::matching(d.clone(), digest.clone()));
    }
    let not_found = || format!("manifest {digest} not found in {place}");
    let bytes = blob
        .await?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, not_found()))?;
    let media_type = sniff_media_type(&bytes)
        .map_err(|e| e.context(format!("resolving {digest} in {place}")))?;
    let size = bytes.len() as u64;
    Ok(CheckedDescriptor::from_parts(
        media_type.as_ref(),
        digest.clone(),
        size,
    ))
}

/// Lists `entry` among an index's `manifests`: under the ref name `name`
/// (replacing an entry of that name), or untagged (once per digest and
/// `annotation`), with `annotation` added when given.
pub(crate) fn add_entry(
    manifests: &mut Vec<Descriptor>,
    mut entry: Descriptor,
    name: Option<&str>,
    annotation: Option<(&str, &str)>,
) {
    let mut annotations = entry.annotations().clone().unwrap_or_default();
    if let Some((k, v)) = annotation {
        annotations.insert(k.to_owned(), v.to_owned());
    }
    if let Some(name) = name {
        annotations.insert(REF_NAME_ANNOTATION.to_owned(), name.to_owned());
        manifests.retain(|d| ref_name(d) != Some(name));
    } else {
        let same = |d: &Descriptor| {
            let value = |k| d.annotations().as_ref().and_then(|a| a.get(k));
            d.digest() == entry.digest()
                && annotation.is_none_or(|(k, v)| value(k).map(String::as_str) == Some(v))
        };
        if manifests.iter().any(same) {
            return;
        }
    }
    if !annotations.is_empty() {
        entry.set_annotations(Some(annotations));
    }
    manifests.push(entry);
}

/// The media type of manifest bytes: their `mediaType` field, else an OCI
/// index when they have `manifests`, else an OCI image manifest.
fn sniff_media_type(bytes: &[u8]) -> Result<MediaType> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid_content("blob is not a JSON manifest").with_source(e))?;
    Ok(match (probe.media_type, probe.manifests) {
        (Some(mt), _) => MediaType::from(mt.as_str()),
        (None, Some(_)) => MediaType::ImageIndex,
        (None, None) => MediaType::ImageManifest,
    })
}

pub(super) async fn read_index(path: &Path) -> Result<ImageIndex> {
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{} is missing: not an OCI image layout", path.display()),
            ));
        }
        Err(e) => return Err(io_error(e, format!("reading {}", path.display()))),
    };
    parse_index(&bytes, &path.display())
}

pub(super) async fn write_index(root: &Path, index: &ImageIndex) -> Result<()> {
    write_atomic(root, INDEX_FILE, index_bytes(index)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names() {
        for ok in [
            "latest",
            "v1.0",
            "a--b",
            "a/b/c",
            "example.com:5000/app@x+y",
            "1",
        ] {
            assert!(validate_ref_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "a-", ".a", "a.-b", "a---b", "a b", "é",
        ] {
            assert!(validate_ref_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entries_are_added_by_ref_name_or_once_per_digest_and_annotation() {
        let d = |n: u8| {
            let digest = Digest::sha256_of(&[n]);
            crate::descriptor::new("application/vnd.oci.image.manifest.v1+json", &digest, 1)
        };
        let mut m = Vec::new();
        add_entry(&mut m, d(1), Some("v1"), None);
        add_entry(&mut m, d(2), Some("v1"), Some(("k", "a")));
        assert_eq!(m.len(), 1, "a ref name moves to the new entry");
        assert_eq!(m[0].digest(), d(2).digest());
        assert_eq!(m[0].annotations().as_ref().unwrap()["k"], "a");
        add_entry(&mut m, d(2), None, None);
        assert_eq!(
            m.len(),
            1,
            "an untagged entry of a listed digest is not added"
        );
        add_entry(&mut m, d(2), None, Some(("k", "b")));
        add_entry(&mut m, d(2), None, Some(("k", "b")));
        assert_eq!(m.len(), 2, "once per digest and annotation");
        assert_eq!(ref_name(&m[1]), None);
        let index = ImageIndex::default();
        let err = find_ref(&index, "v1", "OCI layout x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(
            err.to_string()
                .contains("tag \"v1\" not found in OCI layout x")
        );
    }

    #[test]
    fn markers_are_json_of_a_1_x_version() {
        assert!(check_marker(marker().as_bytes(), &"f").is_ok());
        let kind = |b: &str| check_marker(b.as_bytes(), &"f").unwrap_err().kind();
        assert_eq!(kind("{"), ErrorKind::InvalidContent);
        assert_eq!(kind("{}"), ErrorKind::InvalidContent);
        assert_eq!(
            kind(r#"{"imageLayoutVersion":"2.0.0"}"#),
            ErrorKind::Unsupported
        );
    }

    #[tokio::test]
    async fn broken_layout_files_are_refused_content_not_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let layout = super::super::OciLayout::create(dir.path()).await.unwrap();
        std::fs::write(dir.path().join("index.json"), b"{not json").unwrap();
        let err = super::super::OciLayout::open(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(
            err.to_string().contains("is not a valid OCI image index"),
            "{err}"
        );
        std::fs::write(dir.path().join("oci-layout"), b"[]").unwrap();
        let err = super::super::OciLayout::open(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(
            err.to_string().contains("is not a valid oci-layout file"),
            "{err}"
        );

        // A blob that is not JSON, resolved as a manifest by its digest;
        // one larger than allowed.
        let blob = bytes::Bytes::from_static(b"not a manifest");
        let digest = registry_core::Digest::sha256_of(&blob);
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("index.json"),
            br#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join(digest.hex()), &blob).unwrap();
        let err = layout.resolve(&digest.to_string()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(
            err.to_string().contains("blob is not a JSON manifest"),
            "{err}"
        );
        let err = layout.read_blob_bytes(&digest, 4).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(
            err.to_string().contains("more than the 4 allowed here"),
            "{err}"
        );
    }
}
