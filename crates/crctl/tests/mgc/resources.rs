//! Registries (and paging), repositories, images, credentials and users.

use serde_json::json;
use test_support::fake_mgc::spec::{DIGEST, PROXY_CACHE_ID, USER_ID};
use test_support::fake_mgc::{API_KEY, MagaluFake};

use crate::cli::{body, line, mgc, only, param};
use crate::{REG, REPO, registry};

#[tokio::test]
async fn registries_list_get_create_delete() {
    let fake = MagaluFake::start().await;
    fake.set_list("getRegistries", (0..3).map(registry).collect());
    let listed = mgc(
        &fake,
        &["registries", "list", "--limit", "2", "--sort", "name:desc"],
    )
    .await
    .json();
    assert_eq!(listed, json!([registry(0), registry(1)]));
    let r = only(&fake);
    assert_eq!(line(&r), "GET /v0/registries");
    assert_eq!(param(&r, "_limit"), ["2"]);
    assert_eq!(param(&r, "_sort"), ["name:desc"]);
    assert_eq!(r.header("x-api-key"), Some(API_KEY));
    assert!(r.header("user-agent").unwrap().starts_with("crctl/"));

    fake.clear_requests();
    let filtered = mgc(
        &fake,
        &["registries", "list", "--name", "reg2", "--offset", "0"],
    )
    .await;
    assert_eq!(filtered.json(), json!([registry(2)]));
    assert_eq!(param(&only(&fake), "name"), ["reg2"]);

    fake.clear_requests();
    let got = mgc(&fake, &["registries", "get", REG]).await.json();
    assert_eq!(
        (got["id"].as_str(), got["storage_usage_bytes"].as_u64()),
        (Some(REG), Some(12345))
    );
    assert_eq!(got["proxy_cache_id"], PROXY_CACHE_ID);
    assert_eq!(line(&only(&fake)), format!("GET /v0/registries/{REG}"));

    fake.clear_requests();
    let created = mgc(
        &fake,
        &[
            "registries",
            "create",
            "myregistry",
            "--proxy-cache-id",
            PROXY_CACHE_ID,
        ],
    )
    .await
    .json();
    assert_eq!(created, json!({"id": REG, "name": "cool_registry"}));
    let r = only(&fake);
    assert_eq!(line(&r), "POST /v0/registries");
    assert_eq!(
        body(&r),
        json!({"name": "myregistry", "proxy_cache_id": PROXY_CACHE_ID})
    );

    fake.clear_requests();
    let deleted = mgc(&fake, &["registries", "delete", REG]).await;
    deleted.silent();
    assert_eq!(line(&only(&fake)), format!("DELETE /v0/registries/{REG}"));
    fake.assert_clean();
}

#[tokio::test]
async fn all_walks_every_page() {
    let fake = MagaluFake::start().await;
    fake.set_list("getRegistries", (0..7).map(registry).collect());
    let all = mgc(&fake, &["registries", "list", "--all", "--limit", "3"]).await;
    assert_eq!(all.json(), json!((0..7).map(registry).collect::<Vec<_>>()));
    let offsets: Vec<Vec<String>> = fake
        .requests()
        .iter()
        .map(|r| param(r, "_offset"))
        .collect();
    assert_eq!(offsets, [["0"], ["3"], ["6"]]);
    assert!(fake.requests().iter().all(|r| param(r, "_limit") == ["3"]));

    // Without --all: one page, and a hint at -v that more follow.
    fake.clear_requests();
    let one = mgc(&fake, &["-v", "registries", "list", "--limit", "3"]).await;
    assert_eq!(one.json().as_array().unwrap().len(), 3);
    assert!(one.stderr.contains("4 of 7 items follow"), "{}", one.stderr);
    assert_eq!(fake.request_count(), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn repositories_and_images() {
    let fake = MagaluFake::start().await;
    let repos = mgc(&fake, &["repositories", "list", REG, "--name", "alp"])
        .await
        .json();
    assert_eq!(repos[0]["name"], "alpine");
    assert_eq!(repos.as_array().unwrap().len(), 1);
    let got = mgc(&fake, &["repositories", "get", REG, REPO]).await.json();
    assert_eq!(got["image_count"], 2);
    mgc(&fake, &["repositories", "delete", REG, REPO])
        .await
        .ok();
    let lines: Vec<String> = fake.requests().iter().map(line).collect();
    let base = format!("/v1/registries/{REG}/repositories");
    assert_eq!(
        lines,
        [
            format!("GET {base}"),
            format!("GET {base}/{REPO}"),
            format!("DELETE {base}/{REPO}")
        ]
    );

    fake.clear_requests();
    let images = mgc(
        &fake,
        &[
            "images",
            "list",
            REG,
            REPO,
            "--expand",
            "tags_details,extra_attr",
            "--expand",
            "media_type",
            "--sort",
            "pushed_at:desc",
        ],
    )
    .await
    .json();
    assert_eq!(images[0]["digest"], DIGEST);
    assert_eq!(images[0]["tags_details"][0]["name"], "latest");
    let r = only(&fake);
    assert_eq!(r.path(), format!("{base}/{REPO}/images"));
    assert_eq!(
        param(&r, "expand"),
        ["tags_details", "extra_attr", "media_type"]
    );

    fake.clear_requests();
    let image = mgc(&fake, &["images", "get", REG, REPO, DIGEST])
        .await
        .json();
    assert_eq!(image["tags"], json!(["latest"]));
    assert_eq!(only(&fake).path(), format!("{base}/{REPO}/images/{DIGEST}"));
    fake.clear_requests();
    let deleted = mgc(&fake, &["images", "delete", REG, REPO, "v1.2"]).await;
    deleted.silent();
    assert_eq!(
        line(&only(&fake)),
        format!("DELETE {base}/{REPO}/images/v1.2")
    );
    fake.assert_clean();
}

#[tokio::test]
async fn credentials_and_users() {
    let fake = MagaluFake::start().await;
    let login = mgc(&fake, &["credentials", "get"]).await.json();
    assert_eq!(login["username"], USER_ID);
    assert_eq!(login["password"], "62kWa168QL!d4IVwN6wTfTYFv63=Sc1D");
    let reset = mgc(&fake, &["credentials", "reset-password"]).await.json();
    assert_eq!(reset["email"], "janedoe@email.com");

    let users = mgc(&fake, &["users", "list"]).await.json();
    assert_eq!(
        users,
        json!([{"id": USER_ID, "username": USER_ID, "created_at": "2024-05-15T19:56:47Z"}])
    );
    assert_eq!(mgc(&fake, &["users", "create"]).await.json()["id"], USER_ID);
    mgc(&fake, &["users", "delete", USER_ID]).await.ok();
    let lines: Vec<String> = fake.requests().iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "GET /v0/credentials".to_owned(),
            "POST /v0/credentials/password".to_owned(),
            "GET /v0/users".to_owned(),
            "POST /v0/users".to_owned(),
            format!("DELETE /v0/users/{USER_ID}"),
        ]
    );
    fake.assert_clean();
}
