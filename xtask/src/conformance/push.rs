//! Push: monolithic, chunked and streamed uploads, cross-repository
//! mount, manifests by tag and by digest, an image with no layers.

use bytes::Bytes;
use facade::core::Digest;
use facade::oci::image::ImageBuilder;
use facade::oci::media_type::OCI_CONFIG;
use facade::oci::{Client, Mount, PushMethod};

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

async fn read_back(repo: &Client, digest: &Digest) -> Result<Bytes, String> {
    repo.get_blob(digest)
        .await
        .map_err(e("get_blob"))?
        .bytes(16 << 20)
        .await
        .map_err(e("read"))
}

pub(crate) async fn run(client: &Client, url: &str, out: &mut Vec<Outcome>) {
    let repo = client.with_segment("conformance/push");

    check(
        out,
        "push",
        "monolithic upload (POST + PUT)",
        Box::pin(async {
            let data = fixtures::bytes(300_000, 2);
            let digest = Digest::sha256_of(&data);
            let how = repo
                .push_blob(&data, &digest, data.len() as u64)
                .await
                .map_err(e("push_blob"))?;
            ensure(how == PushMethod::Monolithic, || {
                format!("pushed by {how:?}")
            })?;
            ensure(read_back(&repo, &digest).await? == data, || {
                "content differs".into()
            })
        }),
    )
    .await;

    check(
        out,
        "push",
        "chunked upload (PATCH + PUT)",
        Box::pin(async {
            let chunked = facade::oci::Client::builder(url)
                .chunked_uploads(true)
                .chunk_size(64 * 1024)
                .build()
                .map_err(e("client"))?
                .with_segment("conformance/push");
            let data = fixtures::bytes(200_000, 3);
            let digest = Digest::sha256_of(&data);
            let how = chunked
                .push_blob(&data, &digest, data.len() as u64)
                .await
                .map_err(e("push_blob"))?;
            ensure(how == PushMethod::Chunked, || format!("pushed by {how:?}"))?;
            ensure(read_back(&repo, &digest).await? == data, || {
                "content differs".into()
            })
        }),
    )
    .await;

    check(
        out,
        "push",
        "streamed upload of unknown length",
        Box::pin(async {
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
            ensure(read_back(&repo, &digest).await? == data, || {
                "content differs".into()
            })
        }),
    )
    .await;

    check(
        out,
        "push",
        "cross-repository mount",
        Box::pin(async {
            let data = fixtures::bytes(50_000, 5);
            let digest = Digest::sha256_of(&data);
            repo.push_blob(&data, &digest, data.len() as u64)
                .await
                .map_err(e("push_blob"))?;
            let other = client.with_segment("conformance/mounted");
            let m = other
                .mount_blob(&digest, "conformance/push")
                .await
                .map_err(e("mount_blob"))?;
            ensure(matches!(m, Mount::Mounted), || {
                format!("not mounted: {m:?}")
            })?;
            ensure(read_back(&other, &digest).await? == data, || {
                "content differs".into()
            })
        }),
    )
    .await;

    let img = fixtures::image(1, 6);
    check(
        out,
        "push",
        "manifest by tag",
        Box::pin(async {
            repo.push_image("tagged", &img)
                .await
                .map_err(e("push_image"))?;
            let d = repo.get_digest("tagged").await.map_err(e("get_digest"))?;
            ensure(&d == img.digest(), || format!("{d} != {}", img.digest()))
        }),
    )
    .await;

    check(
        out,
        "push",
        "manifest by digest",
        Box::pin(async {
            let img = fixtures::image(1, 7);
            // Blobs first (via a throwaway tag-less copy), then the manifest by digest.
            repo.push_image("bydigest-tmp", &img)
                .await
                .map_err(e("push_image"))?;
            let pushed = repo
                .put_manifest(&img.digest().to_string(), img.manifest())
                .await
                .map_err(e("put_manifest"))?;
            ensure(&pushed.digest == img.digest(), || "digest differs".into())?;
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
        "push",
        "image with no layers",
        Box::pin(async {
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
        }),
    )
    .await;
}
