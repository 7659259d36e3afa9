//! Files of the current layer that are not written (hidden by a whiteout or
//! replaced by an upper layer) but that a later hardlink of the same layer
//! may still need: in a tar, a hardlink names an earlier entry, and when
//! that entry is gone from the merged filesystem the link must carry its
//! content. They are kept in one anonymous temporary file (in `TMPDIR`)
//! until the layer ends, never in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use tar::Header;

use super::BUF_SIZE;
use super::entry::{Exact, PaxRecords};

/// A file kept aside: where its bytes are in the spool, and its metadata.
pub(super) struct Spooled {
    offset: u64,
    pub(super) len: u64,
    pub(super) header: Header,
    pub(super) pax: PaxRecords,
}

#[derive(Default)]
pub(super) struct Spool {
    file: Option<File>,
    end: u64,
    entries: HashMap<Vec<u8>, Spooled>,
}

impl Spool {
    /// Keeps the `len` bytes of `data` for `path`.
    pub(super) fn keep<R: Read>(
        &mut self,
        path: Vec<u8>,
        header: Header,
        pax: PaxRecords,
        data: R,
        len: u64,
    ) -> io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        file.seek(SeekFrom::Start(self.end))?;
        let mut w = BufWriter::with_capacity(BUF_SIZE, &*file);
        io::copy(
            &mut Exact {
                inner: data,
                remaining: len,
            },
            &mut w,
        )?;
        w.flush()?;
        let offset = self.end;
        self.end += len;
        self.entries.insert(
            path,
            Spooled {
                offset,
                len,
                header,
                pax,
            },
        );
        Ok(())
    }

    /// Takes the file kept for `path`, if any.
    pub(super) fn take(&mut self, path: &[u8]) -> Option<Spooled> {
        self.entries.remove(path)
    }

    /// The bytes of a kept file.
    pub(super) fn reader(&mut self, spooled: &Spooled) -> io::Result<impl Read + '_> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("spool file missing"))?;
        file.seek(SeekFrom::Start(spooled.offset))?;
        Ok(BufReader::with_capacity(
            BUF_SIZE,
            (&*file).take(spooled.len),
        ))
    }

    /// Forgets everything (the layer is done); the temporary file is closed,
    /// which frees its space.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.file = None;
        self.end = 0;
    }
}
