//! The name-based operations (the Go SDK addresses repositories by name):
//! one exact-match look-up with the `name` filter, then the UUID operation,
//! checked on the fake's request log. The fake matches the filter as a
//! substring, like a lenient server, so a prefix of the name is listed too.

mod common;

use common::FakeClient;
use common::ids::*;

use common::{MagaluFake, spec};
use mgc_api::{ErrorKind, ListOptions};
use serde_json::{Value, json};

fn repository(name: &str, i: usize) -> Value {
    json!({
        "id": repo_id(i), "registry_name": "cool", "name": name,
        "image_count": 1, "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-15T19:56:47Z"
    })
}

fn repo_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A fake listing `alpine-edge` (1), `alpine` (2) and `team/alpine` (3).
async fn fake_with_repositories() -> MagaluFake {
    let fake = MagaluFake::start().await;
    fake.set_list(
        "getRepositoriesV1",
        vec![
            repository("alpine-edge", 1),
            repository("alpine", 2),
            repository("team/alpine", 3),
        ],
    );
    fake
}

/// `METHOD path?query` of every request, in order.
fn log(fake: &MagaluFake) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| match r.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.path()),
            None => format!("{} {}", r.method, r.path()),
        })
        .collect()
}

fn repositories_path() -> String {
    format!("/v1/registries/{}/repositories", spec::REGISTRY_ID)
}

fn lookup(name: &str) -> String {
    format!("GET {}?_offset=0&name={name}", repositories_path())
}

#[tokio::test]
async fn image_operations_by_repository_name_resolve_once_then_use_the_id() {
    let fake = fake_with_repositories().await;
    let mgc = fake.client();
    let images = mgc.images();
    let repo = format!("{}/{}", repositories_path(), repo_id(2));

    let image = images
        .get_by_repository_name(&registry_id(), "alpine", "latest")
        .await
        .unwrap();
    assert!(image.digest.starts_with("sha256:"));
    assert_eq!(
        log(&fake),
        [lookup("alpine"), format!("GET {repo}/images/latest")]
    );

    fake.clear_requests();
    images
        .delete_by_repository_name(&registry_id(), "alpine", "latest")
        .await
        .unwrap();
    assert_eq!(
        log(&fake),
        [lookup("alpine"), format!("DELETE {repo}/images/latest")]
    );

    fake.clear_requests();
    let page = images
        .list_by_repository_name(&registry_id(), "alpine", ListOptions::new().limit(5))
        .await
        .unwrap();
    assert_eq!(page.results.len(), 1);
    assert_eq!(
        log(&fake),
        [lookup("alpine"), format!("GET {repo}/images?_limit=5")]
    );

    // A name with a slash: the query value is encoded, the exact match wins.
    fake.clear_requests();
    images
        .get_by_repository_name(&registry_id(), "team/alpine", "v1")
        .await
        .unwrap();
    assert_eq!(
        log(&fake),
        [
            lookup("team%2Falpine"),
            format!("GET {}/{}/images/v1", repositories_path(), repo_id(3))
        ]
    );
    fake.assert_clean();
}

#[tokio::test]
async fn repository_operations_by_name_resolve_once_then_use_the_id() {
    let fake = fake_with_repositories().await;
    let mgc = fake.client();
    let repositories = mgc.repositories();

    let id = repositories
        .id_by_name(&registry_id(), "alpine-edge")
        .await
        .unwrap();
    assert_eq!(id, repo_id(1).as_str());
    assert_eq!(log(&fake), [lookup("alpine-edge")]);

    fake.clear_requests();
    repositories
        .delete_by_name(&registry_id(), "alpine")
        .await
        .unwrap();
    assert_eq!(
        log(&fake),
        [
            lookup("alpine"),
            format!("DELETE {}/{}", repositories_path(), repo_id(2))
        ]
    );
    fake.assert_clean();
}

#[tokio::test]
async fn a_name_that_is_only_a_prefix_is_not_found_and_nothing_else_is_called() {
    let fake = fake_with_repositories().await;
    let mgc = fake.client();

    // The filter lists alpine-edge, alpine and team/alpine: none is "alp".
    let err = mgc
        .images()
        .delete_by_repository_name(&registry_id(), "alp", "latest")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string().contains("no repository named \"alp\""),
        "{err}"
    );
    let err = mgc
        .repositories()
        .delete_by_name(&registry_id(), "alp")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(log(&fake), [lookup("alp"), lookup("alp")]);
    assert_eq!(fake.calls("deleteImageV1"), 0);
    assert_eq!(fake.calls("deleteRepositoryV1"), 0);
    fake.assert_clean();
}

#[tokio::test]
async fn two_repositories_with_the_same_name_are_an_error_not_a_guess() {
    let fake = MagaluFake::start().await;
    fake.set_list(
        "getRepositoriesV1",
        vec![repository("alpine", 1), repository("alpine", 2)],
    );
    let mgc = fake.client();
    let err = mgc
        .images()
        .delete_by_repository_name(&registry_id(), "alpine", "latest")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(
        text.contains("2 repositories are named \"alpine\"")
            && text.contains(&repo_id(1))
            && text.contains(&repo_id(2)),
        "{text}"
    );
    assert_eq!(log(&fake), [lookup("alpine")]);
    fake.assert_clean();
}

#[tokio::test]
async fn bad_input_is_refused_before_the_look_up() {
    let fake = fake_with_repositories().await;
    let mgc = fake.client();
    let images = mgc.images();
    for err in [
        images
            .get_by_repository_name(&registry_id(), "alpine", "sha256:nothex")
            .await
            .unwrap_err(),
        images
            .delete_by_repository_name(&registry_id(), "alpine", "bad tag")
            .await
            .unwrap_err(),
        images
            .list_by_repository_name(&registry_id(), "alpine", ListOptions::new().sort("x"))
            .await
            .unwrap_err(),
        mgc.repositories()
            .delete_by_name(&registry_id(), "")
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert_eq!(fake.request_count(), 0);
}
