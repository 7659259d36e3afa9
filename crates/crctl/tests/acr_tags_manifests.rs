//! `crctl acr tags …` and `crctl acr manifests …` (list, show, update,
//! delete): the built binary against the fake ACR metadata API
//! (`test_support::fake_acr`) over real HTTP on 127.0.0.1.

#[path = "common/acr_cli.rs"]
mod cli;

use cli::{anonymous, names, patches, query, requests_to};
use http::Method;
use serde_json::json;
use test_support::fake_acr::{DIGEST_A, DIGEST_B, DIGEST_C, FakeAcr};

#[tokio::test]
async fn tags_list_show_update_delete() {
    let fake = FakeAcr::start().await;
    let all = anonymous(
        &fake,
        &[
            "tags",
            "list",
            "app",
            "--orderby",
            "timedesc",
            "--limit",
            "2",
            "--all",
        ],
    )
    .await
    .json();
    assert_eq!(names(&all), ["v6", "v5", "v2", "v7", "v4", "v1", "v3"]);
    let pages = requests_to(&fake, Method::GET, "/acr/v1/app/_tags");
    assert_eq!(pages.len(), 4);
    assert!(
        pages
            .iter()
            .all(|r| query(r)["orderby"] == "timedesc" && query(r)["n"] == "2")
    );
    let v1 = &all[5];
    assert_eq!(v1["digest"], DIGEST_A);
    assert_eq!(v1["createdTime"], "2018-09-01T06:17:21.085653900Z");
    assert_eq!(v1["signed"], false);

    // The digest filter.
    let b = anonymous(&fake, &["tags", "list", "app", "--digest", DIGEST_B]).await;
    assert_eq!(names(&b.json()), ["v2", "v4", "v6"]);
    let last = fake.requests().pop().unwrap();
    assert_eq!(query(&last)["digest"], DIGEST_B);

    let show = anonymous(&fake, &["tags", "show", "app", "v2"])
        .await
        .json();
    assert_eq!(
        (
            show["imageName"].clone(),
            show["tag"]["name"].clone(),
            show["tag"]["digest"].clone()
        ),
        (json!("app"), json!("v2"), json!(DIGEST_B))
    );

    let updated = anonymous(
        &fake,
        &[
            "tags",
            "update",
            "app",
            "v2",
            "--write-enabled",
            "false",
            "--read-enabled",
            "true",
        ],
    )
    .await
    .json();
    assert_eq!(
        updated["tag"]["changeableAttributes"]["writeEnabled"],
        false
    );
    assert_eq!(
        patches(&fake),
        [(
            "/acr/v1/app/_tags/v2".to_owned(),
            r#"{"writeEnabled":false,"readEnabled":true}"#.to_owned(),
            "application/json".to_owned()
        )]
    );

    let deleted = anonymous(&fake, &["tags", "delete", "app", "v3"]).await;
    deleted.silent();
    assert_eq!(fake.count("DELETE", "/acr/v1/app/_tags/v3"), 1);
    let gone = anonymous(&fake, &["tags", "show", "app", "v3"]).await;
    gone.failed(3, &["tag app:v3", "TAG_UNKNOWN"]);
}

#[tokio::test]
async fn manifests_list_show_update_delete() {
    let fake = FakeAcr::start().await;
    let list = anonymous(&fake, &["manifests", "list", "app", "--orderby", "timeasc"])
        .await
        .json();
    let digests: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, [DIGEST_A, DIGEST_B, DIGEST_C]);
    assert_eq!(
        (list[0]["architecture"].clone(), list[0]["os"].clone()),
        (json!("amd64"), json!("windows"))
    );
    assert_eq!(list[0]["imageSize"], 2401606);
    assert_eq!(
        list[1]["architecture"], "loong64",
        "unknown architectures kept"
    );
    assert_eq!(query(&fake.requests()[0])["orderby"], "timeasc");

    let index = anonymous(&fake, &["manifests", "show", "app", DIGEST_C])
        .await
        .json();
    assert_eq!(
        index["manifest"]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        index["manifest"]["references"][1],
        json!({"digest": DIGEST_B, "architecture": "loong64", "os": "linux"})
    );
    assert_eq!(index["manifest"]["tags"], json!(["v1", "latest"]));

    let locked = anonymous(
        &fake,
        &[
            "manifests",
            "update",
            "app",
            DIGEST_A,
            "--delete-enabled",
            "false",
        ],
    )
    .await
    .json();
    assert_eq!(
        locked["manifest"]["changeableAttributes"]["deleteEnabled"],
        false
    );
    let path_a = format!("/acr/v1/app/_manifests/{DIGEST_A}");
    assert_eq!(
        patches(&fake),
        [(
            path_a,
            r#"{"deleteEnabled":false}"#.to_owned(),
            "application/json".to_owned()
        )]
    );
    let refused = anonymous(&fake, &["manifests", "delete", "app", DIGEST_A]).await;
    refused.failed(4, &["DENIED"]);

    let opened = anonymous(
        &fake,
        &[
            "manifests",
            "update",
            "app",
            DIGEST_A,
            "--delete-enabled",
            "true",
        ],
    )
    .await;
    opened.json();
    let deleted = anonymous(&fake, &["manifests", "delete", "app", DIGEST_A]).await;
    deleted.silent();
    assert_eq!(
        fake.count("DELETE", &format!("/v2/app/manifests/{DIGEST_A}")),
        2
    );
    // Its tags went with it.
    let tags = anonymous(&fake, &["tags", "list", "app", "--all"])
        .await
        .json();
    assert_eq!(names(&tags), ["v2", "v4", "v6"]);
    anonymous(&fake, &["manifests", "show", "app", DIGEST_A])
        .await
        .failed(3, &["MANIFEST_UNKNOWN"]);
    // A malformed digest is a usage error, and no request is sent.
    let before = fake.request_count();
    anonymous(&fake, &["manifests", "show", "app", "latest"])
        .await
        .failed(2, &["latest"]);
    assert_eq!(fake.request_count(), before);
}

#[tokio::test]
async fn a_malformed_digest_filter_is_a_usage_error_before_any_request() {
    let fake = FakeAcr::start().await;
    let run = anonymous(&fake, &["tags", "list", "app", "--digest", "sha256:nothex"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--digest"), "{}", run.stderr);
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}
