//! Helpers of the `extract_*` tests: real layer tars (plain, gzip, zstd)
//! built with the `tar`, `flate2` and `zstd` crates, running `extract`, and
//! reading its output back entry by entry or unpacked.
//!
//! Included by each test binary with `#[path = "common/layers.rs"] mod layers;`;
//! each uses only some of the helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};

use oci_dist::extract::{ExtractSummary, Layer, extract};
use registry_core::{Digest, Error};
use tar::{EntryType, Header};

pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// One entry of a test layer.
pub enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    FileMode(&'a str, &'a [u8], u32, u64),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A PAX header with these records, then a file.
    PaxFile(&'a str, &'a [u8], &'a [(&'a str, &'a [u8])]),
    /// Written with raw header bytes, so hostile names get through.
    RawFile(&'a [u8], &'a [u8]),
    RawHardlink(&'a [u8], &'a [u8]),
    /// A symlink whose target is written as it is (`append_link` would
    /// normalise `a/./b` to `a/b`), in a GNU long-link entry when longer
    /// than 100 bytes.
    RawSymlink(&'a [u8], &'a [u8]),
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn raw_header(name: &[u8], kind: EntryType, size: u64, link: &[u8]) -> Header {
    let mut h = header(kind, 0o644, size);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.name[..name.len()].copy_from_slice(name);
    gnu.linkname[..link.len()].copy_from_slice(link);
    h.set_cksum();
    h
}

fn pax_data(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3;
        let mut len = rest + rest.to_string().len();
        if len.to_string().len() != rest.to_string().len() {
            len = rest + len.to_string().len();
        }
        data.extend_from_slice(format!("{len} {k}=").as_bytes());
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    data
}

pub fn layer_tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match *e {
            E::Dir(p) => {
                let mut h = header(EntryType::Directory, 0o755, 0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::File(p, data) => {
                let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
                b.append_data(&mut h, p, data).unwrap();
            }
            E::FileMode(p, data, mode, mtime) => {
                let mut h = header(EntryType::Regular, mode, data.len() as u64);
                h.set_mtime(mtime);
                b.append_data(&mut h, p, data).unwrap();
            }
            E::Symlink(p, target) => {
                let mut h = header(EntryType::Symlink, 0o777, 0);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::Hardlink(p, target) => {
                let mut h = header(EntryType::Link, 0o644, 0);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::PaxFile(p, data, records) => {
                let pax = pax_data(records);
                let mut x = header(EntryType::XHeader, 0o644, pax.len() as u64);
                b.append_data(&mut x, "PaxHeader", &pax[..]).unwrap();
                let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
                b.append_data(&mut h, p, data).unwrap();
            }
            E::RawFile(name, data) => {
                let h = raw_header(name, EntryType::Regular, data.len() as u64, b"");
                b.append(&h, data).unwrap();
            }
            E::RawHardlink(name, target) => {
                let h = raw_header(name, EntryType::Link, 0, target);
                b.append(&h, &[][..]).unwrap();
            }
            E::RawSymlink(name, target) => {
                if target.len() > 100 {
                    // A GNU long-link entry, then the truncated target.
                    let mut data = target.to_vec();
                    data.push(0);
                    let mut long = raw_header(b"././@LongLink", EntryType::GNULongLink, 0, b"");
                    long.set_size(data.len() as u64);
                    long.set_cksum();
                    b.append(&long, &data[..]).unwrap();
                }
                let h = raw_header(
                    name,
                    EntryType::Symlink,
                    0,
                    &target[..target.len().min(100)],
                );
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A layer of `media_type` whose bytes are `blob`, with its true digest.
pub fn layer(media_type: &str, blob: Vec<u8>) -> Layer<'static> {
    let digest = Digest::sha256_of(&blob);
    let size = blob.len() as u64;
    Layer::new(media_type, digest, std::io::Cursor::new(blob))
        .unwrap()
        .with_size(size)
}

pub async fn run(layers: Vec<Layer<'_>>) -> Result<(Vec<u8>, ExtractSummary), Error> {
    let mut out = Vec::new();
    let summary = extract(layers, &mut out).await?;
    Ok((out, summary))
}

/// One entry of the output, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    Hardlink(String),
}

/// The output tar, entry by entry, in order.
pub fn entries(tar_bytes: &[u8]) -> Vec<(String, Node)> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let node = match entry.header().entry_type() {
            EntryType::Directory => Node::Dir,
            EntryType::Regular => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                Node::File(data)
            }
            EntryType::Symlink => {
                Node::Symlink(entry.link_name().unwrap().unwrap().to_string_lossy().into())
            }
            EntryType::Link => {
                Node::Hardlink(entry.link_name().unwrap().unwrap().to_string_lossy().into())
            }
            other => panic!("unexpected entry type {other:?} for {path}"),
        };
        out.push((path, node));
    }
    out
}

pub fn file(data: &str) -> Node {
    Node::File(data.as_bytes().to_vec())
}

/// Unpacks the tar into a directory and reads the tree back: what a
/// consumer of the output really gets.
pub fn unpack_tree(tar_bytes: &[u8]) -> BTreeMap<String, Node> {
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(tar_bytes).unpack(dir.path()).unwrap();
    let mut tree = BTreeMap::new();
    fn walk(root: &std::path::Path, dir: &std::path::Path, tree: &mut BTreeMap<String, Node>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                tree.insert(rel, Node::Symlink(target.to_string_lossy().into()));
            } else if meta.is_dir() {
                tree.insert(rel, Node::Dir);
                walk(root, &path, tree);
            } else {
                tree.insert(rel, Node::File(std::fs::read(&path).unwrap()));
            }
        }
    }
    walk(dir.path(), dir.path(), &mut tree);
    tree
}

/// The expected output, entry by entry, in order.
pub fn want(items: &[(&str, Node)]) -> Vec<(String, Node)> {
    items
        .iter()
        .map(|(p, n)| ((*p).to_owned(), n.clone()))
        .collect()
}

/// Asserts that no name of the output goes through a symlink of the output
/// (so that unpacking it, even naively, cannot write outside its root), and
/// that every hardlink names an earlier non-symlink-traversing entry.
pub fn assert_no_name_through_symlink(got: &[(String, Node)]) {
    let symlinks: Vec<&str> = got
        .iter()
        .filter(|(_, n)| matches!(n, Node::Symlink(_)))
        .map(|(p, _)| p.as_str())
        .collect();
    let through = |name: &str| {
        symlinks.iter().any(|s| {
            name.len() > s.len() && name.starts_with(s) && name.as_bytes()[s.len()] == b'/'
        })
    };
    for (i, (path, node)) in got.iter().enumerate() {
        assert!(!through(path), "{path:?} goes through a symlink: {got:?}");
        if let Node::Hardlink(target) = node {
            assert!(
                !through(target),
                "{path:?} -> {target:?} goes through a symlink"
            );
            assert!(
                got[..i].iter().any(|(p, _)| p == target),
                "hardlink {path:?} -> {target:?} before its target: {got:?}"
            );
        }
    }
}
