//! # facade
//!
//! One client for the whole container-registry stack. It re-exports the
//! layered crates under short names and adds the conveniences that need more
//! than one of them:
//!
//! | module | crate |
//! |---|---|
//! | [`core`] | `registry-core`: transport, auth, credentials, errors, digests |
//! | [`oci`] | `oci-dist`: the OCI distribution client |
//! | [`mgc`] (feature `mgc`) | `mgc-api`: Magalu Cloud Container Registry management |
//! | [`acr`] (feature `acr`) | `acr-auth`: Azure Container Registry auth and metadata |
//!
//! One error type: [`Error`] (registry-core's), whatever layer failed. The
//! Magalu API's own errors convert into it with `?`, keeping their kind,
//! text and, typed, the API's slug and request id ([`ApiErrorExt`]).
//!
//! One set of transport settings: [`TransportOptions`] (TLS, plain HTTP,
//! `User-Agent`, jobs, timeouts, low-speed limit, retry budget, resume
//! policy) builds every client, registry, Azure or Magalu.
//!
//! ## Any OCI registry
//!
//! ```no_run
//! # async fn run() -> Result<(), facade::Error> {
//! let registry = facade::Registry::builder("registry.example.com")
//!     .credentials("user", "password")
//!     .build()?;
//! let app = registry.with_segment("org").with_segment("app");
//! let digest = app.get_digest("v1.0.0").await?;
//! println!("{digest}");
//! # Ok(()) }
//! ```
//!
//! ## Magalu Cloud
//!
//! ```no_run
//! # #[cfg(feature = "mgc")]
//! # async fn run() -> Result<(), facade::Error> {
//! use facade::ApiErrorExt;
//! let mgc = facade::Magalu::builder().api_key("my-api-key").region("br-se1").build()?;
//! // Management API…
//! let registries = mgc.api().registries().list(Default::default()).await?;
//! // …and the registry itself, with credentials fetched from the API.
//! let tags = mgc.registry("myregistry").await?.with_segment("app").list_tags().await?;
//! // One error type; the API's request id is still there, typed.
//! let id: facade::mgc::RegistryId = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c".parse()?;
//! if let Err(e) = mgc.api().registries().get(&id).await.map_err(facade::Error::from) {
//!     eprintln!("{e} (request id {:?})", e.request_id());
//! }
//! # drop((registries, tags));
//! # Ok(()) }
//! ```
//!
//! ## Azure Container Registry
//!
//! ```no_run
//! # #[cfg(feature = "acr")]
//! # async fn run() -> Result<(), facade::Error> {
//! use facade::acr::StaticTokenCredential;
//! let acr = facade::Azure::builder("https://myregistry.azurecr.io")
//!     .credential(StaticTokenCredential::from_env()?)
//!     .build()?;
//! let manifest = acr.registry().with_segment("app").get_manifest("latest").await?;
//! let props = acr.metadata().repository_properties("app").await?;
//! # drop((manifest, props));
//! # Ok(()) }
//! ```

mod registry;
mod transport;

#[cfg(feature = "acr")]
mod azure;

#[cfg(feature = "mgc")]
mod magalu;

pub use registry::{Registry, RegistryBuilder};
pub use transport::TransportOptions;

/// The one error type of the stack: `registry-core`'s. Branch on
/// [`Error::kind`].
pub use registry_core::{Error, ErrorKind, Result};

/// Reads the Magalu API's details (slug, `detail`, request and trace ids)
/// back from an [`Error`] converted from an [`mgc::Error`].
#[cfg(feature = "mgc")]
pub use mgc_api::error::ApiErrorExt;

#[cfg(feature = "acr")]
pub use azure::{Azure, AzureBuilder};

#[cfg(feature = "mgc")]
pub use magalu::{Magalu, MagaluBuilder};

/// `registry-core`: the transport.
pub use registry_core as core;

/// `oci-dist`: the OCI distribution client.
pub use oci_dist as oci;

/// `mgc-api`: the Magalu Cloud Container Registry management API.
#[cfg(feature = "mgc")]
pub use mgc_api as mgc;

/// `acr-auth`: Azure Container Registry authentication and metadata API.
#[cfg(feature = "acr")]
pub use acr_auth as acr;

/// The `User-Agent` the facade's clients send.
pub const USER_AGENT: &str = concat!("crctl-facade/", env!("CARGO_PKG_VERSION"));
