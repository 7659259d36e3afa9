//! Reading and writing single tar entries: the metadata kept for each
//! entry of the merged filesystem (fresh headers are built from it), PAX
//! records carried over, exact-length data, and the errors of applying a
//! layer.

use std::io::{self, Read, Write};

use registry_core::{Error, ErrorKind};
use tar::{EntryType, Header};

use super::path::show;

/// Why a layer could not be applied.
pub(super) enum LayerError {
    /// The layer's content is refused (escaping path, bad link, symlink
    /// loop…) or not supported.
    Policy(Error),
    /// Reading (decoding) the layer failed.
    Io(io::Error),
    /// A local failure while applying it (the temporary files).
    Local(Error),
}

impl From<io::Error> for LayerError {
    fn from(e: io::Error) -> LayerError {
        LayerError::Io(e)
    }
}

/// Refused content: [`ErrorKind::InvalidContent`] with `msg`.
pub(super) fn refuse(msg: String) -> LayerError {
    LayerError::Policy(Error::invalid_content(msg))
}

/// What the merged filesystem keeps of an entry's header: its type and
/// metadata (mode, owner, mtime, device numbers), a symlink's target and
/// the PAX records to carry over. Names and sizes are not part of it.
pub(super) struct Meta {
    pub(super) etype: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    username: Option<Box<str>>,
    groupname: Option<Box<str>>,
    device: Option<(Option<u32>, Option<u32>)>,
    /// A symlink's target, as the layer has it.
    pub(super) link: Option<Box<[u8]>>,
    pub(super) pax: PaxRecords,
}

impl Meta {
    /// The metadata of `src`, an entry of type `etype` (named `raw`), with
    /// its PAX records. Sparse and contiguous files become regular files.
    pub(super) fn from_header(
        src: &Header,
        etype: EntryType,
        raw: &[u8],
        pax: PaxRecords,
    ) -> Result<Meta, LayerError> {
        let bad =
            |e: io::Error| refuse(format!("entry {:?} has an invalid header: {e}", show(raw)));
        // An empty numeric field reads as 0, as Go's archive/tar (which wrote
        // most layers) does; anything else unparsable is refused.
        let old = src.as_old();
        let num = |field: &[u8], value: io::Result<u64>| match value {
            Ok(v) => Ok(v),
            Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
            Err(e) => Err(bad(e)),
        };
        let mode = num(&old.mode, src.mode().map(u64::from))?;
        let mode = u32::try_from(mode)
            .map_err(|_| refuse(format!("entry {:?} has an invalid mode", show(raw))))?;
        let device = if matches!(etype, EntryType::Char | EntryType::Block) {
            Some((
                src.device_major().map_err(bad)?,
                src.device_minor().map_err(bad)?,
            ))
        } else {
            None
        };
        Ok(Meta {
            etype: match etype {
                EntryType::Continuous | EntryType::GNUSparse => EntryType::Regular,
                t => t,
            },
            mode,
            uid: num(&old.uid, src.uid())?,
            gid: num(&old.gid, src.gid())?,
            mtime: num(&old.mtime, src.mtime())?,
            username: src.username().ok().flatten().map(Into::into),
            groupname: src.groupname().ok().flatten().map(Into::into),
            device,
            link: None,
            pax,
        })
    }

    /// A fresh GNU header with this metadata and size 0; the caller sets
    /// the name, the link name and the size.
    pub(super) fn header(&self) -> Header {
        let mut h = Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(self.etype);
        h.set_mode(self.mode);
        h.set_uid(self.uid);
        h.set_gid(self.gid);
        h.set_mtime(self.mtime);
        if let Some(name) = &self.username {
            let _ = h.set_username(name);
        }
        if let Some(name) = &self.groupname {
            let _ = h.set_groupname(name);
        }
        if let Some((major, minor)) = self.device {
            // A GNU header has the device fields: setting them cannot fail.
            if let Some(major) = major {
                let _ = h.set_device_major(major);
            }
            if let Some(minor) = minor {
                let _ = h.set_device_minor(minor);
            }
        }
        h
    }
}

/// PAX records: key, value.
pub(super) type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

/// The entry's PAX records to carry over (xattrs, precise times, large
/// ids…), without those the output sets itself (`path`, `linkpath`, `size`).
pub(super) fn pax_records<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw: &[u8],
) -> Result<PaxRecords, LayerError> {
    let mut records = Vec::new();
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            let key = ext.key_bytes();
            if key.starts_with(b"GNU.sparse.") {
                return Err(LayerError::Policy(Error::new(
                    ErrorKind::Unsupported,
                    format!("entry {:?} is a PAX sparse file (unsupported)", show(raw)),
                )));
            }
            if matches!(key, b"path" | b"linkpath" | b"size") {
                continue;
            }
            records.push((key.to_vec(), ext.value_bytes().to_vec()));
        }
    }
    Ok(records)
}

/// Writes a PAX extended header (`x`) for the next entry.
pub(super) fn write_pax<W: Write>(
    out: &mut tar::Builder<W>,
    records: &[(Vec<u8>, Vec<u8>)],
) -> io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut data = Vec::new();
    for (key, value) in records {
        // "<len> <key>=<value>\n", where <len> counts itself.
        let rest = key.len() + value.len() + 3;
        let mut len = rest + rest.to_string().len();
        if len.to_string().len() != rest.to_string().len() {
            len = rest + len.to_string().len();
        }
        data.extend_from_slice(format!("{len} ").as_bytes());
        data.extend_from_slice(key);
        data.push(b'=');
        data.extend_from_slice(value);
        data.push(b'\n');
    }
    let mut h = Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    out.append_data(&mut h, "PaxHeader", &data[..])
}

/// Reads exactly `remaining` bytes from `inner`; a short entry is an error
/// instead of a silently truncated file.
pub(super) struct Exact<R> {
    pub(super) inner: R,
    pub(super) remaining: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the layer ends inside a file",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let mut ar = tar::Builder::new(Vec::new());
        // 98 bytes without the length field: adding "98" makes 100, so the
        // length field needs 3 digits and the record is 101 bytes.
        let value = vec![b'x'; 94];
        write_pax(&mut ar, &[(b"k".to_vec(), value)]).unwrap();
        let data = ar.into_inner().unwrap();
        let body = &data[512..];
        assert_eq!(&body[..4], b"101 ");
        assert_eq!(body[100], b'\n');
        assert_eq!(body[101], 0);
    }

    #[test]
    fn short_entries_are_errors() {
        let mut r = Exact {
            inner: &b"abc"[..],
            remaining: 5,
        };
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(out, b"abc");
    }
}
