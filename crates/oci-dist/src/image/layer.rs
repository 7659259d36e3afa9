//! [`RemoteLayer`]: one layer of an [`Image`](super::Image), as
//! go-containerregistry's `v1.Layer`: its compressed blob and its
//! uncompressed tar, each verified while read.

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::TryStreamExt;
use registry_core::digest::{Verifier, VerifyingStream};
use registry_core::{Digest, Error, ErrorKind};
use tokio::sync::mpsc;

use crate::blob::Blob;
use crate::client::Client;
use crate::content::ByteStream;
use crate::descriptor::CheckedDescriptor;
use crate::extract::Compression;
use crate::extract::worker::{ChannelReader, Input, send_input};

/// The size of the uncompressed chunks handed out.
const CHUNK: usize = 256 * 1024;

/// One layer of an image in a registry (from [`Image::remote_layers`],
/// [`Image::layer_by_digest`] or [`Image::layer_by_diff_id`]): its
/// descriptor, its diff id (the digest of its uncompressed tar, from the
/// image config's `rootfs.diff_ids`) and the client to read it with.
/// Nothing is downloaded until [`compressed`](Self::compressed) or
/// [`uncompressed`](Self::uncompressed) is called.
///
/// | go-containerregistry `v1.Layer` | here |
/// |---|---|
/// | `Digest()` | [`digest`](Self::digest) |
/// | `DiffID()` | [`diff_id`](Self::diff_id) |
/// | `Size()` | [`size`](Self::size) |
/// | `MediaType()` | [`media_type`](Self::media_type) |
/// | `Compressed()` | [`compressed`](Self::compressed) |
/// | `Uncompressed()` | [`uncompressed`](Self::uncompressed) |
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
/// let image = app.get_image("v1", &Default::default()).await?;
/// for layer in image.remote_layers()? {
///     println!("{} {} bytes, diff id {}", layer.digest(), layer.size(), layer.diff_id());
///     let mut tar = layer.uncompressed().await?;
///     while let Some(chunk) = tar.try_next().await? {
///         // ... the layer's tar, verified against the diff id at its end
///         # drop(chunk);
///     }
/// }
/// # Ok(()) }
/// ```
///
/// [`Image::remote_layers`]: super::Image::remote_layers
/// [`Image::layer_by_digest`]: super::Image::layer_by_digest
/// [`Image::layer_by_diff_id`]: super::Image::layer_by_diff_id
#[derive(Debug, Clone)]
pub struct RemoteLayer {
    client: Client,
    descriptor: CheckedDescriptor,
    diff_id: Digest,
}

impl RemoteLayer {
    pub(super) fn new(client: Client, descriptor: CheckedDescriptor, diff_id: Digest) -> Self {
        RemoteLayer {
            client,
            descriptor,
            diff_id,
        }
    }

    /// The digest of the compressed blob (the manifest's layer digest).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = &image.remote_layers()?[0];
    /// assert_eq!(layer.digest().to_string(), image.layers()[0].digest().to_string());
    /// # Ok(()) }
    /// ```
    pub fn digest(&self) -> &Digest {
        self.descriptor.digest()
    }

    /// The digest of the uncompressed tar (the config's diff id).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = &image.remote_layers()?[0];
    /// assert_eq!(layer.diff_id().to_string(), image.config().rootfs().diff_ids()[0]);
    /// # Ok(()) }
    /// ```
    pub fn diff_id(&self) -> &Digest {
        &self.diff_id
    }

    /// The size of the compressed blob in bytes.
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let total: u64 = image.remote_layers()?.iter().map(|l| l.size()).sum();
    /// # drop(total);
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> u64 {
        self.descriptor.size()
    }

    /// The layer's media type, e.g. `application/vnd.oci.image.layer.v1.tar+gzip`.
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = &image.remote_layers()?[0];
    /// assert!(layer.media_type().contains("layer") || layer.media_type().contains("rootfs"));
    /// # Ok(()) }
    /// ```
    pub fn media_type(&self) -> &str {
        self.descriptor.media_type()
    }

    /// The layer's descriptor (digest converted).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = &image.remote_layers()?[0];
    /// println!("{:?}", layer.descriptor().descriptor().annotations());
    /// # Ok(()) }
    /// ```
    pub fn descriptor(&self) -> &CheckedDescriptor {
        &self.descriptor
    }

    /// How the blob is compressed, from its media type
    /// ([`ErrorKind::Unsupported`] for a media type that is no tar layer).
    ///
    /// ```no_run
    /// use oci_dist::extract::Compression;
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let gzipped = image.remote_layers()?.iter().filter(|l| {
    ///     matches!(l.compression(), Ok(Compression::Gzip))
    /// }).count();
    /// # drop(gzipped);
    /// # Ok(()) }
    /// ```
    pub fn compression(&self) -> Result<Compression, Error> {
        Compression::from_media_type(self.media_type())
    }

    /// The compressed blob as stored, streamed and verified against
    /// [`digest`](Self::digest) and [`size`](Self::size) (its last item is
    /// an [`ErrorKind::DigestMismatch`] error on corrupt content).
    ///
    /// ```no_run
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = &image.remote_layers()?[0];
    /// let mut file = tokio::fs::File::create("layer.tar.gz").await?;
    /// layer.compressed().await?.write_to(&mut file).await?;
    /// # Ok(()) }
    /// ```
    pub async fn compressed(&self) -> Result<Blob, Error> {
        self.client.fetch_checked_blob(&self.descriptor).await
    }

    /// The uncompressed tar, streamed: the blob is decompressed as its
    /// media type says (plain tar, gzip or zstd; any other media type is
    /// [`ErrorKind::Unsupported`], before any request), with the
    /// decompression of [`crate::extract`]. Both digests are checked while
    /// the bytes flow: the blob's against [`digest`](Self::digest), the
    /// tar's against [`diff_id`](Self::diff_id). On a mismatch (or content
    /// that does not decompress) the stream's last item is an error (kind
    /// [`ErrorKind::DigestMismatch`], resp. [`ErrorKind::InvalidContent`])
    /// instead of a clean end, so corrupt data is never mistaken for the
    /// layer. Memory stays flat: 256 KiB chunks, decompressed on a
    /// blocking thread as the stream is polled; dropping the stream stops
    /// the download.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(image: oci_dist::Image) -> Result<(), registry_core::Error> {
    /// let layer = image.layer_by_diff_id(&image.remote_layers()?[0].diff_id().clone())?;
    /// // As an AsyncRead, e.g. for tokio-tar or tokio::io::copy:
    /// let mut tar = tokio_util::io::StreamReader::new(
    ///     layer.uncompressed().await?.map_err(std::io::Error::from),
    /// );
    /// let mut out = tokio::fs::File::create("layer.tar").await?;
    /// tokio::io::copy(&mut tar, &mut out).await?;
    /// # Ok(()) }
    /// ```
    pub async fn uncompressed(&self) -> Result<ByteStream, Error> {
        let compression = self.compression()?;
        let blob = self.compressed().await?.into_stream();
        let what = format!(
            "uncompressed layer {} (diff id {})",
            self.digest(),
            self.diff_id
        );
        let tar = decompress(compression, blob, what.clone());
        let verified = VerifyingStream::new(tar, Verifier::new(self.diff_id.clone(), None))
            .map_err(move |e: Error| e.context(&what));
        Ok(Box::pin(verified))
    }
}

/// The uncompressed bytes of `input` (a verified blob stream): a task
/// feeds `input` to a decoder on a blocking thread, whose output is the
/// returned stream. Errors of `input` come out as they are, at their
/// place; content that does not decompress is
/// [`ErrorKind::InvalidContent`], unless the rest of `input` fails (e.g.
/// its digest): then that error. Once the decoder is done, the rest of
/// `input` is read, so that its digest is checked to its end.
fn decompress(compression: Compression, input: ByteStream, what: String) -> ByteStream {
    if compression == Compression::None {
        return input;
    }
    let (in_tx, in_rx) = mpsc::channel::<Input>(4);
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes, Error>>(4);
    // A closed channel: the decoder stopped (its consumer left).
    tokio::spawn(async move { send_input(input, &in_tx).await });
    tokio::task::spawn_blocking(move || decode(compression, in_rx, &out_tx, &what));
    Box::pin(futures_util::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// The blocking side of [`decompress`].
fn decode(
    compression: Compression,
    mut rx: mpsc::Receiver<Input>,
    tx: &mpsc::Sender<Result<Bytes, Error>>,
    what: &str,
) {
    let mut reader = ChannelReader::new(&mut rx, None);
    let err = match pump(compression, &mut reader, tx) {
        Ok(false) => return, // nobody reads any more
        Ok(true) => match reader.drain() {
            Ok(()) => return,
            Err(e) => e,
        },
        // Bad content, or a corrupt download? Read on: a blob that fails
        // its digest is the cause to report.
        Err(e) => match reader.failure.take() {
            Some(failure) => failure,
            None => reader.drain().err().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::InvalidContent,
                    format!("{what}: the blob does not decompress as {compression:?}: {e}"),
                )
            }),
        },
    };
    let _ = tx.blocking_send(Err(err));
}

/// Decompresses everything `reader` gives into `tx`; `Ok(false)` when the
/// receiver is gone.
fn pump(
    compression: Compression,
    reader: &mut ChannelReader<'_>,
    tx: &mpsc::Sender<Result<Bytes, Error>>,
) -> io::Result<bool> {
    let mut decoder = compression.decoder(reader)?;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            return Ok(true);
        }
        buf.truncate(n);
        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn stream_of(data: Vec<u8>, chunk: usize) -> ByteStream {
        let chunks: Vec<Result<Bytes, Error>> = data
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Box::pin(futures_util::stream::iter(chunks))
    }

    async fn collect(s: ByteStream) -> Result<Vec<u8>, Error> {
        let parts: Vec<Bytes> = s.try_collect().await?;
        Ok(parts.concat())
    }

    /// Text-like bytes (compressible, not trivially).
    fn data(len: usize) -> Vec<u8> {
        let mut x: u32 = 12345;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b'a' + ((x >> 16) % 16) as u8
            })
            .collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[tokio::test]
    async fn gzip_and_zstd_decompress_in_chunks() {
        let data = data(700_000);
        let gz = gzip(&data);
        let got = collect(decompress(
            Compression::Gzip,
            stream_of(gz, 1000),
            "t".into(),
        ))
        .await;
        assert_eq!(got.unwrap(), data);
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        let got = collect(decompress(
            Compression::Zstd,
            stream_of(zst, 777),
            "t".into(),
        ))
        .await;
        assert_eq!(got.unwrap(), data);
    }

    #[tokio::test]
    async fn source_errors_and_bad_content_end_the_stream_with_an_error() {
        let data = data(10_000);
        let mut gz = gzip(&data);
        // A failing source (e.g. the blob's digest mismatch) after the
        // whole compressed content: the error, not a clean end.
        let mut chunks: Vec<Result<Bytes, Error>> = vec![Ok(Bytes::from(gz.clone()))];
        chunks.push(Err(Error::new(
            ErrorKind::DigestMismatch,
            "blob hashes wrong",
        )));
        let s: ByteStream = Box::pin(futures_util::stream::iter(chunks));
        let err = collect(decompress(Compression::Gzip, s, "t".into()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
        // Not gzip at all.
        let err = collect(decompress(
            Compression::Gzip,
            stream_of(b"plain text".to_vec(), 4),
            "layer x".into(),
        ))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
        assert!(err.to_string().contains("layer x"), "{err}");
        // Truncated gzip.
        gz.truncate(gz.len() / 2);
        let err = collect(decompress(
            Compression::Gzip,
            stream_of(gz, 100),
            "t".into(),
        ))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
    }
}
