//! How a downloaded blob's bytes reach its file. [`FileSink`] hands the
//! chunks as they arrived to the blocking pool, without copying them into a
//! buffer first (a batch of up to [`FileSink::BATCH`] bytes per vectored
//! `write`, one batch in flight while the next one gathers), and starts
//! writing the file back to disk while the download goes on, so that the
//! final `fsync` before the rename has little left to wait for.

use std::io::{self, IoSlice, Write as _};
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

/// Chunks on their way into a file (see the [module](self) docs).
pub(super) struct FileSink {
    file: Arc<std::fs::File>,
    batch: Vec<Bytes>,
    batched: usize,
    /// Bytes handed to completed writes.
    written: u64,
    writing: Option<JoinHandle<io::Result<usize>>>,
    /// When to start the next background write-back.
    next_sync: u64,
    syncing: Option<JoinHandle<()>>,
}

impl FileSink {
    /// Bytes gathered before they are written.
    const BATCH: usize = 512 << 10;
    /// A background `fdatasync` every this many bytes (at most one at a
    /// time). Best effort: [`FileSink::sync_all`] is what makes the file
    /// durable.
    const SYNC_EVERY: u64 = 32 << 20;

    /// Writes at the file's current offset.
    pub(super) fn new(file: std::fs::File) -> FileSink {
        FileSink {
            file: Arc::new(file),
            batch: Vec::new(),
            batched: 0,
            written: 0,
            writing: None,
            next_sync: Self::SYNC_EVERY,
            syncing: None,
        }
    }

    /// Queues `chunk`; writes a batch when one is full.
    pub(super) async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.batched += chunk.len();
        self.batch.push(chunk);
        if self.batched >= Self::BATCH {
            self.submit().await?;
        }
        Ok(())
    }

    /// Waits for the write in flight, then starts writing the batch.
    async fn submit(&mut self) -> io::Result<()> {
        self.wait_write().await?;
        let batch = std::mem::take(&mut self.batch);
        self.batched = 0;
        let file = self.file.clone();
        self.writing = Some(tokio::task::spawn_blocking(move || {
            write_all(&file, &batch)
        }));
        Ok(())
    }

    /// Waits for the write in flight; starts a write-back when enough was
    /// written since the last one.
    async fn wait_write(&mut self) -> io::Result<()> {
        let Some(handle) = self.writing.take() else {
            return Ok(());
        };
        self.written += handle.await.map_err(io::Error::other)?? as u64;
        let idle = self.syncing.as_ref().is_none_or(|h| h.is_finished());
        if self.written >= self.next_sync && idle {
            self.next_sync = self.written + Self::SYNC_EVERY;
            let file = self.file.clone();
            self.syncing = Some(tokio::task::spawn_blocking(move || {
                let _ = file.sync_data();
            }));
        }
        Ok(())
    }

    /// Writes what is queued and waits until every write (and a write-back
    /// in flight) is done.
    pub(super) async fn flush(&mut self) -> io::Result<()> {
        if !self.batch.is_empty() {
            self.submit().await?;
        }
        self.wait_write().await?;
        if let Some(h) = self.syncing.take() {
            let _ = h.await;
        }
        Ok(())
    }

    /// Flushes, then makes the file's content durable (`fsync`).
    pub(super) async fn sync_all(mut self) -> io::Result<()> {
        self.flush().await?;
        let file = self.file;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(io::Error::other)?
    }
}

/// Writes every chunk, in order, with as few `writev` calls as it takes;
/// returns the bytes written.
fn write_all(mut file: &std::fs::File, chunks: &[Bytes]) -> io::Result<usize> {
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let total = chunks.iter().map(Bytes::len).sum();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_land_in_order_and_survive_small_and_large_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut sink = FileSink::new(std::fs::File::create(&path).unwrap());
        let mut want = Vec::new();
        // Many small chunks (more than IOV_MAX in one batch) and big ones.
        for i in 0..3000u32 {
            let chunk = Bytes::from(i.to_le_bytes().to_vec());
            want.extend_from_slice(&chunk);
            sink.write(chunk).await.unwrap();
        }
        for i in 0..5u8 {
            let chunk = Bytes::from(vec![i; 700 << 10]);
            want.extend_from_slice(&chunk);
            sink.write(chunk).await.unwrap();
        }
        sink.write(Bytes::from_static(b"tail")).await.unwrap();
        want.extend_from_slice(b"tail");
        sink.sync_all().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    #[tokio::test]
    async fn a_failed_write_is_reported() {
        // A read-only handle refuses writes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro");
        std::fs::write(&path, b"x").unwrap();
        let mut sink = FileSink::new(std::fs::File::open(&path).unwrap());
        sink.write(Bytes::from(vec![0; FileSink::BATCH]))
            .await
            .unwrap();
        assert!(sink.flush().await.is_err());
    }
}
