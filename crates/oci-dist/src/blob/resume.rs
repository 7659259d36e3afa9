//! Resumed blob reads: when a blob body breaks off (the connection is cut
//! or reset, the registry stalls or trickles below the low-speed limit),
//! the read continues with `Range: bytes=<offset>-` instead of failing.
//!
//! As containers/image's `docker/body_reader.go`, a reopened read must come
//! back as `206` with a `Content-Range` starting exactly at the offset (and
//! the same total size). Unlike it, a read resumes after any progress, not
//! only after 1 MiB; a [`ResumePolicy`] bounds the attempts that make none.
//! A registry that ignores `Range` and answers `200` is read from the start
//! again with the first `offset` bytes discarded, so the consumer never has
//! to rewind. Hashing continues across segments: the digest check at the
//! end covers every byte handed out, whichever response it came from.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use registry_core::digest::Verifier;
use registry_core::{Digest, Error, ErrorKind};
use tokio::time::Instant;

use crate::client::{Client, content_length, header_str};
use crate::content::ByteStream;

/// How resumed blob reads are bounded.
///
/// A read is resumed after every failure of its body that can be
/// transient (a broken connection, a stall, a transfer below the
/// low-speed limit). An attempt that delivers no progress counts against
/// `max_stalls`; a segment that ends in a timeout counts as no progress
/// unless it delivered at least 64 KiB (a trickle is not progress). A read
/// also gives up after `max_resumes` resumptions in all, and when nothing
/// was gained for `budget`.
///
/// ```
/// use oci_dist::blob::ResumePolicy;
/// use std::time::Duration;
/// let policy = ResumePolicy::default()
///     .max_stalls(5)
///     .max_resumes(50)
///     .budget(Duration::from_secs(300));
/// assert_eq!(policy.get_max_stalls(), 5);
/// let off = ResumePolicy::never();
/// assert_eq!(off.get_max_resumes(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePolicy {
    max_stalls: u32,
    max_resumes: u32,
    base_delay: Duration,
    max_delay: Duration,
    budget: Duration,
}

impl Default for ResumePolicy {
    /// 3 attempts without progress in a row, 100 resumptions in all,
    /// 0.5 s backoff doubling to 8 s, 2 minutes without progress.
    fn default() -> Self {
        ResumePolicy {
            max_stalls: 3,
            max_resumes: 100,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(120),
        }
    }
}

/// Bytes a segment that ended in a timeout must carry to count as progress.
const TIMEOUT_PROGRESS_FLOOR: u64 = 64 * 1024;

impl ResumePolicy {
    /// Never resume: the first failure of a body is final.
    pub fn never() -> ResumePolicy {
        ResumePolicy {
            max_resumes: 0,
            ..ResumePolicy::default()
        }
    }

    /// Resumptions in a row that may bring no progress before giving up.
    pub fn max_stalls(mut self, n: u32) -> Self {
        self.max_stalls = n;
        self
    }

    /// Resumptions of one blob read in all.
    pub fn max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// The first delay before resuming without progress (doubled for each
    /// further one, jittered).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// The longest delay between resumptions.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Give up when no progress was made for this long.
    pub fn budget(mut self, d: Duration) -> Self {
        self.budget = d;
        self
    }

    /// See [`ResumePolicy::max_stalls`].
    pub fn get_max_stalls(&self) -> u32 {
        self.max_stalls
    }

    /// See [`ResumePolicy::max_resumes`].
    pub fn get_max_resumes(&self) -> u32 {
        self.max_resumes
    }

    fn delay(&self, stalls: u32) -> Duration {
        // Right after progress, a short pause; then exponential.
        match stalls {
            0 => registry_core::retry::jittered(self.base_delay / 4),
            n => registry_core::retry::backoff_delay(self.base_delay, self.max_delay, n),
        }
    }
}

/// Whether a body failure may go away on a new request.
fn resumable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout)
}

/// A blob read that resumes: the state carried from one chunk to the next.
pub(crate) struct Resumable {
    client: Client,
    digest: Digest,
    what: String,
    /// The size of the whole blob, when known.
    size: Option<u64>,
    /// Where the stream handed out started (0 for a whole blob).
    start: u64,
    /// The next byte to hand out, as an offset into the blob.
    offset: u64,
    /// Checks from 0 when the stream verifies the blob; carried across
    /// segments.
    verifier: Option<Verifier>,
    body: Option<ByteStream>,
    /// Bytes of the current body to drop (a `200` to a ranged request).
    skip: u64,
    segment_start: u64,
    policy: ResumePolicy,
    stalls: u32,
    resumes: u32,
    last_progress: Instant,
}

impl Resumable {
    /// A read of `digest` whose first response body is `body`, starting at
    /// `start`; verified against the digest (and `size`) when `verify`,
    /// which needs `start == 0`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: Client,
        digest: Digest,
        what: String,
        size: Option<u64>,
        start: u64,
        body: ByteStream,
        verify: bool,
    ) -> Resumable {
        debug_assert!(!verify || start == 0);
        let policy = client.options().resume;
        Resumable {
            verifier: verify.then(|| Verifier::new(digest.clone(), size)),
            client,
            digest,
            what,
            size,
            start,
            offset: start,
            body: Some(body),
            skip: 0,
            segment_start: start,
            policy,
            stalls: 0,
            resumes: 0,
            last_progress: Instant::now(),
        }
    }

    /// The bytes as a stream; its last item is an error when the read
    /// failed for good or the content does not match the digest.
    pub(crate) fn into_stream(self) -> ByteStream {
        Box::pin(futures_util::stream::unfold(
            Some(self),
            |state| async move {
                let mut this = state?;
                match this.next().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), Some(this))),
                    Ok(None) => None,
                    Err(e) => Some((Err(e.context(&this.what)), None)),
                }
            },
        ))
    }

    async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let failure = match self.body.as_mut() {
                None => match self.reopen().await {
                    Ok(body) => {
                        self.body = Some(body);
                        continue;
                    }
                    Err(e) if resumable(&e) || e.kind() == ErrorKind::Server => e,
                    Err(e) => return Err(e),
                },
                Some(body) => match body.next().await {
                    Some(Ok(chunk)) => match self.take(chunk)? {
                        Some(chunk) => return Ok(Some(chunk)),
                        None => continue,
                    },
                    Some(Err(e)) if resumable(&e) => e,
                    Some(Err(e)) => return Err(e),
                    None => match self.size {
                        Some(size) if self.offset < size => Error::transport(
                            format!("the body ended after {} of {size} bytes", self.offset),
                            std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                        ),
                        _ => return self.finish().map(|()| None),
                    },
                },
            };
            self.body = None;
            self.before_resume(failure).await?;
        }
    }

    /// Hands out a chunk (after dropping what a `200` repeats), hashing it.
    fn take(&mut self, mut chunk: Bytes) -> Result<Option<Bytes>, Error> {
        if self.skip > 0 {
            let drop = self.skip.min(chunk.len() as u64);
            let _ = chunk.split_to(drop as usize);
            self.skip -= drop;
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        if let Some(size) = self.size
            && self.offset + chunk.len() as u64 > size
        {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("content of {} is longer than {size} bytes", self.digest),
            ));
        }
        if let Some(v) = self.verifier.as_mut() {
            v.update(&chunk)?;
        }
        self.offset += chunk.len() as u64;
        Ok(Some(chunk))
    }

    fn finish(&mut self) -> Result<(), Error> {
        // A size learnt from a later segment is checked by `next`: the read
        // ends only at it.
        self.verifier
            .take()
            .map_or(Ok(()), |v| v.finish().map(drop))
    }

    /// Decides whether to resume after `failure`, and waits before it.
    async fn before_resume(&mut self, failure: Error) -> Result<(), Error> {
        let gained = self.offset - self.segment_start;
        let floor = if failure.kind() == ErrorKind::Timeout {
            TIMEOUT_PROGRESS_FLOOR
        } else {
            1
        };
        if gained >= floor {
            self.stalls = 0;
            self.last_progress = Instant::now();
        } else {
            self.stalls += 1;
        }
        let delay = self.policy.delay(self.stalls);
        let give_up = if self.resumes >= self.policy.max_resumes {
            Some("no resumptions left")
        } else if self.stalls > self.policy.max_stalls {
            Some("no progress")
        } else if self.last_progress.elapsed() + delay > self.policy.budget {
            Some("no progress within the time budget")
        } else {
            None
        };
        if let Some(why) = give_up {
            let total = self.size.map_or_else(|| "?".to_owned(), |s| s.to_string());
            return Err(failure.context(format!(
                "gave up after {} resumed reads ({why}; {} of {total} bytes read)",
                self.resumes,
                self.offset - self.start
            )));
        }
        tracing::info!(
            digest = %self.digest,
            offset = self.offset,
            size = ?self.size,
            delay_ms = delay.as_millis() as u64,
            "resuming the blob read after: {failure}"
        );
        tokio::time::sleep(delay).await;
        self.resumes += 1;
        Ok(())
    }

    /// `GET` with `Range: bytes=<offset>-`, checked.
    async fn reopen(&mut self) -> Result<ByteStream, Error> {
        self.segment_start = self.offset;
        let spec = format!("bytes={}-", self.offset);
        let what = format!("resuming at byte {}", self.offset);
        let ok = [StatusCode::PARTIAL_CONTENT, StatusCode::OK];
        let resp = (self.client)
            .send_blob_range(Method::GET, &self.digest, &spec, &ok, &what)
            .await?;
        if resp.status() == StatusCode::OK {
            // The registry ignored the range: read it all again, dropping
            // what was handed out already.
            if let (Some(size), Some(len)) = (self.size, content_length(&resp))
                && size != len
            {
                return Err(Error::protocol(format!(
                    "{what}: the registry now sends {len} bytes, before {size}"
                )));
            }
            tracing::info!(
                digest = %self.digest,
                offset = self.offset,
                "the registry ignored Range; reading from the start again"
            );
            self.skip = self.offset;
            return Ok(Box::pin(resp.into_body().into_data_stream()));
        }
        let range = header_str(&resp, "content-range").unwrap_or("");
        let (first, total) = super::parse_content_range(range).ok_or_else(|| {
            Error::protocol(format!(
                "{what}: 206 without a valid Content-Range ({range:?})"
            ))
        })?;
        if first != self.offset {
            return Err(Error::protocol(format!(
                "{what}: the registry sent a range starting at byte {first}"
            )));
        }
        match (self.size, total) {
            (Some(size), Some(total)) if size != total => {
                return Err(Error::protocol(format!(
                    "{what}: the registry now says the blob is {total} bytes, before {size}"
                )));
            }
            (None, Some(total)) => self.size = Some(total),
            _ => {}
        }
        self.skip = 0;
        Ok(Box::pin(resp.into_body().into_data_stream()))
    }
}
