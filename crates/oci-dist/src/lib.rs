//! OCI distribution-spec client: references, manifests, blobs, uploads,
//! tags, catalog, referrers, copy, image layout and extract.
//!
//! Built on [`registry_core::HttpClient`] (retries, auth, redirects,
//! timeouts). The [`Client`] is scoped like the deckhouse Go client:
//!
//! ```no_run
//! use oci_dist::Client;
//! # async fn run() -> Result<(), registry_core::Error> {
//! let app = Client::new("registry.example.com")?.with_segment("org").with_segment("app");
//! let manifest = app.get_manifest("v1").await?;
//! println!("{} {}", manifest.media_type(), manifest.digest());
//! for tag in app.list_tags().await? {
//!     println!("{tag}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Typed arguments
//!
//! The library works on validated values: [`Tag`], [`TagOrDigest`],
//! [`Digest`] and, for descriptors, [`CheckedDescriptor`] (an `oci-spec`
//! descriptor with its digest converted once). Strings are accepted only at
//! the edge, and parsed there once:
//!
//! - [`Client`] operations that name a manifest (`resolve`, `get_digest`,
//!   `check_image_exists`, `manifest_exists`, `get_manifest`,
//!   `put_manifest`, `put_manifest_bytes`, `get_image`, `get_image_config`,
//!   `push_image`, `push_index`, `tag_image`) and [`copy()`] take
//!   `impl` [`IntoTarget`]: a `&TagOrDigest`, `&Tag`, `&Digest` (or owned)
//!   as they are, or a string (`"v1"`, `"sha256:…"`, `"@sha256:…"`)
//!   parsed by [`TagOrDigest`]'s `FromStr`. Arguments that must be a tag
//!   (`tag_image`'s new tag, `delete_tag`) take `impl` [`IntoTag`] the
//!   same way, and [`copy()`]'s optional destination tag takes `impl`
//!   [`IntoOptionalTag`]: `"v1"`, a [`Tag`], or an `Option<&Tag>` (a bare
//!   `None` for no tag).
//! - The [`ImageSource`] and [`ImageDestination`] methods are not generic
//!   (the traits are object safe): they take `&TagOrDigest`,
//!   `Option<&Tag>` and `&CheckedDescriptor`.
//!
//! ```no_run
//! use oci_dist::{Client, Tag, reference::TagOrDigest};
//! # async fn run(app: Client) -> Result<(), registry_core::Error> {
//! let by_string = app.get_manifest("v1").await?; // parsed here
//! let target: TagOrDigest = by_string.digest().clone().into();
//! let by_digest = app.get_manifest(&target).await?; // no parsing
//! let stable = Tag::new("stable")?; // validated once, used twice
//! app.tag_image(&target, &stable).await?;
//! oci_dist::copy(&app, &stable, &app.with_repository("mirror/app"), &stable, &Default::default()).await?;
//! # Ok(()) }
//! ```
//!
//! | module | what |
//! |---|---|
//! | [`reference`](mod@reference) | `Reference` parsing and validation |
//! | [`client`] | `Client`, scoping, builder, `ping` |
//! | [`manifest`] | resolve, get, put, delete manifests; [`Manifest`] |
//! | [`blob`] | get (verified stream), range, exists, delete |
//! | [`upload`] | upload sessions, chunks, resume, mount, `push_blob` |
//! | [`tags`], [`catalog`] | paginated listings |
//! | [`delete`] | `delete_tag` with a safe fallback |
//! | [`tag`] | `tag_image` |
//! | [`referrers`] | OCI 1.1 referrers with the tag-schema fallback |
//! | [`image`] | `get_image`, `push_image`, `push_index` |
//! | [`copy`](mod@copy) | copies between registries and layouts, with progress |
//! | [`content`] | `ImageSource` / `ImageDestination` / `BlobSource` |
//! | [`platform`] | platform parsing and matching |
//! | [`layout`] | OCI image layout on disk (source and destination of copies) |
//! | [`extract`] | flatten an image's layers into one tar |

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
pub mod tag;
pub mod tags;
pub mod upload;

pub use blob::{Blob, BlobRange, BlobRangeCheck};
pub use client::{Client, ClientBuilder};
pub use content::{BlobSource, ImageDestination, ImageSource};
pub use copy::{CopyOptions, CopyReport, copy};
pub use delete::TagDeletion;
pub use descriptor::CheckedDescriptor;
pub use image::{GetImageOptions, Image, ImageBuilder, ImageLayer, NewImage, NewIndex};
pub use manifest::{Manifest, ParsedManifest, PushedManifest};
pub use paging::Page;
pub use progress::{Progress, ProgressEvent};
pub use reference::{IntoOptionalTag, IntoTag, IntoTarget, Reference, Tag, TagOrDigest};
pub use referrers::Referrers;
pub use registry_core::{Digest, Error, ErrorKind};
pub use upload::{Mount, PushMethod, UploadSession};
