//! The raw baselines and the bench's own registry calls, written straight on
//! `registry_core::HttpClient`: the fastest a client can go against this
//! registry (its own ingest and egress limits), plus seeding and checks.
//!
//! - push: every blob concurrently as a streamed monolithic upload
//!   (`POST /blobs/uploads/` then one `PUT ?digest=` with `Content-Length`,
//!   the body read from the layout file), then the manifest;
//! - pull: the manifest, then every blob concurrently with streamed `GET`s
//!   into files, hashed while writing.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{StreamExt as _, TryStreamExt as _};
use http::{Method, Request, StatusCode, header};
use registry_core::{Body, HttpClient};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::image::{self, Blob, Image};

/// Manifest media types we accept on reads.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// Read buffer for streamed uploads and write buffer for downloads.
const CHUNK: usize = 256 * 1024;

/// A registry at `http://HOST:PORT`, spoken to with plain HTTP.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    client: HttpClient,
    base: String,
}

/// A small image (one empty gzip layer) for the tag-listing seed and trial copies.
#[derive(Debug, Clone)]
pub(crate) struct SmallImage {
    config: Bytes,
    layer: Bytes,
    /// The manifest bytes.
    pub(crate) manifest: Bytes,
    /// The manifest digest.
    pub(crate) digest: String,
}

impl Raw {
    /// A client for `host` (`127.0.0.1:PORT`).
    pub(crate) fn new(host: &str) -> Result<Raw, String> {
        let client = HttpClient::builder()
            .user_agent("crctl-bench-raw")
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Raw {
            client,
            base: format!("http://{host}"),
        })
    }

    async fn send(&self, req: Request<Body>, what: &str) -> Result<http::Response<Body>, String> {
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp
            .into_body()
            .collect_bytes(64 * 1024)
            .await
            .unwrap_or_default();
        Err(format!(
            "{what}: HTTP {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ))
    }

    /// Uploads one blob: `POST` a session, then one `PUT ?digest=` with the
    /// whole body and its `Content-Length`.
    pub(crate) async fn upload(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        body: Body,
    ) -> Result<(), String> {
        let what = format!("uploading {digest} to {repo}");
        let req = Request::post(format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty())
            .expect("valid request");
        let resp = self.send(req, &what).await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(format!("{what}: POST answered {}", resp.status()));
        }
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("{what}: POST answered without Location"))?;
        let mut url = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(digest);
        let req = Request::put(url)
            .header(header::CONTENT_LENGTH, size)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .expect("valid request");
        let resp = self.send(req, &what).await?;
        if resp.status() != StatusCode::CREATED {
            return Err(format!("{what}: PUT answered {}", resp.status()));
        }
        Ok(())
    }

    /// Uploads a blob streamed from a file.
    pub(crate) async fn upload_file(
        &self,
        repo: &str,
        blob: &Blob,
        path: &Path,
    ) -> Result<(), String> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK);
        self.upload(repo, &blob.digest, blob.size, Body::from_stream(stream))
            .await
    }

    /// `PUT`s a manifest under `reference`.
    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<(), String> {
        let req = Request::put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header(header::CONTENT_TYPE, media_type)
            .body(Body::full(bytes))
            .expect("valid request");
        self.send(req, &format!("putting manifest {repo}:{reference}"))
            .await
            .map(drop)
    }

    /// The raw push baseline: every blob of `image` concurrently, then the
    /// manifest under [`image::TAG`].
    pub(crate) async fn push(&self, image: &Image, repo: &str) -> Result<(), String> {
        let mut tasks = Vec::new();
        for blob in image.blobs() {
            let this = self.clone();
            let blob = blob.clone();
            let path = image.blob_path(&blob.digest);
            let repo = repo.to_owned();
            tasks.push(tokio::spawn(async move {
                this.upload_file(&repo, &blob, &path).await
            }));
        }
        for task in tasks {
            task.await.map_err(|e| format!("upload task: {e}"))??;
        }
        let manifest = Bytes::from(image.manifest_bytes()?);
        self.put_manifest(repo, image::TAG, image::MANIFEST_TYPE, manifest)
            .await
    }

    /// The raw pull baseline: the manifest of `repo:TAG`, then every blob
    /// concurrently into `dest/blobs/sha256/`, each hashed while written and
    /// checked against its digest. Returns the manifest digest.
    ///
    /// With `durable`, each blob file is `fsync`'d once written, then the
    /// blob directory: the least a layout that survives a crash must do.
    pub(crate) async fn pull(
        &self,
        repo: &str,
        dest: &Path,
        durable: bool,
    ) -> Result<String, String> {
        let req = Request::get(format!("{}/v2/{repo}/manifests/{}", self.base, image::TAG))
            .header(header::ACCEPT, ACCEPT)
            .body(Body::empty())
            .expect("valid request");
        let resp = self.send(req, &format!("getting manifest {repo}")).await?;
        let bytes = resp
            .into_body()
            .collect_bytes(4 << 20)
            .await
            .map_err(|e| format!("reading manifest of {repo}: {e}"))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let manifest: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("manifest of {repo} is not JSON: {e}"))?;
        let mut blobs = vec![manifest["config"].clone()];
        blobs.extend(manifest["layers"].as_array().cloned().unwrap_or_default());
        let mut tasks = Vec::new();
        for desc in blobs {
            let blob_digest = desc["digest"]
                .as_str()
                .ok_or_else(|| format!("manifest of {repo} has a descriptor without digest"))?
                .to_owned();
            let path = Image::blob_path_in(dest, &blob_digest);
            let this = self.clone();
            let repo = repo.to_owned();
            tasks.push(tokio::spawn(async move {
                this.download(&repo, &blob_digest, &path, durable).await
            }));
        }
        for task in tasks {
            task.await.map_err(|e| format!("download task: {e}"))??;
        }
        let path = Image::blob_path_in(dest, &digest);
        tokio::fs::write(&path, &bytes)
            .await
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        if durable {
            let dir = path.parent().expect("blob paths have a parent").to_owned();
            tokio::task::spawn_blocking(move || {
                std::fs::File::open(&path)?.sync_all()?;
                std::fs::File::open(&dir)?.sync_all()
            })
            .await
            .map_err(|e| format!("syncing task: {e}"))?
            .map_err(|e| format!("syncing {}: {e}", dest.display()))?;
        }
        Ok(digest)
    }

    /// Streams one blob into `path`, hashing while writing.
    async fn download(
        &self,
        repo: &str,
        digest: &str,
        path: &PathBuf,
        durable: bool,
    ) -> Result<(), String> {
        let what = format!("getting blob {digest} from {repo}");
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let req = Request::get(format!("{}/v2/{repo}/blobs/{digest}", self.base))
            .body(Body::empty())
            .expect("valid request");
        let resp = self.send(req, &what).await?;
        let file = tokio::fs::File::create(path)
            .await
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        let mut out = tokio::io::BufWriter::with_capacity(4 * CHUNK, file);
        let mut hasher = Sha256::new();
        let mut stream = resp.into_body().into_data_stream();
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| format!("{what}: {e}"))?
        {
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        out.flush()
            .await
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        if durable {
            out.into_inner()
                .sync_all()
                .await
                .map_err(|e| format!("syncing {}: {e}", path.display()))?;
        }
        let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
        if actual != digest {
            return Err(format!("{what}: content hashes to {actual}"));
        }
        Ok(())
    }

    /// Mounts blob `digest` from repository `from` into `repo` (one `POST`
    /// answered `201 Created`).
    pub(crate) async fn mount(&self, repo: &str, digest: &str, from: &str) -> Result<(), String> {
        let what = format!("mounting {digest} from {from} into {repo}");
        let req = Request::post(format!(
            "{}/v2/{repo}/blobs/uploads/?mount={digest}&from={from}",
            self.base
        ))
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid request");
        let resp = self.send(req, &what).await?;
        if resp.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(format!("{what}: answered {}", resp.status()))
        }
    }

    /// `GET`s `path` (e.g. `/v2/_catalog`) and parses the JSON answer.
    pub(crate) async fn get_json(&self, path: &str) -> Result<serde_json::Value, String> {
        let req = Request::get(format!("{}{path}", self.base))
            .body(Body::empty())
            .expect("valid request");
        let resp = self.send(req, &format!("GET {path}")).await?;
        let bytes = resp
            .into_body()
            .collect_bytes(16 << 20)
            .await
            .map_err(|e| format!("reading GET {path}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {path}: not JSON: {e}"))
    }

    /// The digest the registry reports for `repo:reference` (`HEAD`).
    pub(crate) async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<String, String> {
        let req = Request::builder()
            .method(Method::HEAD)
            .uri(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header(header::ACCEPT, ACCEPT)
            .body(Body::empty())
            .expect("valid request");
        let resp = self
            .send(req, &format!("HEAD manifest {repo}:{reference}"))
            .await?;
        resp.headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("HEAD manifest {repo}:{reference}: no Docker-Content-Digest"))
    }

    /// Pushes [`SmallImage`] into `repo` under `tag`.
    pub(crate) async fn push_small(
        &self,
        small: &SmallImage,
        repo: &str,
        tag: &str,
    ) -> Result<(), String> {
        for data in [&small.config, &small.layer] {
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
            self.upload(repo, &digest, data.len() as u64, Body::full(data.clone()))
                .await?;
        }
        self.put_manifest(repo, tag, image::MANIFEST_TYPE, small.manifest.clone())
            .await
    }

    /// Tags [`SmallImage`] (already in `repo`) `count` times (`t00000`…),
    /// `concurrency` requests at a time.
    pub(crate) async fn seed_tags(
        &self,
        small: &SmallImage,
        repo: &str,
        count: usize,
        concurrency: usize,
    ) -> Result<(), String> {
        futures_util::stream::iter(0..count)
            .map(|i| async move {
                let tag = tag_name(i);
                self.put_manifest(repo, &tag, image::MANIFEST_TYPE, small.manifest.clone())
                    .await
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }
}

/// The `i`-th seeded tag.
pub(crate) fn tag_name(i: usize) -> String {
    format!("t{i:05}")
}

impl SmallImage {
    /// An image whose only layer is an empty tar, gzip-compressed.
    pub(crate) fn new() -> SmallImage {
        use std::io::Write as _;
        let tar = vec![0u8; 1024];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("in memory");
        let layer = Bytes::from(gz.finish().expect("in memory"));
        let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
        let config = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }))
            .expect("JSON"),
        );
        let blob = |data: &Bytes, media_type: &str| Blob {
            digest: format!("sha256:{}", hex::encode(Sha256::digest(data))),
            size: data.len() as u64,
            media_type: media_type.to_owned(),
        };
        let manifest = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": image::MANIFEST_TYPE,
                "config": image::descriptor(&blob(&config, image::CONFIG_TYPE)),
                "layers": [image::descriptor(&blob(&layer, image::LAYER_TYPE))],
            }))
            .expect("JSON"),
        );
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&manifest)));
        SmallImage {
            config,
            layer,
            manifest,
            digest,
        }
    }
}
