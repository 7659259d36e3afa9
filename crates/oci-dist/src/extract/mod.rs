//! Flattening an image: one tar stream of the merged root filesystem from
//! its layers.
//!
//! [`extract`] reads each layer once (uncompressed, gzip or zstd, chosen by
//! its media type), verifies its digest while reading, applies the layers
//! one over the other as a container runtime does, and writes a tar of the
//! result to any [`AsyncWrite`].
//!
//! The layers are applied oldest first, each entry in the order of its tar,
//! with containerd's semantics (`archive/tar.go`, `continuity/fs.RootPath`):
//!
//! - an entry's name is normalised to the root (leading `/` and `.`
//!   components dropped; a `..` component is refused, as Docker does);
//! - its parent path is resolved *inside the root*: symlinks (from any
//!   layer, the same one included) are followed with the root as `/`, a
//!   `..` in their targets stops at the root, so `link/passwd` with
//!   `link -> /etc` or `link -> ../../etc` lands at `etc/passwd` and the
//!   link stays as it is. At most 255 symlinks are followed for one path;
//!   more (a loop) is refused. Missing parent directories are created
//!   (implied: no entry is written for them); a parent that is a file is
//!   refused (the entry would go through a non-directory);
//! - the entry's own last component is never followed: the entry replaces
//!   whatever has that name (a file over a symlink replaces the symlink),
//!   except that a directory over a directory merges with it (the upper
//!   entry's metadata);
//! - `.wh.<name>` removes `<name>` (and everything under it) of its
//!   resolved parent directory; `.wh..wh..opq` makes that directory opaque:
//!   what lower layers put in it is removed. Neither removes entries of
//!   its own layer, whatever their order in the tar; no whiteout entry is
//!   written;
//! - a hardlink's target is resolved like an entry's name (parent
//!   followed, last component not) and must name a non-directory already in
//!   the merged filesystem (of a lower layer, or earlier in the same tar);
//! - symlink targets are data: written as the layer has them.
//!
//! Refused content is [`ErrorKind::InvalidContent`] with one line saying
//! which layer and entry, and why. Nothing is ever written outside the
//! root: the merged filesystem is a tree in memory, every path of it is
//! inside the root, and no name of the output goes through a symlink.
//!
//! The output is written once every layer has been read and verified: a
//! layer whose bytes do not match its digest fails with
//! [`ErrorKind::DigestMismatch`], and nothing at all is written. The
//! entries come depth first, a directory's entries in the order they were
//! created; the first name of a hardlinked file carries its content and its
//! other names are hardlinks to that one, so a hardlink whose original name
//! was deleted or replaced by an upper layer keeps its content.
//!
//! Memory holds the tree (names and metadata), never file contents: the
//! regular files are kept in one anonymous temporary file per layer
//! (`TMPDIR`) until the output is written, so the disk holds up to the
//! uncompressed size of the layers' files; a layer's temporary file is
//! dropped as soon as none of its files is left. File data streams through
//! 256 KiB buffers.
//!
//! ```
//! use oci_dist::extract::{Layer, extract};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), registry_core::Error> {
//! // Two layers: the upper one deletes `a` with a whiteout and adds `b`.
//! fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
//!     let mut b = tar::Builder::new(Vec::new());
//!     for (path, data) in files {
//!         let mut h = tar::Header::new_gnu();
//!         h.set_size(data.len() as u64);
//!         h.set_mode(0o644);
//!         b.append_data(&mut h, path, *data).unwrap();
//!     }
//!     b.into_inner().unwrap()
//! }
//! let lower = layer_tar(&[("a", b"old"), ("c", b"kept")]);
//! let upper = layer_tar(&[(".wh.a", b""), ("b", b"new")]);
//! let layers = [lower, upper]
//!     .into_iter()
//!     .map(|tar| {
//!         let digest = registry_core::Digest::sha256_of(&tar);
//!         Layer::new("application/vnd.oci.image.layer.v1.tar", digest, std::io::Cursor::new(tar))
//!     })
//!     .collect::<Result<Vec<_>, _>>()?;
//!
//! let mut out = Vec::new(); // or a tokio::fs::File
//! let summary = extract(layers, &mut out).await?;
//! assert_eq!(summary.entries, 2);
//! let mut names: Vec<String> = tar::Archive::new(&out[..])
//!     .entries()?
//!     .map(|e| e.unwrap().path().unwrap().display().to_string())
//!     .collect();
//! names.sort();
//! assert_eq!(names, ["b", "c"]);
//! # Ok(()) }
//! ```

mod entry;
mod merge;
mod path;
mod spool;
mod tree;
pub(crate) mod worker;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use oci_spec::image::Descriptor;
use registry_core::{Digest, Error, ErrorKind, Result};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use worker::{Input, LayerSpec};

/// The size of the chunks read from layers and written to the output.
const BUF_SIZE: usize = 256 * 1024;

/// How a layer's tar is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (possibly multi-member).
    Gzip,
    /// zstd (possibly several frames).
    Zstd,
}

impl Compression {
    /// The compression a layer media type declares: OCI `…tar`, `…tar+gzip`,
    /// `…tar+zstd` (distributable or not) and Docker `…rootfs.diff.tar`,
    /// `…tar.gzip`, `…tar.zstd`. Other media types are
    /// [`ErrorKind::Unsupported`].
    ///
    /// ```
    /// use oci_dist::extract::Compression;
    /// assert_eq!(
    ///     Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip").unwrap(),
    ///     Compression::Gzip,
    /// );
    /// assert!(Compression::from_media_type("application/vnd.oci.image.config.v1+json").is_err());
    /// ```
    pub fn from_media_type(media_type: &str) -> Result<Compression> {
        Ok(match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar" => Compression::None,
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Compression::Zstd,
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{other:?} is not a layer media type this extractor supports"),
                ));
            }
        })
    }

    /// A reader of the uncompressed bytes of `reader`: gzip members and
    /// zstd frames one after the other, as layers may have them. (The one
    /// decompression of the crate: [`extract`] and
    /// [`RemoteLayer::uncompressed`](crate::image::RemoteLayer::uncompressed)
    /// use it.)
    pub(crate) fn decoder<'r>(
        self,
        reader: impl std::io::Read + 'r,
    ) -> std::io::Result<Box<dyn std::io::Read + 'r>> {
        Ok(match self {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::with_capacity(BUF_SIZE, reader),
            )),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
        })
    }
}

type BoxReader<'a> = Pin<Box<dyn AsyncRead + Send + 'a>>;
type OpenFuture<'a> = Pin<Box<dyn Future<Output = Result<BoxReader<'a>>> + Send + 'a>>;

/// One layer to extract: how it is compressed, the digest its bytes must
/// match, optionally its size, and where its bytes come from.
pub struct Layer<'a> {
    compression: Compression,
    digest: Digest,
    size: Option<u64>,
    /// Opens the layer's bytes (at once for a reader given up front).
    open: OpenFuture<'a>,
}

impl std::fmt::Debug for Layer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("compression", &self.compression)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<'a> Layer<'a> {
    /// A layer read from `reader`, compressed as `media_type` says.
    pub fn new(
        media_type: &str,
        digest: Digest,
        reader: impl AsyncRead + Send + 'a,
    ) -> Result<Layer<'a>> {
        Ok(Layer::with_compression(
            Compression::from_media_type(media_type)?,
            digest,
            reader,
        ))
    }

    /// A layer with an explicit compression.
    pub fn with_compression(
        compression: Compression,
        digest: Digest,
        reader: impl AsyncRead + Send + 'a,
    ) -> Layer<'a> {
        Layer::opened_by(compression, digest, async move { Ok(reader) })
    }

    /// A layer read from a stream of chunks, e.g. a blob response body's
    /// data stream.
    pub fn from_stream<S, E>(media_type: &str, digest: Digest, stream: S) -> Result<Layer<'a>>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'a,
        E: Into<Error>,
    {
        let reader =
            tokio_util::io::StreamReader::new(stream.map_err(|e| std::io::Error::from(e.into())));
        Layer::new(media_type, digest, reader)
    }

    /// A layer opened only when the extractor gets to it (one layer is read
    /// at a time, oldest first), e.g. `async move { client.get_blob(..).await }`.
    pub fn lazy<F, R>(media_type: &str, digest: Digest, open: F) -> Result<Layer<'a>>
    where
        F: Future<Output = Result<R>> + Send + 'a,
        R: AsyncRead + Send + 'a,
    {
        let compression = Compression::from_media_type(media_type)?;
        Ok(Layer::opened_by(compression, digest, open))
    }

    /// A layer whose bytes `open` gives when awaited.
    fn opened_by<F, R>(compression: Compression, digest: Digest, open: F) -> Layer<'a>
    where
        F: Future<Output = Result<R>> + Send + 'a,
        R: AsyncRead + Send + 'a,
    {
        let open: OpenFuture<'a> =
            Box::pin(async move { Ok(Box::pin(open.await?) as BoxReader<'a>) });
        Layer {
            compression,
            digest,
            size: None,
            open,
        }
    }

    /// A layer described by a manifest's layer descriptor (media type,
    /// digest and size).
    pub fn from_descriptor(
        descriptor: &Descriptor,
        reader: impl AsyncRead + Send + 'a,
    ) -> Result<Layer<'a>> {
        let digest = crate::descriptor::digest_of(descriptor)?;
        Ok(
            Layer::new(descriptor.media_type().as_ref(), digest, reader)?
                .with_size(descriptor.size()),
        )
    }

    /// Sets the expected size: more bytes, or fewer, is a digest mismatch
    /// (and reading stops as soon as there are too many).
    pub fn with_size(mut self, size: u64) -> Layer<'a> {
        self.size = Some(size);
        self
    }

    /// The compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The digest the layer's bytes must match.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

/// What [`extract`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExtractSummary {
    /// Entries written (files, directories, links, devices).
    pub entries: u64,
    /// Bytes of tar written.
    pub bytes: u64,
}

/// Writes the merged filesystem of `layers` (oldest first, as in a
/// manifest) as one tar stream to `out`, then flushes `out` (it is not shut
/// down). See the [module documentation](self) for the rules.
///
/// Dropping the returned future cancels the extraction.
pub async fn extract<W>(layers: Vec<Layer<'_>>, out: W) -> Result<ExtractSummary>
where
    W: AsyncWrite + Unpin,
{
    let total = layers.len();
    let specs: Vec<LayerSpec> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerSpec {
            label: format!("layer {} of {total} ({})", i + 1, l.digest),
            compression: l.compression,
            digest: l.digest.clone(),
            size: l.size,
        })
        .collect();
    let (in_tx, in_rx) = mpsc::channel::<Input>(8);
    let (done_tx, done_rx) = mpsc::unbounded_channel::<()>();
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(4);
    let worker = tokio::task::spawn_blocking(move || worker::run(specs, in_rx, done_tx, out_tx));
    let work = async { tokio::join!(drain(out_rx, out), worker) };
    let feeding = async {
        feed(layers, in_tx, done_rx).await;
        // Feeding is done (or the worker is gone): wait for the worker.
        std::future::pending::<()>().await;
    };
    let (drained, worked) = tokio::select! {
        r = work => r,
        () = feeding => unreachable!("pending never completes"),
    };
    let bytes = drained?;
    let entries = worked
        .map_err(|e| Error::new(ErrorKind::Transport, "extract worker failed").with_source(e))??;
    Ok(ExtractSummary { entries, bytes })
}

/// Sends the layers' bytes to the worker, oldest layer first; opens a layer
/// only once the worker has verified the previous one.
async fn feed(
    layers: Vec<Layer<'_>>,
    tx: mpsc::Sender<Input>,
    mut done: mpsc::UnboundedReceiver<()>,
) {
    for layer in layers {
        let reader = match layer.open.await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Input::Failed(e.context("opening the layer"))).await;
                return;
            }
        };
        let chunks = tokio_util::io::ReaderStream::with_capacity(reader, BUF_SIZE)
            .map_err(|e| Error::from(e).context("reading the layer"));
        if !worker::send_input(chunks, &tx).await {
            return; // the worker stopped; its result says why
        }
        if done.recv().await.is_none() {
            return; // the worker stopped on this layer
        }
    }
}

/// Writes what the worker produces to `out`.
async fn drain<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Bytes>, mut out: W) -> Result<u64> {
    let mut written = 0u64;
    while let Some(chunk) = rx.recv().await {
        out.write_all(&chunk)
            .await
            .map_err(|e| Error::from(e).context("writing the extracted tar"))?;
        written += chunk.len() as u64;
    }
    out.flush()
        .await
        .map_err(|e| Error::from(e).context("writing the extracted tar"))?;
    Ok(written)
}
