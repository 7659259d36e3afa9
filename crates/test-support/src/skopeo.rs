//! skopeo for interoperability tests: found on `PATH` (a test skips itself
//! when it is absent) and run with its failure reported.
//!
//! ```no_run
//! if let Some(skopeo) = test_support::skopeo::find() {
//!     test_support::skopeo::copy(&skopeo, &["--preserve-digests"], &[
//!         "docker://127.0.0.1:5000/a:v1".into(),
//!         "oci-archive:/tmp/a.tar:v1".into(),
//!     ]);
//! }
//! ```

use std::path::{Path, PathBuf};

/// The `skopeo` binary on `PATH`, if any.
pub fn find() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("skopeo"))
            .find(|p| p.is_file())
    })
}

/// Runs `skopeo --insecure-policy copy --quiet FLAGS… ARGS…`, panicking
/// with skopeo's stderr when it fails.
pub fn copy(skopeo: &Path, flags: &[&str], args: &[String]) {
    let out = std::process::Command::new(skopeo)
        .args(["--insecure-policy", "copy", "--quiet"])
        .args(flags)
        .args(args)
        .output()
        .expect("skopeo starts");
    assert!(
        out.status.success(),
        "skopeo copy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
