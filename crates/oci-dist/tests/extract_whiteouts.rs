//! `extract`: merging layers: whiteouts, opaque directories, replacements
//! of one kind of entry by another, and hardlinks across layers.

#[path = "common/layers.rs"]
mod layers;

use std::collections::BTreeMap;

use layers::{
    E, GZIP, Node, TAR, ZSTD, entries, file, gzip, layer, layer_tar, run, unpack_tree, zstd,
};
use oci_dist::extract::Layer;

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
