//! `crctl mgc` with repositories named by name (like the Go SDK) or by
//! UUID: a name is resolved with one exact-match look-up, then the UUID
//! operation is called; checked on the fake Magalu API's request log.

#[path = "common/mgc_cli.rs"]
mod cli;

use cli::{line, mgc, only, param};
use serde_json::{Value, json};
use test_support::fake_mgc::MagaluFake;
use test_support::fake_mgc::spec::REGISTRY_ID as REG;

fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn repository(name: &str, i: usize) -> Value {
    json!({
        "id": uuid(i), "registry_name": "cool", "name": name, "image_count": i,
        "created_at": "2024-05-15T19:56:47Z", "updated_at": "2024-05-16T10:00:00Z"
    })
}

/// A fake listing `alpine-edge` (1) and `alpine` (2): the API's name
/// filter matches both for `alpine`.
async fn fake() -> MagaluFake {
    let fake = MagaluFake::start().await;
    fake.set_list(
        "getRepositoriesV1",
        vec![repository("alpine-edge", 1), repository("alpine", 2)],
    );
    fake
}

fn repositories() -> String {
    format!("/v1/registries/{REG}/repositories")
}

/// Checks the requests: one look-up of `name`, then `then` (`METHOD path`).
#[track_caller]
fn resolved_then(fake: &MagaluFake, name: &str, then: &str) {
    let all = fake.requests();
    let lines: Vec<String> = all.iter().map(line).collect();
    assert_eq!(lines, [format!("GET {}", repositories()), then.to_owned()]);
    assert_eq!(param(&all[0], "name"), [name]);
    fake.clear_requests();
}

#[tokio::test]
async fn images_and_scans_take_a_repository_name() {
    let fake = fake().await;
    let repo = format!("{}/{}", repositories(), uuid(2));

    mgc(&fake, &["images", "delete", REG, "alpine", "latest"])
        .await
        .silent();
    resolved_then(&fake, "alpine", &format!("DELETE {repo}/images/latest"));

    let image = mgc(&fake, &["images", "get", REG, "alpine", "v1"])
        .await
        .json();
    assert!(image["digest"].as_str().unwrap().starts_with("sha256:"));
    resolved_then(&fake, "alpine", &format!("GET {repo}/images/v1"));

    let listed = mgc(&fake, &["images", "list", REG, "alpine", "--all"])
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    resolved_then(&fake, "alpine", &format!("GET {repo}/images"));

    mgc(&fake, &["scans", "schedule", REG, "alpine", "latest"])
        .await
        .json();
    resolved_then(&fake, "alpine", &format!("POST {repo}/images/latest/scans"));

    mgc(&fake, &["scans", "list", REG, "alpine", "latest"])
        .await
        .json();
    resolved_then(&fake, "alpine", &format!("GET {repo}/images/latest/scans"));
    fake.assert_clean();
}

#[tokio::test]
async fn repositories_get_and_delete_take_a_name() {
    let fake = fake().await;
    // By name, the look-up's answer is the repository: one request.
    let got = mgc(&fake, &["repositories", "get", REG, "alpine"])
        .await
        .json();
    assert_eq!(got, repository("alpine", 2));
    assert_eq!(param(&only(&fake), "name"), ["alpine"]);
    fake.clear_requests();

    mgc(&fake, &["repositories", "delete", REG, "alpine-edge"])
        .await
        .silent();
    resolved_then(
        &fake,
        "alpine-edge",
        &format!("DELETE {}/{}", repositories(), uuid(1)),
    );
    fake.assert_clean();
}

#[tokio::test]
async fn a_uuid_shaped_argument_is_an_id_without_a_look_up() {
    let fake = fake().await;
    let id = uuid(7);
    mgc(&fake, &["images", "delete", REG, &id, "latest"])
        .await
        .silent();
    assert_eq!(
        line(&only(&fake)),
        format!("DELETE {}/{id}/images/latest", repositories())
    );
    fake.clear_requests();
    mgc(&fake, &["repositories", "get", REG, &id]).await.json();
    assert_eq!(line(&only(&fake)), format!("GET {}/{id}", repositories()));
    fake.assert_clean();
}

#[tokio::test]
async fn unknown_and_ambiguous_names_fail_without_the_uuid_call() {
    let fake = fake().await;
    // `alp` is only a prefix of the listed names: not found, exit 3.
    mgc(&fake, &["images", "delete", REG, "alp", "latest"])
        .await
        .failed(3, &["no repository named \"alp\""]);
    mgc(&fake, &["repositories", "delete", REG, "alp"])
        .await
        .failed(3, &["no repository named \"alp\""]);
    assert_eq!(fake.calls("getRepositoriesV1"), 2);
    assert_eq!(fake.request_count(), 2);

    let twins = MagaluFake::start().await;
    twins.set_list(
        "getRepositoriesV1",
        vec![repository("alpine", 1), repository("alpine", 2)],
    );
    mgc(&twins, &["images", "get", REG, "alpine", "latest"])
        .await
        .failed(
            1,
            &["2 repositories are named \"alpine\"", &uuid(1), &uuid(2)],
        );
    assert_eq!(twins.request_count(), 1);
    fake.assert_clean();
    twins.assert_clean();
}
