//! The blocking side of [`extract`](super::extract): decompresses and parses
//! each layer's tar on a blocking thread, fed through a channel by the async
//! side, and writes the merged tar into another channel.

use std::io::{self, Read, Write};

use bytes::{Buf, Bytes};
use registry_core::digest::Verifier;
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::sync::mpsc;

use super::entry::LayerError;
use super::merge::Merge;
use super::{BUF_SIZE, Compression};

/// What the async side sends for the layer being read.
pub(super) enum Input {
    /// The next bytes of the layer.
    Chunk(Bytes),
    /// The layer's end.
    End,
    /// Reading the layer failed.
    Failed(Error),
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
        let mut reader = LayerReader::new(rx, spec);
        let applied = apply(&mut merge, layer, spec, &mut reader);
        match applied {
            Ok(()) => reader.drain()?,
            Err(err) => {
                if let Some(e) = reader.failure.take() {
                    return Err(e);
                }
                return Err(match err {
                    LayerError::Policy(e) => e.context(&spec.label),
                    LayerError::Local(e) => e.context(&spec.label),
                    LayerError::Io(io_err) => {
                        // A decoding failure is most often corruption: say
                        // so when the bytes do not match their digest.
                        reader.drain()?;
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
    reader: &mut LayerReader<'_>,
) -> std::result::Result<(), LayerError> {
    let decoder = spec.compression.decoder(reader)?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries()? {
        merge.apply_entry(layer, entry?)?;
    }
    Ok(())
}

fn output_error(e: io::Error) -> Error {
    Error::from(e).context("writing the extracted tar")
}

/// The layer's bytes as a [`Read`], hashed as they arrive. At the layer's
/// end the digest is checked; a mismatch, a source failure or a cancelled
/// extraction is kept in `failure` and reported as an I/O error to the
/// decoder.
struct LayerReader<'a> {
    rx: &'a mut mpsc::Receiver<Input>,
    spec: &'a LayerSpec,
    chunk: Bytes,
    /// Until the layer's end was checked.
    verifier: Option<Verifier>,
    failure: Option<Error>,
}

impl<'a> LayerReader<'a> {
    fn new(rx: &'a mut mpsc::Receiver<Input>, spec: &'a LayerSpec) -> LayerReader<'a> {
        LayerReader {
            rx,
            spec,
            chunk: Bytes::new(),
            verifier: Some(Verifier::new(spec.digest.clone(), spec.size)),
            failure: None,
        }
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let msg = e.to_string();
        self.failure = Some(e);
        io::Error::other(msg)
    }

    /// Reads (and hashes) the rest of the layer, checking its digest.
    fn drain(&mut self) -> Result<()> {
        let mut scratch = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut scratch) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(self.failure.take().unwrap_or_else(|| Error::from(e))),
            }
        }
    }
}

impl Read for LayerReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failure {
            return Err(io::Error::other(f.to_string()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.chunk.is_empty() {
                let n = buf.len().min(self.chunk.len());
                buf[..n].copy_from_slice(&self.chunk[..n]);
                self.chunk.advance(n);
                return Ok(n);
            }
            let Some(verifier) = self.verifier.as_mut() else {
                return Ok(0); // verified end
            };
            match self.rx.blocking_recv() {
                Some(Input::Chunk(bytes)) => {
                    if let Err(e) = verifier.update(&bytes) {
                        return Err(self.fail(e.context(&self.spec.label)));
                    }
                    self.chunk = bytes;
                }
                Some(Input::End) => {
                    let verifier = self.verifier.take().expect("checked above");
                    if let Err(e) = verifier.finish() {
                        return Err(self.fail(e.context(&self.spec.label)));
                    }
                    return Ok(0);
                }
                Some(Input::Failed(e)) => {
                    let e = e.context(&self.spec.label);
                    return Err(self.fail(e));
                }
                None => {
                    let e = Error::new(ErrorKind::Transport, "extraction cancelled");
                    return Err(self.fail(e));
                }
            }
        }
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
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the output was closed",
            ));
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
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the output was closed",
            ));
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
