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
