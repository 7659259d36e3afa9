//! Building small image layers for tests: a tar of regular files, gzipped.
//!
//! ```
//! let layer = test_support::layers::gzip(&test_support::layers::tar_files(&[
//!     ("etc/motd", b"hello"),
//!     ("etc/.wh.old", b""),
//! ]));
//! assert_eq!(&layer[..2], &[0x1f, 0x8b]);
//! ```

use std::io::Write as _;

/// A tar of regular files (mode 0644), in the order given.
pub fn tar_files(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, *data)
            .expect("append a tar entry in memory");
    }
    b.into_inner().expect("finish a tar in memory")
}

/// `data`, gzip-compressed (fast level).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

/// `len` deterministic pseudo-random (incompressible) bytes for `seed`: the
/// same bytes for the same seed on every run, different for other seeds.
///
/// ```
/// let a = test_support::layers::pseudo_random(100, 1);
/// assert_eq!(a, test_support::layers::pseudo_random(100, 1));
/// assert_ne!(a, test_support::layers::pseudo_random(100, 2));
/// assert_eq!(a.len(), 100);
/// ```
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    // xorshift64: fast, and nothing compresses it.
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
