//! Registry host names: the one normalisation every crate compares hosts
//! with, and the loopback test behind the plain-HTTP default.
//!
//! ```
//! use registry_core::host;
//! assert_eq!(host::normalize("HTTPS://Registry.Example:5000/"), "registry.example:5000");
//! assert!(host::is_loopback("localhost:5000"));
//! assert!(host::is_loopback("[::1]"));
//! assert!(!host::is_loopback("registry.example"));
//! ```

use std::net::IpAddr;

/// A host as credentials and token caches are keyed: lowercase, without an
/// `http://` or `https://` prefix (in any case) and without trailing `/`.
/// The port, when given, is kept.
pub fn normalize(host: &str) -> String {
    let host = host.trim();
    let lower = host.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    rest.trim_end_matches('/').to_owned()
}

/// Whether `host` names this machine: `localhost` (any case),
/// `127.0.0.0/8` or `::1`, with or without a port, IPv6 with or without
/// brackets (`[::1]:5000`, `[::1]`, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if host.parse::<IpAddr>().is_ok() {
        host
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(normalize("r.example:5000"), "r.example:5000");
        assert_eq!(normalize("https://R.Example/"), "r.example");
        assert_eq!(normalize("HTTP://r.example:80//"), "r.example:80");
        assert_eq!(normalize(" docker.io "), "docker.io");
    }

    #[test]
    fn loopback() {
        for yes in [
            "localhost",
            "LOCALHOST:1",
            "localhost:5000",
            "127.0.0.1",
            "127.0.0.2:80",
            "[::1]:5000",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "example.com",
            "10.0.0.1:5000",
            "[2001:db8::1]:5000",
            "localhost.example",
            "",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
