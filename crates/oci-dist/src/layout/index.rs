//! `index.json` of the layout: reading and writing it, ref names.

use std::path::Path;

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};
use registry_core::{Error, ErrorKind, Result};

use super::fs::{io_error, write_atomic};
use super::{INDEX_FILE, REF_NAME_ANNOTATION};

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

pub(super) fn empty_index() -> Result<ImageIndex> {
    ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(Vec::<Descriptor>::new())
        .build()
        .map_err(|e| Error::protocol("building an empty index").with_source(e))
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
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::invalid_content(format!("{} is not a valid OCI image index", path.display()))
            .with_source(e)
    })
}

pub(super) async fn write_index(root: &Path, index: &ImageIndex) -> Result<()> {
    let bytes = serde_json::to_vec(index)
        .map_err(|e| Error::protocol("serialising index.json").with_source(e))?;
    write_atomic(root, INDEX_FILE, bytes).await
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
