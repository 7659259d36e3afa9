//! Entry names: normalisation to the root and path arithmetic on bytes
//! (tar names need not be UTF-8).

use std::borrow::Cow;
use std::path::Path;

/// Normalises an entry name to the root: drops a leading `/`, empty and `.`
/// components; refuses `..`. Returns `a/b/c` (empty for the root).
pub(super) fn normalize(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(raw.len());
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("escapes the root (it has a '..' component)"),
            c => {
                if c.contains(&0) {
                    return Err("contains a NUL byte");
                }
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// `a/b/c` -> (`a/b`, `c`); `c` -> (``, `c`).
pub(super) fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    }
}

pub(super) fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = parent.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

pub(super) fn show(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(unix)]
pub(super) fn as_path(bytes: &[u8]) -> Cow<'_, Path> {
    use std::os::unix::ffi::OsStrExt as _;
    Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
pub(super) fn as_path(bytes: &[u8]) -> Cow<'_, Path> {
    Cow::Owned(String::from_utf8_lossy(bytes).into_owned().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize(b"/etc//passwd").unwrap(), b"etc/passwd");
        assert_eq!(normalize(b"./a/./b/").unwrap(), b"a/b");
        assert_eq!(normalize(b"./").unwrap(), b"");
        assert!(normalize(b"../etc/passwd").is_err());
        assert!(normalize(b"a/../../x").is_err());
        assert!(normalize(b"/../x").is_err());
    }

    #[test]
    fn parents_and_joins() {
        assert_eq!(split_parent(b"a/b/.wh.c"), (&b"a/b"[..], &b".wh.c"[..]));
        assert_eq!(
            split_parent(b".wh..wh..opq"),
            (&b""[..], &b".wh..wh..opq"[..])
        );
        assert_eq!(join(b"", b"x"), b"x");
        assert_eq!(join(b"a/b", b"x"), b"a/b/x");
    }
}
