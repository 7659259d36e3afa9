#![doc = include_str!("../README.md")]

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
