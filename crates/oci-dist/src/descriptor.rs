//! Bridges between `oci-spec` descriptors and [`registry_core::Digest`],
//! all in this module.
//!
//! Manifests and indexes use `oci_spec::image::Descriptor`, whose digest type
//! accepts any algorithm; transfers need a validated [`Digest`] (sha256 or
//! sha512) to hash against. [`CheckedDescriptor`] is a descriptor whose
//! digest was converted once; the [`ImageSource`](crate::ImageSource) and
//! [`ImageDestination`](crate::ImageDestination) methods and
//! [`copy`](crate::copy::copy) pass it along, so a descriptor's digest is
//! checked once however many steps use it.
//!
//! From `oci-spec` to [`Digest`] goes through the algorithm and hex
//! accessors ([`from_oci`]), never through a string. The other way,
//! `oci-spec` has no constructor from parts (only `FromStr`/`TryFrom<String>`
//! and a `Sha256Digest` that is itself parsed), so [`oci_digest`] builds the
//! string once; comparisons ([`same_digest`]) need no conversion at all.

use oci_spec::image::{Descriptor, DigestAlgorithm, MediaType};
use registry_core::digest::Algorithm;
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
    from_oci(descriptor.digest())
}

/// Converts an `oci-spec` digest from its algorithm and hex parts (no
/// string parsing): an [`ErrorKind::Unsupported`] error for an algorithm we
/// cannot hash (e.g. sha384).
pub fn from_oci(digest: &oci_spec::image::Digest) -> Result<Digest, Error> {
    let algorithm = match digest.algorithm() {
        DigestAlgorithm::Sha256 => Algorithm::Sha256,
        DigestAlgorithm::Sha512 => Algorithm::Sha512,
        other => return Err(unsupported(digest.as_ref(), other.as_ref())),
    };
    // oci-spec checked length and lowercase hex for sha256/sha512 already;
    // `Digest::new` checks them again without parsing anything.
    Digest::new(algorithm, digest.digest())
}

/// Parses a digest string, as an [`ErrorKind::Unsupported`] error for a
/// well-formed digest of an algorithm we cannot hash (e.g. sha384).
pub fn parse_digest(s: &str) -> Result<Digest, Error> {
    s.parse::<Digest>().map_err(|e| {
        let alg = s.split_once(':').map(|(a, _)| a).unwrap_or("");
        if !alg.is_empty() && alg != "sha256" && alg != "sha512" {
            unsupported(s, alg)
        } else {
            e
        }
    })
}

fn unsupported(digest: &str, algorithm: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "digest {digest:?} uses algorithm {algorithm:?}; only sha256 and sha512 are supported"
        ),
    )
}

/// The `oci-spec` form of a digest. `oci-spec` builds digests only from
/// strings, so this formats `digest` once (and `oci-spec` checks it).
pub fn oci_digest(digest: &Digest) -> oci_spec::image::Digest {
    oci_spec::image::Digest::try_from(digest.to_string())
        .expect("a validated digest is a valid OCI digest")
}

/// Whether an `oci-spec` digest is `digest`, compared by parts.
pub fn same_digest(oci: &oci_spec::image::Digest, digest: &Digest) -> bool {
    oci.algorithm().as_ref() == digest.algorithm().as_str() && oci.digest() == digest.hex()
}

/// A descriptor with the three required fields.
pub fn new(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), size, oci_digest(digest))
}

/// The media type of a descriptor as a string.
pub fn media_type_of(descriptor: &Descriptor) -> &str {
    descriptor.media_type().as_ref()
}

/// A descriptor with its digest converted (and so validated) once: what the
/// [`ImageSource`](crate::ImageSource) and
/// [`ImageDestination`](crate::ImageDestination) methods take.
///
/// ```
/// use oci_dist::descriptor::{self, CheckedDescriptor};
/// let d = registry_core::Digest::sha256_of(b"{}");
/// let checked = CheckedDescriptor::new(descriptor::new("application/vnd.oci.empty.v1+json", &d, 2))?;
/// assert_eq!(checked.digest(), &d);
/// assert_eq!((checked.size(), checked.media_type()), (2, "application/vnd.oci.empty.v1+json"));
///
/// let sha384: oci_spec::image::Digest = format!("sha384:{}", "a".repeat(96)).parse().unwrap();
/// let odd = oci_spec::image::Descriptor::new("application/octet-stream".into(), 1, sha384);
/// assert_eq!(CheckedDescriptor::new(odd).unwrap_err().kind(), registry_core::ErrorKind::Unsupported);
/// # Ok::<(), registry_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDescriptor {
    descriptor: Descriptor,
    digest: Digest,
}

impl CheckedDescriptor {
    /// Converts the descriptor's digest ([`digest_of`]).
    pub fn new(descriptor: Descriptor) -> Result<CheckedDescriptor, Error> {
        let digest = digest_of(&descriptor)?;
        Ok(CheckedDescriptor { descriptor, digest })
    }

    /// A descriptor with the three required fields (see [`new`]).
    pub fn from_parts(media_type: &str, digest: Digest, size: u64) -> CheckedDescriptor {
        CheckedDescriptor {
            descriptor: new(media_type, &digest, size),
            digest,
        }
    }

    /// A descriptor found by comparing its digest with `digest`
    /// ([`same_digest`]), so known to carry it (debug builds check).
    pub(crate) fn matching(descriptor: Descriptor, digest: Digest) -> CheckedDescriptor {
        debug_assert!(same_digest(descriptor.digest(), &digest));
        CheckedDescriptor { descriptor, digest }
    }

    /// The digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.descriptor.size()
    }

    /// The media type.
    pub fn media_type(&self) -> &str {
        media_type_of(&self.descriptor)
    }

    /// The `oci-spec` descriptor (platform, annotations, URLs, …).
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The `oci-spec` descriptor, consuming this.
    pub fn into_descriptor(self) -> Descriptor {
        self.descriptor
    }

    /// Changes the descriptor by `f`, which must not change its digest
    /// (debug builds check).
    pub(crate) fn map_descriptor(mut self, f: impl FnOnce(&mut Descriptor)) -> CheckedDescriptor {
        f(&mut self.descriptor);
        debug_assert!(same_digest(self.descriptor.digest(), &self.digest));
        self
    }
}

impl TryFrom<Descriptor> for CheckedDescriptor {
    type Error = Error;

    fn try_from(descriptor: Descriptor) -> Result<CheckedDescriptor, Error> {
        CheckedDescriptor::new(descriptor)
    }
}

impl TryFrom<&Descriptor> for CheckedDescriptor {
    type Error = Error;

    fn try_from(descriptor: &Descriptor) -> Result<CheckedDescriptor, Error> {
        CheckedDescriptor::new(descriptor.clone())
    }
}

impl From<CheckedDescriptor> for Descriptor {
    fn from(checked: CheckedDescriptor) -> Descriptor {
        checked.descriptor
    }
}

impl AsRef<Descriptor> for CheckedDescriptor {
    fn as_ref(&self) -> &Descriptor {
        &self.descriptor
    }
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
        let oci: oci_spec::image::Digest = format!("sha384:{}", "a".repeat(96)).parse().unwrap();
        let err = from_oci(&oci).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("\"sha384\""), "{err}");
        let oci: oci_spec::image::Digest = "multihash+base58:QmRZxt2b1FVZ".parse().unwrap();
        assert_eq!(from_oci(&oci).unwrap_err().kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn round_trip() {
        let d = Digest::sha256_of(b"abc");
        let desc = new(crate::media_type::OCI_LAYER_GZIP, &d, 3);
        assert_eq!(media_type_of(&desc), crate::media_type::OCI_LAYER_GZIP);
        assert_eq!(digest_of(&desc).unwrap(), d);
        assert_eq!(desc.size(), 3);
        let sha512: Digest = format!("sha512:{}", "b".repeat(128)).parse().unwrap();
        assert_eq!(from_oci(&oci_digest(&sha512)).unwrap(), sha512);
    }

    #[test]
    fn comparison_by_parts() {
        let d = Digest::sha256_of(b"abc");
        assert!(same_digest(&oci_digest(&d), &d));
        assert!(!same_digest(&oci_digest(&Digest::sha256_of(b"abd")), &d));
        let sha512: Digest = format!("sha512:{}", d.hex().repeat(2)).parse().unwrap();
        assert!(!same_digest(&oci_digest(&sha512), &d));
    }

    #[test]
    fn checked_descriptor_keeps_the_descriptor() {
        let d = Digest::sha256_of(b"abc");
        let checked = CheckedDescriptor::from_parts(crate::media_type::OCI_LAYER_TAR, d.clone(), 3);
        assert_eq!(checked.digest(), &d);
        assert_eq!(checked.media_type(), crate::media_type::OCI_LAYER_TAR);
        let again = CheckedDescriptor::try_from(checked.descriptor()).unwrap();
        assert_eq!(again, checked);
        assert_eq!(Descriptor::from(again).size(), 3);
    }
}
