//! Layout blobs stream: writing and reading a 256 MiB blob keeps peak
//! memory flat. Alone in its test binary, so the process peak is this
//! test's.

use bytes::Bytes;
use futures_util::StreamExt;
use oci_dist::layout::OciLayout;
use registry_core::digest::{Algorithm, Digester};

const SIZE: usize = 256 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Chunk `i` of the blob, generated on demand.
fn chunk(i: usize) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(CHUNK, i as u64 + 1))
}

fn blob() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::iter(0..SIZE / CHUNK).map(|i| Ok(chunk(i)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_blob_streams_in_constant_memory() {
    let Some(before) = peak_rss_mib() else {
        eprintln!("no /proc/self/status: memory test skipped");
        return;
    };
    let mut d = Digester::new(Algorithm::Sha256);
    for i in 0..SIZE / CHUNK {
        d.update(&chunk(i));
    }
    let digest = d.finish();

    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let written = layout
        .write_blob(&digest, Some(SIZE as u64), blob())
        .await
        .unwrap();
    assert_eq!(written, SIZE as u64);

    let mut stream = layout.read_blob(&digest).await.unwrap().into_stream();
    let mut d = Digester::new(Algorithm::Sha256);
    while let Some(piece) = stream.next().await {
        d.update(&piece.unwrap());
    }
    assert_eq!(d.bytes(), SIZE as u64);
    assert_eq!(d.finish(), digest);

    let after = peak_rss_mib().unwrap();
    eprintln!("peak RSS: {before} MiB before, {after} MiB after");
    assert!(
        after < before + 64,
        "peak RSS grew from {before} to {after} MiB while streaming {} MiB",
        SIZE >> 20
    );
}
