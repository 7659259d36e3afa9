//! The bench image: an OCI image layout with `layers` layers of `layer_mib`
//! MiB of random bytes, each a tar holding one file, stored gzip-compressed
//! (`application/vnd.oci.image.layer.v1.tar+gzip`) so that no tool
//! recompresses it on push.
//!
//! Generated once per shape under `target/bench/image/<L>x<M>MiB/` with a
//! seeded RNG (the same bytes every time), streaming (constant memory) and
//! hashing while writing. `bench-image.json` is written last and marks a
//! complete layout; it is regenerated only when missing or damaged.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// The tag (`org.opencontainers.image.ref.name`) of the bench image.
pub(crate) const TAG: &str = "bench";
/// OCI image manifest media type.
pub(crate) const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config media type.
pub(crate) const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip layer media type.
pub(crate) const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MARKER: &str = "bench-image.json";
const MIB: u64 = 1024 * 1024;

/// One content-addressed blob of the layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Blob {
    /// `sha256:<hex>`.
    pub(crate) digest: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Media type of the descriptor that points at it.
    pub(crate) media_type: String,
}

/// A complete bench image layout on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Image {
    /// The layout directory.
    #[serde(skip)]
    pub(crate) dir: PathBuf,
    /// The image manifest.
    pub(crate) manifest: Blob,
    /// The image config.
    pub(crate) config: Blob,
    /// The layers, in order.
    pub(crate) layers: Vec<Blob>,
}

impl Image {
    /// `blobs/sha256/<hex>` of a digest in `dir`.
    pub(crate) fn blob_path_in(dir: &Path, digest: &str) -> PathBuf {
        let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        dir.join("blobs").join(alg).join(hex)
    }

    /// Path of one of this layout's blobs.
    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        Self::blob_path_in(&self.dir, digest)
    }

    /// The config and the layers (what a push uploads before the manifest).
    pub(crate) fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.config).chain(&self.layers)
    }

    /// Bytes of all blobs and the manifest.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.blobs().map(|b| b.size).sum::<u64>() + self.manifest.size
    }

    /// The skopeo / crctl reference of this layout: `oci:DIR:TAG`.
    pub(crate) fn oci_ref(&self) -> String {
        format!("oci:{}:{TAG}", self.dir.display())
    }

    /// Reads the manifest bytes.
    pub(crate) fn manifest_bytes(&self) -> Result<Vec<u8>, String> {
        let path = self.blob_path(&self.manifest.digest);
        std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    }

    /// Whether every blob exists with its size (a cheap integrity check).
    fn intact(&self) -> bool {
        self.blobs()
            .chain(std::iter::once(&self.manifest))
            .all(|b| std::fs::metadata(self.blob_path(&b.digest)).is_ok_and(|m| m.len() == b.size))
    }
}

/// The layout for this shape under `root` (`target/bench/image`), generated
/// when missing.
pub(crate) fn ensure(root: &Path, layers: usize, layer_mib: u64) -> Result<Image, String> {
    let dir = root.join(format!("{layers}x{layer_mib}MiB"));
    if let Some(image) = load(&dir) {
        return Ok(image);
    }
    let tmp = root.join(format!("{layers}x{layer_mib}MiB.tmp"));
    for d in [&dir, &tmp] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(|e| format!("removing {}: {e}", d.display()))?;
        }
    }
    eprintln!(
        "bench: generating the test image ({layers} gzip layers of {layer_mib} MiB random bytes) in {}",
        dir.display()
    );
    let start = Instant::now();
    let mut image = generate(&tmp, layers, layer_mib)?;
    std::fs::rename(&tmp, &dir)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), dir.display()))?;
    image.dir = dir;
    eprintln!(
        "bench: test image ready in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(image)
}

/// The layout in `dir` when complete.
pub(crate) fn load(dir: &Path) -> Option<Image> {
    let text = std::fs::read(dir.join(MARKER)).ok()?;
    let mut image: Image = serde_json::from_slice(&text).ok()?;
    image.dir = dir.to_path_buf();
    image.intact().then_some(image)
}

fn generate(dir: &Path, layers: usize, layer_mib: u64) -> Result<Image, String> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| format!("creating {}: {e}", blobs.display()))?;

    // Layers in parallel, one thread per core.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<(Blob, String), String>>> = vec![None; layers];
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..threads.min(layers) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= layers {
                        break;
                    }
                    let r = write_layer(dir, i, layer_mib * MIB);
                    slots.lock().expect("no panics while holding the lock")[i] = Some(r);
                }
            });
        }
    });
    let mut layer_blobs = Vec::with_capacity(layers);
    let mut diff_ids = Vec::with_capacity(layers);
    for r in results {
        let (blob, diff_id) = r.expect("every layer was generated")?;
        layer_blobs.push(blob);
        diff_ids.push(diff_id);
    }

    let history: Vec<_> = (0..layers)
        .map(|i| json!({"created_by": format!("cargo xtask bench: layer {i}")}))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = write_json_blob(dir, &config, CONFIG_TYPE)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(&config),
        "layers": layer_blobs.iter().map(descriptor).collect::<Vec<_>>(),
    });
    let manifest = write_json_blob(dir, &manifest, MANIFEST_TYPE)?;
    let mut index_entry = descriptor(&manifest);
    index_entry["annotations"] = json!({"org.opencontainers.image.ref.name": TAG});
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [index_entry],
    });
    write_file(
        dir,
        "index.json",
        &serde_json::to_vec(&index).expect("JSON"),
    )?;
    write_file(dir, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;

    let image = Image {
        dir: dir.to_path_buf(),
        manifest,
        config,
        layers: layer_blobs,
    };
    let marker = serde_json::to_vec_pretty(&image).expect("JSON");
    write_file(dir, MARKER, &marker)?;
    Ok(image)
}

/// An OCI descriptor for a blob.
pub(crate) fn descriptor(blob: &Blob) -> serde_json::Value {
    json!({"mediaType": blob.media_type, "digest": blob.digest, "size": blob.size})
}

fn write_file(dir: &Path, name: &str, data: &[u8]) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, data).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn write_json_blob(
    dir: &Path,
    value: &serde_json::Value,
    media_type: &str,
) -> Result<Blob, String> {
    let data = serde_json::to_vec(value).expect("JSON");
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
    std::fs::write(Image::blob_path_in(dir, &digest), &data)
        .map_err(|e| format!("writing blob {digest}: {e}"))?;
    Ok(Blob {
        digest,
        size: data.len() as u64,
        media_type: media_type.to_owned(),
    })
}

/// Writes layer `index` (a gzip tar holding one file of `size` random
/// bytes) and returns its blob and its diff ID (digest of the tar).
fn write_layer(dir: &Path, index: usize, size: u64) -> Result<(Blob, String), String> {
    let tmp = dir.join(format!("layer-{index}.partial"));
    let file = File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let io = |e: std::io::Error| format!("writing layer {index}: {e}");
    let compressed = HashWriter::new(BufWriter::with_capacity(1 << 20, file));
    let gz = GzEncoder::new(compressed, Compression::fast());
    let mut tar = tar::Builder::new(HashWriter::new(gz));
    let mut header = tar::Header::new_gnu();
    header.set_path(format!("layer-{index}.bin")).map_err(io)?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let rng = SmallRng::seed_from_u64(0x6265_6e63_6800 + index as u64);
    tar.append(&header, RandomReader { rng, left: size })
        .map_err(io)?;
    let uncompressed = tar.into_inner().map_err(io)?;
    let (gz, diff_id, _) = uncompressed.finish();
    let compressed = gz.finish().map_err(io)?;
    let (mut out, digest, size) = compressed.finish();
    out.flush().map_err(io)?;
    drop(out);
    std::fs::rename(&tmp, Image::blob_path_in(dir, &digest)).map_err(io)?;
    Ok((
        Blob {
            digest,
            size,
            media_type: LAYER_TYPE.to_owned(),
        },
        diff_id,
    ))
}

/// `left` bytes from a seeded RNG.
struct RandomReader {
    rng: SmallRng,
    left: u64,
}

impl Read for RandomReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.rng.fill_bytes(&mut buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// A writer that hashes (SHA-256) and counts what passes through.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashWriter<W> {
    fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, `sha256:<hex>` and the byte count.
    fn finish(self) -> (W, String, u64) {
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        (self.inner, digest, self.bytes)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn sha256_file(path: &Path) -> String {
        let data = std::fs::read(path).unwrap();
        format!("sha256:{}", hex::encode(Sha256::digest(&data)))
    }

    #[test]
    fn generated_layout_is_valid_reproducible_and_cached() {
        let root = tempfile::tempdir().unwrap();
        let image = ensure(root.path(), 2, 1).unwrap();
        assert_eq!(image.dir, root.path().join("2x1MiB"));
        assert_eq!(image.layers.len(), 2);

        // Every blob hashes to its digest and has its size.
        for blob in image.blobs().chain([&image.manifest]) {
            let path = image.blob_path(&blob.digest);
            assert_eq!(sha256_file(&path), blob.digest);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), blob.size);
        }

        // Each layer is a gzip tar with one file of 1 MiB; the config lists
        // the digests of the uncompressed tars.
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(image.blob_path(&image.config.digest)).unwrap())
                .unwrap();
        for (i, layer) in image.layers.iter().enumerate() {
            assert_eq!(layer.media_type, LAYER_TYPE);
            let file = File::open(image.blob_path(&layer.digest)).unwrap();
            let mut tar_bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut tar_bytes)
                .unwrap();
            let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar_bytes)));
            assert_eq!(config["rootfs"]["diff_ids"][i], diff_id);
            let mut archive = tar::Archive::new(tar_bytes.as_slice());
            let entries: Vec<(String, u64)> = archive
                .entries()
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.path().unwrap().display().to_string(), e.size())
                })
                .collect();
            assert_eq!(entries, vec![(format!("layer-{i}.bin"), MIB)]);
        }
        assert_ne!(image.layers[0].digest, image.layers[1].digest);

        // index.json names the manifest with the tag.
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(image.dir.join("index.json")).unwrap()).unwrap();
        assert_eq!(
            index["manifests"][0]["digest"],
            image.manifest.digest.as_str()
        );
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            TAG
        );

        // A second call reuses it; a fresh generation yields the same bytes.
        let marker = image.dir.join(MARKER);
        let modified = std::fs::metadata(&marker).unwrap().modified().unwrap();
        let again = ensure(root.path(), 2, 1).unwrap();
        assert_eq!(again.manifest.digest, image.manifest.digest);
        assert_eq!(
            std::fs::metadata(&marker).unwrap().modified().unwrap(),
            modified
        );
        let other = tempfile::tempdir().unwrap();
        assert_eq!(
            ensure(other.path(), 2, 1).unwrap().manifest.digest,
            image.manifest.digest
        );

        // A damaged layout is regenerated.
        std::fs::write(image.blob_path(&image.layers[1].digest), b"short").unwrap();
        let repaired = ensure(root.path(), 2, 1).unwrap();
        assert_eq!(repaired.manifest.digest, image.manifest.digest);
        assert_eq!(
            sha256_file(&repaired.blob_path(&image.layers[1].digest)),
            image.layers[1].digest
        );
    }
}
