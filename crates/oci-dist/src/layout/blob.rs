//! Blob files of the layout: a verifying reader and the atomic writers.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use registry_core::digest::{Verifier, VerifyingReader};
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

use super::BUF_SIZE;
use super::fs::{blocking, io_error, sync_dir, temp_file_in};
use super::sink::FileSink;
use crate::content::BlobSource;

/// A blob of the layout being read: an [`AsyncRead`] that hashes the bytes
/// as they pass and, instead of a clean end of file, fails with
/// [`ErrorKind::DigestMismatch`] when the content does not match the digest
/// the blob is named by. Reads go through a 256 KiB buffer.
pub struct BlobReader {
    inner: VerifyingReader<BufReader<tokio::fs::File>>,
    digest: Digest,
    size: u64,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish()
    }
}

/// Opens the blob file at `path`; returns it with its size.
async fn open_file(path: &Path, digest: &Digest) -> Result<(tokio::fs::File, u64)> {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("blob {digest} not found ({} is missing)", path.display()),
            ));
        }
        Err(e) => return Err(io_error(e, format!("opening {}", path.display()))),
    };
    let size = file
        .metadata()
        .await
        .map_err(|e| io_error(e, format!("reading metadata of {}", path.display())))?
        .len();
    Ok((file, size))
}

/// The bytes of the blob file at `path` from `offset` on, not hashed (for
/// a reader that checks them another way), and the file's size.
pub(super) async fn read_from(
    path: &Path,
    digest: &Digest,
    offset: u64,
) -> Result<(crate::content::ByteStream, u64)> {
    use tokio::io::AsyncSeekExt as _;
    let (mut file, size) = open_file(path, digest).await?;
    file.seek(io::SeekFrom::Start(offset.min(size)))
        .await
        .map_err(|e| io_error(e, format!("seeking in {}", path.display())))?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, BUF_SIZE).map_err(Error::from);
    Ok((Box::pin(stream), size))
}

impl BlobReader {
    pub(super) async fn open(path: PathBuf, digest: Digest) -> Result<BlobReader> {
        let (file, size) = open_file(&path, &digest).await?;
        Ok(BlobReader {
            inner: VerifyingReader::new(
                BufReader::with_capacity(BUF_SIZE, file),
                Verifier::new(digest.clone(), None),
            ),
            digest,
            size,
        })
    }

    /// The blob's size on disk when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest the content is checked against.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blob as a stream of chunks of up to 256 KiB; the last item is a
    /// [`ErrorKind::DigestMismatch`] error when the content is corrupt.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static {
        tokio_util::io::ReaderStream::with_capacity(self, BUF_SIZE).map_err(Error::from)
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let read = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        Poll::Ready(read.map_err(|e| {
            let e = Error::from(e);
            let doing = if e.kind() == ErrorKind::DigestMismatch {
                format!("blob {} in OCI layout is corrupt", this.digest)
            } else {
                format!("reading blob {}", this.digest)
            };
            e.context(doing).into()
        }))
    }
}

/// How [`write_blob`] checks what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Hash the bytes and compare with the digest.
    Hash,
    /// The stream verifies the digest itself (its last item is an error
    /// otherwise): count the bytes only.
    StreamVerifies,
}

impl Check {
    /// [`Check::StreamVerifies`] when `stream_verifies`, else [`Check::Hash`].
    fn hash_unless(stream_verifies: bool) -> Check {
        if stream_verifies {
            Check::StreamVerifies
        } else {
            Check::Hash
        }
    }

    /// The verifier of a write of the blob `digest`.
    fn verifier(self, digest: &Digest, size: Option<u64>) -> Verifier {
        match self {
            Check::Hash => Verifier::new(digest.clone(), size),
            Check::StreamVerifies => Verifier::counting(digest.clone(), size),
        }
    }
}

/// Writes `stream` to a temporary file in `root`, hashing it (unless
/// `check` says the stream does), and renames it to `target` only when it
/// matches `digest` (and `size`) and the stream ended cleanly. The
/// temporary file is removed on every error and when this future is dropped.
pub(super) async fn write_blob<S, E>(
    root: &Path,
    target: PathBuf,
    digest: &Digest,
    size: Option<u64>,
    stream: S,
    check: Check,
) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: Into<Error>,
{
    let dir = create_parent(&target).await?;
    let (file, tmp_path) = create_temp(root).await?;
    // From here on, dropping `tmp_path` (error, cancellation) deletes the file.
    let mut out = FileSink::new(file);
    let mut verifier = check.verifier(digest, size);
    pump(&mut out, &mut verifier, stream, digest).await?;
    let written = verifier.bytes();
    verifier.finish().map_err(|e| not_stored(digest, e))?;
    out.sync_all().await.map_err(|e| {
        Error::from(e).context(format!("writing blob {digest}: syncing the temporary file"))
    })?;
    blocking(move || {
        tmp_path.persist(&target).map_err(|e| {
            io_error(
                e.error,
                format!("renaming a blob into {}", target.display()),
            )
        })?;
        sync_dir(&dir)
    })
    .await?;
    Ok(written)
}

/// Creates the directory of `target` (`blobs/<alg>`) and returns it.
async fn create_parent(target: &Path) -> Result<PathBuf> {
    let dir = target
        .parent()
        .expect("blob paths have a parent")
        .to_path_buf();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| io_error(e, format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// A hidden temporary file in `root`, removed when its path is dropped.
async fn create_temp(root: &Path) -> Result<(std::fs::File, tempfile::TempPath)> {
    let root = root.to_path_buf();
    blocking(move || temp_file_in(&root, ".tmp-blob-").map(tempfile::NamedTempFile::into_parts))
        .await
}

/// The error of a blob that failed its check.
fn not_stored(digest: &Digest, e: Error) -> Error {
    e.context(format!("writing blob {digest}: not stored"))
}

/// Copies `stream` into `out`, feeding `verifier` (which may have seen the
/// bytes of a partial file before), refusing more than the expected size.
async fn pump<S, E>(
    out: &mut FileSink,
    verifier: &mut Verifier,
    stream: S,
    digest: &Digest,
) -> Result<()>
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: Into<Error>,
{
    let failed = |what: &str, e: Error| e.context(format!("writing blob {digest}: {what}"));
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| failed("reading the source failed", e.into()))?;
        verifier
            .update(&chunk)
            .map_err(|e| e.context(format!("writing blob {digest}")))?;
        out.write(chunk)
            .await
            .map_err(|e| failed("writing the file", Error::from(e)))?;
    }
    Ok(())
}

/// Where a download into the layout keeps its bytes until they are
/// verified: `<root>/.partial-<alg>-<hex>`, one name per blob, so that a
/// copy that was killed or gave up leaves a file the next run continues
/// (see [`write_blob_resumable`]).
pub(super) fn partial_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join(format!(
        ".partial-{}-{}",
        digest.algorithm().as_str(),
        digest.hex()
    ))
}

/// Writes a blob through its partial file (see [`partial_path`]): what a
/// previous run left there is hashed and kept, the rest is read from the
/// source from that offset, and the file is renamed into place once the
/// whole content matches `digest` and `size`. A failure of the source
/// (connection lost, stalled) keeps the partial file for the next run; a
/// mismatch deletes it (after one fresh try when a partial file was
/// continued, in case it held something else). When another process holds
/// the partial file, this one writes a temporary file of its own.
/// `source` is opened at the offset needed; the bytes it gives from 0 are
/// hashed again only when it does not verify them itself
/// ([`BlobSource::verifies_digest`]).
pub(super) async fn write_blob_resumable(
    root: &Path,
    target: PathBuf,
    digest: &Digest,
    size: u64,
    source: &dyn BlobSource,
) -> Result<u64> {
    let dir = create_parent(&target).await?;
    let path = partial_path(root, digest);
    let Some(file) = open_partial(path.clone()).await? else {
        // Another process is downloading this blob into the partial file.
        let check = Check::hash_unless(source.verifies_digest());
        let stream = source.open(0).await?;
        return write_blob(root, target, digest, Some(size), stream, check).await;
    };
    let mut fresh_try_left = true;
    loop {
        match fill_partial(&file, &path, digest, size, source).await {
            Ok(()) => break,
            Err((e, continued)) if e.kind() == ErrorKind::DigestMismatch => {
                let _ = file.set_len(0);
                if continued && fresh_try_left {
                    tracing::info!(%digest, "the partial file did not lead to the right content; downloading it again");
                    fresh_try_left = false;
                    continue;
                }
                drop(file);
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
            Err((e, _)) => return Err(e),
        }
    }
    let file_for_sync = clone_handle(&file)?;
    blocking(move || {
        file_for_sync
            .sync_all()
            .map_err(|e| io_error(e, format!("syncing {}", path.display())))?;
        std::fs::rename(&path, &target).map_err(|e| {
            io_error(
                e,
                format!("renaming {} to {}", path.display(), target.display()),
            )
        })?;
        sync_dir(&dir)
    })
    .await?;
    drop(file);
    Ok(size)
}

/// Opens (creating it) and locks the partial file at `path`; `None` when
/// another process holds the lock.
async fn open_partial(path: PathBuf) -> Result<Option<std::fs::File>> {
    blocking(move || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error(e, format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io_error(e, format!("locking {}", path.display())))
            }
        }
    })
    .await
}

/// One pass of [`write_blob_resumable`]: continue the partial file from
/// its length, verify. The error says whether a partial file was continued.
async fn fill_partial(
    file: &std::fs::File,
    path: &Path,
    digest: &Digest,
    size: u64,
    source: &dyn BlobSource,
) -> std::result::Result<(), (Error, bool)> {
    let mut have = file
        .metadata()
        .map_err(|e| (io_error(e, format!("reading {}", path.display())), false))?
        .len();
    if have > size {
        file.set_len(0)
            .map_err(|e| (io_error(e, format!("truncating {}", path.display())), false))?;
        have = 0;
    }
    let continued = have > 0;
    let fail = |e: Error| (e, continued);
    // Hash what a previous run left, unless the stream will.
    let check = Check::hash_unless(!continued && source.verifies_digest());
    let mut verifier = check.verifier(digest, Some(size));
    if continued {
        tracing::info!(%digest, offset = have, size, "continuing a partial download");
        verifier = hash_partial(file, verifier).await.map_err(fail)?;
    }
    // A run stopped after the last byte but before the end of its stream
    // left it all: check it without asking the source for nothing.
    if !(continued && verifier.bytes() == size) {
        append(file, path, digest, &mut verifier, source)
            .await
            .map_err(fail)?;
    }
    verifier.finish().map_err(|e| fail(not_stored(digest, e)))?;
    Ok(())
}

/// Appends the rest of the blob, read from the source from the partial
/// file's length (what `verifier` has seen), to the partial file. What
/// arrived is kept, also when the source fails: the next run goes on from
/// there.
async fn append(
    file: &std::fs::File,
    path: &Path,
    digest: &Digest,
    verifier: &mut Verifier,
    source: &dyn BlobSource,
) -> Result<()> {
    let have = verifier.bytes();
    let stream = source.open(have).await?;
    let mut std_file = clone_handle(file)?;
    std::io::Seek::seek(&mut std_file, std::io::SeekFrom::Start(have))
        .map_err(|e| io_error(e, "seeking a partial file"))?;
    let mut out = FileSink::new(std_file);
    let pumped = pump(&mut out, verifier, stream, digest).await;
    let flushed = out.flush().await;
    pumped?;
    flushed.map_err(|e| io_error(e, format!("writing {}", path.display())))
}

/// Feeds what a previous run left in the partial file to `verifier`.
async fn hash_partial(file: &std::fs::File, mut verifier: Verifier) -> Result<Verifier> {
    let mut reader = clone_handle(file)?;
    blocking(move || {
        use std::io::Read as _;
        let mut buf = vec![0u8; BUF_SIZE];
        // Read from the start (the handles share one offset).
        std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(0))
            .map_err(|e| io_error(e, "seeking a partial file"))?;
        loop {
            let k = reader
                .read(&mut buf)
                .map_err(|e| io_error(e, "reading a partial file"))?;
            if k == 0 {
                return Ok(verifier);
            }
            verifier.update(&buf[..k])?;
        }
    })
    .await
}

/// Another handle of the partial file.
fn clone_handle(file: &std::fs::File) -> Result<std::fs::File> {
    file.try_clone()
        .map_err(|e| io_error(e, "cloning a file handle"))
}
