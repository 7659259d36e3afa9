//! Test support: real docker-registry instances (anonymous, htpasswd, token auth),
//! a token server, and fake HTTP servers.
//!
//! Everything listens on loopback addresses only and is stopped when dropped.
//! All servers run on the caller's tokio runtime, so use them from
//! `#[tokio::test]` (either flavour).
//!
//! ```no_run
//! use test_support::{TestRegistry, TokenServer};
//!
//! # async fn demo() {
//! // A registry that wants Bearer tokens from our token server.
//! let tokens = TokenServer::builder().user("alice", "secret").start().await;
//! let registry = TestRegistry::token(&tokens).await;
//! // A counting proxy in front of it.
//! let proxy = registry.start_proxy().await;
//! // ... run the client under test against proxy.url() ...
//! assert_eq!(proxy.count("POST", "/v2/*/blobs/uploads/"), 1);
//! assert_eq!(tokens.request_count(), 1);
//! # }
//! ```
//!
//! `docker-registry` (distribution 2.8) must be installed:
//! `apt-get install -y docker-registry` on Debian.

pub mod client;
pub mod fake_acr;
pub mod fake_mgc;
pub mod http;
pub mod layers;
pub mod registry;
mod server;
pub mod skopeo;
pub mod token;

pub use crate::http::{FakeServer, Fault, FaultRule, Proxy, ProxyBuilder, RecordedRequest};
pub use crate::registry::{TestRegistry, TestRegistryBuilder};
pub use crate::server::BoxError;
pub use crate::token::{Scope, TokenPolicy, TokenRequest, TokenServer, TokenServerBuilder};

/// Installs a `tracing` subscriber writing to the test output, filtered by
/// `RUST_LOG` (default `warn`). Safe to call from every test: only the first
/// call installs it.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
