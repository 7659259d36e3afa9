//! The contents of regular files, kept from the moment their layer is read
//! until the merged tar is written: what an upper layer does to a file is
//! only known once every layer has been read, and layers are read once.
//! Each layer's files go to one anonymous temporary file (in `TMPDIR`),
//! never to memory; a layer's temporary file is closed (its space freed) as
//! soon as none of its files is left in the merged filesystem.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use registry_core::Error;

use super::BUF_SIZE;
use super::entry::LayerError;

/// Where a kept file's bytes are.
#[derive(Debug)]
pub(super) struct Spooled {
    layer: usize,
    offset: u64,
    pub(super) len: u64,
}

struct LayerFile {
    file: File,
    end: u64,
    /// Files of this layer still in the merged filesystem.
    live: usize,
    /// The layer has been read: no more files come.
    done: bool,
}

#[derive(Default)]
pub(super) struct Spool {
    /// By layer (0 = the oldest); `None` before the first file and once
    /// nothing in the file is needed.
    layers: Vec<Option<LayerFile>>,
    buf: Vec<u8>,
}

fn local(e: io::Error) -> LayerError {
    LayerError::Local(Error::from(e).context("keeping a file's content in a temporary file"))
}

impl Spool {
    /// Keeps the `len` bytes that `data` (an entry of `layer`) holds.
    pub(super) fn keep<R: Read>(
        &mut self,
        layer: usize,
        data: &mut R,
        len: u64,
    ) -> Result<Spooled, LayerError> {
        if len == 0 {
            return Ok(Spooled {
                layer,
                offset: 0,
                len,
            });
        }
        if self.layers.len() <= layer {
            self.layers.resize_with(layer + 1, || None);
        }
        let lf = match &mut self.layers[layer] {
            Some(lf) => lf,
            slot => slot.insert(LayerFile {
                file: tempfile::tempfile().map_err(local)?,
                end: 0,
                live: 0,
                done: false,
            }),
        };
        if self.buf.is_empty() {
            self.buf = vec![0u8; BUF_SIZE];
        }
        let mut remaining = len;
        while remaining > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let n = data.read(&mut self.buf[..want])?;
            if n == 0 {
                return Err(LayerError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the layer ends inside a file",
                )));
            }
            lf.file.write_all(&self.buf[..n]).map_err(local)?;
            remaining -= n as u64;
        }
        let offset = lf.end;
        lf.end += len;
        lf.live += 1;
        Ok(Spooled { layer, offset, len })
    }

    /// The file kept at `spooled` is no longer in the merged filesystem.
    pub(super) fn release(&mut self, spooled: &Spooled) {
        if spooled.len == 0 {
            return;
        }
        if let Some(slot) = self.layers.get_mut(spooled.layer)
            && let Some(lf) = slot
        {
            lf.live -= 1;
            if lf.live == 0 && lf.done {
                *slot = None;
            }
        }
    }

    /// `layer` has been read.
    pub(super) fn finish_layer(&mut self, layer: usize) {
        if let Some(slot) = self.layers.get_mut(layer)
            && let Some(lf) = slot
        {
            lf.done = true;
            if lf.live == 0 {
                *slot = None;
            }
        }
        if layer + 1 >= self.layers.len() {
            self.buf = Vec::new();
        }
    }

    /// The bytes of a kept file (one with a length: an empty file has no
    /// bytes to read).
    pub(super) fn reader(&self, spooled: &Spooled) -> io::Result<impl Read + '_> {
        let Some(Some(lf)) = self.layers.get(spooled.layer) else {
            return Err(io::Error::other("a temporary file is missing"));
        };
        let mut file = &lf.file;
        file.seek(SeekFrom::Start(spooled.offset))?;
        let capacity = usize::try_from(spooled.len).map_or(BUF_SIZE, |n| n.min(BUF_SIZE));
        Ok(BufReader::with_capacity(capacity, file.take(spooled.len)))
    }
}
