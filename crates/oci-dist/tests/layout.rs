//! The OCI image layout: round trips, atomic and verified blob writes,
//! `index.json` updates, and the `ImageSource`/`ImageDestination` traits.

use std::path::Path;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use oci_dist::content::{ImageDestination, ImageSource};
use oci_dist::layout::{OciLayout, REF_NAME_ANNOTATION};
use oci_dist::{CheckedDescriptor, Tag, TagOrDigest};
use registry_core::{Digest, Error, ErrorKind};
use tokio::io::AsyncReadExt;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Deterministic, non-repeating bytes.
fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `data` as a stream of `chunk`-sized pieces.
fn chunks(data: &[u8], chunk: usize) -> impl futures_util::Stream<Item = Result<Bytes, Error>> {
    let pieces: Vec<Result<Bytes, Error>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

struct Image {
    config: Vec<u8>,
    layers: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

fn image(seed: u32) -> Image {
    let layers = vec![data(3 * 1024 * 1024 + 17, seed), data(1000, seed + 1)];
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}","{}"]}}}}"#,
        Digest::sha256_of(&layers[0]),
        Digest::sha256_of(&layers[1])
    )
    .into_bytes();
    let desc = |mt: &str, b: &[u8]| {
        format!(
            r#"{{"mediaType":"{mt}","digest":"{}","size":{}}}"#,
            Digest::sha256_of(b),
            b.len()
        )
    };
    // Deliberately not canonical JSON: the exact bytes must be kept.
    let manifest = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{MANIFEST}\",\n  \"config\": {},\n  \"layers\": [{}, {}]\n}}",
        desc(CONFIG, &config),
        desc(LAYER, &layers[0]),
        desc(LAYER, &layers[1])
    )
    .into_bytes();
    Image {
        config,
        layers,
        manifest,
    }
}

async fn write_image(layout: &OciLayout, img: &Image, tag: &str) -> oci_spec::image::Descriptor {
    for blob in img.layers.iter().chain([&img.config]) {
        let digest = Digest::sha256_of(blob);
        let n = layout
            .write_blob(&digest, Some(blob.len() as u64), chunks(blob, 100_000))
            .await
            .unwrap();
        assert_eq!(n, blob.len() as u64);
    }
    layout
        .write_manifest(&img.manifest, MANIFEST, Some(tag))
        .await
        .unwrap()
}

async fn read_all(layout: &OciLayout, digest: &Digest) -> Result<Vec<u8>, Error> {
    let mut reader = layout.read_blob(digest).await?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await?;
    Ok(out)
}

#[tokio::test]
async fn round_trip_through_a_reopened_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("img");
    let img = image(7);
    {
        let layout = OciLayout::create(&root).await.unwrap();
        let desc = write_image(&layout, &img, "v1").await;
        assert_eq!(
            desc.digest().to_string(),
            Digest::sha256_of(&img.manifest).to_string()
        );
        assert_eq!(desc.size(), img.manifest.len() as u64);
    }

    // The files skopeo and umoci expect.
    assert_eq!(
        std::fs::read_to_string(root.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        index["manifests"][0]["annotations"][REF_NAME_ANNOTATION],
        "v1"
    );
    assert_eq!(index["manifests"][0]["mediaType"], MANIFEST);
    let mut want: Vec<String> = img
        .layers
        .iter()
        .chain([&img.config, &img.manifest])
        .map(|b| format!("blobs/sha256/{}", Digest::sha256_of(b).hex()))
        .chain(["index.json".to_owned(), "oci-layout".to_owned()])
        .collect();
    want.sort();
    assert_eq!(files_under(&root), want, "stray or missing files");

    let layout = OciLayout::open(&root).await.unwrap();
    let desc = layout.resolve("v1").await.unwrap();
    let manifest_digest = Digest::sha256_of(&img.manifest);
    assert_eq!(desc.digest().to_string(), manifest_digest.to_string());
    let (by_tag, bytes) = layout.read_manifest("v1").await.unwrap();
    assert_eq!(by_tag, desc);
    assert_eq!(bytes, img.manifest, "manifest bytes must be kept exactly");
    let by_digest = layout.resolve(&manifest_digest.to_string()).await.unwrap();
    assert_eq!(by_digest.digest(), desc.digest());

    for blob in img.layers.iter().chain([&img.config]) {
        let digest = Digest::sha256_of(blob);
        assert!(layout.blob_exists(&digest).await.unwrap());
        let back = read_all(&layout, &digest).await.unwrap();
        assert_eq!(Digest::sha256_of(&back), digest);
        assert_eq!(&back, blob);
    }
    let missing = Digest::sha256_of(b"not there");
    assert!(!layout.blob_exists(&missing).await.unwrap());
    assert_eq!(
        layout.read_blob(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = layout.resolve("v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("\"v2\""), "{err}");
}

#[tokio::test]
async fn digest_not_in_the_index_resolves_from_its_blob() {
    // A platform manifest of an index is a blob, not an index.json entry.
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let img = image(3);
    write_image(&layout, &img, "child").await;
    layout.remove_ref("child").await.unwrap();
    let digest = Digest::sha256_of(&img.manifest);
    let desc = layout.resolve(&digest.to_string()).await.unwrap();
    assert_eq!(desc.media_type().to_string(), MANIFEST);
    assert_eq!(desc.size(), img.manifest.len() as u64);
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST}","digest":"{digest}","size":{}}}]}}"#,
        img.manifest.len()
    );
    let idx = layout
        .write_manifest(index.as_bytes(), INDEX, None)
        .await
        .unwrap();
    let resolved = layout.resolve(idx.digest().as_ref()).await.unwrap();
    assert_eq!(
        resolved.media_type().to_string(),
        INDEX,
        "sniffed from `manifests`"
    );
    assert!(layout.list_refs().await.unwrap().is_empty());
}

fn leftovers(root: &Path) -> Vec<String> {
    files_under(root)
        .into_iter()
        .filter(|f| f != "index.json" && f != "oci-layout")
        .collect()
}

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

#[tokio::test]
async fn tags_update_index_json_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let a = layout
        .write_manifest(&image(1).manifest, MANIFEST, Some("v1"))
        .await
        .unwrap();
    let b = layout
        .write_manifest(&image(2).manifest, MANIFEST, Some("v2"))
        .await
        .unwrap();
    let refs = layout.list_refs().await.unwrap();
    let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["v1", "v2"]);
    assert_eq!(refs[0].1.digest(), a.digest());
    assert_eq!(refs[1].1.digest(), b.digest());

    // Re-pointing v1 replaces its entry; v2 stays.
    layout.set_ref("v1", &b).await.unwrap();
    let refs = layout.list_refs().await.unwrap();
    assert_eq!(refs.len(), 2);
    assert!(refs.iter().all(|(_, d)| d.digest() == b.digest()));
    assert_eq!(layout.resolve("v1").await.unwrap().digest(), b.digest());
    assert_eq!(layout.index().await.unwrap().manifests().len(), 2);

    // Concurrent updates, from clones and from a second handle (another
    // lock in this process, as another process would have): none is lost.
    let other = OciLayout::open(dir.path()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let l = if i % 2 == 0 {
            layout.clone()
        } else {
            other.clone()
        };
        let d = if i % 3 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            l.set_ref(&format!("t{i}"), &d).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let refs = layout.list_refs().await.unwrap();
    assert_eq!(refs.len(), 18, "{refs:?}");
    for i in 0..16 {
        let d = layout.resolve(&format!("t{i}")).await.unwrap();
        let want = if i % 3 == 0 { a.digest() } else { b.digest() };
        assert_eq!(d.digest(), want);
    }
    assert_eq!(
        leftovers(dir.path())
            .iter()
            .filter(|f| !f.starts_with("blobs/"))
            .count(),
        0
    );

    assert_eq!(
        layout.remove_ref("v2").await.unwrap().unwrap().digest(),
        b.digest()
    );
    assert!(layout.remove_ref("v2").await.unwrap().is_none());
    assert_eq!(
        layout.resolve("v2").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        layout.set_ref("bad tag", &a).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn open_refuses_what_is_not_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let err = OciLayout::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("not an OCI image layout"), "{err}");

    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .unwrap();
    let err = OciLayout::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    // create() on an existing layout keeps its index.
    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let m = image(4).manifest;
    let d = Digest::sha256_of(&m);
    std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    std::fs::write(dir.path().join("blobs/sha256").join(d.hex()), &m).unwrap();
    // As skopeo writes it: no index mediaType.
    std::fs::write(
        dir.path().join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MANIFEST}","digest":"{d}","size":{},"annotations":{{"{REF_NAME_ANNOTATION}":"latest"}}}}]}}"#,
            m.len()
        ),
    )
    .unwrap();
    let layout = OciLayout::create(dir.path()).await.unwrap();
    let (_, bytes) = layout.read_manifest("latest").await.unwrap();
    assert_eq!(bytes, m);
}

#[tokio::test]
async fn copies_between_layouts_through_the_traits() {
    let dir = tempfile::tempdir().unwrap();
    let src = OciLayout::create(dir.path().join("src")).await.unwrap();
    let img = image(33);
    write_image(&src, &img, "v1").await;
    let dst = OciLayout::create(dir.path().join("dst")).await.unwrap();

    let source: &dyn ImageSource = &src;
    let dest: &dyn ImageDestination = &dst;
    let v1: TagOrDigest = "v1".parse().unwrap();
    let desc = source.resolve(&v1).await.unwrap();
    let manifest = source.fetch_manifest(&desc).await.unwrap();
    let image = manifest.as_image().unwrap();
    let blobs: Vec<CheckedDescriptor> = std::iter::once(image.config())
        .chain(image.layers())
        .map(|d| CheckedDescriptor::try_from(d).unwrap())
        .collect();
    for b in &blobs {
        assert!(!dest.blob_exists(b).await.unwrap());
        let stream = source.fetch_blob(b).await.unwrap();
        let content = oci_dist::content::OnceSource::new(stream);
        dest.push_blob(b, &content).await.unwrap();
        assert!(dest.blob_exists(b).await.unwrap());
    }
    assert!(!dest.manifest_exists(&desc).await.unwrap());
    dest.push_manifest(&manifest, Some(&Tag::new("copied").unwrap()))
        .await
        .unwrap();
    assert!(dest.manifest_exists(&desc).await.unwrap());

    let (back_desc, back) = dst.read_manifest("copied").await.unwrap();
    assert_eq!(back, img.manifest);
    assert_eq!(back_desc.digest(), desc.descriptor().digest());
    for b in &blobs {
        let digest = b.digest().clone();
        let got: Vec<Bytes> = dst
            .fetch_blob(b)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(Digest::sha256_of(&got.concat()), digest);
    }
    assert_eq!(
        source
            .resolve(&format!("@{}", desc.digest()).parse().unwrap())
            .await
            .unwrap()
            .digest(),
        desc.digest()
    );
}

#[tokio::test]
async fn an_untagged_copy_into_a_layout_lists_its_root_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let src = OciLayout::create(dir.path().join("src")).await.unwrap();
    let img = image(34);
    let image_desc = write_image(&src, &img, "v1").await;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        image_desc.digest(),
        image_desc.size()
    );
    let index_desc = src
        .write_manifest(
            index.as_bytes(),
            "application/vnd.oci.image.index.v1+json",
            Some("all"),
        )
        .await
        .unwrap();
    let dst = OciLayout::create(dir.path().join("dst")).await.unwrap();
    let opts = oci_dist::copy::CopyOptions::default();
    let by_digest = format!("@{}", index_desc.digest());
    for _ in 0..2 {
        let report = oci_dist::copy::copy(&src, &by_digest, &dst, None, &opts)
            .await
            .unwrap();
        assert_eq!(report.digest.to_string(), index_desc.digest().to_string());
        // The root is listed once, without a tag; its image is not.
        let listed = dst.index().await.unwrap().manifests().clone();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].digest(), index_desc.digest());
        assert_eq!(
            listed[0].media_type().to_string(),
            "application/vnd.oci.image.index.v1+json"
        );
        assert!(dst.list_refs().await.unwrap().is_empty());
    }
    // A tagged copy is listed under its tag only.
    let tagged = OciLayout::create(dir.path().join("tagged")).await.unwrap();
    oci_dist::copy::copy(&src, "v1", &tagged, "v1", &opts)
        .await
        .unwrap();
    let listed = tagged.index().await.unwrap().manifests().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(tagged.list_refs().await.unwrap()[0].0, "v1");
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

/// skopeo (containers/image) reads what we write and writes what we read.
#[tokio::test]
async fn skopeo_interoperates() {
    let Ok(skopeo) = which("skopeo") else {
        eprintln!("skopeo not installed (apt-get install skopeo): interop test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    let layout = OciLayout::create(&ours).await.unwrap();
    let img = image(44);
    write_image(&layout, &img, "v1").await;
    let out = std::process::Command::new(&skopeo)
        .args(["--insecure-policy", "copy", "--quiet", "--preserve-digests"])
        .arg("--dest-oci-accept-uncompressed-layers")
        .arg(format!("oci:{}:v1", ours.display()))
        .arg(format!("oci:{}:copied", theirs.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = OciLayout::open(&theirs).await.unwrap();
    let (desc, bytes) = back.read_manifest("copied").await.unwrap();
    assert_eq!(bytes, img.manifest, "skopeo changed the manifest");
    assert_eq!(
        desc.digest().to_string(),
        Digest::sha256_of(&img.manifest).to_string()
    );
    let manifest = oci_dist::Manifest::new(bytes, Some(MANIFEST)).unwrap();
    let layers = manifest.as_image().unwrap().layers();
    assert_eq!(layers.len(), 2);
    for (desc, original) in layers.iter().zip(&img.layers) {
        assert_eq!(
            desc.digest().to_string(),
            Digest::sha256_of(original).to_string()
        );
        let digest = oci_dist::descriptor::digest_of(desc).unwrap();
        assert_eq!(&read_all(&back, &digest).await.unwrap(), original);
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
