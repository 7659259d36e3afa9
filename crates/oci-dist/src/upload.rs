//! Blob uploads: sessions (`POST`), chunks (`PATCH` with `Content-Range`,
//! honouring `OCI-Chunk-Min-Length`), completion (`PUT ?digest=`), status
//! and resume (`GET` → `Range`), cancel, cross-repository mount, and
//! [`Client::push_blob`], which streams one monolithic `PUT` when it can
//! and falls back to chunks on `413` or when configured.
//!
//! The step-by-step API (the seed's `BlobClient`): [`Client::start_upload`]
//! (`StartUpload`), [`Client::upload_chunk`] and [`Client::upload_chunk_at`]
//! (`UploadChunk`, with or without `RangeStart`/`RangeEnd`),
//! [`Client::upload_status`] (`GetUploadStatus`), [`Client::complete_upload`]
//! and [`Client::complete_calculated_upload`] (`CompleteUpload`, with a
//! digest or with the session's [`calculator`](UploadSession::calculating_digest),
//! the seed's `BlobDigestCalculator`), [`Client::cancel_upload`] and
//! [`Client::mount_blob`] (`MountBlob`); each session knows its
//! [`id`](UploadSession::id) (`Docker-Upload-UUID`).
//!
//! ```no_run
//! use bytes::Bytes;
//! use registry_core::digest::Algorithm;
//! # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
//! let mut session = app.start_upload().await?.calculating_digest(Algorithm::Sha256)?;
//! println!("upload {:?}", session.id());
//! app.upload_chunk(&mut session, Bytes::from_static(b"hello ")).await?;
//! app.upload_chunk(&mut session, Bytes::from_static(b"world")).await?;
//! let digest = app.complete_calculated_upload(session).await?;
//! assert_eq!(digest, registry_core::Digest::sha256_of(b"hello world"));
//! # Ok(()) }
//! ```

mod body;
mod calculator;

use std::ops::RangeInclusive;
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
use calculator::Calculator;

/// How many times an interrupted chunked upload is resumed.
pub const MAX_RESUMES: u32 = 3;

/// An open blob upload: where to send the next request, how much the
/// registry has, its id, and optionally the digest of what was sent (see
/// [`UploadSession::calculating_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    location: Uri,
    offset: u64,
    min_chunk: Option<u64>,
    id: Option<String>,
    calculator: Calculator,
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
        let id = header_str(resp, "docker-upload-uuid")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .or_else(|| previous.and_then(|p| p.id.clone()))
            .or_else(|| id_from_location(&location));
        Ok(UploadSession {
            location,
            offset,
            min_chunk,
            id,
            calculator: previous.map(|p| p.calculator.clone()).unwrap_or_default(),
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
        let start = session.offset;
        self.upload_bytes_at(session, start, data).await
    }

    /// Sends one chunk with the `Content-Range: <start>-<end>` the caller
    /// gives (the seed's `UploadChunk` with `RangeStart`/`RangeEnd`).
    ///
    /// The range is checked before anything is sent: it must hold as many
    /// bytes as `data` ([`ErrorKind::InvalidInput`] otherwise) and start at
    /// the session's [`offset`](UploadSession::offset), where the spec
    /// requires every chunk to start ([`ErrorKind::Conflict`] otherwise).
    /// The second check is not left to the registry because
    /// docker-registry 2.8 ignores `Content-Range` on `PATCH` and would
    /// append the chunk at the end of the upload, corrupting the blob.
    /// A registry that does check (distribution 3, ACR) and finds the
    /// session stale (another writer moved the upload on) answers `416
    /// Range Not Satisfiable`: also an [`ErrorKind::Conflict`] error, with
    /// the status kept. Either way the session is unchanged; after a `416`,
    /// [`Client::upload_status`] gives the registry's offset.
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let mut session = app.start_upload().await?;
    /// app.upload_chunk_at(&mut session, 0..=4, Bytes::from_static(b"hello")).await?;
    /// let err = app.upload_chunk_at(&mut session, 2..=3, Bytes::from_static(b"ll")).await.unwrap_err();
    /// assert_eq!(err.kind(), registry_core::ErrorKind::Conflict);
    /// assert_eq!(session.offset(), 5);
    /// # Ok(()) }
    /// ```
    pub async fn upload_chunk_at(
        &self,
        session: &mut UploadSession,
        range: RangeInclusive<u64>,
        data: Bytes,
    ) -> Result<(), Error> {
        let (start, end) = range.into_inner();
        let len = data.len() as u64;
        if end < start || end - start + 1 != len {
            return Err(Error::invalid_input(format!(
                "chunk range {start}-{end} does not hold the {len} bytes given"
            )));
        }
        if start != session.offset {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "chunk range {start}-{end} does not start where the upload ends \
                     (offset {}); nothing sent",
                    session.offset
                ),
            ));
        }
        self.upload_bytes_at(session, start, data).await
    }

    async fn upload_bytes_at(
        &self,
        session: &mut UploadSession,
        start: u64,
        data: Bytes,
    ) -> Result<(), Error> {
        let hashed = match session.calculator.for_chunk() {
            Some(mut v) => {
                v.update(&data)?;
                Some(v)
            }
            None => None,
        };
        let len = data.len() as u64;
        self.patch(session, Body::full(data), Some(len), start)
            .await?;
        session.calculator = next_calculator(&session.calculator, hashed, start, len);
        Ok(())
    }

    /// Sends one chunk of `len` bytes read from a stream (hashed, when the
    /// session calculates its digest; the stream must then hold exactly
    /// `len` bytes, see [`UploadSession::calculating_digest`]).
    pub async fn upload_chunk_stream(
        &self,
        session: &mut UploadSession,
        stream: ByteStream,
        len: u64,
    ) -> Result<(), Error> {
        let start = session.offset;
        let reader = match session.calculator.for_chunk() {
            Some(v) => Reader::hashing(stream, v),
            None => Reader::new(stream),
        };
        let body = Body::wrap(SliceBody::new(reader.clone(), len));
        self.patch(session, body, Some(len), start).await?;
        let hashed = reader.lock().expect("poisoned").take_verifier();
        session.calculator = next_calculator(&session.calculator, hashed, start, len);
        Ok(())
    }

    /// `PATCH`es `body` (`len` bytes at `start`; with `Content-Range` when
    /// the length is known) and moves the session to the registry's offset.
    async fn patch(
        &self,
        session: &mut UploadSession,
        body: Body,
        len: Option<u64>,
        start: u64,
    ) -> Result<(), Error> {
        if len == Some(0) {
            return Ok(());
        }
        let what = format!("PATCH blob upload {} at offset {start}", self.registry());
        let mut req = self.request(Method::PATCH, &session.location.to_string(), body)?;
        let h = req.headers_mut();
        h.insert(CONTENT_TYPE, OCTET_STREAM);
        if let Some(len) = len {
            let range = format!("{start}-{}", start + len - 1);
            h.insert(
                "content-range",
                HeaderValue::from_str(&range).expect("ASCII"),
            );
            h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        let resp = self
            .send_expect(req, &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT], &what)
            .await
            .map_err(|e| range_refused_is_a_conflict(e, start))?;
        let expected = start + len.unwrap_or(0);
        let mut next = self.session_from(&resp, &what, Some(session))?;
        next.offset = match (len, header_str(&resp, "range")) {
            // `0-0` after the first byte means 1, not 0.
            (_, Some(r)) => parse_range_end(r, expected).unwrap_or(next.offset),
            (Some(_), None) => expected,
            (None, None) => next.offset,
        };
        *session = next;
        Ok(())
    }

    /// Finishes an upload (`PUT <location>?digest=<digest>`, no body); the
    /// registry checks the content against `digest`. When the session
    /// calculates its digest ([`UploadSession::calculating_digest`]) and
    /// `digest` is not the digest of what was sent, the upload is not
    /// completed: an [`ErrorKind::DigestMismatch`] error and no request
    /// (the session stays open on the registry until it expires; keep a
    /// clone to [cancel](Client::cancel_upload) it).
    pub async fn complete_upload(
        &self,
        session: UploadSession,
        digest: &Digest,
    ) -> Result<Digest, Error> {
        check_calculated(&session, digest, &[])?;
        self.put_final(&session, digest, Body::empty(), Some(0))
            .await
    }

    /// Finishes an upload with a last chunk of data in the `PUT` (checked
    /// like [`Client::complete_upload`] when the session calculates).
    pub async fn complete_upload_with(
        &self,
        session: UploadSession,
        digest: &Digest,
        data: Bytes,
    ) -> Result<Digest, Error> {
        check_calculated(&session, digest, &data)?;
        let len = data.len() as u64;
        self.put_final(&session, digest, Body::full(data), Some(len))
            .await
    }

    /// Finishes an upload with the digest the session calculated of what
    /// was sent (the seed's `CompleteUpload` with a `BlobDigestCalculator`),
    /// and returns it. Without a calculator, [`ErrorKind::InvalidInput`];
    /// when the calculation is no longer in step with the registry (see
    /// [`UploadSession::calculating_digest`]), [`ErrorKind::Conflict`];
    /// neither sends a request.
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// use registry_core::digest::Algorithm;
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let mut session = app.start_upload().await?.calculating_digest(Algorithm::Sha256)?;
    /// app.upload_chunk(&mut session, Bytes::from_static(b"layer bytes")).await?;
    /// let digest = app.complete_calculated_upload(session).await?;
    /// assert!(app.blob_exists(&digest).await?);
    /// # Ok(()) }
    /// ```
    pub async fn complete_calculated_upload(
        &self,
        session: UploadSession,
    ) -> Result<Digest, Error> {
        let digest = session
            .calculator
            .digest(session.offset, &[])
            .map_err(|e| e.context("cannot complete the upload without a digest"))?
            .ok_or_else(|| {
                Error::invalid_input(
                    "the upload session does not calculate its digest \
                     (UploadSession::calculating_digest); complete it with a digest",
                )
            })?;
        self.put_final(&session, &digest, Body::empty(), Some(0))
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
    /// `Range: 0-<last>`) and moves the session to that offset, for resuming
    /// (and updates its [`UploadSession::id`], the seed's `GetUploadStatus`).
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
    /// session to fall back to on `202` (with its [`UploadSession::id`]).
    /// The request declares push on this
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
            match self.patch(session, body, Some(len), offset).await {
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

/// A `416` to a chunk: the registry wants chunks where the upload ends.
fn range_refused_is_a_conflict(e: Error, start: u64) -> Error {
    if e.status() != Some(StatusCode::RANGE_NOT_SATISFIABLE) {
        return e;
    }
    Error::new(
        ErrorKind::Conflict,
        format!(
            "{e}: the registry refused a chunk starting at {start}; \
             call upload_status for the offset it expects"
        ),
    )
    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
}

/// The calculator after the registry accepted `len` bytes at `start`:
/// `hashed` (the old state fed with the chunk) when the chunk continued what
/// was hashed, else lost.
fn next_calculator(old: &Calculator, hashed: Option<Verifier>, start: u64, len: u64) -> Calculator {
    match (old, hashed) {
        (Calculator::On(v), Some(h)) if v.bytes() == start => Calculator::On(Box::new(h)),
        (Calculator::On(v), _) => Calculator::Lost(format!(
            "a chunk of {len} bytes was accepted at offset {start}, after {} hashed bytes",
            v.bytes()
        )),
        (other, _) => other.clone(),
    }
}

/// Refuses a completing digest that is not the digest of what the session
/// sent (plus `tail`), when it calculates one in the same algorithm.
fn check_calculated(session: &UploadSession, digest: &Digest, tail: &[u8]) -> Result<(), Error> {
    if session.calculator.algorithm() != Some(digest.algorithm()) {
        return Ok(());
    }
    // Out of step: the registry checks the digest.
    if let Ok(Some(sent)) = session.calculator.digest(session.offset, tail)
        && &sent != digest
    {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!(
                "not completing the upload: the {} bytes sent hash to {sent}, not {digest}",
                session.offset + tail.len() as u64
            ),
        ));
    }
    Ok(())
}

/// The upload id in an upload URL: the path segment after
/// `/blobs/uploads/`, when there is exactly one.
fn id_from_location(location: &Uri) -> Option<String> {
    let (_, rest) = location.path().rsplit_once("/blobs/uploads/")?;
    let rest = rest.trim_end_matches('/');
    (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
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

    #[test]
    fn a_chunk_after_the_calculation_fell_behind_loses_it() {
        let on = Calculator::start(Algorithm::Sha256);
        let mut fed = on.for_chunk().unwrap();
        fed.update(b"abc").unwrap();
        let next = next_calculator(&on, Some(fed.clone()), 0, 3);
        assert_eq!(
            next.digest(3, b"").unwrap(),
            Some(Digest::sha256_of(b"abc"))
        );
        // The registry had 5 bytes after a cut chunk; 0 were hashed.
        let lost = next_calculator(&on, Some(fed), 5, 3);
        let err = lost.digest(8, b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.to_string().contains("offset 5"), "{err}");
        assert_eq!(
            next_calculator(&Calculator::Off, None, 5, 3),
            Calculator::Off
        );
    }

    #[test]
    fn calculating_needs_the_start() {
        let mut s = UploadSession::from_location("http://r/v2/a/blobs/uploads/x").unwrap();
        s.offset = 3;
        let err = s.calculating_digest(Algorithm::Sha256).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn supplied_digests_are_checked_against_what_was_sent() {
        let s = UploadSession::from_location("http://r/v2/a/blobs/uploads/x")
            .unwrap()
            .calculating_digest(Algorithm::Sha256)
            .unwrap();
        let good = Digest::sha256_of(b"tail");
        check_calculated(&s, &good, b"tail").unwrap();
        let err = check_calculated(&s, &Digest::sha256_of(b"other"), b"tail").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        // Another algorithm: left to the registry.
        let sha512: Digest = format!("sha512:{}", "a".repeat(128)).parse().unwrap();
        check_calculated(&s, &sha512, b"tail").unwrap();
    }
}
