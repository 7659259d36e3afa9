//! The blocking side of [`extract`](super::extract): decompresses and parses
//! each layer's tar on a blocking thread, fed through a channel by the async
//! side, and writes the merged tar into another channel.

use std::io::{self, Read, Write};

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use registry_core::digest::Verifier;
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::sync::mpsc;

use super::entry::LayerError;
use super::merge::Merge;
use super::{BUF_SIZE, Compression};

/// What the async side sends for the layer being read.
pub(crate) enum Input {
    /// The next bytes of the layer.
    Chunk(Bytes),
    /// The layer's end.
    End,
    /// Reading the layer failed.
    Failed(Error),
}

/// Sends `input` through `tx` as [`Input`]s: its chunks, then its end or
/// its error. `false` when the receiving side is gone (it stopped; its
/// result says why).
pub(crate) async fn send_input<S>(mut input: S, tx: &mpsc::Sender<Input>) -> bool
where
    S: futures_util::Stream<Item = Result<Bytes>> + Unpin,
{
    loop {
        let msg = match input.next().await {
            Some(Ok(chunk)) => Input::Chunk(chunk),
            Some(Err(e)) => Input::Failed(e),
            None => Input::End,
        };
        let last = !matches!(msg, Input::Chunk(_));
        if tx.send(msg).await.is_err() {
            return false;
        }
        if last {
            return true;
        }
    }
}

/// A layer as the worker sees it.
pub(super) struct LayerSpec {
    pub(super) label: String,
    pub(super) compression: Compression,
    pub(super) digest: Digest,
    pub(super) size: Option<u64>,
}

/// Runs the extraction: `specs` in manifest order (oldest first). Returns
/// the number of entries written. Each layer verified is acknowledged on
/// `done`, so that the next one is opened only then. Nothing is written to
/// `tx` before every layer has been read and verified.
pub(super) fn run(
    specs: Vec<LayerSpec>,
    mut rx: mpsc::Receiver<Input>,
    done: mpsc::UnboundedSender<()>,
    tx: mpsc::Sender<Bytes>,
) -> Result<u64> {
    let mut out = tar::Builder::new(ChannelWriter::new(tx));
    let result = run_layers(&specs, &mut rx, &done, &mut out);
    match result {
        Ok(entries) => {
            let writer = out.into_inner().map_err(output_error)?;
            writer.finish().map_err(output_error)?;
            Ok(entries)
        }
        Err(e) => {
            // Nothing more may reach the output, not even the tar trailer
            // the builder writes when dropped.
            out.get_mut().abort();
            Err(e)
        }
    }
}

fn run_layers(
    specs: &[LayerSpec],
    rx: &mut mpsc::Receiver<Input>,
    done: &mpsc::UnboundedSender<()>,
    out: &mut tar::Builder<ChannelWriter>,
) -> Result<u64> {
    let mut merge = Merge::default();
    for (layer, spec) in specs.iter().enumerate() {
        let verifier = Verifier::new(spec.digest.clone(), spec.size);
        let mut reader = ChannelReader::new(rx, Some(verifier));
        let applied = apply(&mut merge, layer, spec, &mut reader);
        match applied {
            Ok(()) => reader.drain().map_err(|e| e.context(&spec.label))?,
            Err(err) => {
                if let Some(e) = reader.failure.take() {
                    return Err(e.context(&spec.label));
                }
                return Err(match err {
                    LayerError::Policy(e) | LayerError::Local(e) => e.context(&spec.label),
                    LayerError::Io(io_err) => {
                        // A decoding failure is most often corruption: say
                        // so when the bytes do not match their digest.
                        reader.drain().map_err(|e| e.context(&spec.label))?;
                        Error::invalid_content(format!(
                            "{}: not a valid {} tar archive",
                            spec.label,
                            match spec.compression {
                                Compression::None => "uncompressed",
                                Compression::Gzip => "gzip-compressed",
                                Compression::Zstd => "zstd-compressed",
                            }
                        ))
                        .with_source(io_err)
                    }
                });
            }
        }
        merge.finish_layer(layer);
        let _ = done.send(());
    }
    let entries = merge.write(out);
    if out.get_ref().closed {
        return Err(Error::new(ErrorKind::Transport, "the output was closed"));
    }
    entries
}

fn apply(
    merge: &mut Merge,
    layer: usize,
    spec: &LayerSpec,
    reader: &mut ChannelReader<'_>,
) -> std::result::Result<(), LayerError> {
    let decoder = spec.compression.decoder(reader)?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries()? {
        merge.apply_entry(layer, entry?)?;
    }
    Ok(())
}

/// The error of a write after the output's receiver went away.
fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the output was closed")
}

fn output_error(e: io::Error) -> Error {
    Error::from(e).context("writing the extracted tar")
}

/// Bytes the async side sends through a channel, as a [`Read`] for a
/// decoder on a blocking thread: up to the next [`Input::End`], hashed as
/// they arrive when there is a verifier (its digest checked at the end). A
/// source failure, a mismatch or a closed channel is kept in `failure` and
/// reported to the decoder as an I/O error, on this read and every later
/// one. Used for each layer of [`extract`](super::extract) and by
/// [`RemoteLayer::uncompressed`](crate::image::RemoteLayer::uncompressed).
pub(crate) struct ChannelReader<'a> {
    rx: &'a mut mpsc::Receiver<Input>,
    chunk: Bytes,
    ended: bool,
    verifier: Option<Verifier>,
    pub(crate) failure: Option<Error>,
}

impl<'a> ChannelReader<'a> {
    pub(crate) fn new(rx: &'a mut mpsc::Receiver<Input>, verifier: Option<Verifier>) -> Self {
        ChannelReader {
            rx,
            chunk: Bytes::new(),
            ended: false,
            verifier,
            failure: None,
        }
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let msg = e.to_string();
        self.failure = Some(e);
        io::Error::other(msg)
    }

    /// Reads (and hashes) the rest of the input, so that its digest is
    /// checked to its end; the bytes are dropped. Its error is the
    /// input's failure.
    pub(crate) fn drain(&mut self) -> Result<()> {
        io::copy(&mut *self, &mut io::sink())
            .map(drop)
            .map_err(|e| self.failure.take().unwrap_or_else(|| Error::from(e)))
    }
}

impl Read for ChannelReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failure {
            return Err(io::Error::other(f.to_string()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        while self.chunk.is_empty() {
            if self.ended {
                return Ok(0);
            }
            let checked = match self.rx.blocking_recv() {
                Some(Input::Chunk(bytes)) => {
                    let checked = self.verifier.as_mut().map_or(Ok(()), |v| v.update(&bytes));
                    self.chunk = bytes;
                    checked
                }
                Some(Input::End) => {
                    self.ended = true;
                    self.verifier
                        .take()
                        .map_or(Ok(()), |v| v.finish().map(drop))
                }
                Some(Input::Failed(e)) => Err(e),
                None => Err(Error::new(
                    ErrorKind::Transport,
                    "reading the layer was cancelled",
                )),
            };
            if let Err(e) = checked {
                return Err(self.fail(e));
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// A [`Write`] sending 256 KiB chunks to the async side. Nothing is sent
/// after [`abort`](Self::abort); the last partial chunk only by
/// [`finish`](Self::finish).
pub(super) struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    aborted: bool,
    pub(super) closed: bool,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Bytes>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(BUF_SIZE),
            aborted: false,
            closed: false,
        }
    }

    fn abort(&mut self) {
        self.aborted = true;
        self.buf = Vec::new();
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(BUF_SIZE));
        if self.tx.blocking_send(Bytes::from(chunk)).is_err() {
            self.closed = true;
            return Err(closed());
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.aborted {
            return Err(io::Error::other("extraction failed"));
        }
        if self.closed {
            return Err(closed());
        }
        let n = data.len().min(BUF_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BUF_SIZE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Chunks are sent when full; `finish` sends the rest.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A channel holding `inputs`, its sender dropped.
    fn channel(inputs: Vec<Input>) -> mpsc::Receiver<Input> {
        let (tx, rx) = mpsc::channel(inputs.len().max(1));
        for input in inputs {
            tx.try_send(input).unwrap_or_else(|_| unreachable!());
        }
        rx
    }

    #[tokio::test]
    async fn send_input_ends_with_the_end_or_the_error_and_notices_a_gone_receiver() {
        let items =
            |last: Result<Bytes>| futures_util::stream::iter([Ok(Bytes::from_static(b"ab")), last]);
        let (tx, mut rx) = mpsc::channel(4);
        assert!(send_input(items(Ok(Bytes::from_static(b"c"))), &tx).await);
        assert!(matches!(rx.recv().await, Some(Input::Chunk(b)) if b == "ab"));
        assert!(matches!(rx.recv().await, Some(Input::Chunk(b)) if b == "c"));
        assert!(matches!(rx.recv().await, Some(Input::End)));
        let failed = Err(Error::new(ErrorKind::Transport, "reset"));
        assert!(send_input(items(failed), &tx).await);
        assert!(matches!(rx.recv().await, Some(Input::Chunk(_))));
        assert!(matches!(rx.recv().await, Some(Input::Failed(e)) if e.to_string() == "reset"));
        drop(rx);
        assert!(!send_input(items(Ok(Bytes::new())), &tx).await);
    }

    #[test]
    fn the_channel_reader_checks_the_digest_at_the_end_and_keeps_failures() {
        let chunks = |end: Input| {
            vec![
                Input::Chunk(Bytes::from_static(b"ab")),
                Input::Chunk(Bytes::from_static(b"c")),
                end,
            ]
        };
        // Verified: the bytes as sent, then a clean end.
        let mut rx = channel(chunks(Input::End));
        let verifier = Verifier::new(Digest::sha256_of(b"abc"), Some(3));
        let mut reader = ChannelReader::new(&mut rx, Some(verifier));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
        // A mismatch is found at the end and stays the answer.
        let mut rx = channel(chunks(Input::End));
        let verifier = Verifier::new(Digest::sha256_of(b"abd"), None);
        let mut reader = ChannelReader::new(&mut rx, Some(verifier));
        assert!(reader.read_to_end(&mut Vec::new()).is_err());
        assert!(reader.read(&mut [0; 4]).is_err(), "the failure is kept");
        assert_eq!(
            reader.drain().unwrap_err().kind(),
            ErrorKind::DigestMismatch
        );
        // Without a verifier: a source failure, then a closed channel.
        let failed = Input::Failed(Error::new(ErrorKind::Transport, "reset"));
        let mut rx = channel(chunks(failed));
        let mut reader = ChannelReader::new(&mut rx, None);
        let err = reader.drain().unwrap_err();
        assert_eq!(err.to_string(), "reset");
        let mut rx = channel(vec![]);
        let mut reader = ChannelReader::new(&mut rx, None);
        let err = reader.drain().unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
    }
}
