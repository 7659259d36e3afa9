#![doc = include_str!("../README.md")]

pub mod auth;
pub mod body;
pub mod client;
pub mod connector;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod host;
pub mod macros;
pub mod paging;
pub mod redirect;
pub mod retry;
pub mod secret;
pub mod throttle;
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
