//! Push: monolithic, chunked and streamed uploads, cross-repository
//! mount, manifests by tag and by digest, an image with no layers.

use bytes::Bytes;
use facade::core::Digest;
use facade::oci::image::ImageBuilder;
use facade::oci::media_type::OCI_CONFIG;
use facade::oci::{Client, Mount, PushMethod};

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

/// The report group of every check here.
const GROUP: &str = "push";
/// The repository the checks push to.
const REPO: &str = "conformance/push";
/// The repository the mount check mounts into.
const MOUNT_TARGET: &str = "conformance/mounted";

pub(crate) async fn run(client: &Client, url: &str, out: &mut Vec<Outcome>) {
    let repo = client.with_segment(REPO);
    check(
        out,
        GROUP,
        "monolithic upload (POST + PUT)",
        Box::pin(monolithic_upload(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "chunked upload (PATCH + PUT)",
        Box::pin(chunked_upload(&repo, url)),
    )
    .await;
    check(
        out,
        GROUP,
        "streamed upload of unknown length",
        Box::pin(streamed_upload(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "cross-repository mount",
        Box::pin(cross_repository_mount(client, &repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "manifest by tag",
        Box::pin(manifest_by_tag(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "manifest by digest",
        Box::pin(manifest_by_digest(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "image with no layers",
        Box::pin(image_without_layers(&repo)),
    )
    .await;
}

/// Reads the blob `digest` back from `repo` whole.
async fn read_back(repo: &Client, digest: &Digest) -> Result<Bytes, String> {
    repo.get_blob(digest)
        .await
        .map_err(e("get_blob"))?
        .bytes(16 << 20)
        .await
        .map_err(e("read"))
}

/// `Err` unless the blob `digest` in `repo` holds exactly `data`.
async fn ensure_reads_back(repo: &Client, digest: &Digest, data: &Bytes) -> Result<(), String> {
    ensure(read_back(repo, digest).await? == *data, || {
        "content differs".into()
    })
}

/// Pushes `data` to `repo` as one blob of known size; its digest and how
/// it was pushed.
async fn push_bytes(repo: &Client, data: &Bytes) -> Result<(Digest, PushMethod), String> {
    let digest = Digest::sha256_of(data);
    let how = repo
        .push_blob(data, &digest, data.len() as u64)
        .await
        .map_err(e("push_blob"))?;
    Ok((digest, how))
}

/// Checks that a blob of known size is pushed monolithically (POST +
/// PUT) by default and reads back the same.
async fn monolithic_upload(repo: &Client) -> Result<(), String> {
    let data = fixtures::bytes(300_000, 2);
    let (digest, how) = push_bytes(repo, &data).await?;
    ensure(how == PushMethod::Monolithic, || {
        format!("pushed by {how:?}")
    })?;
    ensure_reads_back(repo, &digest, &data).await
}

/// Checks that a client with chunked uploads (64 KiB chunks) pushes in
/// chunks (PATCH + PUT) and the blob reads back the same.
async fn chunked_upload(repo: &Client, url: &str) -> Result<(), String> {
    let chunked = Client::builder(url)
        .chunked_uploads(true)
        .chunk_size(64 * 1024)
        .build()
        .map_err(e("client"))?
        .with_segment(REPO);
    let data = fixtures::bytes(200_000, 3);
    let (digest, how) = push_bytes(&chunked, &data).await?;
    ensure(how == PushMethod::Chunked, || format!("pushed by {how:?}"))?;
    ensure_reads_back(repo, &digest, &data).await
}

/// Checks that a stream of unknown length is pushed, its digest computed
/// on the way, and reads back the same.
async fn streamed_upload(repo: &Client) -> Result<(), String> {
    let data = fixtures::bytes(150_000, 4);
    let parts: Vec<Result<Bytes, facade::core::Error>> = data
        .chunks(10_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let digest = repo
        .push_blob_stream(Box::pin(futures_util::stream::iter(parts)), None)
        .await
        .map_err(e("push_blob_stream"))?;
    ensure(digest == Digest::sha256_of(&data), || {
        "digest differs".into()
    })?;
    ensure_reads_back(repo, &digest, &data).await
}

/// Checks that a blob pushed to `repo` is mounted (not uploaded again)
/// into another repository and reads back the same there.
async fn cross_repository_mount(client: &Client, repo: &Client) -> Result<(), String> {
    let data = fixtures::bytes(50_000, 5);
    let (digest, _) = push_bytes(repo, &data).await?;
    let other = client.with_segment(MOUNT_TARGET);
    let m = other
        .mount_blob(&digest, REPO)
        .await
        .map_err(e("mount_blob"))?;
    ensure(matches!(m, Mount::Mounted), || {
        format!("not mounted: {m:?}")
    })?;
    ensure_reads_back(&other, &digest, &data).await
}

/// Checks that an image pushed under a tag resolves (HEAD) to its digest.
async fn manifest_by_tag(repo: &Client) -> Result<(), String> {
    let img = fixtures::image(1, 6);
    repo.push_image("tagged", &img)
        .await
        .map_err(e("push_image"))?;
    let d = repo.get_digest("tagged").await.map_err(e("get_digest"))?;
    ensure(&d == img.digest(), || format!("{d} != {}", img.digest()))
}

/// Checks that a manifest put by digest keeps that digest and is read
/// back byte for byte.
async fn manifest_by_digest(repo: &Client) -> Result<(), String> {
    let img = fixtures::image(1, 7);
    // Blobs first (via a throwaway tag-less copy), then the manifest by digest.
    repo.push_image("bydigest-tmp", &img)
        .await
        .map_err(e("push_image"))?;
    let pushed = repo
        .put_manifest(img.digest(), img.manifest())
        .await
        .map_err(e("put_manifest"))?;
    ensure(&pushed.digest == img.digest(), || "digest differs".into())?;
    let m = repo
        .get_manifest(img.digest())
        .await
        .map_err(e("get_manifest"))?;
    ensure(m.bytes() == img.manifest().bytes(), || {
        "bytes differ".into()
    })
}

/// Checks that an image with a config and no layers is pushed and read
/// back with zero layers.
async fn image_without_layers(repo: &Client) -> Result<(), String> {
    let empty = ImageBuilder::new()
        .config_bytes(OCI_CONFIG, fixtures::config("amd64", "empty"))
        .build()
        .map_err(e("build"))?;
    repo.push_image("empty", &empty)
        .await
        .map_err(e("push_image"))?;
    let m = repo
        .get_manifest("empty")
        .await
        .map_err(e("get_manifest"))?;
    let layers = m.as_image().map(|i| i.layers().len());
    ensure(layers == Some(0), || format!("layers: {layers:?}"))
}
