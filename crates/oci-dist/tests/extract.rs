//! `extract`: flattening real layer tars (plain, gzip, zstd) built here
//! with the `tar`, `flate2` and `zstd` crates.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use oci_dist::extract::{Compression, ExtractSummary, Layer, extract};
use registry_core::{Digest, Error, ErrorKind};
use tar::{EntryType, Header};

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// One entry of a test layer.
enum E<'a> {
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

fn layer_tar(entries: &[E<'_>]) -> Vec<u8> {
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
        }
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A layer of `media_type` whose bytes are `blob`, with its true digest.
fn layer(media_type: &str, blob: Vec<u8>) -> Layer<'static> {
    let digest = Digest::sha256_of(&blob);
    let size = blob.len() as u64;
    Layer::new(media_type, digest, std::io::Cursor::new(blob))
        .unwrap()
        .with_size(size)
}

async fn run(layers: Vec<Layer<'_>>) -> Result<(Vec<u8>, ExtractSummary), Error> {
    let mut out = Vec::new();
    let summary = extract(layers, &mut out).await?;
    Ok((out, summary))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    Hardlink(String),
}

/// The output tar, entry by entry, in order.
fn entries(tar_bytes: &[u8]) -> Vec<(String, Node)> {
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

fn file(data: &str) -> Node {
    Node::File(data.as_bytes().to_vec())
}

/// Unpacks the tar into a directory and reads the tree back: what a
/// consumer of the output really gets.
fn unpack_tree(tar_bytes: &[u8]) -> BTreeMap<String, Node> {
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

fn three_layers() -> Vec<Layer<'static>> {
    let base = layer_tar(&[
        E::Dir("etc"),
        E::File("etc/passwd", b"root:x:0:0"),
        E::File("etc/hosts", b"127.0.0.1 old"),
        E::Dir("var"),
        E::Dir("var/cache"),
        E::File("var/cache/a", b"a"),
        E::File("var/cache/b", b"b"),
        E::Dir("var/cache/sub"),
        E::File("var/cache/sub/c", b"c"),
        E::Dir("opt"),
        E::File("opt/tool", b"tool v1"),
        E::File("gone", b"to be deleted"),
        E::Dir("tmp"),
        E::File("tmp/keep", b"hidden by a whiteout of tmp"),
        E::Dir("usr"),
        E::Dir("usr/bin"),
        E::File("usr/bin/sh", b"#!sh"),
        E::Symlink("bin", "usr/bin"),
        E::Dir("srv"),
        E::File("srv/old", b"hidden by an opaque srv"),
    ]);
    let middle = layer_tar(&[
        E::File(".wh.gone", b""),
        E::File("etc/.wh.hosts", b""),
        E::Dir("var/cache"),
        // Same-layer entries on both sides of the opaque marker stay.
        E::File("var/cache/new", b"new"),
        E::File("var/cache/.wh..wh..opq", b""),
        E::Dir("var/cache/sub2"),
        E::File("var/cache/sub2/d", b"d"),
        E::File("opt/tool", b"tool v2"),
        E::File(".wh.tmp", b""),
        E::File("tmp/fresh", b"fresh"),
        // AUFS bookkeeping is not content.
        E::File(".wh..wh.plnk/123", b""),
    ]);
    let top = layer_tar(&[
        E::FileMode("etc/passwd", b"root:x:0:0:new", 0o600, 1_650_000_000),
        E::Hardlink("etc/pw-link", "/etc/passwd"),
        E::File("usr/bin/.wh.sh", b""),
        E::File("opt/tool2", b"t2"),
        // Target from the middle layer: resolved once that layer is read.
        E::Hardlink("opt/tool-link", "opt/tool"),
        E::Dir("srv"),
        E::File("srv/.wh..wh..opq", b""),
        E::File("srv/x", b"x"),
    ]);
    vec![
        layer(TAR, base),
        layer(GZIP, gzip(&middle)),
        layer(ZSTD, zstd(&top)),
    ]
}

#[tokio::test]
async fn merges_layers_with_whiteouts_and_opaque_directories() {
    let (out, summary) = run(three_layers()).await.unwrap();
    let got = entries(&out);
    let listed: BTreeMap<String, Node> = got.iter().cloned().collect();
    assert_eq!(listed.len(), got.len(), "a path was written twice: {got:?}");
    let expected: BTreeMap<String, Node> = [
        ("bin", Node::Symlink("usr/bin".into())),
        ("etc", Node::Dir),
        ("etc/passwd", file("root:x:0:0:new")),
        ("etc/pw-link", Node::Hardlink("etc/passwd".into())),
        ("opt", Node::Dir),
        ("opt/tool", file("tool v2")),
        ("opt/tool-link", Node::Hardlink("opt/tool".into())),
        ("opt/tool2", file("t2")),
        ("srv", Node::Dir),
        ("srv/x", file("x")),
        ("tmp/fresh", file("fresh")),
        ("usr", Node::Dir),
        ("usr/bin", Node::Dir),
        ("var", Node::Dir),
        ("var/cache", Node::Dir),
        ("var/cache/new", file("new")),
        ("var/cache/sub2", Node::Dir),
        ("var/cache/sub2/d", file("d")),
    ]
    .into_iter()
    .map(|(p, n)| (p.to_owned(), n))
    .collect();
    assert_eq!(listed, expected);
    assert_eq!(summary.entries, expected.len() as u64);
    assert_eq!(summary.bytes, out.len() as u64);

    // Every hardlink comes after its target, so the tar unpacks; the
    // unpacked tree is the merged filesystem.
    let tree = unpack_tree(&out);
    let mut want: BTreeMap<String, Node> = expected
        .into_iter()
        .map(|(p, n)| match n {
            Node::Hardlink(t) => {
                let data = match &listed[&t] {
                    Node::File(d) => d.clone(),
                    other => panic!("{other:?}"),
                };
                (p, Node::File(data))
            }
            n => (p, n),
        })
        .collect();
    want.insert("tmp".into(), Node::Dir); // implied by tmp/fresh
    assert_eq!(tree, want);

    // Metadata comes from the topmost layer's entry.
    let mut archive = tar::Archive::new(&out[..]);
    let passwd = archive
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.path().unwrap().to_str() == Some("etc/passwd"))
        .unwrap();
    assert_eq!(passwd.header().mode().unwrap(), 0o600);
    assert_eq!(passwd.header().mtime().unwrap(), 1_650_000_000);
}

#[tokio::test]
async fn opaque_marker_first_keeps_the_rest_of_its_layer() {
    let lower = layer_tar(&[E::Dir("d"), E::File("d/lower", b"l"), E::File("keep", b"k")]);
    let upper = layer_tar(&[
        E::File("d/.wh..wh..opq", b""),
        E::File("d/upper", b"u"),
        E::Dir("d/nested"),
        E::File("d/nested/deep", b"n"),
    ]);
    let (out, _) = run(vec![layer(TAR, lower), layer(TAR, upper)])
        .await
        .unwrap();
    let got: BTreeMap<String, Node> = entries(&out).into_iter().collect();
    let want: BTreeMap<String, Node> = [
        ("d", Node::Dir),
        ("d/nested", Node::Dir),
        ("d/nested/deep", file("n")),
        ("d/upper", file("u")),
        ("keep", file("k")),
    ]
    .into_iter()
    .map(|(p, n)| (p.to_owned(), n))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn whiteout_and_recreation_in_the_same_layer() {
    // A whiteout hides lower layers only: a file of the same name in the
    // same layer stays, whatever the order.
    let lower = layer_tar(&[
        E::File("f", b"old"),
        E::Dir("dir"),
        E::File("dir/old", b"o"),
    ]);
    let upper = layer_tar(&[
        E::File("f", b"new"),
        E::File(".wh.f", b""),
        E::File(".wh.dir", b""),
        E::Dir("dir"),
        E::File("dir/new", b"n"),
    ]);
    let (out, _) = run(vec![layer(TAR, lower), layer(GZIP, gzip(&upper))])
        .await
        .unwrap();
    let got: BTreeMap<String, Node> = entries(&out).into_iter().collect();
    let want: BTreeMap<String, Node> = [
        ("dir", Node::Dir),
        ("dir/new", file("n")),
        ("f", file("new")),
    ]
    .into_iter()
    .map(|(p, n)| (p.to_owned(), n))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn upper_file_replaces_lower_directory_and_symlink_replaces_directory() {
    let lower = layer_tar(&[
        E::Dir("x"),
        E::File("x/inside", b"i"),
        E::Dir("lib"),
        E::File("lib/libc.so", b"c"),
    ]);
    let upper = layer_tar(&[E::File("x", b"now a file"), E::Symlink("lib", "usr/lib")]);
    let (out, _) = run(vec![layer(TAR, lower), layer(TAR, upper)])
        .await
        .unwrap();
    let got: BTreeMap<String, Node> = entries(&out).into_iter().collect();
    let want: BTreeMap<String, Node> = [
        ("lib", Node::Symlink("usr/lib".into())),
        ("x", file("now a file")),
    ]
    .into_iter()
    .map(|(p, n)| (p.to_owned(), n))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn lower_symlink_cannot_redirect_upper_entries() {
    // The lower layer makes `etc` a symlink out of the root; the upper layer
    // writes under `etc`: the output has `etc` as a directory, never the
    // symlink, so unpacking cannot write through it.
    let lower = layer_tar(&[E::Symlink("etc", "/host/etc")]);
    let upper = layer_tar(&[E::File("etc/passwd", b"p")]);
    let (out, _) = run(vec![layer(TAR, lower), layer(TAR, upper)])
        .await
        .unwrap();
    let got = entries(&out);
    assert_eq!(got, vec![("etc/passwd".to_owned(), file("p"))]);
}

#[tokio::test]
async fn hardlinks_survive_the_deletion_of_their_target() {
    // `T` and its links are one file in the lower layer; the upper layer
    // deletes `T` only: the links keep the content.
    let lower = layer_tar(&[
        E::File("T", b"shared content"),
        E::Hardlink("L", "T"),
        E::Hardlink("M", "T"),
    ]);
    let upper = layer_tar(&[E::File(".wh.T", b"")]);
    let (out, _) = run(vec![layer(TAR, lower), layer(TAR, upper)])
        .await
        .unwrap();
    assert_eq!(
        entries(&out),
        vec![
            ("L".to_owned(), file("shared content")),
            ("M".to_owned(), Node::Hardlink("L".into())),
        ]
    );
    let tree = unpack_tree(&out);
    assert_eq!(tree["M"], file("shared content"));
}

#[tokio::test]
async fn hardlinks_keep_their_content_when_the_target_is_replaced() {
    let lower = layer_tar(&[
        E::File("bin/tool", b"v1"),
        E::Hardlink("bin/tool-1", "bin/tool"),
    ]);
    let upper = layer_tar(&[E::File("bin/tool", b"v2")]);
    let (out, _) = run(vec![layer(GZIP, gzip(&lower)), layer(TAR, upper)])
        .await
        .unwrap();
    let got: BTreeMap<String, Node> = entries(&out).into_iter().collect();
    let want: BTreeMap<String, Node> = [("bin/tool", file("v2")), ("bin/tool-1", file("v1"))]
        .into_iter()
        .map(|(p, n)| (p.to_owned(), n))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn absolute_names_are_normalised_to_the_root() {
    let l = layer_tar(&[
        E::RawFile(b"/etc/passwd", b"p"),
        E::RawFile(b"./etc//group", b"g"),
        E::RawHardlink(b"/etc/passwd-", b"/etc/passwd"),
        E::Symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
    ]);
    let (out, _) = run(vec![layer(TAR, l)]).await.unwrap();
    assert_eq!(
        entries(&out),
        vec![
            ("etc/passwd".to_owned(), file("p")),
            ("etc/group".to_owned(), file("g")),
            (
                "etc/passwd-".to_owned(),
                Node::Hardlink("etc/passwd".into())
            ),
            // Symlink targets are data: kept as they are.
            (
                "etc/localtime".to_owned(),
                Node::Symlink("/usr/share/zoneinfo/UTC".into())
            ),
        ]
    );
}

async fn refused(entries: &[E<'_>]) -> Error {
    let ok = layer_tar(&[E::File("fine", b"f")]);
    let bad = layer_tar(entries);
    let err = run(vec![layer(TAR, ok), layer(TAR, bad)])
        .await
        .expect_err("hostile layer accepted");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("layer 2 of 2"), "{err}");
    err
}

#[tokio::test]
async fn refuses_parent_directory_escape() {
    let err = refused(&[E::RawFile(b"../etc/passwd", b"owned")]).await;
    assert!(
        err.to_string()
            .contains("\"../etc/passwd\" escapes the root"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_escape_in_the_middle_of_a_path() {
    let err = refused(&[E::RawFile(b"a/../../x", b"owned")]).await;
    assert!(
        err.to_string().contains("\"a/../../x\" escapes the root"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_absolute_path_with_parent_components() {
    let err = refused(&[E::RawFile(b"/../../etc/shadow", b"owned")]).await;
    assert!(err.to_string().contains("escapes the root"), "{err}");
}

#[tokio::test]
async fn refuses_hardlink_escaping_the_root() {
    let err = refused(&[E::File("x", b"x"), E::RawHardlink(b"link", b"../../x")]).await;
    assert!(
        err.to_string()
            .contains("hardlink \"link\" -> \"../../x\": the target escapes the root"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_hardlink_to_a_missing_file() {
    let err = refused(&[E::RawHardlink(b"link", b"/etc/shadow")]).await;
    assert!(
        err.to_string()
            .contains("hardlink \"link\" points to \"etc/shadow\", which does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_writing_through_a_symlink_of_the_same_layer() {
    let err = refused(&[E::Symlink("evil", "/etc"), E::File("evil/passwd", b"owned")]).await;
    assert!(
        err.to_string()
            .contains("\"evil/passwd\" goes through \"evil\", which is not a directory"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_whiteout_of_the_parent() {
    let err = refused(&[E::RawFile(b"a/.wh...", b"")]).await;
    assert!(
        err.to_string()
            .contains("whiteout \"a/.wh...\" names no file"),
        "{err}"
    );
}

#[tokio::test]
async fn corrupted_compressed_layer_is_a_digest_mismatch() {
    let blob = gzip(&layer_tar(&[E::File("a", &[7u8; 100_000])]));
    let digest = Digest::sha256_of(&blob);
    let mut corrupt = blob.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    let l = Layer::new(GZIP, digest.clone(), std::io::Cursor::new(corrupt)).unwrap();
    let err = run(vec![l]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(err.to_string().contains(&digest.to_string()), "{err}");
}

#[tokio::test]
async fn corrupted_layer_stops_the_output() {
    // The newest layer is read first; its content is corrupted in a way tar
    // does not notice (file data), so only the digest catches it. Nothing of
    // the older layer, and no end-of-archive marker, may follow.
    let older = layer_tar(&[E::File("older-file", b"OLDER-LAYER-CONTENT")]);
    let newer = layer_tar(&[E::File("newer-file", b"newer content")]);
    let digest = Digest::sha256_of(&newer);
    let mut corrupt = newer.clone();
    let pos = corrupt.windows(5).position(|w| w == b"newer").unwrap();
    corrupt[pos] = b'N';
    let newest = Layer::new(TAR, digest, std::io::Cursor::new(corrupt)).unwrap();
    let mut out = Vec::new();
    let err = extract(vec![layer(TAR, older), newest], &mut out)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(err.to_string().contains("layer 2 of 2"), "{err}");
    assert!(
        !out.windows(11).any(|w| w == b"OLDER-LAYER"),
        "the older layer was written after the mismatch"
    );
}

#[tokio::test]
async fn wrong_size_is_a_digest_mismatch() {
    let blob = layer_tar(&[E::File("a", b"a")]);
    let digest = Digest::sha256_of(&blob);
    let len = blob.len() as u64;
    let l = Layer::new(TAR, digest, std::io::Cursor::new(blob))
        .unwrap()
        .with_size(len - 512);
    let err = run(vec![l]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[tokio::test]
async fn source_failure_is_reported() {
    let blob = layer_tar(&[E::File("a", &[1u8; 4096])]);
    let digest = Digest::sha256_of(&blob);
    let stream = futures_util::stream::iter(vec![
        Ok(Bytes::copy_from_slice(&blob[..1024])),
        Err(Error::new(
            ErrorKind::Transport,
            "connection reset by the test",
        )),
    ]);
    let l = Layer::from_stream(TAR, digest, stream).unwrap();
    let err = run(vec![l]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        err.to_string().contains("connection reset by the test"),
        "{err}"
    );
}

#[tokio::test]
async fn lazy_layers_are_opened_newest_first_one_at_a_time() {
    let opened = Arc::new(Mutex::new(Vec::new()));
    let mut layers = Vec::new();
    for i in 1..=3u8 {
        let name = format!("file{i}");
        let blob = layer_tar(&[E::File(&name, &[i; 10])]);
        let digest = Digest::sha256_of(&blob);
        let opened = opened.clone();
        layers.push(
            Layer::lazy(DOCKER_GZIP, digest.clone(), async move {
                opened.lock().unwrap().push(i);
                Ok(std::io::Cursor::new(gzip(&blob)))
            })
            .unwrap(),
        );
    }
    // The digest is of the uncompressed tar here: each layer must fail...
    let err = run(layers).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    // ...and the first one read is the newest; the others are never opened.
    assert_eq!(*opened.lock().unwrap(), vec![3]);

    let opened = Arc::new(Mutex::new(Vec::new()));
    let mut layers = Vec::new();
    for i in 1..=3u8 {
        let name = format!("file{i}");
        let blob = gzip(&layer_tar(&[E::File(&name, &[i; 10])]));
        let digest = Digest::sha256_of(&blob);
        let opened = opened.clone();
        layers.push(
            Layer::lazy(DOCKER_GZIP, digest, async move {
                opened.lock().unwrap().push(i);
                Ok(std::io::Cursor::new(blob))
            })
            .unwrap(),
        );
    }
    let (out, summary) = run(layers).await.unwrap();
    assert_eq!(*opened.lock().unwrap(), vec![3, 2, 1]);
    assert_eq!(summary.entries, 3);
    assert_eq!(entries(&out).len(), 3);
}

#[tokio::test]
async fn large_files_and_long_names_stream_through() {
    // 5 MiB of non-repeating data, in a zstd layer, and a name longer than
    // the 100 bytes of a tar header.
    let mut big = Vec::with_capacity(5 << 20);
    let mut x = 0x1234_5678u32;
    while big.len() < 5 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    let long = format!("{}/file.bin", "deep-directory-name".repeat(8));
    let l = layer_tar(&[E::File(&long, &big), E::File("small", b"s")]);
    let (out, _) = run(vec![layer(ZSTD, zstd(&l))]).await.unwrap();
    let got = entries(&out);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, long);
    assert_eq!(got[0].1, Node::File(big));
    assert_eq!(got[1], ("small".to_owned(), file("s")));
}

#[tokio::test]
async fn pax_records_are_carried_over() {
    let l = layer_tar(&[E::PaxFile(
        "usr/bin/ping",
        b"ping",
        &[
            ("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"),
            ("mtime", b"1700000000.5"),
        ],
    )]);
    let (out, _) = run(vec![layer(TAR, l)]).await.unwrap();
    let mut archive = tar::Archive::new(&out[..]);
    let mut entries = archive.entries().unwrap();
    let mut e = entries.next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().to_str(), Some("usr/bin/ping"));
    let records: Vec<(String, Vec<u8>)> = e
        .pax_extensions()
        .unwrap()
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.key().unwrap().to_owned(), r.value_bytes().to_vec())
        })
        .collect();
    assert_eq!(
        records,
        vec![
            (
                "SCHILY.xattr.security.capability".to_owned(),
                b"\x01\x00\x00\x02".to_vec()
            ),
            ("mtime".to_owned(), b"1700000000.5".to_vec()),
        ]
    );
    let mut data = Vec::new();
    e.read_to_end(&mut data).unwrap();
    assert_eq!(data, b"ping");
    assert!(entries.next().is_none());
}

#[tokio::test]
async fn media_types_pick_the_decompressor() {
    assert_eq!(
        Compression::from_media_type(DOCKER_GZIP).unwrap(),
        Compression::Gzip
    );
    assert_eq!(
        Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar").unwrap(),
        Compression::None
    );
    let err = Layer::new(
        "application/vnd.oci.image.layer.v1.tar+lz4",
        Digest::sha256_of(b""),
        &b""[..],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    // A gzip layer declared as plain tar is not a valid tar.
    let blob = gzip(&layer_tar(&[E::File("a", b"a")]));
    let err = run(vec![layer(TAR, blob)]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("not a valid uncompressed tar"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_layer_list_is_an_empty_tar() {
    let (out, summary) = run(Vec::new()).await.unwrap();
    assert_eq!(summary.entries, 0);
    assert_eq!(out, vec![0u8; 1024]);
}
