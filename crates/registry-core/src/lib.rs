//! # registry-core
//!
//! The HTTP transport under every crate of this workspace: a tower
//! middleware stack over hyper 1, hyper-util's pooled client and rustls.
//!
//! Each concern is its own module with a `Layer` + `Service` pair, usable on
//! its own:
//!
//! | module | concern |
//! |---|---|
//! | [`connector`] | pooled HTTP/1.1 + HTTP/2 (ALPN) client, rustls, roots, `insecure_skip_verify` |
//! | [`retry`] | idempotent retries of what can succeed, backoff with jitter, `Retry-After`, a wall-time budget |
//! | [`auth`] | `WWW-Authenticate`, Basic, Docker token flow, token cache, [`auth::Authenticator`] |
//! | [`redirect`] | bounded redirects for reads, credentials dropped across origins |
//! | [`timeout`] | response-head and read (idle) timeouts, a low-speed limit |
//! | [`trace`] | `tracing` spans; secrets redacted |
//! | [`user_agent`] | a `User-Agent` on every request |
//! | [`credentials`] | explicit > env > docker `config.json` > anonymous |
//! | [`digest`] | validated digests and hashing while streaming |
//! | [`paging`] | RFC 8288 `Link` parsing, one [`paging::Page`], a lazy same-origin walker of `next` links, the repeated-page guard |
//! | [`error`] | one [`Error`] with a [`ErrorKind`] |
//! | [`host`] | host normalisation and the loopback test |
//!
//! [`HttpClient::builder`] assembles the usual stack:
//!
//! ```no_run
//! use registry_core::{Body, HttpClient, auth::DockerAuth, credentials::CredentialChain};
//! # async fn run() -> Result<(), registry_core::Error> {
//! let client = HttpClient::builder()
//!     .authenticator(DockerAuth::new(CredentialChain::standard("REG_USER", "REG_PASSWORD")))
//!     .build()?;
//! let resp = client
//!     .send(http::Request::get("https://registry.example/v2/").body(Body::empty()).unwrap())
//!     .await?;
//! assert!(resp.status().is_success());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod body;
pub mod client;
pub mod connector;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod host;
pub mod paging;
pub mod redirect;
pub mod retry;
pub mod secret;
pub mod timeout;
pub mod trace;
pub mod user_agent;

pub use auth::jwt_expiry;
pub use body::Body;
pub use client::{ClientBuilder, HttpClient};
pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use secret::Secret;

/// Re-exported so users need not depend on `http` for the basic types.
pub use http;
