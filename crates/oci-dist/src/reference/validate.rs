//! Validation of tags, repository names and their components, and
//! registry names.

use registry_core::Error;

use super::{MAX_NAME_LEN, MAX_TAG_LEN};

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), Error> {
    let ok_first = tag
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let ok_rest = tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if tag.is_empty() {
        return Err(Error::invalid_input("tag is empty"));
    }
    if !ok_first || !ok_rest {
        return Err(Error::invalid_input(format!(
            "tag {tag:?} must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'"
        )));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(Error::invalid_input(format!(
            "tag {tag:?} is longer than {MAX_TAG_LEN} characters"
        )));
    }
    Ok(())
}

/// Checks a repository path: `/`-separated components of lowercase letters
/// and digits joined by `.`, `_`, `__` or runs of `-`; at most 255 characters.
pub fn validate_repository(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid_input("repository name is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_input(format!(
            "repository name {name:?} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    for component in name.split('/') {
        validate_path_component(component)?;
    }
    Ok(())
}

/// Checks one path component of a repository name.
pub fn validate_path_component(c: &str) -> Result<(), Error> {
    let bad = || {
        Error::invalid_input(format!(
            "repository path component {c:?} must be lowercase letters and digits, \
             separated by '.', '_', '__' or '-'"
        ))
    };
    if c.is_empty() {
        return Err(Error::invalid_input(
            "repository path has an empty component (leading, trailing or double '/')",
        ));
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: '.', '_', '__' or one or more '-'.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return Err(bad()),
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return Err(bad());
        }
    }
    Ok(())
}

/// Checks a registry `host[:port]` (host name, IPv4, or `[IPv6]`).
pub fn validate_registry(registry: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid_input(format!("registry {registry:?}: {why}"));
    if registry.is_empty() {
        return Err(bad("it is empty"));
    }
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("unterminated '[' of an IPv6 address"))?;
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| bad("not a valid IPv6 address"))?;
        match after {
            "" => (None, None),
            p => (
                None,
                Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            ),
        }
    } else {
        match registry.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(bad(&format!("port {p:?} is not a number from 0 to 65535")));
    }
    if let Some(h) = host {
        for label in h.split('.') {
            let b = label.as_bytes();
            let ok = !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-';
            if !ok {
                return Err(bad(&format!(
                    "host label {label:?} must be letters, digits and inner '-'"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_component_separators() {
        for ok in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2-c3__d4"] {
            validate_path_component(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["-a", "a-", ".a", "a.", "a_.b", "a-.b", "A", "a b", "a/b"] {
            assert!(validate_path_component(bad).is_err(), "{bad}");
        }
    }
}
