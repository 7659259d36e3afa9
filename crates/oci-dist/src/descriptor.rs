//! Bridges between `oci-spec` descriptors and [`registry_core::Digest`].
//!
//! Manifests and indexes use `oci_spec::image::Descriptor`, whose digest type
//! accepts any algorithm; transfers need a validated
//! [`Digest`] (sha256 or sha512) to hash against.

use oci_spec::image::{Descriptor, MediaType};
use registry_core::{Digest, Error, ErrorKind};

/// The validated digest of a descriptor.
///
/// ```
/// use oci_dist::descriptor;
/// let d = registry_core::Digest::sha256_of(b"{}");
/// let desc = descriptor::new("application/vnd.oci.empty.v1+json", &d, 2);
/// assert_eq!(descriptor::digest_of(&desc).unwrap(), d);
/// ```
pub fn digest_of(descriptor: &Descriptor) -> Result<Digest, Error> {
    parse_digest(descriptor.digest().as_ref())
}

/// Parses a digest string, as an [`ErrorKind::Unsupported`] error for a
/// well-formed digest of an algorithm we cannot hash (e.g. sha384).
pub fn parse_digest(s: &str) -> Result<Digest, Error> {
    s.parse::<Digest>().map_err(|e| {
        let alg = s.split_once(':').map(|(a, _)| a).unwrap_or("");
        if !alg.is_empty() && alg != "sha256" && alg != "sha512" {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "digest {s:?} uses algorithm {alg:?}; only sha256 and sha512 are supported"
                ),
            )
        } else {
            e
        }
    })
}

/// The `oci-spec` form of a digest.
pub fn oci_digest(digest: &Digest) -> oci_spec::image::Digest {
    digest
        .to_string()
        .parse()
        .expect("a validated digest is a valid OCI digest")
}

/// A descriptor with the three required fields.
pub fn new(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), size, oci_digest(digest))
}

/// The media type of a descriptor as a string.
pub fn media_type_of(descriptor: &Descriptor) -> &str {
    descriptor.media_type().as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha384_is_unsupported_not_invalid() {
        let err = parse_digest(&format!("sha384:{}", "a".repeat(96))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let err = parse_digest("sha256:nothex").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn round_trip() {
        let d = Digest::sha256_of(b"abc");
        let desc = new(crate::media_type::OCI_LAYER_GZIP, &d, 3);
        assert_eq!(media_type_of(&desc), crate::media_type::OCI_LAYER_GZIP);
        assert_eq!(digest_of(&desc).unwrap(), d);
        assert_eq!(desc.size(), 3);
    }
}
