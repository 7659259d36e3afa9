//! Tag and manifest deletion against docker-registry, which refuses tag
//! deletion (`400 DIGEST_INVALID`), so the safe fallback runs; and against
//! a registry that deletes tags (a proxy answering the DELETE as the spec
//! says).

mod common;

use oci_dist::image::NewIndex;
use oci_dist::{ErrorKind, TagDeletion};
use test_support::TestRegistry;
use test_support::http::response;

#[tokio::test]
async fn fallback_deletes_a_manifest_with_a_single_tag() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("del/one");
    let img = common::small_image(1, 500, 10);
    app.push_image("v1", &img).await.unwrap();
    let keep = common::small_image(1, 500, 11);
    app.push_image("keep", &keep).await.unwrap();
    proxy.clear_requests();

    let done = app.delete_tag("v1").await.unwrap();
    assert_eq!(
        done,
        TagDeletion::ManifestDeleted {
            digest: img.digest().clone()
        }
    );
    // The tag DELETE was refused, then the manifest was deleted by digest.
    assert_eq!(proxy.count("DELETE", "/v2/del/one/manifests/v1"), 1);
    assert_eq!(
        proxy.count("DELETE", &format!("/v2/del/one/manifests/{}", img.digest())),
        1
    );
    let err = app.check_image_exists("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    app.check_image_exists("keep").await.unwrap();
    assert_eq!(app.list_tags().await.unwrap(), ["keep"]);

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = app.delete_tag(&img.digest().to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn fallback_refuses_when_other_tags_or_indexes_hold_the_manifest() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("del/shared");
    let img = common::small_image(1, 500, 12);
    app.push_image("v1", &img).await.unwrap();
    app.tag_image("v1", "latest").await.unwrap();
    proxy.clear_requests();

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let msg = err.to_string();
    assert!(
        msg.contains("tag latest") && msg.contains("nothing was deleted"),
        "{msg}"
    );
    assert!(msg.contains(&img.digest().to_string()), "{msg}");
    assert_eq!(
        proxy.count(
            "DELETE",
            &format!("/v2/del/shared/manifests/{}", img.digest())
        ),
        0
    );
    assert_eq!(app.get_digest("v1").await.unwrap(), *img.digest());
    assert_eq!(app.get_digest("latest").await.unwrap(), *img.digest());

    // A manifest listed by a tagged index is not deleted either.
    let solo = common::small_image(1, 500, 13);
    let index = NewIndex::new(vec![solo.clone()]).unwrap();
    app.push_index("multi", &index).await.unwrap();
    app.push_image("solo", &solo).await.unwrap();
    let err = app.delete_tag("solo").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("index tagged multi"), "{err}");
    app.check_image_exists("solo").await.unwrap();
}

#[tokio::test]
async fn registries_that_delete_tags_keep_the_manifest() {
    let registry = TestRegistry::anonymous().await;
    // As the distribution spec allows: DELETE of a tag answers 202.
    let proxy = registry
        .proxy_builder()
        .intercept(|req| {
            (req.method == "DELETE" && req.path() == "/v2/del/tagged/manifests/v1")
                .then(|| response(202, ""))
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("del/tagged");
    let img = common::small_image(1, 100, 14);
    app.push_image("v1", &img).await.unwrap();
    assert_eq!(app.delete_tag("v1").await.unwrap(), TagDeletion::TagDeleted);
    assert_eq!(proxy.count("DELETE", "/v2/*"), 1);
}

#[tokio::test]
async fn delete_manifest_and_blob_by_digest() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("del/digest");
    let img = common::small_image(1, 100, 15);
    app.push_image("v1", &img).await.unwrap();
    app.delete_manifest(img.digest()).await.unwrap();
    assert_eq!(
        app.check_image_exists("v1").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = app.delete_manifest(img.digest()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let blob = app.push_blob_bytes(common::bytes(100, 99)).await.unwrap();
    assert!(app.blob_exists(&blob).await.unwrap());
    app.delete_blob(&blob).await.unwrap();
    assert!(!app.blob_exists(&blob).await.unwrap());
}
