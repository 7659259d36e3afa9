//! Blob reads: verified streaming download that resumes after a broken
//! connection ([`ResumePolicy`]), ranged download, existence check and
//! delete.

mod resume;

pub(crate) use resume::Resumable;
pub use resume::ResumePolicy;

use std::ops::{Bound, RangeBounds};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http::header::RANGE;
use http::{HeaderValue, Method, StatusCode};
use oci_spec::image::Descriptor;
use registry_core::{Body, Digest, Error, ErrorKind};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::client::{Client, content_length, header_str};
use crate::content::ByteStream;
use crate::descriptor::CheckedDescriptor;

/// A blob being downloaded: a stream of its bytes, hashed while they flow.
/// When the content does not match the digest (or the expected size), the
/// stream's last item is an error of kind [`ErrorKind::DigestMismatch`], so
/// consumers never see a clean end for corrupt content.
pub struct Blob {
    stream: ByteStream,
    digest: Digest,
    size: Option<u64>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Blob {
    /// The digest the content is verified against.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size, when known (from the descriptor or `Content-Length`).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The verified byte stream.
    pub fn into_stream(self) -> ByteStream {
        self.stream
    }

    /// Writes the whole blob to `w` (flushing at the end) and returns the
    /// number of bytes written. On a digest mismatch the bytes were written
    /// already: write to a temporary file and rename it only on success.
    pub async fn write_to<W: AsyncWrite + Unpin>(mut self, w: &mut W) -> Result<u64, Error> {
        let mut n = 0u64;
        while let Some(chunk) = self.stream.try_next().await? {
            w.write_all(&chunk).await?;
            n += chunk.len() as u64;
        }
        w.flush().await?;
        Ok(n)
    }

    /// Reads the whole blob into memory, failing when it is larger than
    /// `limit` bytes. For configs and small artifacts only.
    pub async fn bytes(mut self, limit: usize) -> Result<Bytes, Error> {
        if let Some(size) = self.size
            && size > limit as u64
        {
            return Err(Error::invalid_content(format!(
                "blob {} is {size} bytes, more than the {limit}-byte limit",
                self.digest
            )));
        }
        let mut out = bytes::BytesMut::with_capacity(self.size.unwrap_or(0) as usize);
        while let Some(chunk) = self.stream.try_next().await? {
            if out.len() + chunk.len() > limit {
                return Err(Error::invalid_content(format!(
                    "blob {} is larger than the {limit}-byte limit",
                    self.digest
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

impl Stream for Blob {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

/// Part of a blob, from [`Client::get_blob_range`]. Partial content cannot
/// be verified against the blob's digest.
pub struct BlobRange {
    /// The bytes of the range.
    pub stream: ByteStream,
    /// The offset of the first byte.
    pub offset: u64,
    /// The number of bytes in the range, when known.
    pub length: Option<u64>,
    /// The size of the whole blob, when the registry said.
    pub total: Option<u64>,
    /// Whether the registry honoured the range (`206`); when it did not
    /// (`200`), the range was cut out of the full response client-side.
    pub partial_response: bool,
}

impl std::fmt::Debug for BlobRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRange")
            .field("offset", &self.offset)
            .field("length", &self.length)
            .field("total", &self.total)
            .field("partial_response", &self.partial_response)
            .finish_non_exhaustive()
    }
}

/// What the registry says about part of a blob, from
/// [`Client::check_blob_range`] (the seed's `CheckChunkExists`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRangeCheck {
    /// Whether the repository has the blob (`false` on `404`).
    pub exists: bool,
    /// Whether every byte of the range is in the blob: a `206` whose
    /// `Content-Range` is the range asked for, or a `200` (range ignored)
    /// whose `Content-Length` covers it. `false` for `416` (the range
    /// starts past the end) or a range running past the end.
    pub available: bool,
    /// Whether the registry answered the range itself (`206`, or `416`);
    /// `false` when it ignored it (`200` for the whole blob).
    pub partial_response: bool,
    /// The `Content-Range` header as sent (`bytes 0-299/1024`, or
    /// `bytes */1024` with a `416`).
    pub content_range: Option<String>,
    /// The `Content-Length` header: of the range with a `206`, of the whole
    /// blob with a `200`.
    pub length: Option<u64>,
    /// The size of the whole blob, when the registry said (the total of
    /// `Content-Range`, or the `Content-Length` of a `200`).
    pub total: Option<u64>,
}

/// `bytes=<start>-[<end>]` for a range, and its bounds.
fn range_spec(range: &impl RangeBounds<u64>) -> Result<(u64, Option<u64>, String), Error> {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => Some(*e),
        Bound::Excluded(0) => {
            return Err(Error::invalid_input("empty blob range"));
        }
        Bound::Excluded(e) => Some(e - 1),
        Bound::Unbounded => None,
    };
    if let Some(e) = end
        && e < start
    {
        return Err(Error::invalid_input(format!(
            "empty blob range {start}..={e}"
        )));
    }
    let spec = match end {
        Some(e) => format!("bytes={start}-{e}"),
        None => format!("bytes={start}-"),
    };
    Ok((start, end, spec))
}

/// A blob size the registry gives (`got`) that is not the descriptor's
/// (`want`) is a [`ErrorKind::DigestMismatch`] of `what`.
fn check_size(what: &str, want: Option<u64>, got: Option<u64>) -> Result<(), Error> {
    match (want, got) {
        (Some(want), Some(got)) if want != got => Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("{what}: registry says {got} bytes, the descriptor says {want}"),
        )),
        _ => Ok(()),
    }
}

impl Client {
    /// Downloads a blob as a verified stream (see [`Blob`]).
    pub async fn get_blob(&self, digest: &Digest) -> Result<Blob, Error> {
        self.get_blob_sized(digest, None).await
    }

    /// Downloads the blob a descriptor points to, verifying digest and size.
    pub async fn fetch_blob(&self, descriptor: &Descriptor) -> Result<Blob, Error> {
        self.fetch_checked_blob(&CheckedDescriptor::try_from(descriptor)?)
            .await
    }

    /// [`Client::fetch_blob`] for a descriptor whose digest is converted.
    pub(crate) async fn fetch_checked_blob(
        &self,
        descriptor: &CheckedDescriptor,
    ) -> Result<Blob, Error> {
        self.get_blob_sized(descriptor.digest(), Some(descriptor.size()))
            .await
    }

    async fn get_blob_sized(&self, digest: &Digest, size: Option<u64>) -> Result<Blob, Error> {
        let what = format!("GET blob {}@{digest}", self.registry());
        let url = self.repo_url(&format!("blobs/{digest}"))?;
        let req = self.request(Method::GET, &url, Body::empty())?;
        let resp = self.send_expect(req, &[StatusCode::OK], &what).await?;
        let len = content_length(&resp);
        check_size(&what, size, len)?;
        let size = size.or(len);
        let body = Box::pin(resp.into_body().into_data_stream());
        let stream =
            Resumable::new(self.clone(), digest.clone(), what, size, 0, body, true).into_stream();
        Ok(Blob {
            stream,
            digest: digest.clone(),
            size,
        })
    }

    /// The bytes of a blob from `offset` to its end, resumed like
    /// [`Client::get_blob`] when the connection breaks, but not verified
    /// (the bytes before `offset` are not read): the caller hashes what it
    /// already has plus this. `size` is the blob's size when known.
    pub(crate) async fn get_blob_from(
        &self,
        digest: &Digest,
        size: Option<u64>,
        offset: u64,
    ) -> Result<ByteStream, Error> {
        let part = self.get_blob_range(digest, offset..).await?;
        check_size(&format!("blob {digest}"), size, part.total)?;
        Ok(part.stream)
    }

    /// Downloads part of a blob with `Range: bytes=a-b` (expects `206`; a
    /// registry that answers `200` with everything is handled by skipping
    /// and truncating locally).
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client, d: registry_core::Digest) -> Result<(), registry_core::Error> {
    /// let part = app.get_blob_range(&d, 100..200).await?;
    /// assert_eq!(part.offset, 100);
    /// # Ok(()) }
    /// ```
    pub async fn get_blob_range(
        &self,
        digest: &Digest,
        range: impl RangeBounds<u64>,
    ) -> Result<BlobRange, Error> {
        let (start, end, spec) = range_spec(&range)?;
        let what = format!("GET blob {}@{digest} ({spec})", self.registry());
        let resp = self
            .send_blob_range(
                Method::GET,
                digest,
                &spec,
                &[StatusCode::PARTIAL_CONTENT, StatusCode::OK],
                &what,
            )
            .await?;
        let len = content_length(&resp);
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        // Where the body starts in the blob, the blob's size, the range's.
        let (body_start, total, length) = if partial {
            let (first, total) = header_str(&resp, "content-range")
                .and_then(parse_content_range)
                .unwrap_or((start, None));
            if first != start {
                return Err(Error::protocol(format!(
                    "{what}: registry sent a range starting at {first}"
                )));
            }
            (start, total, len)
        } else {
            let length = end.map(|e| e - start + 1);
            (0, len, length.or(len.map(|t| t.saturating_sub(start))))
        };
        let body: ByteStream = Box::pin(resp.into_body().into_data_stream());
        let body = match end {
            // To the end: resumed when the connection breaks.
            None => Resumable::new(
                self.clone(),
                digest.clone(),
                what,
                total,
                body_start,
                body,
                false,
            )
            .into_stream(),
            Some(_) => body,
        };
        Ok(BlobRange {
            // A whole blob (`200`) is cut to the range here.
            stream: if partial {
                body
            } else {
                slice_stream(body, start, length)
            },
            offset: start,
            length,
            total,
            partial_response: partial,
        })
    }

    /// A blob request with `Range: <spec>`.
    async fn send_blob_range(
        &self,
        method: Method,
        digest: &Digest,
        spec: &str,
        ok: &[StatusCode],
        what: &str,
    ) -> Result<http::Response<Body>, Error> {
        let url = self.repo_url(&format!("blobs/{digest}"))?;
        let mut req = self.request(method, &url, Body::empty())?;
        req.headers_mut()
            .insert(RANGE, HeaderValue::from_str(spec).expect("ASCII"));
        self.send_expect(req, ok, what).await
    }

    /// Whether part of a blob is available, without its bytes: `HEAD` with
    /// `Range: bytes=a-b` (the seed's `CheckChunkExists`), next to
    /// [`Client::get_blob_range`]. A missing blob is `exists: false`, not
    /// an error.
    ///
    /// Registries answer such a `HEAD` in two ways, both handled: `206`
    /// with the `Content-Range` of the range (docker-registry 2.8 does, via
    /// Go's `http.ServeContent`; `416` with `bytes */<size>` when the range
    /// starts past the end), or `200` for the whole blob when they ignore
    /// `Range`, in which case availability is worked out from its
    /// `Content-Length` ([`BlobRangeCheck::partial_response`] says which).
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client, d: registry_core::Digest) -> Result<(), registry_core::Error> {
    /// let check = app.check_blob_range(&d, 0..300).await?;
    /// if check.available {
    ///     println!("{:?} of {:?} bytes", check.content_range, check.total);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check_blob_range(
        &self,
        digest: &Digest,
        range: impl RangeBounds<u64>,
    ) -> Result<BlobRangeCheck, Error> {
        let (start, end, spec) = range_spec(&range)?;
        let what = format!("HEAD blob {}@{digest} ({spec})", self.registry());
        let ok = [
            StatusCode::PARTIAL_CONTENT,
            StatusCode::OK,
            StatusCode::RANGE_NOT_SATISFIABLE,
        ];
        let resp = match self
            .send_blob_range(Method::HEAD, digest, &spec, &ok, &what)
            .await
        {
            Ok(resp) => resp,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(BlobRangeCheck {
                    exists: false,
                    available: false,
                    partial_response: false,
                    content_range: None,
                    length: None,
                    total: None,
                });
            }
            Err(e) => return Err(e),
        };
        let length = content_length(&resp);
        let content_range = header_str(&resp, "content-range").map(str::to_owned);
        let parts = content_range.as_deref().and_then(content_range_parts);
        let (available, total) = match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let total = parts.and_then(|p| p.2);
                let whole = parts.is_some_and(|(a, b, _)| {
                    a == start && b.is_some_and(|b| end.is_none_or(|e| b == e))
                });
                (whole, total)
            }
            StatusCode::OK => {
                let fits = length.is_some_and(|t| start < t && end.is_none_or(|e| e < t));
                (fits, length)
            }
            // 416: `bytes */<size>`.
            _ => (false, parts.and_then(|p| p.2)),
        };
        Ok(BlobRangeCheck {
            exists: true,
            available,
            partial_response: resp.status() != StatusCode::OK,
            content_range,
            length,
            total,
        })
    }

    /// Whether the repository has the blob (`HEAD`).
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(self.blob_size(digest).await?.is_some())
    }

    /// The size of the blob, or `None` when the repository does not have it.
    pub async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        let what = format!("HEAD blob {}@{digest}", self.registry());
        let url = self.repo_url(&format!("blobs/{digest}"))?;
        let req = self.request(Method::HEAD, &url, Body::empty())?;
        match self.send_expect(req, &[StatusCode::OK], &what).await {
            Ok(resp) => Ok(Some(content_length(&resp).unwrap_or(0))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a blob (the registry must allow deletes).
    pub async fn delete_blob(&self, digest: &Digest) -> Result<(), Error> {
        let what = format!("DELETE blob {}@{digest}", self.registry());
        let url = self.repo_url(&format!("blobs/{digest}"))?;
        self.send_delete(&url, &what).await
    }
}

/// Parses `bytes a-b/total` (total may be `*`): `(a, total)`; `bytes */total`
/// is `None` (see [`content_range_parts`]).
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    content_range_parts(v).and_then(|(a, b, total)| b.map(|_| (a, total)))
}

/// Parses `bytes a-b/total` into `(a, Some(b), total)` and `bytes */total`
/// into `(0, None, total)` (total may be `*`).
fn content_range_parts(v: &str) -> Option<(u64, Option<u64>, Option<u64>)> {
    let v = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = v.split_once('/')?;
    let total = total.trim().parse().ok();
    if range.trim() == "*" {
        return Some((0, None, total));
    }
    let (a, b) = range.split_once('-')?;
    Some((a.trim().parse().ok()?, Some(b.trim().parse().ok()?), total))
}

/// Skips `skip` bytes of a stream and yields at most `take` after them.
pub(crate) fn slice_stream<S>(stream: S, skip: u64, take: Option<u64>) -> ByteStream
where
    S: Stream<Item = Result<Bytes, Error>> + Send + 'static,
{
    let mut to_skip = skip;
    let mut left = take.unwrap_or(u64::MAX);
    Box::pin(stream.try_filter_map(move |mut chunk| {
        let out = if to_skip >= chunk.len() as u64 {
            to_skip -= chunk.len() as u64;
            None
        } else {
            let _ = chunk.split_to(to_skip as usize);
            to_skip = 0;
            if left == 0 {
                None
            } else {
                if chunk.len() as u64 > left {
                    chunk.truncate(left as usize);
                }
                left -= chunk.len() as u64;
                Some(chunk)
            }
        };
        futures_util::future::ready(Ok(out))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 10-19/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, None)));
        assert_eq!(parse_content_range("0-9"), None);
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(
            parse_content_range("bytes 1-x/100"),
            None,
            "one parser, strict"
        );
        assert_eq!(
            content_range_parts("bytes */100"),
            Some((0, None, Some(100)))
        );
        assert_eq!(
            content_range_parts("bytes 5-9/10"),
            Some((5, Some(9), Some(10)))
        );
    }

    #[tokio::test]
    async fn slicing_across_chunks() {
        let chunks = ["0123", "4567", "89"].map(|s| Ok(Bytes::from_static(s.as_bytes())));
        let s = slice_stream(futures_util::stream::iter(chunks), 3, Some(5));
        let v: Vec<Bytes> = s.try_collect().await.unwrap();
        assert_eq!(v.concat(), b"34567");
        let chunks = ["0123", "4567"].map(|s| Ok(Bytes::from_static(s.as_bytes())));
        let s = slice_stream(futures_util::stream::iter(chunks), 6, None);
        let v: Vec<Bytes> = s.try_collect().await.unwrap();
        assert_eq!(v.concat(), b"67");
    }
}
