//! The step-by-step upload API: start, chunks (with or without an
//! explicit range), completion (with a digest or the calculated one),
//! status and cancel.

use std::ops::RangeInclusive;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Response, StatusCode};
use registry_core::digest::Verifier;
use registry_core::{Body, Digest, Error, ErrorKind};

use super::body::{Reader, SliceBody};
use super::calculator::Calculator;
use super::session::*;
use crate::client::{Client, OCTET_STREAM, header_str, parsed_header};
use crate::content::ByteStream;

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

    pub(super) fn session_from(
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

    pub(super) async fn upload_bytes_at(
        &self,
        session: &mut UploadSession,
        start: u64,
        data: Bytes,
    ) -> Result<(), Error> {
        let hashed = session
            .calculator
            .for_chunk()
            .map(|mut v| v.update(&data).map(|()| v))
            .transpose()?;
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
        let reader = Reader::new(stream, session.calculator.for_chunk());
        let body = Body::wrap(SliceBody::new(reader.clone(), len));
        self.patch(session, body, Some(len), start).await?;
        let hashed = reader.lock().expect("poisoned").take_verifier();
        session.calculator = next_calculator(&session.calculator, hashed, start, len);
        Ok(())
    }

    /// `PATCH`es `body` (`len` bytes at `start`; with `Content-Range` when
    /// the length is known) and moves the session to the registry's offset.
    pub(super) async fn patch(
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
        self.put_final(&session, digest, Body::empty(), 0).await
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
        self.put_final(&session, digest, Body::full(data), len)
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
        self.put_final(&session, &digest, Body::empty(), 0).await
    }

    pub(super) async fn put_final(
        &self,
        session: &UploadSession,
        digest: &Digest,
        body: Body,
        len: u64,
    ) -> Result<Digest, Error> {
        let what = format!("PUT blob {}@{digest}", self.registry());
        let url = session.with_query("digest", &digest.to_string());
        let mut req = self.request(Method::PUT, &url, body)?;
        let h = req.headers_mut();
        h.insert(CONTENT_TYPE, OCTET_STREAM);
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
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
        if let Some(d) = parsed_header::<Digest>(&resp, "docker-content-digest")
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
        self.send_delete(&session.location.to_string(), &what).await
    }
}

/// The registry's `DIGEST_INVALID` on completing an upload means the bytes
/// it received do not hash to the digest: a digest mismatch.
pub(super) fn digest_invalid_is_a_mismatch(e: Error) -> Error {
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
pub(super) fn range_refused_is_a_conflict(e: Error, start: u64) -> Error {
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
pub(super) fn next_calculator(
    old: &Calculator,
    hashed: Option<Verifier>,
    start: u64,
    len: u64,
) -> Calculator {
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
pub(super) fn check_calculated(
    session: &UploadSession,
    digest: &Digest,
    tail: &[u8],
) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::digest::Algorithm;

    #[test]
    pub(super) fn a_chunk_after_the_calculation_fell_behind_loses_it() {
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
    pub(super) fn calculating_needs_the_start() {
        let mut s = UploadSession::from_location("http://r/v2/a/blobs/uploads/x").unwrap();
        s.offset = 3;
        let err = s.calculating_digest(Algorithm::Sha256).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    pub(super) fn supplied_digests_are_checked_against_what_was_sent() {
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
