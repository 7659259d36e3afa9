//! Manifest operations: resolve (`HEAD`, falling back to `GET`), get with
//! exact bytes, exists, put, delete, and the image config.

mod document;

pub use document::{MAX_MANIFEST_SIZE, Manifest, ParsedManifest};
