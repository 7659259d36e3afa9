//! Exit codes (CLI.md): 0 success, 1 failure, 2 usage, 3 not found, 4 auth.

use std::fmt;

/// A failed command: what to print on stderr and which code to exit with.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// One clear line.
    pub message: String,
}

/// Success.
pub const OK: i32 = 0;
/// Any other failure.
pub const FAILURE: i32 = 1;
/// Usage error: bad flags, malformed reference or digest.
pub const USAGE: i32 = 2;
/// Not found (also `exists` when absent).
pub const NOT_FOUND: i32 = 3;
/// Authentication or authorization failed.
pub const AUTH: i32 = 4;

impl Failure {
    /// A failure with an explicit code.
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(USAGE, message)
    }

    /// Adds what was being done to the message.
    pub fn context(mut self, what: impl fmt::Display) -> Failure {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// The exit code for an error kind: the one mapping, for registry, Azure
/// and Magalu errors alike (they are all [`facade::Error`]s).
pub fn code_for(kind: facade::core::ErrorKind) -> i32 {
    use facade::core::ErrorKind as K;
    match kind {
        K::NotFound => NOT_FOUND,
        K::Unauthorized | K::Denied => AUTH,
        K::InvalidInput => USAGE,
        // Only parsing a digest string gives this kind, and crctl's digest
        // strings are what the user typed (`acr manifests show REPO
        // sha384:…`); a registry's or layout's descriptor with such a digest
        // is refused as `Unsupported` content by `oci_dist::descriptor`.
        K::UnsupportedDigestAlgorithm => USAGE,
        K::InvalidContent => FAILURE, // refused registry/layout content: not a usage error
        _ => FAILURE,
    }
}

impl From<facade::core::Error> for Failure {
    fn from(e: facade::core::Error) -> Failure {
        Failure::new(code_for(e.kind()), e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::from(facade::core::Error::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facade::core::ErrorKind as K;

    #[test]
    fn kinds_map_to_the_exit_codes_of_cli_md() {
        for (kind, code) in [
            (K::NotFound, NOT_FOUND),
            (K::Unauthorized, AUTH),
            (K::Denied, AUTH),
            (K::InvalidInput, USAGE),
            (K::UnsupportedDigestAlgorithm, USAGE),
            (K::Unsupported, FAILURE),
            (K::InvalidContent, FAILURE),
            (K::Protocol, FAILURE),
            (K::Conflict, FAILURE),
            (K::Transport, FAILURE),
            (K::Tls, FAILURE),
            (K::Timeout, FAILURE),
            (K::Server, FAILURE),
        ] {
            assert_eq!(code_for(kind), code, "{kind}");
        }
    }

    #[test]
    fn magalu_errors_keep_their_line_and_take_the_same_codes() {
        let api = facade::mgc::Error::new(K::Denied, "user not allowed")
            .with_operation("getRegistry")
            .with_request_id("rid-7");
        let line = api.to_string();
        let f = Failure::from(facade::Error::from(api));
        assert_eq!(f.code, AUTH);
        assert_eq!(f.message, line);
        assert!(f.message.contains("rid-7"), "{}", f.message);
    }
}
