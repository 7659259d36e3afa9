//! Whole blobs: cross-repository mount, and `push_blob` (one monolithic
//! `PUT` when it can, chunks on `413` or when configured, resumed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, StatusCode};
use registry_core::auth::{RequiredScopes, Scope, Scopes};
use registry_core::digest::{Algorithm, Verifier};
use registry_core::retry::backoff_delay;
use registry_core::{Body, Digest, Error};

use super::body::{Reader, SliceBody};
use super::session::*;
use crate::client::Client;
use crate::content::{BlobSource, ByteStream};
use crate::paging::encode;

impl Client {
    /// Asks the registry to mount `digest` from repository `from` (same
    /// registry) into this one: [`Mount::Mounted`] on `201`, or an upload
    /// session to fall back to on `202` (with its [`UploadSession::id`]).
    /// The request declares push on this
    /// repository and pull on `from`, so a token covers both.
    pub async fn mount_blob(&self, digest: &Digest, from: &str) -> Result<Mount, Error> {
        crate::reference::validate_repository(from)?;
        let repo = self.repo()?.to_owned();
        let what = format!("mount blob {digest} from {from} into {}", self.registry());
        let url = self.repo_url(&format!(
            "blobs/uploads/?mount={}&from={}",
            encode(&digest.to_string()),
            encode(from)
        ))?;
        let mut req = self.request(Method::POST, &url, Body::empty())?;
        req.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        req.extensions_mut().insert(RequiredScopes(Scopes::new([
            Scope::repository(repo.clone(), &["pull", "push"]),
            Scope::repository(from, &["pull"]),
        ])));
        let resp = self
            .send_expect(req, &[StatusCode::CREATED, StatusCode::ACCEPTED], &what)
            .await?;
        if resp.status() == StatusCode::CREATED {
            self.blob_info().record(digest, &repo);
            return Ok(Mount::Mounted);
        }
        // `from` does not have it (any more), or may not be read.
        self.blob_info().forget(digest, from);
        Ok(Mount::Upload(self.session_from(&resp, &what, None)?))
    }

    /// Mounts `digest` from repository `from` (same registry) with one
    /// `POST ?mount=&from=`, without asking first whether this repository
    /// has it (a mount of a blob already here is a `201` too). When the
    /// registry opens an upload instead (`202`: `from` lacks the blob or may
    /// not be read), `source` is uploaded into that very session, as
    /// [`Client::upload_blob`] does, so the fallback costs no extra request
    /// and leaves no session open.
    ///
    /// ```no_run
    /// use oci_dist::PushMethod;
    /// # async fn run(app: oci_dist::Client, layer: bytes::Bytes) -> Result<(), registry_core::Error> {
    /// let digest = registry_core::Digest::sha256_of(&layer);
    /// let how = app
    ///     .mount_or_upload_blob(&layer, &digest, layer.len() as u64, "org/base")
    ///     .await?;
    /// assert!(matches!(how, PushMethod::Mounted | PushMethod::Monolithic | PushMethod::Chunked));
    /// # Ok(()) }
    /// ```
    pub async fn mount_or_upload_blob(
        &self,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
        from: &str,
    ) -> Result<PushMethod, Error> {
        match self.mount_blob(digest, from).await? {
            Mount::Mounted => Ok(PushMethod::Mounted),
            Mount::Upload(session) => {
                tracing::debug!(%digest, from, "mount refused (202); uploading into its session");
                self.upload_blob_into(session, source, digest, size).await
            }
        }
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
            self.blob_info().record(digest, self.repo()?);
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
        let session = self.start_upload().await?;
        self.upload_blob_into(session, source, digest, size).await
    }

    /// [`Client::upload_blob`] into an open `session` (from a mount the
    /// registry answered with an upload): completed or cancelled here,
    /// never left open. The blob is recorded as held by this repository
    /// once the registry accepted it.
    pub(crate) async fn upload_blob_into(
        &self,
        session: UploadSession,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
    ) -> Result<PushMethod, Error> {
        let how = self
            .upload_blob_session(session, source, digest, size)
            .await?;
        self.blob_info().record(digest, self.repo()?);
        Ok(how)
    }

    async fn upload_blob_session(
        &self,
        mut session: UploadSession,
        source: &dyn BlobSource,
        digest: &Digest,
        size: u64,
    ) -> Result<PushMethod, Error> {
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
            let reader = Reader::new(stream, None);
            let body = Body::wrap(SliceBody::last(reader, size));
            let e = match self.put_final(&session, digest, body, size).await {
                Ok(_) => return Ok(PushMethod::Monolithic),
                Err(e) => e,
            };
            let _ = self.cancel_upload(session).await;
            if e.status() == Some(StatusCode::PAYLOAD_TOO_LARGE) {
                tracing::info!(%digest, "registry refused a {size}-byte body (413); switching to chunked uploads");
                self.set_refuses_large_bodies();
            } else if e.is_retryable() && restarts < MAX_RESUMES {
                // The body was cut off (connection lost, stalled, a 5xx):
                // what the session holds is unknown, so start over on a
                // new one, from the start of the content.
                restarts += 1;
                let delay =
                    backoff_delay(Duration::from_millis(500), Duration::from_secs(8), restarts);
                tracing::info!(%digest, restarts, error = %e, "blob upload failed; starting it again");
                cut = Some(e);
                tokio::time::sleep(delay).await;
            } else {
                return Err(if restarts > 0 {
                    e.context(format!("blob upload restarted {restarts} times"))
                } else {
                    e
                });
            }
            session = self.start_upload().await?;
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
                _ => Reader::new(source.open(offset).await?, None),
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
        self.put_final(session, digest, Body::empty(), 0).await?;
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
        let reader = Reader::new(stream, Some(Verifier::computing(Algorithm::Sha256)));
        let body = match size {
            Some(n) => SliceBody::new(reader.clone(), n),
            None => SliceBody::to_end(reader.clone()),
        };
        let result = async {
            self.patch(&mut session, Body::wrap(body), size, 0).await?;
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
            self.put_final(&session, &digest, Body::empty(), 0).await
        }
        .await;
        if result.is_err() {
            let _ = self.cancel_upload(session).await;
        }
        result
    }
}
