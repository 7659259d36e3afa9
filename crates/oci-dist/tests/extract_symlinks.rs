//! `extract`: symlinks across layers follow container-runtime semantics
//! (containerd's layer apply, `fs.RootPath`): an entry's parent path is
//! resolved inside the root (symlinks followed with the root as `/`, `..`
//! stopping at the root), its own name is never followed, and nothing lands
//! outside the root. Each test compares the exact output, entry by entry.

#[path = "common/layers.rs"]
mod layers;

use layers::{
    E, GZIP, Node, TAR, assert_no_name_through_symlink, entries, file, gzip, layer, layer_tar, run,
    unpack_tree, want,
};
use oci_dist::extract::Layer;
use registry_core::ErrorKind;

fn tars(layers: &[&[E<'_>]]) -> Vec<Layer<'static>> {
    layers
        .iter()
        .enumerate()
        .map(|(i, entries)| {
            let tar = layer_tar(entries);
            if i % 2 == 0 {
                layer(TAR, tar)
            } else {
                layer(GZIP, gzip(&tar))
            }
        })
        .collect()
}

/// Extracts, checks the output is safe to unpack, and returns its entries.
async fn extracted(layers: &[&[E<'_>]]) -> Vec<(String, Node)> {
    let (out, summary) = run(tars(layers)).await.unwrap();
    let got = entries(&out);
    assert_eq!(summary.entries, got.len() as u64);
    assert_no_name_through_symlink(&got);
    got
}

fn sym(target: &str) -> Node {
    Node::Symlink(target.into())
}

fn hard(target: &str) -> Node {
    Node::Hardlink(target.into())
}

#[tokio::test]
async fn upper_entry_through_an_absolute_symlink_lands_inside_the_root() {
    // An absolute target starts again from the root, wherever the link is.
    let lower: &[E<'_>] = &[
        E::Dir("etc"),
        E::File("etc/hosts", b"h"),
        E::Symlink("link", "/etc"),
        E::Dir("usr"),
        E::Dir("usr/local"),
        E::Symlink("usr/local/etc", "/etc"),
    ];
    let upper: &[E<'_>] = &[
        E::File("link/passwd", b"p"),
        E::File("usr/local/etc/group", b"g"),
    ];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("etc", Node::Dir),
            ("etc/hosts", file("h")),
            ("etc/passwd", file("p")),
            ("etc/group", file("g")),
            ("link", sym("/etc")),
            ("usr", Node::Dir),
            ("usr/local", Node::Dir),
            ("usr/local/etc", sym("/etc")),
        ])
    );
}

#[tokio::test]
async fn absolute_symlink_to_a_missing_directory_creates_it_inside_the_root() {
    // What used to be "etc is a symlink to the host's /host/etc": the
    // target is a place of the root, created as a runtime would.
    let lower: &[E<'_>] = &[E::Symlink("etc", "/host/etc")];
    let upper: &[E<'_>] = &[E::File("etc/passwd", b"p")];
    let (out, _) = run(tars(&[lower, upper])).await.unwrap();
    let got = entries(&out);
    assert_no_name_through_symlink(&got);
    assert_eq!(
        got,
        want(&[("etc", sym("/host/etc")), ("host/etc/passwd", file("p"))])
    );
    // Unpacked, the file is under the root and the link is a link.
    let tree = unpack_tree(&out);
    assert_eq!(tree["host/etc/passwd"], file("p"));
    assert_eq!(tree["etc"], sym("/host/etc"));
}

#[tokio::test]
async fn relative_symlink_escaping_the_root_is_clamped_at_the_root() {
    let lower: &[E<'_>] = &[
        E::Dir("usr"),
        E::Symlink("usr/link", "../../../etc"),
        E::Dir("etc"),
    ];
    let upper: &[E<'_>] = &[E::File("usr/link/passwd", b"p")];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("usr", Node::Dir),
            ("usr/link", sym("../../../etc")),
            ("etc", Node::Dir),
            ("etc/passwd", file("p")),
        ])
    );
}

#[tokio::test]
async fn chains_of_symlinks_are_followed() {
    // a -> b -> /c -> real/../real2 (relative to the root), mixed with
    // `..` and `.`: the file lands in real2.
    let lower: &[E<'_>] = &[
        E::Dir("real"),
        E::Dir("real2"),
        E::RawSymlink(b"a", b"b/./"),
        E::Symlink("b", "/c"),
        E::Symlink("c", "real/../real2"),
    ];
    let upper: &[E<'_>] = &[E::File("a/f", b"x")];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("real", Node::Dir),
            ("real2", Node::Dir),
            ("real2/f", file("x")),
            // Targets are written as the layer has them.
            ("a", sym("b/./")),
            ("b", sym("/c")),
            ("c", sym("real/../real2")),
        ])
    );
}

/// `l0 -> l1 -> … -> l{n-1} -> d`: `n` symlinks to follow to reach `d`.
fn chain(n: usize) -> (Vec<String>, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
    let targets: Vec<String> = (1..=n)
        .map(|i| if i == n { "d".into() } else { format!("l{i}") })
        .collect();
    (names, targets)
}

#[tokio::test]
async fn at_most_255_symlinks_are_followed_for_one_path() {
    for (n, ok) in [(255, true), (256, false)] {
        let (names, targets) = chain(n);
        let mut lower = vec![E::Dir("d")];
        lower.extend(
            names
                .iter()
                .zip(&targets)
                .map(|(l, t)| E::Symlink(l.as_str(), t.as_str())),
        );
        let upper = [E::File("l0/f", b"f")];
        let result = run(tars(&[&lower[..], &upper[..]])).await;
        if ok {
            let got = entries(&result.unwrap().0);
            assert_eq!(got[..2], want(&[("d", Node::Dir), ("d/f", file("f"))])[..]);
            assert_eq!(got.len(), 2 + n);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
            assert!(
                err.to_string().contains("layer 2 of 2")
                    && err
                        .to_string()
                        .contains("entry \"l0/f\" goes through too many symbolic links"),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn symlink_loops_are_refused() {
    for lower in [
        vec![E::Symlink("a", "b"), E::Symlink("b", "/a")],
        vec![E::Symlink("self", "./self")],
        // Grows by one component at each turn.
        vec![E::Symlink("s", "s/x")],
    ] {
        let first = match lower[0] {
            E::Symlink(name, _) => name,
            _ => unreachable!(),
        };
        let name = format!("{first}/file");
        let upper = [E::File(&name, b"f")];
        let err = run(tars(&[&lower[..], &upper[..]])).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(
            err.to_string().contains(&format!(
                "layer 2 of 2 (sha256:{}): entry {name:?} goes through too many symbolic links \
                 (more than 255: a loop?)",
                registry_core::Digest::sha256_of(&gzip(&layer_tar(&upper))).hex()
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn whiteouts_and_opaque_markers_go_through_symlinks() {
    let lower: &[E<'_>] = &[
        E::Dir("etc"),
        E::File("etc/passwd", b"p"),
        E::File("etc/group", b"g"),
        E::Symlink("link", "/etc"),
        E::Dir("data"),
        E::File("data/old", b"o"),
        E::Symlink("var/lib", "../../data"),
    ];
    let upper: &[E<'_>] = &[
        E::File("link/.wh.passwd", b""),
        E::File("var/lib/.wh..wh..opq", b""),
        E::File("var/lib/new", b"n"),
    ];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("etc", Node::Dir),
            ("etc/group", file("g")),
            ("link", sym("/etc")),
            ("data", Node::Dir),
            ("data/new", file("n")),
            ("var/lib", sym("../../data")),
        ])
    );
}

#[tokio::test]
async fn whiteout_of_a_symlink_removes_the_link_not_its_target() {
    let lower: &[E<'_>] = &[
        E::Dir("etc"),
        E::File("etc/passwd", b"p"),
        E::Symlink("link", "/etc"),
    ];
    let upper: &[E<'_>] = &[E::File(".wh.link", b"")];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(got, want(&[("etc", Node::Dir), ("etc/passwd", file("p"))]));
}

#[tokio::test]
async fn lower_symlink_replaced_by_a_directory() {
    let lower: &[E<'_>] = &[
        E::Dir("etc"),
        E::File("etc/passwd", b"root"),
        E::Symlink("link", "/etc"),
    ];
    let upper: &[E<'_>] = &[E::Dir("link"), E::File("link/passwd", b"mine")];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("etc", Node::Dir),
            ("etc/passwd", file("root")),
            ("link", Node::Dir),
            ("link/passwd", file("mine")),
        ])
    );
}

#[tokio::test]
async fn an_entry_named_like_a_lower_symlink_replaces_it() {
    // The last component is not followed: a file, a symlink or a directory
    // entry replaces the symlink; its target is untouched.
    let lower: &[E<'_>] = &[
        E::Dir("etc"),
        E::File("etc/passwd", b"root"),
        E::Symlink("pw", "/etc/passwd"),
        E::Symlink("dir", "etc"),
        E::Symlink("s", "etc/passwd"),
    ];
    let upper: &[E<'_>] = &[
        E::File("pw", b"mine"),
        E::File("dir", b"a file now"),
        E::Symlink("s", "/elsewhere"),
    ];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("etc", Node::Dir),
            ("etc/passwd", file("root")),
            ("pw", file("mine")),
            ("dir", file("a file now")),
            ("s", sym("/elsewhere")),
        ])
    );
}

#[tokio::test]
async fn hardlink_targets_resolve_through_symlinks() {
    // `lib/tool` is `usr/tool`; a hardlink to a symlink is one to the
    // symlink itself (its last component is not followed).
    let lower: &[E<'_>] = &[
        E::Dir("usr"),
        E::File("usr/tool", b"bin"),
        E::Symlink("lib", "/usr"),
    ];
    let upper: &[E<'_>] = &[
        E::Hardlink("tool2", "lib/tool"),
        E::Hardlink("lib2", "lib"),
        E::Hardlink("lib/tool3", "/usr/tool"),
    ];
    let got = extracted(&[lower, upper]).await;
    assert_eq!(
        got,
        want(&[
            ("usr", Node::Dir),
            ("usr/tool", file("bin")),
            ("usr/tool3", hard("usr/tool")),
            ("lib", sym("/usr")),
            ("tool2", hard("usr/tool")),
            ("lib2", hard("lib")),
        ])
    );
}

#[tokio::test]
async fn symlinks_of_the_same_layer_are_followed_too() {
    // The classic "symlink, then write through it": the write lands inside
    // the root, where the link points.
    let only: &[E<'_>] = &[
        E::Symlink("evil", "/etc"),
        E::File("evil/passwd", b"p"),
        E::Symlink("up", "../../.."),
        E::File("up/x", b"x"),
    ];
    let got = extracted(&[only]).await;
    assert_eq!(
        got,
        want(&[
            ("evil", sym("/etc")),
            ("etc/passwd", file("p")),
            ("up", sym("../../..")),
            ("x", file("x")),
        ])
    );
}

#[tokio::test]
async fn symlink_targets_are_written_byte_for_byte() {
    // Short and long (GNU long-link) targets, with `//`, `.` and a trailing
    // `/` that normalising would drop.
    let long = format!("/opt/{}//./{}/", "a".repeat(60), "b".repeat(60));
    let shrinks = format!("x{}y", "/".repeat(120));
    let only = [
        E::RawSymlink(b"short", b"./a//b/"),
        E::RawSymlink(b"long", long.as_bytes()),
        E::RawSymlink(b"shrinks", shrinks.as_bytes()),
    ];
    let got = extracted(&[&only[..]]).await;
    assert_eq!(
        got,
        want(&[
            ("short", sym("./a//b/")),
            ("long", sym(&long)),
            ("shrinks", sym(&shrinks)),
        ])
    );
}
