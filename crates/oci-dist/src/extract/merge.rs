//! The union of layers, decided entry by entry, newest layer first: what is
//! hidden (whiteouts, opaque directories, non-directories of upper layers),
//! what was already written by an upper layer, what is refused.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::Path;

use registry_core::{Error, ErrorKind};
use tar::{EntryType, Header};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";

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

fn refuse(msg: String) -> LayerError {
    LayerError::Policy(Error::new(ErrorKind::InvalidInput, msg))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A directory entry was written.
    Dir,
    /// A directory only implied by entries under it; no entry yet.
    ImplicitDir,
    /// A file, symlink, device, fifo or written hardlink.
    NonDir,
    /// A hardlink waiting for its target to be written.
    DeferredLink,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Processing level of the layer that claimed the path (0 = newest).
    level: usize,
    kind: Kind,
}

struct DeferredLink {
    path: Vec<u8>,
    target: Vec<u8>,
    header: Header,
    label: String,
}

/// The state of the union while layers are applied newest first.
#[derive(Default)]
pub(super) struct Merge {
    /// Every path written (or implied as a directory) so far.
    seen: HashMap<Vec<u8>, Seen>,
    /// Paths deleted by `.wh.` files of the layers done so far.
    whiteouts: HashSet<Vec<u8>>,
    /// Directories made opaque by the layers done so far ("" is the root).
    opaques: HashSet<Vec<u8>>,
    /// Whiteouts and opaque markers of the current layer: they apply only to
    /// lower layers, so they take effect when the layer is finished.
    pending_whiteouts: Vec<Vec<u8>>,
    pending_opaques: Vec<Vec<u8>>,
    deferred: Vec<DeferredLink>,
    entries: u64,
}

impl Merge {
    /// Applies one entry of the layer at `level`.
    pub(super) fn apply_entry<R: Read, W: Write>(
        &mut self,
        level: usize,
        label: &str,
        mut entry: tar::Entry<'_, R>,
        out: &mut tar::Builder<W>,
    ) -> Result<(), LayerError> {
        let etype = entry.header().entry_type();
        if etype.is_pax_global_extensions() {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        let path =
            normalize(&raw).map_err(|why| refuse(format!("entry {:?} {why}", show(&raw))))?;
        let (parent, name) = split_parent(&path);
        if parent
            .split(|&b| b == b'/')
            .any(|c| c.starts_with(AUFS_META_PREFIX))
        {
            return Ok(()); // inside AUFS bookkeeping (.wh..wh.plnk/…)
        }
        if name.starts_with(WHITEOUT_PREFIX) {
            return self.whiteout(parent, name, &raw);
        }
        let kind = match etype {
            EntryType::Directory => Kind::Dir,
            EntryType::Regular
            | EntryType::Continuous
            | EntryType::GNUSparse
            | EntryType::Symlink
            | EntryType::Link
            | EntryType::Char
            | EntryType::Block
            | EntryType::Fifo => Kind::NonDir,
            other => {
                return Err(LayerError::Policy(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "entry {:?} has unsupported tar entry type {:?}",
                        show(&raw),
                        other.as_byte() as char
                    ),
                )));
            }
        };
        if path.is_empty() {
            return match kind {
                Kind::Dir => Ok(()), // the root itself
                _ => Err(refuse(format!("entry {:?} replaces the root", show(&raw)))),
            };
        }
        if self.hidden(&path, level)? {
            return Ok(());
        }
        if let Some(seen) = self.seen.get(&path).copied() {
            if seen.level < level {
                // An upper layer has this path; only a directory it merely
                // implied takes this layer's directory entry (metadata).
                if !(seen.kind == Kind::ImplicitDir && kind == Kind::Dir) {
                    return Ok(());
                }
            } else if matches!(seen.kind, Kind::Dir | Kind::ImplicitDir) && kind != Kind::Dir {
                return Err(refuse(format!(
                    "entry {:?} replaces a directory of the same layer",
                    show(&path)
                )));
            } else if seen.kind == Kind::DeferredLink {
                // A later entry of the same layer wins over the link.
                self.deferred.retain(|d| d.path != path);
            }
        }

        let header = copy_header(entry.header(), etype, &raw)?;
        let pax = pax_records(&mut entry, &raw)?;
        match etype {
            EntryType::Link => {
                let raw_target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse(format!("hardlink {:?} has no target", show(&raw))))?
                    .into_owned();
                let target = normalize(&raw_target).map_err(|why| {
                    refuse(format!(
                        "hardlink {:?} -> {:?}: the target {why}",
                        show(&raw),
                        show(&raw_target)
                    ))
                })?;
                if target.is_empty() || target == path {
                    return Err(refuse(format!(
                        "hardlink {:?} -> {:?} does not point to a file",
                        show(&raw),
                        show(&raw_target)
                    )));
                }
                match self.seen.get(&target).map(|s| s.kind) {
                    Some(Kind::NonDir) => {
                        self.claim(&path, level, Kind::NonDir);
                        write_pax(out, &pax)?;
                        let mut header = header;
                        header.set_size(0);
                        out.append_link(&mut header, as_path(&path), as_path(&target))?;
                        self.entries += 1;
                    }
                    Some(Kind::Dir | Kind::ImplicitDir) => {
                        return Err(refuse(format!(
                            "hardlink {:?} points to the directory {:?}",
                            show(&raw),
                            show(&target)
                        )));
                    }
                    Some(Kind::DeferredLink) | None => {
                        // The target may be in a lower layer: decide at the end.
                        self.claim(&path, level, Kind::DeferredLink);
                        self.deferred.push(DeferredLink {
                            path: path.clone(),
                            target,
                            header,
                            label: label.to_owned(),
                        });
                    }
                }
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse(format!("symlink {:?} has no target", show(&raw))))?
                    .into_owned();
                self.claim(&path, level, kind);
                write_pax(out, &pax)?;
                let mut header = header;
                out.append_link(&mut header, as_path(&path), as_path(&target))?;
                self.entries += 1;
            }
            _ => {
                self.claim(&path, level, kind);
                write_pax(out, &pax)?;
                let mut header = header;
                let size = if header.entry_type().is_file() {
                    entry.size()
                } else {
                    0
                };
                header.set_size(size);
                let data = Exact {
                    inner: &mut entry,
                    remaining: size,
                };
                out.append_data(&mut header, as_path(&path), data)?;
                self.entries += 1;
            }
        }
        Ok(())
    }

    fn whiteout(&mut self, parent: &[u8], name: &[u8], raw: &[u8]) -> Result<(), LayerError> {
        if name == OPAQUE_MARKER {
            self.pending_opaques.push(parent.to_vec());
        } else if name.starts_with(AUFS_META_PREFIX) {
            // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content.
        } else {
            let target = &name[WHITEOUT_PREFIX.len()..];
            if target.is_empty() || target == b"." || target == b".." {
                return Err(refuse(format!("whiteout {:?} names no file", show(raw))));
            }
            self.pending_whiteouts.push(join(parent, target));
        }
        Ok(())
    }

    /// Whether upper layers hide `path`; refuses a path that goes through a
    /// non-directory of its own layer.
    fn hidden(&self, path: &[u8], level: usize) -> Result<bool, LayerError> {
        if self.whiteouts.contains(path) || self.opaques.contains(&b""[..]) {
            return Ok(true);
        }
        for ancestor in ancestors(path) {
            if self.whiteouts.contains(ancestor) || self.opaques.contains(ancestor) {
                return Ok(true);
            }
            if let Some(seen) = self.seen.get(ancestor)
                && matches!(seen.kind, Kind::NonDir | Kind::DeferredLink)
            {
                if seen.level < level {
                    return Ok(true); // an upper layer replaced the directory
                }
                return Err(refuse(format!(
                    "entry {:?} goes through {:?}, which is not a directory \
                     (a symlink or file of the same layer)",
                    show(path),
                    show(ancestor)
                )));
            }
        }
        Ok(false)
    }

    /// Records `path` (and its parent directories, implied) as written.
    fn claim(&mut self, path: &[u8], level: usize, kind: Kind) {
        for ancestor in ancestors(path) {
            self.seen.entry(ancestor.to_vec()).or_insert(Seen {
                level,
                kind: Kind::ImplicitDir,
            });
        }
        match self.seen.get_mut(path) {
            // An implied directory keeps the level of the layer that implied it.
            Some(seen) if seen.level < level => seen.kind = kind,
            Some(seen) => *seen = Seen { level, kind },
            None => {
                self.seen.insert(path.to_vec(), Seen { level, kind });
            }
        }
    }

    /// Makes the current layer's whiteouts apply to the layers below.
    pub(super) fn finish_layer(&mut self) {
        self.whiteouts.extend(self.pending_whiteouts.drain(..));
        self.opaques.extend(self.pending_opaques.drain(..));
    }

    /// Writes the hardlinks whose targets came from lower layers; returns
    /// the number of entries written in all.
    pub(super) fn finish<W: Write>(
        mut self,
        out: &mut tar::Builder<W>,
    ) -> registry_core::Result<u64> {
        let mut pending = std::mem::take(&mut self.deferred);
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for mut link in pending {
                match self.seen.get(&link.target).map(|s| s.kind) {
                    Some(Kind::NonDir) => {
                        link.header.set_size(0);
                        out.append_link(
                            &mut link.header,
                            as_path(&link.path),
                            as_path(&link.target),
                        )
                        .map_err(|e| Error::from(e).context("writing the extracted tar"))?;
                        self.entries += 1;
                        if let Some(seen) = self.seen.get_mut(&link.path) {
                            seen.kind = Kind::NonDir;
                        }
                    }
                    Some(Kind::DeferredLink) => still.push(link),
                    _ => {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            format!(
                                "{}: hardlink {:?} points to {:?}, which does not exist in the \
                                 merged filesystem",
                                link.label,
                                show(&link.path),
                                show(&link.target)
                            ),
                        ));
                    }
                }
            }
            if still.len() == before {
                let link = &still[0];
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{}: hardlink {:?} points to {:?}, a hardlink that never resolves",
                        link.label,
                        show(&link.path),
                        show(&link.target)
                    ),
                ));
            }
            pending = still;
        }
        Ok(self.entries)
    }
}

/// Normalises an entry name to the root: drops a leading `/`, empty and `.`
/// components; refuses `..`. Returns `a/b/c` (empty for the root).
fn normalize(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(raw.len());
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("escapes the root (it has a '..' component)"),
            c => {
                if c.contains(&0) {
                    return Err("contains a NUL byte");
                }
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// `a/b/c` -> (`a/b`, `c`); `c` -> (``, `c`).
fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    }
}

fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = parent.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The proper ancestors of `a/b/c`: `a`, `a/b` (not the root).
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(move |(i, _)| &path[..i])
}

fn show(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(unix)]
fn as_path(bytes: &[u8]) -> Cow<'_, Path> {
    use std::os::unix::ffi::OsStrExt as _;
    Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn as_path(bytes: &[u8]) -> Cow<'_, Path> {
    Cow::Owned(String::from_utf8_lossy(bytes).into_owned().into())
}

/// A fresh GNU header with the entry's metadata (type, mode, owner, mtime,
/// device numbers); name, link name and size are set by the caller.
fn copy_header(src: &Header, etype: EntryType, raw: &[u8]) -> Result<Header, LayerError> {
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
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

/// The entry's PAX records to carry over (xattrs, precise times, large
/// ids…), without those the output sets itself (`path`, `linkpath`, `size`).
fn pax_records<R: Read>(
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
fn write_pax<W: Write>(
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
struct Exact<R> {
    inner: R,
    remaining: u64,
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
    fn normalizes() {
        assert_eq!(normalize(b"/etc//passwd").unwrap(), b"etc/passwd");
        assert_eq!(normalize(b"./a/./b/").unwrap(), b"a/b");
        assert_eq!(normalize(b"./").unwrap(), b"");
        assert!(normalize(b"../etc/passwd").is_err());
        assert!(normalize(b"a/../../x").is_err());
        assert!(normalize(b"/../x").is_err());
    }

    #[test]
    fn ancestors_and_parents() {
        let got: Vec<&[u8]> = ancestors(b"a/b/c").collect();
        assert_eq!(got, vec![&b"a"[..], &b"a/b"[..]]);
        assert_eq!(ancestors(b"a").count(), 0);
        assert_eq!(split_parent(b"a/b/.wh.c"), (&b"a/b"[..], &b".wh.c"[..]));
        assert_eq!(
            split_parent(b".wh..wh..opq"),
            (&b""[..], &b".wh..wh..opq"[..])
        );
    }

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
}
