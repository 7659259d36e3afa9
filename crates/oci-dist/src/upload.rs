//! Blob uploads: sessions (`POST`), chunks (`PATCH` with `Content-Range`,
//! honouring `OCI-Chunk-Min-Length`), completion (`PUT ?digest=`), status
//! and resume (`GET` → `Range`), cancel, cross-repository mount, and
//! [`Client::push_blob`], which streams one monolithic `PUT` when it can
//! and falls back to chunks on `413` or when configured.

mod body;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Response, StatusCode, Uri};
use registry_core::auth::{RequiredScopes, Scope, Scopes};
use registry_core::digest::{Algorithm, Verifier};
use registry_core::{Body, Digest, Error, ErrorKind};

use crate::client::{Client, OCTET_STREAM, header_str};
use crate::content::{BlobSource, ByteStream};
use body::{Reader, SliceBody};

/// How many times an interrupted chunked upload is resumed.
pub const MAX_RESUMES: u32 = 3;

/// An open blob upload: where to send the next request and how much the
/// registry has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    location: Uri,
    offset: u64,
    min_chunk: Option<u64>,
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
        Ok(UploadSession {
            location,
            offset: 0,
            min_chunk: None,
        })
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
    fn with_query(&self, key: &str, value: &str) -> String {
        let loc = self.location.to_string();
        let sep = if self.location.query().is_some() {
            '&'
        } else {
            '?'
        };
        let value =
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
        format!("{loc}{sep}{key}={value}")
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
}

impl Client {
    /// Opens an upload session (`POST /v2/<name>/blobs/uploads/`).
    pub async fn start_upload(&self) -> Result<UploadSession, Error> {
        let what = format!("POST blob upload {}", self.registry());
        let url = self.repo_url("blobs/uploads/")?;
        let mut req = self.request(Method::POST, &url, Body::empty())?;
        req.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let resp = self
            .send_expect(req, &[StatusCode::ACCEPTED], &what)
            .await?;
        self.session_from(&resp, &what, None)
    }

    fn session_from(
        &self,
        resp: &Response<Body>,
        what: &str,
        previous: Option<&UploadSession>,
    ) -> Result<UploadSession, Error> {
        let location = match header_str(resp, LOCATION.as_str()) {
            Some(l) => self.resolve_location(l)?,
            None => match previous {
                Some(p) => p.location.clone(),
                None => {
                    return Err(Error::protocol(format!(
                        "{what}: no Location in the response"
                    )));
                }
            },
        };
        let min_chunk = header_str(resp, "oci-chunk-min-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or(previous.and_then(|p| p.min_chunk));
        let known = previous.map_or(0, |p| p.offset);
        let offset = header_str(resp, "range")
            .and_then(|r| parse_range_end(r, known))
            .unwrap_or(known);
        Ok(UploadSession {
            location,
            offset,
            min_chunk,
        })
    }

    /// Sends one chunk (`PATCH` with `Content-Range: <offset>-<end>`) and
    /// moves the session on. Every chunk but the last must be at least
    /// [`UploadSession::min_chunk_length`] long.
    pub async fn upload_chunk(
        &self,
        session: &mut UploadSession,
        data: Bytes,
    ) -> Result<(), Error> {
        let len = data.len() as u64;
        self.patch(session, Body::full(data), Some(len)).await
    }

    /// Sends one chunk of `len` bytes read from a stream.
    pub async fn upload_chunk_stream(
        &self,
        session: &mut UploadSession,
        stream: ByteStream,
        len: u64,
    ) -> Result<(), Error> {
        let reader = Reader::new(stream);
        self.patch(session, Body::wrap(SliceBody::new(reader, len)), Some(len))
            .await
    }

    async fn patch(
        &self,
        session: &mut UploadSession,
        body: Body,
        len: Option<u64>,
    ) -> Result<(), Error> {
        if len == Some(0) {
            return Ok(());
        }
        let what = format!(
            "PATCH blob upload {} at offset {}",
            self.registry(),
            session.offset
        );
        let mut req = self.request(Method::PATCH, &session.location.to_string(), body)?;
        let h = req.headers_mut();
        h.insert(CONTENT_TYPE, OCTET_STREAM);
        if let Some(len) = len {
            let range = format!("{}-{}", session.offset, session.offset + len - 1);
            h.insert(
                "content-range",
                HeaderValue::from_str(&range).expect("ASCII"),
            );
            h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        let resp = self
            .send_expect(req, &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT], &what)
            .await?;
        let expected = session.offset + len.unwrap_or(0);
        let mut next = self.session_from(&resp, &what, Some(session))?;
        if len.is_some() && header_str(&resp, "range").is_none() {
            next.offset = expected;
        }
        *session = next;
        Ok(())
    }

    /// Finishes an upload (`PUT <location>?digest=<digest>`, no body); the
    /// registry checks the content against `digest`.
    pub async fn complete_upload(
        &self,
        session: UploadSession,
        digest: &Digest,
    ) -> Result<Digest, Error> {
        self.put_final(&session, digest, Body::empty(), Some(0))
            .await
    }

    /// Finishes an upload with a last chunk of data in the `PUT`.
    pub async fn complete_upload_with(
        &self,
        session: UploadSession,
        digest: &Digest,
        data: Bytes,
    ) -> Result<Digest, Error> {
        let len = data.len() as u64;
        self.put_final(&session, digest, Body::full(data), Some(len))
            .await
    }

    async fn put_final(
        &self,
        session: &UploadSession,
        digest: &Digest,
        body: Body,
        len: Option<u64>,
    ) -> Result<Digest, Error> {
        let what = format!("PUT blob {}@{digest}", self.registry());
        let url = session.with_query("digest", &digest.to_string());
        let mut req = self.request(Method::PUT, &url, body)?;
        let h = req.headers_mut();
        h.insert(CONTENT_TYPE, OCTET_STREAM);
        if let Some(len) = len {
            h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        let resp = self
            .send_expect(
                req,
                &[
                    StatusCode::CREATED,
                    StatusCode::NO_CONTENT,
                    StatusCode::ACCEPTED,
                ],
                &what,
            )
            .await
            .map_err(digest_invalid_is_a_mismatch)?;
        if let Some(d) =
            header_str(&resp, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok())
            && d.algorithm() == digest.algorithm()
            && &d != digest
        {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{what}: the registry stored {d}"),
            ));
        }
        Ok(digest.clone())
    }

    /// Asks the registry how much of the upload it has (`GET <location>`,
    /// `Range: 0-<last>`) and moves the session to that offset, for resuming.
    pub async fn upload_status(&self, session: &mut UploadSession) -> Result<u64, Error> {
        let what = format!("GET blob upload status {}", self.registry());
        let req = self.request(Method::GET, &session.location.to_string(), Body::empty())?;
        let resp = self
            .send_expect(req, &[StatusCode::NO_CONTENT, StatusCode::OK], &what)
            .await?;
        let mut next = self.session_from(&resp, &what, Some(session))?;
        let range = header_str(&resp, "range");
        next.offset = range
            .and_then(|r| parse_range_end(r, session.offset))
            .unwrap_or(0);
        *session = next;
        Ok(session.offset)
    }

    /// Abandons an upload (`DELETE <location>`).
    pub async fn cancel_upload(&self, session: UploadSession) -> Result<(), Error> {
        let what = format!("DELETE blob upload {}", self.registry());
        let req = self.request(Method::DELETE, &session.location.to_string(), Body::empty())?;
        self.send_expect(
            req,
            &[StatusCode::NO_CONTENT, StatusCode::OK, StatusCode::ACCEPTED],
            &what,
        )
        .await?;
        Ok(())
    }

    /// Asks the registry to mount `digest` from repository `from` (same
    /// registry) into this one: [`Mount::Mounted`] on `201`, or an upload
    /// session to fall back to on `202`. The request declares push on this
    /// repository and pull on `from`, so a token covers both.
    pub async fn mount_blob(&self, digest: &Digest, from: &str) -> Result<Mount, Error> {
        crate::reference::validate_repository(from)?;
        let repo = self.repo()?.to_owned();
        let what = format!("mount blob {digest} from {from} into {}", self.registry());
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let url = self.repo_url(&format!(
            "blobs/uploads/?mount={}&from={}",
            enc(&digest.to_string()),
            enc(from)
        ))?;
        let mut req = self.request(Method::POST, &url, Body::empty())?;
        req.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        req.extensions_mut().insert(RequiredScopes(Scopes::new([
            Scope::repository(repo, &["pull", "push"]),
            Scope::repository(from, &["pull"]),
        ])));
        let resp = self
            .send_expect(req, &[StatusCode::CREATED, StatusCode::ACCEPTED], &what)
            .await?;
        if resp.status() == StatusCode::CREATED {
            return Ok(Mount::Mounted);
        }
        Ok(Mount::Upload(self.session_from(&resp, &what, None)?))
    }

    /// Uploads a blob unless the repository has it (`HEAD` first).
    /// See [`Client::upload_blob`] for how.
    pub async fn push_blob(
        &self,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
    ) -> Result<PushMethod, Error> {
        if self.blob_exists(digest).await? {
            return Ok(PushMethod::Existed);
        }
        self.upload_blob(source, digest, size).await
    }

    /// Uploads bytes as a blob (unless present) and returns their digest.
    pub async fn push_blob_bytes(&self, data: Bytes) -> Result<Digest, Error> {
        let digest = Digest::sha256_of(&data);
        let size = data.len() as u64;
        self.push_blob(&data, &digest, size).await?;
        Ok(digest)
    }

    /// Uploads a blob without checking whether it exists: one streamed
    /// `PUT` with `Content-Length` (nothing buffered), or, when the client
    /// is configured for chunks or the registry answers `413`, `PATCH`
    /// chunks of the configured size (at least `OCI-Chunk-Min-Length`).
    /// An interrupted chunk is resumed from the registry's offset (up to
    /// [`MAX_RESUMES`] times) by reopening `source` there.
    pub async fn upload_blob(
        &self,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
    ) -> Result<PushMethod, Error> {
        let mut session = self.start_upload().await?;
        let mut restarts = 0u32;
        let mut cut: Option<Error> = None;
        while !self.options().chunked_uploads && !self.refuses_large_bodies() {
            let stream = match source.open(0).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = self.cancel_upload(session).await;
                    return Err(match cut {
                        Some(first) => {
                            first.context(format!("the upload cannot be restarted ({e})"))
                        }
                        None => e,
                    });
                }
            };
            let reader = Reader::new(stream);
            let body = Body::wrap(SliceBody::last(reader, size));
            match self.put_final(&session, digest, body, Some(size)).await {
                Ok(_) => return Ok(PushMethod::Monolithic),
                Err(e) if e.status() == Some(StatusCode::PAYLOAD_TOO_LARGE) => {
                    tracing::info!(%digest, "registry refused a {size}-byte body (413); switching to chunked uploads");
                    self.set_refuses_large_bodies();
                    let _ = self.cancel_upload(session).await;
                    session = self.start_upload().await?;
                }
                // The body was cut off (connection lost, stalled, a 5xx):
                // what the session holds is unknown, so start over on a
                // new one, from the start of the content.
                Err(e) if e.is_retryable() && restarts < MAX_RESUMES => {
                    let _ = self.cancel_upload(session).await;
                    restarts += 1;
                    let delay = registry_core::retry::jittered(std::time::Duration::from_millis(
                        250 << restarts.min(5),
                    ));
                    tracing::info!(%digest, restarts, error = %e, "blob upload failed; starting it again");
                    cut = Some(e);
                    tokio::time::sleep(delay).await;
                    session = self.start_upload().await?;
                }
                Err(e) => {
                    let _ = self.cancel_upload(session).await;
                    return Err(if restarts > 0 {
                        e.context(format!("blob upload restarted {restarts} times"))
                    } else {
                        e
                    });
                }
            }
        }
        match self.upload_chunks(&mut session, source, digest, size).await {
            Ok(()) => Ok(PushMethod::Chunked),
            Err(e) => {
                let _ = self.cancel_upload(session).await;
                Err(e)
            }
        }
    }

    async fn upload_chunks(
        &self,
        session: &mut UploadSession,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
    ) -> Result<(), Error> {
        let mut chunk = self
            .options()
            .chunk_size
            .max(session.min_chunk.unwrap_or(0))
            .max(1);
        let mut reader: Option<(u64, Arc<Mutex<Reader>>)> = None;
        let mut resumes = 0;
        while session.offset < size {
            let offset = session.offset;
            let r = match &reader {
                Some((at, r)) if *at == offset => r.clone(),
                _ => Reader::new(source.open(offset).await?),
            };
            let len = chunk.min(size - offset);
            let body = if offset + len == size {
                SliceBody::last(r.clone(), len)
            } else {
                SliceBody::new(r.clone(), len)
            };
            let body = Body::wrap(body);
            match self.patch(session, body, Some(len)).await {
                Ok(()) if session.offset == offset + len => reader = Some((session.offset, r)),
                Ok(()) => reader = None,
                Err(e) => {
                    let too_large = e.status() == Some(StatusCode::PAYLOAD_TOO_LARGE);
                    let resumable = too_large
                        || e.is_retryable()
                        || e.status() == Some(StatusCode::RANGE_NOT_SATISFIABLE);
                    if !resumable || resumes >= MAX_RESUMES {
                        return Err(e);
                    }
                    resumes += 1;
                    if too_large {
                        let min = session.min_chunk.unwrap_or(1);
                        if chunk / 2 < min {
                            return Err(e);
                        }
                        chunk /= 2;
                    }
                    tracing::info!(error = %e, "chunk upload failed; resuming from the registry's offset");
                    reader = None;
                    self.upload_status(session).await?;
                }
            }
        }
        self.put_final(session, digest, Body::empty(), Some(0))
            .await?;
        Ok(())
    }

    /// Uploads a stream of unknown content: one streamed `PATCH` (chunked
    /// transfer encoding when `size` is unknown), hashing as the bytes flow,
    /// then `PUT ?digest=` with the computed sha256 digest, returned.
    pub async fn push_blob_stream(
        &self,
        stream: ByteStream,
        size: Option<u64>,
    ) -> Result<Digest, Error> {
        let mut session = self.start_upload().await?;
        let reader = Reader::hashing(stream, Verifier::computing(Algorithm::Sha256));
        let body = match size {
            Some(n) => SliceBody::new(reader.clone(), n),
            None => SliceBody::to_end(reader.clone()),
        };
        let result = async {
            let what = format!("PATCH blob upload {}", self.registry());
            let mut req = self.request(
                Method::PATCH,
                &session.location.to_string(),
                Body::wrap(body),
            )?;
            req.headers_mut().insert(CONTENT_TYPE, OCTET_STREAM);
            if let Some(n) = size {
                req.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(n));
            }
            let resp = self
                .send_expect(req, &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT], &what)
                .await?;
            session = self.session_from(&resp, &what, Some(&session))?;
            let end =
                std::future::poll_fn(|cx| reader.lock().expect("poisoned").poll_at_end(cx)).await?;
            if !end {
                return Err(Error::invalid_input(format!(
                    "blob content is longer than the declared {} bytes",
                    size.unwrap_or(0)
                )));
            }
            let digest = reader
                .lock()
                .expect("poisoned")
                .take_verifier()
                .expect("hashing reader")
                .finish()?;
            self.put_final(&session, &digest, Body::empty(), Some(0))
                .await
        }
        .await;
        if result.is_err() {
            let _ = self.cancel_upload(session).await;
        }
        result
    }
}

/// The registry's `DIGEST_INVALID` on completing an upload means the bytes
/// it received do not hash to the digest: a digest mismatch.
fn digest_invalid_is_a_mismatch(e: Error) -> Error {
    if e.oci_errors().iter().any(|o| o.code == "DIGEST_INVALID") {
        let mut out = Error::new(ErrorKind::DigestMismatch, e.to_string());
        if let Some(s) = e.status() {
            out = out.with_status(s);
        }
        out
    } else {
        e
    }
}

/// Parses the `Range: 0-<end>` of an upload and returns the next offset.
/// Distribution answers `0-0` both for an empty upload and for one byte,
/// so `0-0` means 1 only when the caller already had at least one byte.
fn parse_range_end(v: &str, known: u64) -> Option<u64> {
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
}
