//! Applying the layers' entries to the merged filesystem, oldest layer
//! first, entry by entry, as containerd applies a layer to a directory:
//! each entry's parent path resolved inside the root (symlinks followed,
//! `..` stopping at the root) and its last component never followed,
//! whiteouts and opaque markers removing what lower layers put there.

use std::io::{Read, Write};

use registry_core::{Error, ErrorKind};
use tar::EntryType;

use super::entry::{LayerError, Meta, pax_records, refuse};
use super::path::{join, normalize, show, split_parent};
use super::spool::Spool;
use super::tree::{MAX_SYMLINKS, NodeId, Tree, WalkError};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";

/// The merged filesystem while the layers are applied, and the content of
/// its files.
#[derive(Default)]
pub(super) struct Merge {
    tree: Tree,
    spool: Spool,
}

/// Why `what` (an entry, a whiteout, a hardlink's target) does not resolve.
fn unresolvable(what: String, e: WalkError) -> LayerError {
    refuse(match e {
        WalkError::NotDir(at) => {
            format!(
                "{what} goes through {:?}, which is not a directory",
                show(&at)
            )
        }
        WalkError::TooManyLinks => format!(
            "{what} goes through too many symbolic links (more than {MAX_SYMLINKS}: a loop?)"
        ),
        WalkError::TooLong => format!("{what} goes through symbolic links that expand too far"),
    })
}

/// Refuses tar entry types a filesystem layer cannot hold.
fn check_type(etype: EntryType, raw: &[u8]) -> Result<(), LayerError> {
    match etype {
        EntryType::Directory
        | EntryType::Regular
        | EntryType::Continuous
        | EntryType::GNUSparse
        | EntryType::Symlink
        | EntryType::Link
        | EntryType::Char
        | EntryType::Block
        | EntryType::Fifo => Ok(()),
        other => Err(LayerError::Policy(Error::new(
            ErrorKind::Unsupported,
            format!(
                "entry {:?} has unsupported tar entry type {:?}",
                show(raw),
                other.as_byte() as char
            ),
        ))),
    }
}

impl Merge {
    /// Applies one entry of `layer` (0 = the oldest).
    pub(super) fn apply_entry<R: Read>(
        &mut self,
        layer: usize,
        mut entry: tar::Entry<'_, R>,
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
            return self.whiteout(layer, parent, name, &raw);
        }
        check_type(etype, &raw)?;
        if path.is_empty() {
            return match etype {
                EntryType::Directory => Ok(()), // the root itself
                _ => Err(refuse(format!("entry {:?} replaces the root", show(&raw)))),
            };
        }
        let dir = self.parent_dir(layer, parent, &raw)?;
        let pax = pax_records(&mut entry, &raw)?;
        let meta = Meta::from_header(entry.header(), etype, &raw, pax)?;
        let existing = self.tree.child(dir, name);
        if etype == EntryType::Directory
            && let Some(id) = existing
            && self.tree.is_dir(id)
        {
            self.tree.set_dir_meta(id, meta, layer);
            return Ok(());
        }
        if let Some(id) = existing {
            self.tree.remove(id, &mut self.spool);
        }
        self.add_node(layer, dir, name, meta, entry, &raw)
    }

    /// The directory an entry goes in, resolved and created as needed. The
    /// entry's own name is not followed: it replaces what is there (a
    /// directory entry over a directory merges with it).
    fn parent_dir(
        &mut self,
        layer: usize,
        parent: &[u8],
        raw: &[u8],
    ) -> Result<NodeId, LayerError> {
        self.tree
            .resolve(parent)
            .and_then(|walked| self.tree.make_dirs(&walked, layer))
            .map_err(|e| unresolvable(format!("entry {:?}", show(raw)), e))
    }

    /// Adds the node of `entry` as `name` in `dir`.
    fn add_node<R: Read>(
        &mut self,
        layer: usize,
        dir: NodeId,
        name: &[u8],
        mut meta: Meta,
        mut entry: tar::Entry<'_, R>,
        raw: &[u8],
    ) -> Result<(), LayerError> {
        match entry.header().entry_type() {
            EntryType::Directory => self.tree.add_dir(dir, name, meta, layer),
            EntryType::Link => {
                let target = self.hardlink_target(&entry, raw)?;
                self.tree.add_hardlink(dir, name, target, layer);
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse(format!("symlink {:?} has no target", show(raw))))?;
                meta.link = Some(target.as_ref().into());
                self.tree.add_file(dir, name, meta, None, layer);
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.tree.add_file(dir, name, meta, None, layer);
            }
            _ => {
                let len = entry.size();
                let data = self.spool.keep(layer, &mut entry, len)?;
                self.tree.add_file(dir, name, meta, Some(data), layer);
            }
        }
        Ok(())
    }

    /// The node a hardlink entry names: its target's parent path resolved
    /// as an entry's, its last component not followed (a hardlink to a
    /// symlink is one to the symlink).
    fn hardlink_target<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        raw: &[u8],
    ) -> Result<NodeId, LayerError> {
        let raw_target = entry
            .link_name_bytes()
            .ok_or_else(|| refuse(format!("hardlink {:?} has no target", show(raw))))?;
        let what = || {
            format!(
                "hardlink {:?} -> {:?}: the target",
                show(raw),
                show(&raw_target)
            )
        };
        let target = normalize(&raw_target).map_err(|why| refuse(format!("{} {why}", what())))?;
        if target.is_empty() {
            return Err(refuse(format!("{} is the root", what())));
        }
        let (parent, name) = split_parent(&target);
        let walked = self
            .tree
            .resolve(parent)
            .map_err(|e| unresolvable(what(), e))?;
        let found = walked
            .node()
            .filter(|&dir| self.tree.is_dir(dir))
            .and_then(|dir| self.tree.child(dir, name));
        let at = join(&walked.path(), name);
        match found {
            Some(id) if !self.tree.is_dir(id) => Ok(id),
            Some(_) => Err(refuse(format!(
                "hardlink {:?} points to the directory {:?}",
                show(raw),
                show(&at)
            ))),
            None => Err(refuse(format!(
                "hardlink {:?} points to {:?}, which does not exist in the merged filesystem",
                show(raw),
                show(&at)
            ))),
        }
    }

    /// A whiteout (`.wh.NAME`) removes `NAME` of the resolved parent
    /// directory; an opaque marker (`.wh..wh..opq`) empties it. Both only
    /// remove what lower layers put there: an entry of the same layer stays,
    /// whatever the order of the entries.
    fn whiteout(
        &mut self,
        layer: usize,
        parent: &[u8],
        name: &[u8],
        raw: &[u8],
    ) -> Result<(), LayerError> {
        let is_opaque = name == OPAQUE_MARKER;
        if !is_opaque && name.starts_with(AUFS_META_PREFIX) {
            // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content.
            return Ok(());
        }
        let target = &name[WHITEOUT_PREFIX.len()..];
        if !is_opaque && (target.is_empty() || target == b"." || target == b"..") {
            return Err(refuse(format!("whiteout {:?} names no file", show(raw))));
        }
        let walked = self
            .tree
            .resolve(parent)
            .map_err(|e| unresolvable(format!("whiteout {:?}", show(raw)), e))?;
        let Some(dir) = walked.node().filter(|&dir| self.tree.is_dir(dir)) else {
            return Ok(()); // nothing there to remove
        };
        let removed = if is_opaque {
            self.tree.children(dir)
        } else {
            self.tree.child(dir, target).into_iter().collect()
        };
        for child in removed {
            self.tree.prune(child, layer, &mut self.spool);
        }
        Ok(())
    }

    /// `layer` has been read.
    pub(super) fn finish_layer(&mut self, layer: usize) {
        self.spool.finish_layer(layer);
    }

    /// Writes the merged filesystem; returns the number of entries written.
    pub(super) fn write<W: Write>(&self, out: &mut tar::Builder<W>) -> registry_core::Result<u64> {
        self.tree
            .write(&self.spool, out)
            .map_err(|e| Error::from(e).context("writing the extracted tar"))
    }
}
