//! Pull: manifests by tag and digest, blobs (whole and ranged), missing
//! content is a distinct NotFound.

use facade::core::{Digest, ErrorKind};
use facade::oci::Client;
use facade::oci::image::NewImage;
use futures_util::TryStreamExt;

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

/// The report group of every check here.
const GROUP: &str = "pull";
/// The repository the checks pull from.
const REPO: &str = "conformance/pull";
/// The tag the setup pushes the image under.
const TAG: &str = "v1";
/// The seed of the image the setup pushes (see [`fixtures::image`]).
const SEED: u64 = 1;

pub(crate) async fn run(client: &Client, out: &mut Vec<Outcome>) {
    let repo = client.with_segment(REPO);
    let img = fixtures::image(2, SEED);
    let pushed = push_image(&repo, &img).await;
    check(
        out,
        GROUP,
        "setup: push an image",
        Box::pin(std::future::ready(pushed)),
    )
    .await;
    check(
        out,
        GROUP,
        "manifest by tag (exact bytes)",
        Box::pin(manifest_by_tag(&repo, &img)),
    )
    .await;
    check(
        out,
        GROUP,
        "manifest by digest",
        Box::pin(manifest_by_digest(&repo, &img)),
    )
    .await;
    check(
        out,
        GROUP,
        "HEAD manifest gives its digest",
        Box::pin(head_manifest(&repo, &img)),
    )
    .await;

    let (layer_digest, layer_size) = first_layer(&img);
    check(
        out,
        GROUP,
        "blob (verified while streaming)",
        Box::pin(whole_blob(&repo, &layer_digest, layer_size)),
    )
    .await;
    check(
        out,
        GROUP,
        "blob range (206)",
        Box::pin(blob_range(&repo, &layer_digest)),
    )
    .await;
    check(
        out,
        GROUP,
        "missing manifest is NotFound",
        Box::pin(missing_manifest(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "missing blob is NotFound",
        Box::pin(missing_blob(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "check_image_exists",
        Box::pin(image_exists(&repo)),
    )
    .await;
}

/// Setup: pushes `img` under [`TAG`].
async fn push_image(repo: &Client, img: &NewImage) -> Result<(), String> {
    repo.push_image(TAG, img)
        .await
        .map(|_| ())
        .map_err(|err| format!("push: {err}"))
}

/// The digest and size of `img`'s first layer.
fn first_layer(img: &NewImage) -> (Digest, u64) {
    let layer = img
        .manifest()
        .as_image()
        .map(|m| m.layers()[0].clone())
        .expect("an image manifest");
    let digest = facade::oci::descriptor::digest_of(&layer).expect("valid digest");
    (digest, layer.size())
}

/// Checks that the manifest pulled by tag has exactly the pushed bytes
/// and digest.
async fn manifest_by_tag(repo: &Client, img: &NewImage) -> Result<(), String> {
    let m = repo.get_manifest(TAG).await.map_err(e("get_manifest"))?;
    ensure(m.bytes() == img.manifest().bytes(), || {
        "bytes differ".into()
    })?;
    ensure(m.digest() == img.digest(), || {
        format!("digest {} != {}", m.digest(), img.digest())
    })
}

/// Checks that the manifest pulled by digest has exactly the pushed bytes.
async fn manifest_by_digest(repo: &Client, img: &NewImage) -> Result<(), String> {
    let m = repo
        .get_manifest(img.digest())
        .await
        .map_err(e("get_manifest"))?;
    ensure(m.bytes() == img.manifest().bytes(), || {
        "bytes differ".into()
    })
}

/// Checks that a HEAD of the tag gives the pushed manifest's digest.
async fn head_manifest(repo: &Client, img: &NewImage) -> Result<(), String> {
    let d = repo.get_digest(TAG).await.map_err(e("get_digest"))?;
    ensure(&d == img.digest(), || format!("{d} != {}", img.digest()))
}

/// Checks that a whole blob read (verified while streaming) has the
/// expected digest and size.
async fn whole_blob(repo: &Client, digest: &Digest, size: u64) -> Result<(), String> {
    let blob = repo.get_blob(digest).await.map_err(e("get_blob"))?;
    let data = blob.bytes(1 << 20).await.map_err(e("read"))?;
    ensure(Digest::sha256_of(&data) == *digest, || {
        "content differs".into()
    })?;
    ensure(data.len() as u64 == size, || "size differs".into())
}

/// Checks that a range read (206) of the first layer starts at the asked
/// offset and holds exactly those bytes of the layer.
async fn blob_range(repo: &Client, digest: &Digest) -> Result<(), String> {
    // The first layer's content (see `fixtures::image`).
    let whole = fixtures::bytes(4096, SEED * 100);
    let part = repo
        .get_blob_range(digest, 10..110)
        .await
        .map_err(e("get_blob_range"))?;
    ensure(part.offset == 10, || format!("offset {}", part.offset))?;
    let chunks: Vec<bytes::Bytes> = part.stream.try_collect().await.map_err(e("read"))?;
    let data = chunks.concat();
    ensure(data.len() == 100, || format!("{} bytes", data.len()))?;
    ensure(data[..] == whole[10..110], || {
        "range content differs".into()
    })
}

/// Checks that a missing tag is a NotFound error.
async fn missing_manifest(repo: &Client) -> Result<(), String> {
    match repo.get_manifest("no-such-tag").await {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        other => Err(format!("expected NotFound, got {other:?}")),
    }
}

/// Checks that a blob never pushed is a NotFound error.
async fn missing_blob(repo: &Client) -> Result<(), String> {
    let missing = Digest::sha256_of(b"never pushed");
    match repo.get_blob(&missing).await {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("expected NotFound, got {err}")),
        Ok(_) => Err("expected NotFound, got a blob".into()),
    }
}

/// Checks that `check_image_exists` succeeds for the pushed tag and is
/// NotFound for an absent one.
async fn image_exists(repo: &Client) -> Result<(), String> {
    repo.check_image_exists(TAG).await.map_err(e("present"))?;
    match repo.check_image_exists("absent").await {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        other => Err(format!("absent: expected NotFound, got {other:?}")),
    }
}
