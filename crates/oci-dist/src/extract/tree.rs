//! The merged filesystem while the layers are applied: a tree of names
//! whose leaves point to inodes (the names of one hardlinked file share
//! one), and path resolution as a container runtime does it when it applies
//! a layer (containerd's `fs.RootPath`, `securejoin`): inside the root,
//! symlinks followed with the root as `/`, `..` stopping at the root.
//!
//! Nothing here is ever a path of the machine: a hostile symlink can only
//! lead to another place of the tree. Every name written out is a place of
//! the tree, so no written name goes through a symlink.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};

use tar::{EntryType, Header};

use super::entry::{Exact, Meta, write_pax};
use super::path::{as_path, join};
use super::spool::{Spool, Spooled};

pub(super) type NodeId = usize;
type InodeId = usize;

/// The root directory.
pub(super) const ROOT: NodeId = 0;

/// At most this many symlinks are followed to resolve one path, as
/// containerd's `fs.RootPath` and `securejoin` do; one more is an error.
pub(super) const MAX_SYMLINKS: usize = 255;

/// At most this many components may come from symlink targets while one
/// path is resolved (a bound on the work a hostile layer can ask for).
const MAX_EXPANDED: usize = 1 << 16;

/// The size of a tar header's link name field.
const LINKNAME_FIELD: usize = 100;

/// The name GNU tar gives its long-link entries.
const LONG_LINK_NAME: &str = "././@LongLink";

struct Node {
    name: Box<[u8]>,
    parent: NodeId,
    /// Creation order: a directory's entries are written in it.
    seq: u64,
    /// The layer that created the node or last wrote its entry.
    layer: usize,
    kind: NodeKind,
}

enum NodeKind {
    Dir {
        /// `None` for a directory only implied by what is under it: no
        /// entry is written for it.
        meta: Option<Box<Meta>>,
        children: HashMap<Box<[u8]>, NodeId>,
    },
    Leaf(InodeId),
}

impl NodeKind {
    fn dir(meta: Option<Box<Meta>>) -> NodeKind {
        NodeKind::Dir {
            meta,
            children: HashMap::new(),
        }
    }
}

struct Inode {
    meta: Meta,
    /// A regular file's content.
    data: Option<Spooled>,
    /// The names of this inode in the tree.
    links: usize,
}

/// A path resolved in the tree: its components from the root (no symlink,
/// no `..` among them) and the node of each prefix, `None` from the first
/// one that does not exist on.
#[derive(Default)]
pub(super) struct Walked {
    names: Vec<Box<[u8]>>,
    nodes: Vec<Option<NodeId>>,
}

impl Walked {
    /// The resolved path, `a/b/c` (empty for the root).
    pub(super) fn path(&self) -> Vec<u8> {
        self.names.iter().fold(Vec::new(), |p, n| join(&p, n))
    }

    /// The node the path names, if it exists.
    pub(super) fn node(&self) -> Option<NodeId> {
        self.nodes.last().copied().unwrap_or(Some(ROOT))
    }
}

/// Why a path does not resolve.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum WalkError {
    /// It goes through this path, which is not a directory.
    NotDir(Vec<u8>),
    /// It needs more than [`MAX_SYMLINKS`] symlinks.
    TooManyLinks,
    /// Its symlinks expand to too many components.
    TooLong,
}

pub(super) struct Tree {
    nodes: Vec<Option<Node>>,
    free_nodes: Vec<NodeId>,
    inodes: Vec<Option<Inode>>,
    free_inodes: Vec<InodeId>,
    next_seq: u64,
}

impl Default for Tree {
    fn default() -> Tree {
        let root = Node {
            name: Box::default(),
            parent: ROOT,
            seq: 0,
            layer: 0,
            kind: NodeKind::dir(None),
        };
        Tree {
            nodes: vec![Some(root)],
            free_nodes: Vec::new(),
            inodes: Vec::new(),
            free_inodes: Vec::new(),
            next_seq: 1,
        }
    }
}

impl Tree {
    fn node(&self, id: NodeId) -> &Node {
        self.nodes[id].as_ref().expect("a live node")
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        self.nodes[id].as_mut().expect("a live node")
    }

    fn inode(&self, id: InodeId) -> &Inode {
        self.inodes[id].as_ref().expect("a live inode")
    }

    /// Whether `id` is a directory.
    pub(super) fn is_dir(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind, NodeKind::Dir { .. })
    }

    /// The entry `name` of the directory `dir`.
    pub(super) fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        match &self.node(dir).kind {
            NodeKind::Dir { children, .. } => children.get(name).copied(),
            NodeKind::Leaf(_) => None,
        }
    }

    /// The entries of the directory `dir`.
    pub(super) fn children(&self, dir: NodeId) -> Vec<NodeId> {
        match &self.node(dir).kind {
            NodeKind::Dir { children, .. } => children.values().copied().collect(),
            NodeKind::Leaf(_) => Vec::new(),
        }
    }

    fn symlink_target(&self, id: NodeId) -> Option<&[u8]> {
        match self.node(id).kind {
            NodeKind::Leaf(ino) => {
                let meta = &self.inode(ino).meta;
                match (meta.etype, &meta.link) {
                    (EntryType::Symlink, Some(target)) => Some(target),
                    _ => None,
                }
            }
            NodeKind::Dir { .. } => None,
        }
    }

    /// Resolves `path` inside the root, following every symlink on the way
    /// (the last component's too): an absolute target starts again from the
    /// root, a relative one from the symlink's directory, and `..` never
    /// goes above the root. Components that do not exist are taken as
    /// directories to be.
    pub(super) fn resolve(&self, path: &[u8]) -> Result<Walked, WalkError> {
        let mut pending: VecDeque<&[u8]> = path.split(|&b| b == b'/').collect();
        let mut walked = Walked::default();
        let mut links = 0usize;
        let mut expanded = 0usize;
        while let Some(component) = pending.pop_front() {
            if component == b"" || component == b"." {
                continue;
            }
            // Whether the next component is a name or `..`, what was walked
            // so far has to be a directory (or one to be).
            let dir = walked.node();
            if dir.is_some_and(|id| !self.is_dir(id)) {
                return Err(WalkError::NotDir(walked.path()));
            }
            if component == b".." {
                walked.names.pop();
                walked.nodes.pop();
                continue;
            }
            let child = dir.and_then(|id| self.child(id, component));
            if let Some(target) = child.and_then(|id| self.symlink_target(id)) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(WalkError::TooManyLinks);
                }
                if target.first() == Some(&b'/') {
                    walked.names.clear();
                    walked.nodes.clear();
                }
                let start = pending.len();
                for part in target.split(|&b| b == b'/').rev() {
                    pending.push_front(part);
                }
                expanded += pending.len() - start;
                if expanded > MAX_EXPANDED {
                    return Err(WalkError::TooLong);
                }
                continue;
            }
            walked.names.push(component.into());
            walked.nodes.push(child);
        }
        Ok(walked)
    }

    /// Creates the directories of `walked` (as [`Tree::resolve`] returned
    /// it: every prefix but the last is a directory or missing) that do not
    /// exist (implied: no entry of their own), as a runtime creates missing
    /// parents. Returns the directory, or why the path is not one.
    pub(super) fn make_dirs(&mut self, walked: &Walked, layer: usize) -> Result<NodeId, WalkError> {
        let mut cur = ROOT;
        for (name, node) in walked.names.iter().zip(&walked.nodes) {
            cur = match node {
                Some(id) => *id,
                None => self.add(cur, name, layer, NodeKind::dir(None)),
            };
        }
        if self.is_dir(cur) {
            Ok(cur)
        } else {
            Err(WalkError::NotDir(walked.path()))
        }
    }

    fn add(&mut self, parent: NodeId, name: &[u8], layer: usize, kind: NodeKind) -> NodeId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let node = Node {
            name: name.into(),
            parent,
            seq,
            layer,
            kind,
        };
        let id = alloc(&mut self.nodes, &mut self.free_nodes, node);
        match &mut self.node_mut(parent).kind {
            NodeKind::Dir { children, .. } => {
                let old = children.insert(name.into(), id);
                debug_assert!(old.is_none(), "a name added twice");
            }
            NodeKind::Leaf(_) => unreachable!("entries are only added to directories"),
        }
        id
    }

    /// Adds the directory `name` to `parent` (where nothing has that name).
    pub(super) fn add_dir(&mut self, parent: NodeId, name: &[u8], meta: Meta, layer: usize) {
        self.add(parent, name, layer, NodeKind::dir(Some(Box::new(meta))));
    }

    /// Sets the metadata of the existing directory `id` (a directory entry
    /// over a directory merges with it).
    pub(super) fn set_dir_meta(&mut self, id: NodeId, meta: Meta, layer: usize) {
        let node = self.node_mut(id);
        node.layer = layer;
        if let NodeKind::Dir { meta: m, .. } = &mut node.kind {
            *m = Some(Box::new(meta));
        }
    }

    /// Adds the non-directory `name` to `parent` (where nothing has that
    /// name): a new inode.
    pub(super) fn add_file(
        &mut self,
        parent: NodeId,
        name: &[u8],
        meta: Meta,
        data: Option<Spooled>,
        layer: usize,
    ) {
        let inode = Inode {
            meta,
            data,
            links: 1,
        };
        let ino = alloc(&mut self.inodes, &mut self.free_inodes, inode);
        self.add(parent, name, layer, NodeKind::Leaf(ino));
    }

    /// Adds `name` to `parent` (where nothing has that name) as another
    /// name of the non-directory `target`.
    pub(super) fn add_hardlink(
        &mut self,
        parent: NodeId,
        name: &[u8],
        target: NodeId,
        layer: usize,
    ) {
        let NodeKind::Leaf(ino) = self.node(target).kind else {
            unreachable!("a hardlink's target is never a directory");
        };
        self.inodes[ino].as_mut().expect("a live inode").links += 1;
        self.add(parent, name, layer, NodeKind::Leaf(ino));
    }

    /// Removes `id` and everything under it.
    pub(super) fn remove(&mut self, id: NodeId, spool: &mut Spool) {
        debug_assert_ne!(id, ROOT, "the root is never removed");
        let (parent, name) = {
            let node = self.node(id);
            (node.parent, node.name.clone())
        };
        if let NodeKind::Dir { children, .. } = &mut self.node_mut(parent).kind {
            children.remove(&name);
        }
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let node = self.nodes[id].take().expect("a live node");
            self.free_nodes.push(id);
            match node.kind {
                NodeKind::Dir { children, .. } => stack.extend(children.into_values()),
                NodeKind::Leaf(ino) => {
                    let inode = self.inodes[ino].as_mut().expect("a live inode");
                    inode.links -= 1;
                    if inode.links == 0 {
                        let inode = self.inodes[ino].take().expect("a live inode");
                        self.free_inodes.push(ino);
                        if let Some(data) = &inode.data {
                            spool.release(data);
                        }
                    }
                }
            }
        }
    }

    /// Removes `top` and what is under it as far as layers below `layer`
    /// put it there; what `layer` put there stays, with the directories it
    /// needs (a lower directory kept only for that loses its own entry: it
    /// is hidden).
    pub(super) fn prune(&mut self, top: NodeId, layer: usize, spool: &mut Spool) {
        // Post-order: a directory is decided once its entries are.
        let mut stack = vec![(top, false)];
        while let Some((id, visited)) = stack.pop() {
            if !visited {
                stack.push((id, true));
                stack.extend(self.children(id).into_iter().map(|c| (c, false)));
                continue;
            }
            let node = self.node(id);
            let keep = node.layer == layer
                || matches!(&node.kind, NodeKind::Dir { children, .. } if !children.is_empty());
            if keep && node.layer != layer {
                let node = self.node_mut(id);
                node.layer = layer;
                if let NodeKind::Dir { meta, .. } = &mut node.kind {
                    *meta = None;
                }
            }
            if !keep {
                self.remove(id, spool);
            }
        }
    }

    /// Writes the tree as tar entries: depth first, a directory's entries
    /// in the order they were created; the first name of an inode carries
    /// its content, its other names are hardlinks to that one. Returns the
    /// number of entries written.
    pub(super) fn write<W: Write>(
        &self,
        spool: &Spool,
        out: &mut tar::Builder<W>,
    ) -> io::Result<u64> {
        let mut entries = 0u64;
        let mut first_names: HashMap<InodeId, Vec<u8>> = HashMap::new();
        let mut stack: Vec<(NodeId, Vec<u8>)> = vec![(ROOT, Vec::new())];
        while let Some((id, path)) = stack.pop() {
            match &self.node(id).kind {
                NodeKind::Dir { meta, children } => {
                    if let Some(meta) = meta
                        && id != ROOT
                    {
                        write_pax(out, &meta.pax)?;
                        let mut h = meta.header();
                        out.append_data(&mut h, as_path(&path), io::empty())?;
                        entries += 1;
                    }
                    let mut kids: Vec<(u64, NodeId, &[u8])> = children
                        .iter()
                        .map(|(name, &c)| (self.node(c).seq, c, &name[..]))
                        .collect();
                    kids.sort_unstable_by_key(|k| k.0);
                    stack.extend(kids.into_iter().rev().map(|(_, c, n)| (c, join(&path, n))));
                }
                NodeKind::Leaf(ino) => {
                    let inode = self.inode(*ino);
                    let mut h = inode.meta.header();
                    if let Some(first) = first_names.get(ino) {
                        h.set_entry_type(EntryType::Link);
                        out.append_link(&mut h, as_path(&path), as_path(first))?;
                    } else {
                        write_pax(out, &inode.meta.pax)?;
                        write_inode(out, spool, inode, &mut h, &path)?;
                        if inode.links > 1 {
                            first_names.insert(*ino, path);
                        }
                    }
                    entries += 1;
                }
            }
        }
        Ok(entries)
    }
}

/// Puts `value` in a free slot of `slots` (or a new one); returns its index.
fn alloc<T>(slots: &mut Vec<Option<T>>, free: &mut Vec<usize>, value: T) -> usize {
    match free.pop() {
        Some(i) => {
            slots[i] = Some(value);
            i
        }
        None => {
            slots.push(Some(value));
            slots.len() - 1
        }
    }
}

/// Writes the entry of an inode's first name.
fn write_inode<W: Write>(
    out: &mut tar::Builder<W>,
    spool: &Spool,
    inode: &Inode,
    h: &mut Header,
    path: &[u8],
) -> io::Result<()> {
    match (&inode.meta.link, &inode.data) {
        (Some(target), _) if inode.meta.etype == EntryType::Symlink => {
            // Exactly the layer's bytes (`append_link` would normalise
            // them): a longer target goes first in a GNU long-link entry.
            if target.len() > LINKNAME_FIELD {
                let mut long = Header::new_gnu();
                long.set_entry_type(EntryType::GNULongLink);
                long.set_path(LONG_LINK_NAME)?;
                long.set_mode(0o644);
                long.set_size(target.len() as u64 + 1);
                long.set_cksum();
                out.append(&long, io::Read::chain(&target[..], &[0u8][..]))?;
            }
            h.set_link_name_literal(&target[..target.len().min(LINKNAME_FIELD)])?;
            out.append_data(h, as_path(path), io::empty())
        }
        (_, Some(data)) if data.len > 0 => {
            h.set_size(data.len);
            let data = Exact {
                inner: spool.reader(data)?,
                remaining: data.len,
            };
            out.append_data(h, as_path(path), data)
        }
        _ => out.append_data(h, as_path(path), io::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(etype: EntryType, link: Option<&[u8]>) -> Meta {
        let mut h = Header::new_gnu();
        h.set_entry_type(etype);
        let Ok(mut m) = Meta::from_header(&h, etype, b"x", Vec::new()) else {
            panic!("a valid header");
        };
        m.link = link.map(Into::into);
        m
    }

    /// A tree of `dirs`, `files` and `(name, target)` symlinks, all at the
    /// root or under `dirs`.
    fn tree(dirs: &[&str], files: &[&str], links: &[(&str, &[u8])]) -> Tree {
        let mut t = Tree::default();
        let add = |t: &mut Tree, path: &str| {
            let (parent, name) = super::super::path::split_parent(path.as_bytes());
            let w = t.resolve(parent).expect("resolves");
            (t.make_dirs(&w, 0).expect("a directory"), name.to_vec())
        };
        for d in dirs {
            let (p, n) = add(&mut t, d);
            t.add_dir(p, &n, meta(EntryType::Directory, None), 0);
        }
        for f in files {
            let (p, n) = add(&mut t, f);
            t.add_file(p, &n, meta(EntryType::Regular, None), None, 0);
        }
        for (l, target) in links {
            let (p, n) = add(&mut t, l);
            t.add_file(p, &n, meta(EntryType::Symlink, Some(target)), None, 0);
        }
        t
    }

    fn resolved(t: &Tree, path: &str) -> Result<(String, bool), WalkError> {
        let w = t.resolve(path.as_bytes())?;
        Ok((String::from_utf8(w.path()).unwrap(), w.node().is_some()))
    }

    #[test]
    fn dot_dot_stops_at_the_root_and_follows_the_resolved_path() {
        let t = tree(
            &["a", "a/b", "c"],
            &[],
            &[("a/up", b"../../../.."), ("a/b/l", b"../../c/./d")],
        );
        assert_eq!(resolved(&t, "../../a"), Ok(("a".into(), true)));
        assert_eq!(resolved(&t, "a/up/c"), Ok(("c".into(), true)));
        // `..` after a symlink goes up from where the link led (as the
        // kernel and securejoin do), not lexically.
        assert_eq!(resolved(&t, "a/b/l/../x"), Ok(("c/x".into(), false)));
        assert_eq!(resolved(&t, "missing/../a/b"), Ok(("a/b".into(), true)));
    }

    #[test]
    fn files_in_the_middle_are_not_directories() {
        let t = tree(&["d"], &["d/f"], &[("l", b"/d/f")]);
        assert_eq!(resolved(&t, "d/f"), Ok(("d/f".into(), true)));
        assert_eq!(
            resolved(&t, "d/f/x"),
            Err(WalkError::NotDir(b"d/f".to_vec()))
        );
        assert_eq!(
            resolved(&t, "d/f/.."),
            Err(WalkError::NotDir(b"d/f".to_vec()))
        );
        assert_eq!(resolved(&t, "l/x"), Err(WalkError::NotDir(b"d/f".to_vec())));
    }

    #[test]
    fn expansion_is_bounded() {
        // Each turn adds 301 components: the bound on expansion is reached
        // before the one on the number of symlinks.
        let target = format!("s/{}", "x/".repeat(300));
        let t = tree(&[], &[], &[("s", target.as_bytes())]);
        assert_eq!(resolved(&t, "s"), Err(WalkError::TooLong));
        let t = tree(&[], &[], &[("s", b"s/x")]);
        assert_eq!(resolved(&t, "s"), Err(WalkError::TooManyLinks));
    }
}
