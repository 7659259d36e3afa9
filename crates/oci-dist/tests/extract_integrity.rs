//! `extract`: corrupted or truncated layers, failing sources, and the order
//! in which lazy layers are opened.

#[path = "common/layers.rs"]
mod layers;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use layers::{DOCKER_GZIP, E, GZIP, TAR, entries, gzip, layer, layer_tar, run};
use oci_dist::extract::{Layer, extract};
use registry_core::{Digest, Error, ErrorKind};

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
async fn corrupted_layer_means_no_output_at_all() {
    // The newest layer is read last; its content is corrupted in a way tar
    // does not notice (file data), so only the digest catches it. Nothing
    // is written before every layer is verified: not the older layer, not
    // the end-of-archive marker.
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
    assert!(out.is_empty(), "{} bytes written", out.len());
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
async fn lazy_layers_are_opened_oldest_first_one_at_a_time() {
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
    // ...and the first one read is the oldest; the others are never opened.
    assert_eq!(*opened.lock().unwrap(), vec![1]);

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
    assert_eq!(*opened.lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(summary.entries, 3);
    assert_eq!(entries(&out).len(), 3);
}
