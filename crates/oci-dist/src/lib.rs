#![doc = include_str!("../README.md")]

pub mod archive;
pub mod blob;
pub mod catalog;
pub mod client;
pub mod content;
pub mod copy;
pub mod delete;
pub mod descriptor;
pub mod extract;
pub mod image;
pub mod layout;
pub mod manifest;
pub mod media_type;
pub mod paging;
mod ping;
pub mod platform;
pub mod progress;
pub mod reference;
pub mod referrers;
pub mod sync;
pub mod tag;
pub mod tags;
pub mod upload;

pub use blob::{Blob, BlobRange, BlobRangeCheck};
pub use client::{Client, ClientBuilder};
pub use content::{BlobSource, ImageDestination, ImageSource};
pub use copy::{CopyOptions, CopyReport, copy};
pub use delete::TagDeletion;
pub use descriptor::CheckedDescriptor;
pub use image::{
    GetImageOptions, Image, ImageBuilder, ImageLayer, NewImage, NewIndex, PushableImage,
    RemoteLayer,
};
pub use manifest::{Manifest, ParsedManifest, PushedManifest};
pub use paging::Page;
pub use progress::{Progress, ProgressEvent};
pub use reference::{IntoOptionalTag, IntoTag, IntoTarget, Reference, Tag, TagOrDigest};
pub use referrers::Referrers;
pub use registry_core::{Digest, Error, ErrorKind};

/// The extension traits for the streams the listing operations return.
pub use futures_util::{StreamExt, TryStreamExt};
/// Credentials for [`ClientBuilder::credentials`], re-exported from
/// `registry-core` so that depending on `oci-dist` alone is enough.
pub use registry_core::credentials;
pub use registry_core::{Result, Secret};

/// The `oci-spec` crate, whose image types appear in this crate's API.
pub use oci_spec;
/// The `oci-spec` image types this crate's API takes and returns.
pub use oci_spec::image::{
    Arch, Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType, Os, Platform,
};
pub use upload::{Mount, PushMethod, UploadSession};
