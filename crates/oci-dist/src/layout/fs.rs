//! General file-system helpers of the layout: atomic replacement of a
//! file, durable renames, the advisory lock, temporary files and blocking
//! work off the async threads.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use registry_core::{Error, ErrorKind, Result};

/// Replaces `root/name` with `bytes`: temporary file in `root`, fsync,
/// rename, fsync of the directory.
pub(super) async fn write_atomic(root: &Path, name: &str, bytes: Vec<u8>) -> Result<()> {
    let root = root.to_path_buf();
    let name = name.to_owned();
    blocking(move || {
        let target = root.join(&name);
        let mut tmp = temp_file_in(&root, &format!(".tmp-{name}-"))?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| io_error(e, format!("writing {}", tmp.path().display())))?;
        tmp.persist(&target)
            .map_err(|e| io_error(e.error, format!("renaming into {}", target.display())))?;
        sync_dir(&root)
    })
    .await
}

/// A temporary-file builder: hidden name, mode 0644 on Unix.
fn temp_builder(prefix: &str) -> tempfile::Builder<'_, '_> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
}

/// A temporary file in `dir` (see [`temp_builder`]), removed when dropped.
pub(crate) fn temp_file_in(dir: &Path, prefix: &str) -> Result<tempfile::NamedTempFile> {
    temp_builder(prefix)
        .tempfile_in(dir)
        .map_err(|e| io_error(e, format!("creating a temporary file in {}", dir.display())))
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(e, format!("syncing directory {}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Takes the advisory exclusive lock on `path` (the `oci-layout` file),
/// held until the returned file is dropped.
pub(super) async fn lock_file(path: PathBuf) -> Result<std::fs::File> {
    blocking(move || {
        let file = std::fs::File::open(&path)
            .map_err(|e| io_error(e, format!("opening {} to lock it", path.display())))?;
        file.lock()
            .map_err(|e| io_error(e, format!("locking {}", path.display())))?;
        Ok(file)
    })
    .await
}

/// Runs blocking file-system work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(ErrorKind::Transport, "file-system task failed").with_source(e))?
}

/// An I/O error with what we were doing.
pub(crate) fn io_error(e: std::io::Error, doing: impl std::fmt::Display) -> Error {
    Error::from(e).context(doing)
}
