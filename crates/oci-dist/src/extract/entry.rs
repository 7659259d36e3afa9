//! Reading and writing single tar entries: fresh headers with the source's
//! metadata, PAX records carried over, exact-length data, and the errors of
//! applying a layer.

use std::io::{self, Read, Write};

use registry_core::{Error, ErrorKind};
use tar::{EntryType, Header};

use super::path::show;

/// Why a layer could not be applied.
pub(super) enum LayerError {
    /// The layer breaks a rule (escaping path, bad link…).
    Policy(Error),
    /// Reading the layer or writing the output failed.
    Io(io::Error),
}

impl From<io::Error> for LayerError {
    fn from(e: io::Error) -> LayerError {
        LayerError::Io(e)
    }
}

pub(super) fn refuse(msg: String) -> LayerError {
    LayerError::Policy(Error::new(ErrorKind::InvalidInput, msg))
}

/// A fresh GNU header with the entry's metadata (type, mode, owner, mtime,
/// device numbers); name, link name and size are set by the caller.
pub(super) fn copy_header(
    src: &Header,
    etype: EntryType,
    raw: &[u8],
) -> Result<Header, LayerError> {
    let bad = |e: io::Error| refuse(format!("entry {:?} has an invalid header: {e}", show(raw)));
    let mut h = Header::new_gnu();
    h.set_size(0);
    h.set_entry_type(match etype {
        EntryType::Continuous | EntryType::GNUSparse => EntryType::Regular,
        t => t,
    });
    // An empty numeric field reads as 0, as Go's archive/tar (which wrote
    // most layers) does; anything else unparsable is refused.
    let old = src.as_old();
    let num = |field: &[u8], value: io::Result<u64>| match value {
        Ok(v) => Ok(v),
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(bad(e)),
    };
    let mode = num(&old.mode, src.mode().map(u64::from))?;
    h.set_mode(
        u32::try_from(mode)
            .map_err(|_| refuse(format!("entry {:?} has an invalid mode", show(raw))))?,
    );
    h.set_uid(num(&old.uid, src.uid())?);
    h.set_gid(num(&old.gid, src.gid())?);
    h.set_mtime(num(&old.mtime, src.mtime())?);
    if let Ok(Some(name)) = src.username() {
        let _ = h.set_username(name);
    }
    if let Ok(Some(name)) = src.groupname() {
        let _ = h.set_groupname(name);
    }
    if matches!(etype, EntryType::Char | EntryType::Block) {
        if let Some(major) = src.device_major().map_err(bad)? {
            h.set_device_major(major).map_err(bad)?;
        }
        if let Some(minor) = src.device_minor().map_err(bad)? {
            h.set_device_minor(minor).map_err(bad)?;
        }
    }
    Ok(h)
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
