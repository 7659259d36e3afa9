//! The tar plumbing shared by the archive formats: an index of a tar file's
//! regular entries (read once, entries then served by seeking) and a
//! streaming appender that builds a tar in a temporary file and renames it
//! into place only when finished. Symbolic and hard links are followed
//! inside the archive (`docker save` links duplicated layers), never out
//! of it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use registry_core::{Error, ErrorKind, Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::content::ByteStream;
use crate::layout::fs::{blocking, io_error, sync_dir, temp_file_in};

/// The buffer size used to stream entries.
const BUF_SIZE: usize = crate::layout::BUF_SIZE;

/// Where a regular file's bytes are inside the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntrySpan {
    /// Offset of the first byte of the content.
    pub(crate) offset: u64,
    /// Content length.
    pub(crate) size: u64,
}

/// The regular files of a tar, by normalised name (no leading `./` or `/`);
/// a later entry with the same name wins, as when extracting. Links are
/// kept as the archive name they point to.
#[derive(Debug, Clone)]
pub(crate) struct TarIndex {
    path: PathBuf,
    entries: HashMap<String, EntrySpan>,
    links: HashMap<String, String>,
}

/// How many links [`TarIndex::get`] follows before giving up (a loop).
const MAX_LINKS: usize = 8;

/// `name` as a path inside an archive: relative, normalised (no `./`,
/// empty or `.` components), `None` when it is absolute, empty, or has a
/// `..` component or a backslash (names from a file we are reading are
/// never allowed to point outside it).
pub(crate) fn member_name(name: &str) -> Option<String> {
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Where a link named `name` with target `target` points, as an archive
/// name: symbolic links are relative to the link's directory, hard links
/// to the archive root; `None` when it leaves the archive.
fn link_target(name: &str, target: &str, symbolic: bool) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    if symbolic {
        parts.extend(name.split('/'));
        parts.pop();
    }
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A tar entry name without leading `./` and `/`, nor trailing `/`.
pub(crate) fn normalize(name: &str) -> String {
    let mut s = name;
    loop {
        if let Some(r) = s.strip_prefix("./") {
            s = r;
        } else if let Some(r) = s.strip_prefix('/') {
            s = r;
        } else {
            break;
        }
    }
    s.trim_end_matches('/').to_owned()
}

impl TarIndex {
    /// Reads the headers of `path` once (seeking over the contents).
    pub(crate) async fn build(path: &Path) -> Result<TarIndex> {
        let path = path.to_path_buf();
        blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| {
                let kind = e.kind();
                let err = io_error(e, format!("opening {}", path.display()));
                if kind == std::io::ErrorKind::NotFound {
                    Error::new(ErrorKind::NotFound, err.to_string())
                } else {
                    err
                }
            })?;
            let bad = |e: std::io::Error| {
                Error::invalid_content(format!("{} is not a readable tar file", path.display()))
                    .with_source(e)
            };
            let mut archive = tar::Archive::new(std::io::BufReader::new(file));
            let mut entries = HashMap::new();
            let mut links = HashMap::new();
            for entry in archive.entries_with_seek().map_err(bad)? {
                let entry = entry.map_err(bad)?;
                let kind = entry.header().entry_type();
                let name = entry.path().map_err(bad)?;
                let name = normalize(&name.to_string_lossy());
                if kind.is_symlink() || kind.is_hard_link() {
                    let target = entry.link_name().map_err(bad)?.unwrap_or_default();
                    if let Some(t) =
                        link_target(&name, &target.to_string_lossy(), kind.is_symlink())
                    {
                        entries.remove(&name);
                        links.insert(name, t);
                    }
                    continue;
                }
                if !(kind.is_file() || kind.is_contiguous()) {
                    continue;
                }
                links.remove(&name);
                entries.insert(
                    name,
                    EntrySpan {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            }
            Ok(TarIndex {
                path,
                entries,
                links,
            })
        })
        .await
    }

    /// The tar file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The span of the regular file `name`, following links inside the
    /// archive.
    pub(crate) fn get(&self, name: &str) -> Option<EntrySpan> {
        let mut name = normalize(name);
        for _ in 0..=MAX_LINKS {
            if let Some(span) = self.entries.get(&name) {
                return Some(*span);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    /// A not-found error for a missing entry.
    fn missing(&self, name: &str) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("{name} not found in {}", self.path.display()),
        )
    }

    /// The whole content of `name`, refused when larger than `max` bytes.
    pub(crate) async fn read(&self, name: &str, max: u64) -> Result<Bytes> {
        let span = self.get(name).ok_or_else(|| self.missing(name))?;
        if span.size > max {
            return Err(Error::invalid_content(format!(
                "{name} in {} is {} bytes, more than the {max} allowed here",
                self.path.display(),
                span.size
            )));
        }
        let mut buf = Vec::with_capacity(span.size as usize);
        let mut stream = self.stream(name, 0).await?;
        while let Some(chunk) = stream.try_next().await? {
            buf.extend_from_slice(&chunk);
        }
        if buf.len() as u64 != span.size {
            let path = self.path.display();
            return Err(Error::invalid_content(format!("{path} is truncated")));
        }
        Ok(Bytes::from(buf))
    }

    /// The content of `name` from `offset` on, as a stream (unverified: the
    /// caller wraps it in a verifier).
    pub(crate) async fn stream(&self, name: &str, offset: u64) -> Result<ByteStream> {
        let span = self.get(name).ok_or_else(|| self.missing(name))?;
        let offset = offset.min(span.size);
        let mut file = tokio::fs::File::open(&self.path)
            .await
            .map_err(|e| io_error(e, format!("opening {}", self.path.display())))?;
        file.seek(std::io::SeekFrom::Start(span.offset + offset))
            .await
            .map_err(|e| io_error(e, format!("seeking in {}", self.path.display())))?;
        let reader = file.take(span.size - offset);
        Ok(Box::pin(
            tokio_util::io::ReaderStream::with_capacity(reader, BUF_SIZE)
                .map(|r| r.map_err(Error::from)),
        ))
    }
}

/// A tar being written to a temporary file next to its final path. Dropped
/// without [`TarWriter::finish`], the temporary file is removed.
pub(crate) struct TarWriter {
    target: PathBuf,
    file: tokio::fs::File,
    temp: Option<tempfile::TempPath>,
    /// Bytes written so far (entries are 512-byte aligned).
    pos: u64,
}

impl std::fmt::Debug for TarWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TarWriter")
            .field("target", &self.target)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

/// The header block(s) of an entry: a GNU long-name entry first when the
/// name does not fit (the `tar` crate's own logic).
fn header_bytes(name: &str, size: u64, dir: bool) -> Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(if dir { 0o755 } else { 0o644 });
    header.set_mtime(0);
    header.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, name, std::io::empty())
        .map_err(|e| Error::invalid_input(format!("tar entry name {name:?}")).with_source(e))?;
    let mut bytes = builder
        .into_inner()
        .map_err(|e| Error::protocol("building a tar header").with_source(e))?;
    // `into_inner` appended the two end-of-archive blocks.
    bytes.truncate(bytes.len() - 1024);
    Ok(bytes)
}

fn padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

impl TarWriter {
    /// Starts a tar that will replace `target` when finished.
    pub(crate) async fn create(target: &Path) -> Result<TarWriter> {
        let target = target.to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::invalid_input(format!("{} is not a file name", target.display()))
            })?;
        let (file, temp) =
            blocking(move || Ok(temp_file_in(&dir, &format!(".tmp-{name}-"))?.into_parts()))
                .await?;
        Ok(TarWriter {
            target,
            file: tokio::fs::File::from_std(file),
            temp: Some(temp),
            pos: 0,
        })
    }

    fn write_error(&self, e: std::io::Error) -> Error {
        io_error(e, format!("writing {}", self.target.display()))
    }

    /// Writes `bytes` at the end of the tar.
    async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let written = self.file.write_all(bytes).await;
        written.map_err(|e| self.write_error(e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Appends a directory entry.
    pub(crate) async fn append_dir(&mut self, name: &str) -> Result<()> {
        self.write(&header_bytes(&format!("{name}/"), 0, true)?)
            .await
    }

    /// Appends a small file held in memory.
    pub(crate) async fn append_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let chunk = Bytes::copy_from_slice(data);
        let stream: ByteStream = Box::pin(futures_util::stream::iter([Ok(chunk)]));
        self.append_stream(name, data.len() as u64, stream).await
    }

    /// Appends `name` with exactly `size` bytes from `stream`, written as
    /// they arrive. When the stream fails or is not `size` bytes long, the
    /// entry is taken back (the file is truncated to where it started) and
    /// the error returned.
    pub(crate) async fn append_stream(
        &mut self,
        name: &str,
        size: u64,
        stream: ByteStream,
    ) -> Result<()> {
        let start = self.pos;
        let result = self.try_append(name, size, stream).await;
        if result.is_err() {
            // Roll back: the next entry starts where this one did.
            let rollback = async {
                self.file.set_len(start).await?;
                self.file.seek(std::io::SeekFrom::Start(start)).await?;
                Ok::<_, std::io::Error>(())
            };
            rollback.await.map_err(|e| self.write_error(e))?;
            self.pos = start;
        }
        result
    }

    async fn try_append(&mut self, name: &str, size: u64, mut stream: ByteStream) -> Result<()> {
        self.write(&header_bytes(name, size, false)?).await?;
        let mut written = 0u64;
        while let Some(chunk) = stream.try_next().await? {
            written += chunk.len() as u64;
            if written > size {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{name}: more than the expected {size} bytes"),
                ));
            }
            self.write(&chunk).await?;
        }
        if written != size {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{name}: {written} bytes, expected {size}"),
            ));
        }
        self.write(&[0u8; 512][..padding(size)]).await
    }

    /// Writes the end-of-archive blocks, syncs, and renames the file into
    /// place (replacing what was there), then syncs the directory.
    pub(crate) async fn finish(mut self) -> Result<()> {
        self.write(&[0u8; 1024]).await?;
        self.file.flush().await.map_err(|e| self.write_error(e))?;
        self.file
            .sync_all()
            .await
            .map_err(|e| self.write_error(e))?;
        let temp = self.temp.take().expect("finished once");
        let target = self.target.clone();
        blocking(move || {
            temp.persist(&target)
                .map_err(|e| io_error(e.error, format!("renaming into {}", target.display())))?;
            match target.parent() {
                Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
                _ => sync_dir(Path::new(".")),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize("./blobs/sha256/ab"), "blobs/sha256/ab");
        assert_eq!(normalize("/index.json"), "index.json");
        assert_eq!(normalize("blobs/"), "blobs");
        assert_eq!(member_name("./a//b/").as_deref(), Some("a/b"));
        for bad in ["../x", "a/../../x", "/etc/passwd", "", ".", "a\\b"] {
            assert_eq!(member_name(bad), None, "{bad:?}");
        }
        assert_eq!(
            link_target("d/layer.tar", "../e/layer.tar", true).as_deref(),
            Some("e/layer.tar")
        );
        assert_eq!(link_target("layer.tar", "../x", true), None);
        assert_eq!(link_target("a/b", "/x", true), None);
        assert_eq!(link_target("a/b", "c/d", false).as_deref(), Some("c/d"));
    }

    #[tokio::test]
    async fn links_are_followed_inside_the_archive_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "a/layer.tar", &b"hi"[..]).unwrap();
        let mut link = |name: &str, target: &str, kind| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(0);
            b.append_link(&mut h, name, target).unwrap();
        };
        link("b/layer.tar", "../a/layer.tar", tar::EntryType::Symlink);
        link("c/layer.tar", "a/layer.tar", tar::EntryType::Link);
        link("out", "../../etc/passwd", tar::EntryType::Symlink);
        link("loop1", "loop2", tar::EntryType::Symlink);
        link("loop2", "loop1", tar::EntryType::Symlink);
        b.finish().unwrap();
        drop(b);
        let index = TarIndex::build(&path).await.unwrap();
        assert_eq!(&index.read("b/layer.tar", 10).await.unwrap()[..], b"hi");
        assert_eq!(&index.read("c/layer.tar", 10).await.unwrap()[..], b"hi");
        assert!(index.get("out").is_none());
        assert!(index.get("loop1").is_none());
    }

    #[tokio::test]
    async fn a_read_refuses_an_entry_too_large_or_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let mut w = TarWriter::create(&path).await.unwrap();
        w.append_bytes("big", &[7u8; 1000]).await.unwrap();
        w.finish().await.unwrap();
        let index = TarIndex::build(&path).await.unwrap();
        assert_eq!(index.read("big", 1000).await.unwrap().len(), 1000);
        let err = index.read("big", 999).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(err.to_string().contains("more than the 999"), "{err}");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(512 + 600).unwrap();
        let err = index.read("big", 1000).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        assert!(err.to_string().contains("is truncated"), "{err}");
    }

    #[tokio::test]
    async fn written_entries_are_indexed_and_a_failed_entry_is_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut w = TarWriter::create(&path).await.unwrap();
        w.append_dir("d").await.unwrap();
        w.append_bytes("d/one", b"hello").await.unwrap();
        let failing: ByteStream = Box::pin(futures_util::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Err(Error::new(ErrorKind::Transport, "cut")),
        ]));
        assert!(w.append_stream("d/bad", 10, failing).await.is_err());
        let long = format!("d/{}", "x".repeat(150));
        w.append_bytes(&long, b"long name").await.unwrap();
        assert!(
            !path.exists(),
            "only the temporary file exists until finish"
        );
        w.finish().await.unwrap();
        let index = TarIndex::build(&path).await.unwrap();
        assert_eq!(&index.read("./d/one", 100).await.unwrap()[..], b"hello");
        assert_eq!(&index.read(&long, 100).await.unwrap()[..], b"long name");
        assert!(index.get("d/bad").is_none());
        assert!(index.get("d").is_none(), "directories are not entries");
        let rest: Vec<Bytes> = index
            .stream("d/one", 2)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rest.concat(), b"llo");
        // Only the archive is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
