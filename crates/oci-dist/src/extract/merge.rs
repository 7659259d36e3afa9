//! The union of layers, decided entry by entry, newest layer first: what is
//! hidden (whiteouts, opaque directories, non-directories of upper layers),
//! what was already written by an upper layer, what is refused.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};

use registry_core::{Error, ErrorKind};
use tar::{EntryType, Header};

use super::entry::{Exact, LayerError, copy_header, pax_records, refuse, write_pax};
use super::path::{ancestors, as_path, join, normalize, show, split_parent};
use super::spool::Spool;

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";

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
    /// Files of the current layer not written, kept for its hardlinks.
    spool: Spool,
    /// Hardlink targets of the current layer that were not written, mapped
    /// to the link written with their content instead.
    relinked: HashMap<Vec<u8>, Vec<u8>>,
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
            return self.skip(etype, path, &raw, entry);
        }
        if let Some(seen) = self.seen.get(&path).copied() {
            if seen.level < level {
                // An upper layer has this path; only a directory it merely
                // implied takes this layer's directory entry (metadata).
                if !(seen.kind == Kind::ImplicitDir && kind == Kind::Dir) {
                    return self.skip(etype, path, &raw, entry);
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
                let target = self.relinked.get(&target).cloned().unwrap_or(target);
                if let Some(spooled) = self.spool.take(&target) {
                    // The target is not in the merged filesystem: the link
                    // becomes the file, and later links to it point here.
                    self.claim(&path, level, Kind::NonDir);
                    write_pax(out, &spooled.pax)?;
                    let mut header = spooled.header.clone();
                    header.set_size(spooled.len);
                    let data = Exact {
                        inner: self.spool.reader(&spooled)?,
                        remaining: spooled.len,
                    };
                    out.append_data(&mut header, as_path(&path), data)?;
                    self.entries += 1;
                    self.relinked.insert(target, path);
                    return Ok(());
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

    /// Passes over an entry that is not written; a regular file is kept in
    /// the spool in case a later hardlink of its layer names it.
    fn skip<R: Read>(
        &mut self,
        etype: EntryType,
        path: Vec<u8>,
        raw: &[u8],
        mut entry: tar::Entry<'_, R>,
    ) -> Result<(), LayerError> {
        if matches!(
            etype,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        ) {
            let header = copy_header(entry.header(), etype, raw)?;
            let pax = pax_records(&mut entry, raw)?;
            let len = entry.size();
            self.spool.keep(path, header, pax, entry, len)?;
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
        self.spool.clear();
        self.relinked.clear();
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
