//! OCI archive blobs stream: writing a 64 MiB blob into an archive and
//! reading it back keeps peak memory flat. Alone in its test binary, so the
//! process peak is this test's.

use bytes::Bytes;
use futures_util::StreamExt;
use oci_dist::archive::{OciArchiveReader, OciArchiveWriter};
use oci_dist::content::{ByteStream, ImageDestination, ImageSource, OnceSource};
use oci_dist::{CheckedDescriptor, Error};
use registry_core::digest::{Algorithm, Digester};

const SIZE: usize = 64 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn chunk(i: usize) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(CHUNK, i as u64 + 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_blob_streams_through_an_archive_in_constant_memory() {
    let Some(before) = peak_rss_mib() else {
        eprintln!("no /proc/self/status: memory test skipped");
        return;
    };
    let mut d = Digester::new(Algorithm::Sha256);
    for i in 0..SIZE / CHUNK {
        d.update(&chunk(i));
    }
    let digest = d.finish();
    let desc = CheckedDescriptor::from_parts(
        "application/vnd.oci.image.layer.v1.tar",
        digest.clone(),
        SIZE as u64,
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tar");
    let writer = OciArchiveWriter::create(&path).await.unwrap();
    let stream: ByteStream =
        Box::pin(futures_util::stream::iter(0..SIZE / CHUNK).map(|i| Ok::<_, Error>(chunk(i))));
    writer
        .push_blob(&desc, &OnceSource::new(stream))
        .await
        .unwrap();
    assert!(writer.blob_exists(&desc).await.unwrap());
    writer.finish().await.unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > SIZE as u64);

    let reader = OciArchiveReader::open(&path).await.unwrap();
    let mut stream = reader.fetch_blob(&desc).await.unwrap();
    let mut d = Digester::new(Algorithm::Sha256);
    while let Some(piece) = stream.next().await {
        d.update(&piece.unwrap());
    }
    assert_eq!(d.bytes(), SIZE as u64);
    assert_eq!(d.finish(), digest);

    let after = peak_rss_mib().unwrap();
    eprintln!("peak RSS: {before} MiB before, {after} MiB after");
    assert!(
        after < before + 32,
        "peak RSS grew from {before} MiB to {after} MiB: the blob was buffered"
    );
}
