//! Blob uploads: sessions (`POST`), chunks (`PATCH` with `Content-Range`,
//! honouring `OCI-Chunk-Min-Length`), completion (`PUT ?digest=`), status
//! and resume (`GET` → `Range`), cancel, cross-repository mount, and
//! [`Client::push_blob`], which streams one monolithic `PUT` when it can
//! and falls back to chunks on `413` or when configured.
//!
//! The step-by-step API (the seed's `BlobClient`): [`Client::start_upload`]
//! (`StartUpload`), [`Client::upload_chunk`] and [`Client::upload_chunk_at`]
//! (`UploadChunk`, with or without `RangeStart`/`RangeEnd`),
//! [`Client::upload_status`] (`GetUploadStatus`), [`Client::complete_upload`]
//! and [`Client::complete_calculated_upload`] (`CompleteUpload`, with a
//! digest or with the session's [`calculator`](UploadSession::calculating_digest),
//! the seed's `BlobDigestCalculator`), [`Client::cancel_upload`] and
//! [`Client::mount_blob`] (`MountBlob`); each session knows its
//! [`id`](UploadSession::id) (`Docker-Upload-UUID`).
//!
//! ```no_run
//! use bytes::Bytes;
//! use registry_core::digest::Algorithm;
//! # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
//! let mut session = app.start_upload().await?.calculating_digest(Algorithm::Sha256)?;
//! println!("upload {:?}", session.id());
//! app.upload_chunk(&mut session, Bytes::from_static(b"hello ")).await?;
//! app.upload_chunk(&mut session, Bytes::from_static(b"world")).await?;
//! let digest = app.complete_calculated_upload(session).await?;
//! assert_eq!(digest, registry_core::Digest::sha256_of(b"hello world"));
//! # Ok(()) }
//! ```

#[cfg(doc)]
use crate::client::Client;

mod body;
mod calculator;
mod chunk;
mod push;
mod session;

pub use session::{MAX_RESUMES, Mount, PushMethod, UploadSession};
