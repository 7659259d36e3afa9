//! Writing results: to standard output, or to a file written atomically
//! (temp file in the same directory, renamed into place only on success).
//!
//! Text that comes from a registry or an API (names, messages, fields) goes
//! through [`terminal_safe`] before it is written as text, so a hostile
//! server cannot send escape sequences to the user's terminal; JSON output
//! escapes the same characters as `\uXXXX` (see [`print_json`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::exit::Failure;

/// Whether `c` must not reach a terminal as it is: control characters
/// (C0 with TAB, LF, CR, ESC, BS; DEL; C1 U+0080 to U+009F) and the bidi
/// embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069),
/// which reorder what is displayed.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character of [`is_unsafe`] escaped visibly: `\n`, `\r`
/// and `\t` for those three, `\xNN` for the other ASCII controls (`\x1b`
/// for ESC, `\x7f` for DEL), `\u{NN}` for the others (`\u{9b}`,
/// `\u{202e}`). Printable text, non-ASCII letters and emoji included, is
/// returned untouched (borrowed). A backslash is printable and stays as it
/// is, so the escaped form is for people, not a reversible encoding; scripts
/// that need the exact names use `--json`.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_unsafe) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// serde_json's pretty formatter, also escaping the characters that
/// serde_json writes raw but a terminal acts on (DEL, C1 controls, bidi
/// controls) as `\uXXXX`: still valid JSON that decodes to the same
/// strings. serde_json itself escapes C0 (ESC, CR, ...) as `\u001b`, `\r`.
struct SafeFormatter(PrettyFormatter<'static>);

impl Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(is_unsafe) {
            let (safe, tail) = rest.split_at(i);
            writer.write_all(safe.as_bytes())?;
            let c = tail.chars().next().expect("a char at i");
            // Every unsafe character is in the BMP: four hex digits.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &tail[c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A value as pretty JSON (no trailing newline), terminal-safe.
fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, SafeFormatter(PrettyFormatter::new()));
    value
        .serialize(&mut ser)
        .map_err(|e| Failure::new(crate::exit::FAILURE, format!("encoding JSON: {e}")))?;
    Ok(out)
}

/// Prints a JSON value, pretty, with a trailing newline. Strings are
/// escaped as serde_json does, and DEL, C1 and bidi controls as `\uXXXX`
/// too, so the output is safe on a terminal and decodes to the exact values.
pub fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let mut text = to_json(value)?;
    text.push(b'\n');
    write_stdout(&text)
}

/// Writes bytes to standard output.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    write_flush(bytes).map(|_open| ())
}

/// Writes and flushes standard output: `Ok(false)` when the reader went
/// away (a closed pipe, not an error).
fn write_flush(bytes: &[u8]) -> Result<bool, Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::from(e)),
    }
}

/// Prints lines, one per item, each made [`terminal_safe`].
pub fn print_lines<I, S>(items: I) -> Result<(), Failure>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut text = String::new();
    for i in items {
        text.push_str(&terminal_safe(i.as_ref()));
        text.push('\n');
    }
    write_stdout(text.as_bytes())
}

/// A listing printed page by page as the pages arrive, each flushed: one
/// [`terminal_safe`] name a line, or with `--json` the document
/// `{"KEY": [...]}` whose array grows page by page (the same bytes
/// [`print_json`] writes for the whole list). Nothing is written before the
/// first name, so a listing failing at once prints nothing on stdout; one
/// failing later leaves the JSON document unterminated (invalid), so a
/// truncated listing cannot pass for a complete one.
pub struct Listing {
    key: &'static str,
    json: bool,
    written: usize,
}

/// Whether to go on after [`Listing::page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep listing.
    More,
    /// The reader went away (a closed pipe): stop, successfully.
    Stop,
}

impl Listing {
    /// A listing of `key` (`tags`, `repositories`), JSON or lines.
    pub fn new(key: &'static str, json: bool) -> Listing {
        Listing {
            key,
            json,
            written: 0,
        }
    }

    /// Writes one page and flushes it.
    pub fn page(&mut self, items: &[String]) -> Result<Flow, Failure> {
        if items.is_empty() {
            return Ok(Flow::More);
        }
        let text = self.render(items)?;
        Ok(if write_flush(&text)? {
            Flow::More
        } else {
            Flow::Stop
        })
    }

    /// Ends the listing: closes the JSON document.
    pub fn finish(self) -> Result<(), Failure> {
        let text = self.closing()?;
        if text.is_empty() {
            return Ok(());
        }
        write_stdout(&text)
    }

    /// The bytes of one page.
    fn render(&mut self, items: &[String]) -> Result<Vec<u8>, Failure> {
        let mut text = Vec::new();
        for item in items {
            if self.json {
                if self.written == 0 {
                    text.extend_from_slice(&self.opening()?);
                    text.extend_from_slice(b"\n    ");
                } else {
                    text.extend_from_slice(b",\n    ");
                }
                text.extend_from_slice(&to_json(item)?);
            } else {
                text.extend_from_slice(terminal_safe(item).as_bytes());
                text.push(b'\n');
            }
            self.written += 1;
        }
        Ok(text)
    }

    /// `{` and the key, up to the array's `[`.
    fn opening(&self) -> Result<Vec<u8>, Failure> {
        let mut text = b"{\n  ".to_vec();
        text.extend_from_slice(&to_json(&self.key)?);
        text.extend_from_slice(b": [");
        Ok(text)
    }

    /// The bytes that end the listing.
    fn closing(&self) -> Result<Vec<u8>, Failure> {
        Ok(match (self.json, self.written) {
            (false, _) => Vec::new(),
            (true, 0) => {
                let mut t = self.opening()?;
                t.extend_from_slice(b"]\n}\n");
                t
            }
            (true, _) => b"\n  ]\n}\n".to_vec(),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(terminal_safe("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(terminal_safe("a\rb\nc\td"), "a\\rb\\nc\\td");
        assert_eq!(terminal_safe("\x08\x07\x00\x7f"), "\\x08\\x07\\x00\\x7f");
        assert_eq!(
            terminal_safe("csi\u{9b}31m nel\u{85}"),
            "csi\\u{9b}31m nel\\u{85}"
        );
        assert_eq!(terminal_safe("ok\u{202e}txt"), "ok\\u{202e}txt");
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            assert_eq!(
                terminal_safe(&c.to_string()),
                format!("\\u{{{:x}}}", u32::from(c))
            );
        }
        assert_eq!(terminal_safe("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
    }

    #[test]
    fn printable_text_is_borrowed_untouched() {
        for text in [
            "v1.2.3",
            "caf\u{e9} \u{4e2d}\u{6587} \u{1f680}",
            "back\\slash",
            "\u{a0}\u{2029}",
            "",
        ] {
            assert!(
                matches!(terminal_safe(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn json_escapes_terminal_controls_and_round_trips() {
        let names = [
            "\x1b[31mred",
            "a\rb",
            "ok\u{202e}txt",
            "del\x7f",
            "c1\u{9b}",
            "caf\u{e9}",
        ];
        let text = String::from_utf8(to_json(&names).unwrap()).unwrap();
        assert!(!text.chars().any(is_unsafe_but_newline), "{text:?}");
        assert!(
            text.contains(r"ok\u202etxt") && text.contains(r"\u001b[31mred"),
            "{text}"
        );
        assert!(text.contains("caf\u{e9}"), "{text}");
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, names);
        // Otherwise the same bytes as serde_json's pretty printer.
        let plain = serde_json::json!({"a": [1, {"b": "c"}], "d": []});
        assert_eq!(
            to_json(&plain).unwrap(),
            serde_json::to_vec_pretty(&plain).unwrap()
        );
    }

    fn is_unsafe_but_newline(c: char) -> bool {
        c != '\n' && is_unsafe(c)
    }

    /// What a streamed listing writes, pages concatenated.
    fn streamed(json: bool, pages: &[&[&str]]) -> String {
        let mut listing = Listing::new("tags", json);
        let mut out = Vec::new();
        for page in pages {
            let page: Vec<String> = page.iter().map(|s| (*s).to_owned()).collect();
            out.extend(listing.render(&page).unwrap());
        }
        out.extend(listing.closing().unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_json_is_the_pretty_document() {
        for pages in [
            &[][..],
            &[&[][..]][..],
            &[&["a"][..]][..],
            &[&["a", "b"][..], &[][..], &["c"][..]][..],
        ] {
            let all: Vec<&str> = pages.concat();
            let expected = format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({ "tags": all })).unwrap()
            );
            assert_eq!(streamed(true, pages), expected, "{pages:?}");
        }
        let text = streamed(true, &[&["\x1b[31mred", "a\rb"], &["ok\u{202e}txt"]]);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"tags": ["\x1b[31mred", "a\rb", "ok\u{202e}txt"]})
        );
        assert!(!text.chars().any(is_unsafe_but_newline), "{text:?}");
    }

    #[test]
    fn streamed_lines_are_escaped() {
        assert_eq!(
            streamed(false, &[&["v1", "\x1b[31mred"], &["a\nb"]]),
            "v1\n\\x1b[31mred\na\\nb\n"
        );
        assert_eq!(streamed(false, &[]), "");
    }
}
