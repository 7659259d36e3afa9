//! `extract`: hostile layers: names escaping the root, hardlinks to outside
//! or to nothing, writes through non-directories, all refused as
//! `InvalidContent` (the source's fault, not the caller's); and the
//! normalisation of names. Symlinks across layers: `extract_symlinks.rs`.

#[path = "common/layers.rs"]
mod layers;

use layers::{E, Node, TAR, entries, file, layer, layer_tar, run};
use registry_core::{Error, ErrorKind};

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
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
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
async fn refuses_writing_through_a_file() {
    let err = refused(&[E::File("f", b"f"), E::File("f/passwd", b"owned")]).await;
    assert!(
        err.to_string()
            .contains("entry \"f/passwd\" goes through \"f\", which is not a directory"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_writing_through_a_file_of_a_lower_layer() {
    // `fine` is a file of the lower layer; so is the symlink's target.
    let err = refused(&[E::File("fine/x", b"owned")]).await;
    assert!(
        err.to_string()
            .contains("entry \"fine/x\" goes through \"fine\", which is not a directory"),
        "{err}"
    );
    let err = refused(&[E::Symlink("l", "/fine/sub"), E::File("l/x", b"owned")]).await;
    assert!(
        err.to_string()
            .contains("entry \"l/x\" goes through \"fine\", which is not a directory"),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_hardlink_to_a_directory() {
    let err = refused(&[E::Dir("d"), E::RawHardlink(b"link", b"d")]).await;
    assert!(
        err.to_string()
            .contains("hardlink \"link\" points to the directory \"d\""),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_hardlink_to_a_later_entry() {
    // A tar hardlink names an earlier entry.
    let err = refused(&[E::RawHardlink(b"link", b"later"), E::File("later", b"l")]).await;
    assert!(
        err.to_string()
            .contains("hardlink \"link\" points to \"later\", which does not exist"),
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
