//! Upload sessions: where the next request goes, how much the registry
//! has, the session id, the optional digest calculator.

#[cfg(doc)]
use crate::client::Client;
use http::Uri;
#[cfg(doc)]
use registry_core::ErrorKind;
use registry_core::digest::Algorithm;
use registry_core::{Digest, Error};

use super::calculator::Calculator;

/// How many times an interrupted chunked upload is resumed.
pub const MAX_RESUMES: u32 = 3;

/// An open blob upload: where to send the next request, how much the
/// registry has, its id, and optionally the digest of what was sent (see
/// [`UploadSession::calculating_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub(super) location: Uri,
    pub(super) offset: u64,
    pub(super) min_chunk: Option<u64>,
    pub(super) id: Option<String>,
    pub(super) calculator: Calculator,
}

impl UploadSession {
    /// Continues a session known by its (absolute) upload URL, e.g. after a
    /// restart; call [`Client::upload_status`] to learn its offset.
    pub fn from_location(location: &str) -> Result<UploadSession, Error> {
        let location: Uri = location.parse().map_err(|e| {
            Error::invalid_input(format!("invalid upload URL {location:?}")).with_source(e)
        })?;
        if location.scheme().is_none() || location.authority().is_none() {
            return Err(Error::invalid_input("the upload URL must be absolute"));
        }
        let id = id_from_location(&location);
        Ok(UploadSession {
            location,
            offset: 0,
            min_chunk: None,
            id,
            calculator: Calculator::Off,
        })
    }

    /// The upload's id (the seed's `DockerUploadUUID`): the registry's
    /// `Docker-Upload-UUID` header from the last response that had one
    /// ([`Client::start_upload`], [`Client::upload_status`], a chunk, a
    /// [`Client::mount_blob`] that fell back to an upload). When the
    /// registry sends no such header (it is not in the OCI spec), the last
    /// segment of the upload URL's path after `/blobs/uploads/`, which is
    /// where distribution, ACR and Harbor put it; `None` when neither.
    ///
    /// ```
    /// let s = oci_dist::UploadSession::from_location(
    ///     "http://r.example/v2/app/blobs/uploads/2b28c60d-d296?_state=abc",
    /// )?;
    /// assert_eq!(s.id(), Some("2b28c60d-d296"));
    /// # Ok::<(), registry_core::Error>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Turns on the session's digest calculator (the seed's
    /// `BlobDigestCalculator`): from now on every chunk the registry
    /// accepts through [`Client::upload_chunk`],
    /// [`Client::upload_chunk_stream`] or [`Client::upload_chunk_at`] is
    /// hashed, in order, so that
    ///
    /// - [`Client::complete_calculated_upload`] completes the upload with
    ///   the digest of what was sent, and
    /// - [`Client::complete_upload`] and [`Client::complete_upload_with`]
    ///   refuse, with [`ErrorKind::DigestMismatch`] and without sending the
    ///   `PUT`, a digest (of the same algorithm) that is not the digest of
    ///   what was sent.
    ///
    /// Only at the start of an upload (offset 0): an
    /// [`ErrorKind::InvalidInput`] error otherwise. The calculation follows
    /// the registry's offset; when they part (a chunk cut part-way, after
    /// which [`Client::upload_status`] moves the offset past what was
    /// hashed; a stream longer than its chunk), completing without a digest
    /// is refused with
    /// [`ErrorKind::Conflict`], and a supplied digest is left to the
    /// registry to check.
    ///
    /// ```
    /// use registry_core::digest::Algorithm;
    /// let s = oci_dist::UploadSession::from_location("http://r.example/v2/app/blobs/uploads/u")?;
    /// let s = s.calculating_digest(Algorithm::Sha256)?;
    /// assert_eq!(s.calculated_digest(), Some(registry_core::Digest::sha256_of(b"")));
    /// # Ok::<(), registry_core::Error>(())
    /// ```
    pub fn calculating_digest(mut self, algorithm: Algorithm) -> Result<UploadSession, Error> {
        if self.offset != 0 {
            return Err(Error::invalid_input(format!(
                "a digest can only be calculated from the start of an upload; \
                 the registry already holds {} bytes of this one",
                self.offset
            )));
        }
        self.calculator = Calculator::start(algorithm);
        Ok(self)
    }

    /// The digest of what the registry accepted so far, when the session
    /// calculates one and the calculation is in step with the registry's
    /// offset (see [`UploadSession::calculating_digest`]).
    pub fn calculated_digest(&self) -> Option<Digest> {
        self.calculator.digest(self.offset, &[]).ok().flatten()
    }

    /// The upload URL for the next request.
    pub fn location(&self) -> String {
        self.location.to_string()
    }

    /// How many bytes the registry has received.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The registry's `OCI-Chunk-Min-Length`, if it sent one: every chunk
    /// but the last must be at least this long.
    pub fn min_chunk_length(&self) -> Option<u64> {
        self.min_chunk
    }

    /// The location with `key=value` added to its query.
    pub(super) fn with_query(&self, key: &str, value: &str) -> String {
        let loc = self.location.to_string();
        let sep = if self.location.query().is_some() {
            '&'
        } else {
            '?'
        };
        format!("{loc}{sep}{key}={}", crate::paging::encode(value))
    }
}

/// The answer to a mount request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// `201`: the blob is now in the repository; nothing to upload.
    Mounted,
    /// `202`: the registry did not mount it and opened an upload instead.
    Upload(UploadSession),
}

/// How [`Client::push_blob`] got the blob into the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMethod {
    /// The repository already had it (`HEAD`); nothing was sent.
    Existed,
    /// One streamed `PUT`.
    Monolithic,
    /// `PATCH` chunks then `PUT`.
    Chunked,
    /// Mounted from another repository of the registry; nothing was sent
    /// ([`Client::mount_or_upload_blob`]).
    Mounted,
}

/// The upload id in an upload URL: the path segment after
/// `/blobs/uploads/`, when there is exactly one.
pub(super) fn id_from_location(location: &Uri) -> Option<String> {
    let (_, rest) = location.path().rsplit_once("/blobs/uploads/")?;
    let rest = rest.trim_end_matches('/');
    (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
}

/// Parses the `Range: 0-<end>` of an upload and returns the next offset.
/// Distribution answers `0-0` both for an empty upload and for one byte,
/// so `0-0` means 1 only when the caller already had at least one byte.
pub(super) fn parse_range_end(v: &str, known: u64) -> Option<u64> {
    let v = v.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v);
    let (_, end) = v.split_once('-')?;
    let end: u64 = end.trim().parse().ok()?;
    if end == 0 && known == 0 {
        return Some(0);
    }
    Some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_end() {
        assert_eq!(parse_range_end("0-99", 0), Some(100));
        assert_eq!(parse_range_end("bytes=0-9", 0), Some(10));
        assert_eq!(parse_range_end("0-0", 0), Some(0));
        assert_eq!(parse_range_end("0-0", 1), Some(1));
        assert_eq!(parse_range_end("junk", 5), None);
    }

    #[test]
    fn session_query() {
        let s = UploadSession::from_location("http://r/v2/a/blobs/uploads/x?_state=abc").unwrap();
        assert_eq!(
            s.with_query("digest", "sha256:00"),
            "http://r/v2/a/blobs/uploads/x?_state=abc&digest=sha256%3A00"
        );
        let s = UploadSession::from_location("http://r/v2/a/blobs/uploads/x").unwrap();
        assert!(s.with_query("digest", "d").ends_with("/x?digest=d"));
        assert!(UploadSession::from_location("/v2/a/blobs/uploads/x").is_err());
    }

    #[test]
    fn ids_from_locations() {
        let id = |l: &str| id_from_location(&l.parse().unwrap());
        assert_eq!(
            id("http://r/v2/a/b/blobs/uploads/u-1?_state=x").as_deref(),
            Some("u-1")
        );
        assert_eq!(
            id("http://r/v2/a/blobs/uploads/u-1/").as_deref(),
            Some("u-1")
        );
        assert_eq!(id("http://r/v2/a/blobs/uploads/"), None);
        assert_eq!(id("http://r/upload/elsewhere"), None);
    }
}
