//! `extract` streams: peak memory does not grow with file sizes. Alone in
//! its test binary, so the process peak is this test's.

use std::io::{Read, Write};

use oci_dist::extract::{Layer, extract};
use registry_core::Digest;
use registry_core::digest::{Algorithm, Digester};

const SIZE: u64 = 256 * 1024 * 1024;

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Pseudo-random bytes, generated as they are read.
struct Noise(u64, u64);

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1 as usize);
        for b in &mut buf[..n] {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        self.1 -= n as u64;
        Ok(n)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_file_streams_in_constant_memory() {
    let Some(before) = peak_rss_mib() else {
        eprintln!("no /proc/self/status: memory test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let layer_path = dir.path().join("layer.tar");
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&layer_path).unwrap());
        let mut b = tar::Builder::new(file);
        let mut h = tar::Header::new_gnu();
        h.set_size(SIZE);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, "big.bin", Noise(0x9e37_79b9_7f4a_7c15, SIZE))
            .unwrap();
        b.into_inner().unwrap().flush().unwrap();
    }
    let mut digester = Digester::new(Algorithm::Sha256);
    let mut f = std::fs::File::open(&layer_path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        digester.update(&buf[..n]);
    }
    let len = digester.bytes();
    let digest: Digest = digester.finish();
    drop(buf);

    let layer = Layer::new(
        "application/vnd.oci.image.layer.v1.tar",
        digest,
        tokio::fs::File::open(&layer_path).await.unwrap(),
    )
    .unwrap()
    .with_size(len);
    let out_path = dir.path().join("out.tar");
    let mut out = tokio::fs::File::create(&out_path).await.unwrap();
    let summary = extract(vec![layer], &mut out).await.unwrap();
    drop(out);
    assert_eq!(summary.entries, 1);
    assert_eq!(summary.bytes, std::fs::metadata(&out_path).unwrap().len());

    // The same content came out.
    let mut archive = tar::Archive::new(std::fs::File::open(&out_path).unwrap());
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("big.bin"));
    assert_eq!(entry.size(), SIZE);
    let mut expected = Noise(0x9e37_79b9_7f4a_7c15, SIZE);
    let (mut a, mut b) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut total = 0u64;
    loop {
        let n = entry.read(&mut a).unwrap();
        if n == 0 {
            break;
        }
        expected.read_exact(&mut b[..n]).unwrap();
        assert!(a[..n] == b[..n], "content differs at offset {total}");
        total += n as u64;
    }
    assert_eq!(total, SIZE);

    let after = peak_rss_mib().unwrap();
    eprintln!("peak RSS: {before} MiB before, {after} MiB after");
    assert!(
        after < before + 64,
        "peak RSS grew from {before} to {after} MiB while streaming {} MiB",
        SIZE >> 20
    );
}
