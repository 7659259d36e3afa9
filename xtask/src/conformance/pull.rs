//! Pull: manifests by tag and digest, blobs (whole and ranged), missing
//! content is a distinct NotFound.

use facade::core::{Digest, ErrorKind};
use facade::oci::Client;
use futures_util::TryStreamExt;

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

pub(crate) async fn run(client: &Client, out: &mut Vec<Outcome>) {
    let repo = client.with_segment("conformance/pull");
    let img = fixtures::image(2, 1);
    let pushed = repo.push_image("v1", &img).await;
    check(
        out,
        "pull",
        "setup: push an image",
        Box::pin(async {
            pushed
                .as_ref()
                .map(|_| ())
                .map_err(|err| format!("push: {err}"))
        }),
    )
    .await;

    check(
        out,
        "pull",
        "manifest by tag (exact bytes)",
        Box::pin(async {
            let m = repo.get_manifest("v1").await.map_err(e("get_manifest"))?;
            ensure(m.bytes() == img.manifest().bytes(), || {
                "bytes differ".into()
            })?;
            ensure(m.digest() == img.digest(), || {
                format!("digest {} != {}", m.digest(), img.digest())
            })
        }),
    )
    .await;

    check(
        out,
        "pull",
        "manifest by digest",
        Box::pin(async {
            let m = repo
                .get_manifest(&img.digest().to_string())
                .await
                .map_err(e("get_manifest"))?;
            ensure(m.bytes() == img.manifest().bytes(), || {
                "bytes differ".into()
            })
        }),
    )
    .await;

    check(
        out,
        "pull",
        "HEAD manifest gives its digest",
        Box::pin(async {
            let d = repo.get_digest("v1").await.map_err(e("get_digest"))?;
            ensure(&d == img.digest(), || format!("{d} != {}", img.digest()))
        }),
    )
    .await;

    let layer = img
        .manifest()
        .as_image()
        .map(|m| m.layers()[0].clone())
        .expect("an image manifest");
    let layer_digest: Digest = layer.digest().to_string().parse().expect("valid digest");
    check(
        out,
        "pull",
        "blob (verified while streaming)",
        Box::pin(async {
            let blob = repo.get_blob(&layer_digest).await.map_err(e("get_blob"))?;
            let data = blob.bytes(1 << 20).await.map_err(e("read"))?;
            ensure(Digest::sha256_of(&data) == layer_digest, || {
                "content differs".into()
            })?;
            ensure(data.len() as u64 == layer.size(), || "size differs".into())
        }),
    )
    .await;

    check(
        out,
        "pull",
        "blob range (206)",
        Box::pin(async {
            let whole = fixtures::bytes(4096, 100);
            let part = repo
                .get_blob_range(&layer_digest, 10..110)
                .await
                .map_err(e("get_blob_range"))?;
            ensure(part.offset == 10, || format!("offset {}", part.offset))?;
            let chunks: Vec<bytes::Bytes> = part.stream.try_collect().await.map_err(e("read"))?;
            let data = chunks.concat();
            ensure(data.len() == 100, || format!("{} bytes", data.len()))?;
            ensure(data[..] == whole[10..110], || {
                "range content differs".into()
            })
        }),
    )
    .await;

    check(
        out,
        "pull",
        "missing manifest is NotFound",
        Box::pin(async {
            match repo.get_manifest("no-such-tag").await {
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
                other => Err(format!("expected NotFound, got {other:?}")),
            }
        }),
    )
    .await;

    check(
        out,
        "pull",
        "missing blob is NotFound",
        Box::pin(async {
            let missing = Digest::sha256_of(b"never pushed");
            match repo.get_blob(&missing).await {
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
                Err(err) => Err(format!("expected NotFound, got {err}")),
                Ok(_) => Err("expected NotFound, got a blob".into()),
            }
        }),
    )
    .await;

    check(
        out,
        "pull",
        "check_image_exists",
        Box::pin(async {
            repo.check_image_exists("v1").await.map_err(e("present"))?;
            match repo.check_image_exists("absent").await {
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
                other => Err(format!("absent: expected NotFound, got {other:?}")),
            }
        }),
    )
    .await;
}
