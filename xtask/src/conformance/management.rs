//! Content management: delete a tag (with distribution 2.8's fallback),
//! a manifest, a blob; tag listings reflect it.

use facade::core::{Digest, ErrorKind};
use facade::oci::{Client, TagDeletion};

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

/// The report group of every check here.
const GROUP: &str = "management";
/// The repository the checks push to and delete from.
const REPO: &str = "conformance/management";

pub(crate) async fn run(client: &Client, out: &mut Vec<Outcome>) {
    let repo = client.with_segment(REPO);
    check(out, GROUP, "delete tag", Box::pin(delete_tag(&repo))).await;
    check(
        out,
        GROUP,
        "delete one tag of a shared manifest keeps the other",
        Box::pin(delete_shared_tag(&repo)),
    )
    .await;
    check(
        out,
        GROUP,
        "delete manifest by digest",
        Box::pin(delete_manifest(&repo)),
    )
    .await;
    check(out, GROUP, "delete blob", Box::pin(delete_blob(&repo))).await;
}

/// `Err` if `tag` is still in `repo`'s tag list (a failed listing counts
/// as empty).
async fn ensure_tag_unlisted(repo: &Client, tag: &str) -> Result<(), String> {
    let tags = repo.list_tags().await.unwrap_or_default();
    ensure(!tags.iter().any(|t| t == tag), || {
        format!("tag still listed: {tags:?}")
    })
}

/// Checks that deleting the only tag of an image removes the tag (or,
/// on distribution 2.8, its manifest) and the tag is no longer listed.
async fn delete_tag(repo: &Client) -> Result<(), String> {
    let img = fixtures::image(1, 30);
    repo.push_image("only", &img).await.map_err(e("push"))?;
    let done = repo.delete_tag("only").await.map_err(e("delete_tag"))?;
    ensure(
        matches!(
            done,
            TagDeletion::TagDeleted | TagDeletion::ManifestDeleted { .. }
        ),
        || format!("{done:?}"),
    )?;
    ensure_tag_unlisted(repo, "only").await
}

/// Checks that deleting one of two tags of a manifest removes exactly that
/// tag: the other still resolves to the same manifest, whose blobs are all
/// still there. On a registry without tag deletion (distribution 2.8) this
/// goes through a unique placeholder manifest, as regclient does.
async fn delete_shared_tag(repo: &Client) -> Result<(), String> {
    let img = fixtures::image(1, 31);
    repo.push_image("keep-a", &img).await.map_err(e("push"))?;
    repo.tag_image("keep-a", "keep-b").await.map_err(e("tag"))?;
    let done = repo.delete_tag("keep-b").await;
    let d = repo.get_digest("keep-a").await.map_err(e("keep-a lost"))?;
    ensure(&d == img.digest(), || "keep-a changed".into())?;
    let manifest = repo
        .get_image("keep-a", &Default::default())
        .await
        .map_err(e("get keep-a"))?;
    for layer in manifest.layers() {
        let digest: Digest = layer
            .digest()
            .to_string()
            .parse()
            .map_err(e("layer digest"))?;
        ensure(repo.blob_exists(&digest).await.map_err(e("blob"))?, || {
            format!("blob {digest} of keep-a is gone")
        })?;
    }
    match done {
        Ok(TagDeletion::TagDeleted | TagDeletion::PlaceholderDeleted { .. }) => {
            ensure_tag_unlisted(repo, "keep-b").await
        }
        Ok(other) => Err(format!("deleted a manifest another tag uses: {other:?}")),
        Err(err) => Err(format!("delete_tag refused: {err}")),
    }
}

/// Checks that a manifest deleted by digest is NotFound afterwards and
/// its tag is no longer listed.
async fn delete_manifest(repo: &Client) -> Result<(), String> {
    let img = fixtures::image(1, 32);
    repo.push_image("doomed", &img).await.map_err(e("push"))?;
    let digest = img.digest().clone();
    repo.delete_manifest(&digest)
        .await
        .map_err(e("delete_manifest"))?;
    match repo.get_manifest(&digest).await {
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        other => return Err(format!("manifest still there: {other:?}")),
    }
    ensure_tag_unlisted(repo, "doomed").await
}

/// Checks that a deleted blob no longer exists.
async fn delete_blob(repo: &Client) -> Result<(), String> {
    let data = fixtures::bytes(10_000, 33);
    let digest = Digest::sha256_of(&data);
    repo.push_blob(&data, &digest, data.len() as u64)
        .await
        .map_err(e("push_blob"))?;
    repo.delete_blob(&digest).await.map_err(e("delete_blob"))?;
    let exists = repo.blob_exists(&digest).await.map_err(e("blob_exists"))?;
    ensure(!exists, || "blob still there".into())
}
