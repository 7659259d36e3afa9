//! Writing results: to standard output, or to a file written atomically
//! (temp file in the same directory, renamed into place only on success).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::Failure;

/// Prints a JSON value, pretty, with a trailing newline.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(crate::exit::FAILURE, format!("encoding JSON: {e}")))?;
    write_stdout(format!("{text}\n").as_bytes())
}

/// Writes bytes to standard output.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .or_else(ignore_broken_pipe)
        .map_err(Failure::from)
}

fn ignore_broken_pipe(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

/// Prints lines, one per item.
pub fn print_lines<I, S>(items: I) -> Result<(), Failure>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut text = String::new();
    for i in items {
        text.push_str(i.as_ref());
        text.push('\n');
    }
    write_stdout(text.as_bytes())
}

/// Where a command's bulk output goes: stdout for `-` or nothing.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

impl Sink {
    /// `-o FILE`, `-o -` or no `-o`.
    pub fn from_arg(arg: Option<&str>) -> Sink {
        match arg {
            None | Some("-") => Sink::Stdout,
            Some(p) => Sink::File(PathBuf::from(p)),
        }
    }
}

/// A file being written: a temp file beside the destination, persisted
/// with [`AtomicFile::commit`]; dropped without commit, it disappears.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Starts writing `dest`.
    pub fn create(dest: &Path) -> Result<AtomicFile, Failure> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".crctl-")
            .tempfile_in(&dir)
            .map_err(|e| {
                Failure::from(e).context(format!("creating a file in {}", dir.display()))
            })?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The temp file, for writing.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// Flushes and renames into place.
    pub fn commit(self) -> Result<(), Failure> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.dest).map_err(|e| {
            Failure::from(e.error).context(format!("writing {}", self.dest.display()))
        })?;
        Ok(())
    }
}
