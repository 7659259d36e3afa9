//! The OCI image layout: atomic and verified blob writes, and blobs
//! checked again when read or resumed.

mod layout_support;

use bytes::Bytes;
use futures_util::StreamExt;
use oci_dist::CheckedDescriptor;
use oci_dist::content::{ImageDestination, ImageSource};
use oci_dist::layout::OciLayout;
use registry_core::{Digest, Error, ErrorKind};

use layout_support::*;

#[tokio::test]
async fn interrupted_blob_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let blob = data(1 << 20, 9);
    let digest = Digest::sha256_of(&blob);
    let stream = futures_util::stream::iter(vec![
        Ok(Bytes::copy_from_slice(&blob[..300_000])),
        Ok(Bytes::copy_from_slice(&blob[300_000..600_000])),
        Err(Error::new(
            ErrorKind::Transport,
            "connection reset mid-blob",
        )),
    ]);
    let err = layout
        .write_blob(&digest, Some(blob.len() as u64), stream)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(
        err.to_string().contains("connection reset mid-blob"),
        "{err}"
    );
    assert!(err.to_string().contains(&digest.to_string()), "{err}");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert!(!layout.blob_exists(&digest).await.unwrap());

    // The same blob written in full afterwards is fine.
    layout
        .write_blob(&digest, None, chunks(&blob, 65_536))
        .await
        .unwrap();
    assert_eq!(read_all(&layout, &digest).await.unwrap(), blob);
}

#[tokio::test]
async fn blob_not_matching_its_digest_or_size_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let blob = data(500_000, 11);
    let digest = Digest::sha256_of(&blob);
    let mut corrupt = blob.clone();
    corrupt[250_000] ^= 1;
    let err = layout
        .write_blob(&digest, Some(blob.len() as u64), chunks(&corrupt, 100_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");

    let err = layout
        .write_blob(&digest, Some(1000), chunks(&blob, 100_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(
        err.to_string()
            .contains("longer than the expected 1000 bytes"),
        "{err}"
    );

    let err = layout
        .write_blob(&digest, Some(blob.len() as u64 + 1), chunks(&blob, 100_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn cancelled_blob_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let blob = data(400_000, 5);
    let digest = Digest::sha256_of(&blob);
    let (polled_tx, polled_rx) = tokio::sync::oneshot::channel::<()>();
    let first = Bytes::copy_from_slice(&blob[..200_000]);
    // One chunk, then a signal that the writer asks for more, then nothing.
    let mut polled_tx = Some(polled_tx);
    let stream = futures_util::stream::once(async move { Ok::<_, Error>(first) }).chain(
        futures_util::stream::poll_fn(move |_| {
            if let Some(tx) = polled_tx.take() {
                let _ = tx.send(());
            }
            std::task::Poll::Pending
        }),
    );
    let write = layout.write_blob(&digest, Some(blob.len() as u64), stream);
    tokio::select! {
        r = write => panic!("the write cannot finish: {r:?}"),
        _ = polled_rx => {}
    }
    // The write future is dropped here, mid-blob, with its temp file open.
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn corrupted_blob_on_disk_is_detected_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let img = image(21);
    write_image(&layout, &img, "v1").await;
    let layer = Digest::sha256_of(&img.layers[0]);
    let path = layout.blob_path(&layer);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1_000_000] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let err = read_all(&layout, &layer).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");

    // Through the ImageSource trait: the stream's last item is the error.
    let v1 = CheckedDescriptor::new(layout.resolve("v1").await.unwrap()).unwrap();
    let manifest = ImageSource::fetch_manifest(&layout, &v1).await.unwrap();
    let desc = CheckedDescriptor::try_from(&manifest.as_image().unwrap().layers()[0]).unwrap();
    let items: Vec<Result<Bytes, Error>> = layout.fetch_blob(&desc).await.unwrap().collect().await;
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::DigestMismatch);

    // A corrupted manifest too.
    let mpath = layout.blob_path(&Digest::sha256_of(&img.manifest));
    let mut m = std::fs::read(&mpath).unwrap();
    m[5] = b'X';
    std::fs::write(&mpath, &m).unwrap();
    let err = layout.read_manifest("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

/// A download as a copy hands it to the layout: verified from 0, served
/// from an offset; remembers the offsets asked for.
struct Download {
    data: Bytes,
    digest: Digest,
    opened: std::sync::Mutex<Vec<u64>>,
}

impl oci_dist::content::BlobSource for Download {
    fn open(
        &self,
        offset: u64,
    ) -> oci_dist::content::BoxFuture<'_, Result<oci_dist::content::ByteStream, Error>> {
        self.opened.lock().unwrap().push(offset);
        Box::pin(async move {
            if offset >= self.data.len() as u64 {
                // As a registry answers a range past the end.
                return Err(Error::new(ErrorKind::Protocol, "HTTP 416"));
            }
            let rest = self.data.slice(offset as usize..);
            let stream = futures_util::stream::iter([Ok(rest)]);
            Ok(if offset == 0 {
                oci_dist::content::verify_stream(
                    stream,
                    self.digest.clone(),
                    Some(self.data.len() as u64),
                )
            } else {
                Box::pin(stream)
            })
        })
    }

    fn verifies_digest(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_whole_partial_file_is_checked_without_asking_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let blob = Bytes::from(data(100_000, 40));
    let digest = Digest::sha256_of(&blob);
    let desc = CheckedDescriptor::new(oci_spec::image::Descriptor::new(
        oci_spec::image::MediaType::ImageLayer,
        blob.len() as u64,
        oci_spec::image::Digest::try_from(digest.to_string()).unwrap(),
    ))
    .unwrap();
    let partial = dir.path().join(format!(".partial-sha256-{}", digest.hex()));
    let dest: &dyn ImageDestination = &layout;

    // Complete and right (a run killed before its stream ended): kept.
    std::fs::write(&partial, &blob).unwrap();
    let source = Download {
        data: blob.clone(),
        digest: digest.clone(),
        opened: Default::default(),
    };
    dest.push_blob(&desc, &source).await.unwrap();
    assert_eq!(read_all(&layout, &digest).await.unwrap(), blob);
    assert!(source.opened.lock().unwrap().is_empty());
    assert!(!partial.exists());

    // Complete but corrupt: downloaded again from the start.
    std::fs::remove_file(layout.blob_path(&digest)).unwrap();
    let mut corrupt = blob.to_vec();
    corrupt[50_000] ^= 1;
    std::fs::write(&partial, &corrupt).unwrap();
    let source = Download {
        data: blob.clone(),
        digest: digest.clone(),
        opened: Default::default(),
    };
    dest.push_blob(&desc, &source).await.unwrap();
    assert_eq!(read_all(&layout, &digest).await.unwrap(), blob);
    assert_eq!(*source.opened.lock().unwrap(), [0]);
    assert_eq!(
        leftovers(dir.path()),
        [format!("blobs/sha256/{}", digest.hex())]
    );
}
