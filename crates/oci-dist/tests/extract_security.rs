//! `extract`: hostile layers: names escaping the root, hardlinks to outside
//! or to nothing, writes through symlinks; and the normalisation of names.

#[path = "common/layers.rs"]
mod layers;

use layers::{E, Node, TAR, entries, file, layer, layer_tar, run};
use registry_core::{Error, ErrorKind};

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
