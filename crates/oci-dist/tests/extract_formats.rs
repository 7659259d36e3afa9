//! `extract`: formats: compressions and media types, large files and long
//! names, PAX records, and the empty layer list.

#[path = "common/layers.rs"]
mod layers;

use std::io::Read;

use layers::{DOCKER_GZIP, E, Node, TAR, ZSTD, entries, file, gzip, layer, layer_tar, run, zstd};
use oci_dist::extract::{Compression, Layer};
use registry_core::{Digest, ErrorKind};

#[tokio::test]
async fn large_files_and_long_names_stream_through() {
    // 5 MiB of non-repeating data, in a zstd layer, and a name longer than
    // the 100 bytes of a tar header.
    let big = test_support::layers::pseudo_random(5 << 20, 0x1234_5678);
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
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
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
