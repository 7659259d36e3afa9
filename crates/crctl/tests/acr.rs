//! `crctl acr …`: the built binary against the fake ACR metadata API
//! (`test_support::fake_acr`) over real HTTP on 127.0.0.1.

#[path = "common/acr_cli.rs"]
mod cli;

use cli::{Opts, acr, acr_with, crctl_with, names, patches, query, requests_to};
use http::Method;
use serde_json::json;
use test_support::fake_acr::{DIGEST_A, DIGEST_B, DIGEST_C, FakeAcr, REFRESH_TOKEN, REPOS};

const AAD: &str = "aad-token-for-crctl";

#[tokio::test]
async fn repositories_list_one_page_or_every_page() {
    let fake = FakeAcr::start().await;
    // One page, as the registry sizes it (3 here).
    let first = acr(&fake, &["--anonymous", "repositories", "list"]).await;
    assert_eq!(first.json(), json!(REPOS[..3]));
    // --limit and --last pick the page.
    let page = acr(
        &fake,
        &[
            "--anonymous",
            "repositories",
            "list",
            "--limit",
            "2",
            "--last",
            "beta",
        ],
    )
    .await;
    assert_eq!(page.json(), json!(["delta/one", "delta/two"]));
    let q = query(&fake.requests()[1]);
    assert_eq!((q["n"].as_str(), q["last"].as_str()), ("2", "beta"));
    assert_eq!(q["api-version"], "2021-07-01");

    // --all follows Link to the end: 2+2+2+1.
    fake.clear_requests();
    let all = acr(
        &fake,
        &[
            "repositories",
            "list",
            "--all",
            "--limit",
            "2",
            "--anonymous",
        ],
    )
    .await;
    assert_eq!(all.json(), json!(REPOS));
    assert!(all.stdout.starts_with("[\n  \"alpha\",\n"), "pretty JSON");
    let pages = requests_to(&fake, Method::GET, "/acr/v1/_catalog");
    assert_eq!(pages.len(), 4);
    let lasts: Vec<Option<String>> = pages.iter().map(|r| query(r).remove("last")).collect();
    assert_eq!(
        lasts,
        [
            None,
            Some("beta".into()),
            Some("delta/two".into()),
            Some("gamma".into())
        ]
    );
    assert!(pages.iter().all(|r| query(r)["n"] == "2"));
}

#[tokio::test]
async fn repository_show_update_delete_with_an_aad_token() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    let show = acr(&fake, &["--aad-token", AAD, "repositories", "show", "app"]).await;
    let p = show.json();
    assert_eq!(p["registry"], fake.host());
    assert_eq!(p["imageName"], "app");
    assert_eq!(
        (p["manifestCount"].clone(), p["tagCount"].clone()),
        (json!(3), json!(7))
    );
    assert_eq!(p["createdTime"], "2018-09-06T06:17:20.953124800Z");
    assert_eq!(p["changeableAttributes"]["deleteEnabled"], true);
    // The AAD token was exchanged, and the access token carried the scope.
    let exchange = requests_to(&fake, Method::POST, "/oauth2/exchange");
    assert_eq!(exchange.len(), 1);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&exchange[0].body)
        .into_owned()
        .collect();
    assert!(
        form.contains(&("access_token".into(), AAD.into())),
        "{form:?}"
    );
    let token = requests_to(&fake, Method::POST, "/oauth2/token");
    assert!(String::from_utf8_lossy(&token[0].body).contains(REFRESH_TOKEN));

    let updated = acr(
        &fake,
        &[
            "--aad-token",
            AAD,
            "repositories",
            "update",
            "app",
            "--list-enabled",
            "false",
            "--delete-enabled",
            "false",
        ],
    )
    .await
    .json();
    assert_eq!(
        updated["changeableAttributes"],
        json!({"deleteEnabled": false, "writeEnabled": true, "readEnabled": true, "listEnabled": false})
    );
    // A new process meets the 401 once, then resends the same body with the
    // metadata_write token.
    let patch = (
        "/acr/v1/app".to_owned(),
        r#"{"deleteEnabled":false,"listEnabled":false}"#.to_owned(),
        "application/json".to_owned(),
    );
    assert_eq!(patches(&fake), [patch.clone(), patch]);
    let auth: Vec<Option<String>> = requests_to(&fake, Method::PATCH, "/acr/v1/app")
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        auth,
        [
            None,
            Some("Bearer at|repository:app:metadata_write".to_owned())
        ]
    );

    // Locked: the registry refuses (403 DENIED), exit 4.
    let refused = acr(
        &fake,
        &["--aad-token", AAD, "repositories", "delete", "app"],
    )
    .await;
    refused.failed(
        4,
        &[
            "deleting repository app",
            "DENIED",
            "deleteEnabled is false",
        ],
    );
    acr(
        &fake,
        &[
            "--aad-token",
            AAD,
            "repositories",
            "update",
            "app",
            "--delete-enabled",
            "true",
        ],
    )
    .await
    .json();
    let deleted = acr(
        &fake,
        &["--aad-token", AAD, "repositories", "delete", "app"],
    )
    .await;
    let d = deleted.json();
    assert_eq!(d["manifestsDeleted"], json!([DIGEST_C, DIGEST_A, DIGEST_B]));
    assert_eq!(d["tagsDeleted"].as_array().unwrap().len(), 7);
    // Refused once, done once (each after its 401 challenge).
    let deletes = requests_to(&fake, Method::DELETE, "/acr/v1/app");
    let authorized: Vec<_> = deletes
        .iter()
        .filter_map(|r| r.header("authorization"))
        .collect();
    assert_eq!(authorized, ["Bearer at|repository:app:delete"; 2]);

    // Gone: exit 3, one line naming the repository and the registry's code.
    let gone = acr(&fake, &["--aad-token", AAD, "repositories", "show", "app"]).await;
    gone.failed(3, &["repository app", "NAME_UNKNOWN", &fake.host()]);
    assert_eq!(gone.stderr.lines().count(), 1, "{:?}", gone.stderr);
}

#[tokio::test]
async fn tags_list_show_update_delete() {
    let fake = FakeAcr::start().await;
    let all = acr(
        &fake,
        &[
            "--anonymous",
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
    let b = acr(
        &fake,
        &["--anonymous", "tags", "list", "app", "--digest", DIGEST_B],
    )
    .await;
    assert_eq!(names(&b.json()), ["v2", "v4", "v6"]);
    let last = fake.requests().pop().unwrap();
    assert_eq!(query(&last)["digest"], DIGEST_B);

    let show = acr(&fake, &["--anonymous", "tags", "show", "app", "v2"])
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

    let updated = acr(
        &fake,
        &[
            "--anonymous",
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

    let deleted = acr(&fake, &["--anonymous", "tags", "delete", "app", "v3"]).await;
    assert_eq!(
        (deleted.code, deleted.stdout.as_str()),
        (0, ""),
        "{}",
        deleted.stderr
    );
    assert_eq!(fake.count("DELETE", "/acr/v1/app/_tags/v3"), 1);
    let gone = acr(&fake, &["--anonymous", "tags", "show", "app", "v3"]).await;
    gone.failed(3, &["tag app:v3", "TAG_UNKNOWN"]);
}

#[tokio::test]
async fn manifests_list_show_update_delete() {
    let fake = FakeAcr::start().await;
    let list = acr(
        &fake,
        &[
            "--anonymous",
            "manifests",
            "list",
            "app",
            "--orderby",
            "timeasc",
        ],
    )
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

    let index = acr(
        &fake,
        &["--anonymous", "manifests", "show", "app", DIGEST_C],
    )
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

    let locked = acr(
        &fake,
        &[
            "--anonymous",
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
    let refused = acr(
        &fake,
        &["--anonymous", "manifests", "delete", "app", DIGEST_A],
    )
    .await;
    refused.failed(4, &["DENIED"]);

    let opened = acr(
        &fake,
        &[
            "--anonymous",
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
    let deleted = acr(
        &fake,
        &["--anonymous", "manifests", "delete", "app", DIGEST_A],
    )
    .await;
    assert_eq!(
        (deleted.code, deleted.stdout.as_str()),
        (0, ""),
        "{}",
        deleted.stderr
    );
    assert_eq!(
        fake.count("DELETE", &format!("/v2/app/manifests/{DIGEST_A}")),
        2
    );
    // Its tags went with it.
    let tags = acr(&fake, &["--anonymous", "tags", "list", "app", "--all"])
        .await
        .json();
    assert_eq!(names(&tags), ["v2", "v4", "v6"]);
    acr(
        &fake,
        &["--anonymous", "manifests", "show", "app", DIGEST_A],
    )
    .await
    .failed(3, &["MANIFEST_UNKNOWN"]);
    // A malformed digest is a usage error, and no request is sent.
    let before = fake.request_count();
    acr(
        &fake,
        &["--anonymous", "manifests", "show", "app", "latest"],
    )
    .await
    .failed(2, &["latest"]);
    assert_eq!(fake.request_count(), before);
}

#[tokio::test]
async fn admin_user_with_password_on_stdin() {
    let fake = FakeAcr::builder().basic("admin", "s3cret").start().await;
    let ok = acr_with(
        &fake,
        &[
            "-u",
            "admin",
            "--password-stdin",
            "repositories",
            "list",
            "--limit",
            "10",
        ],
        Opts {
            stdin: Some("s3cret\n"),
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(ok.json(), json!(REPOS));
    let token = requests_to(&fake, Method::GET, "/oauth2/token");
    assert_eq!(token.len(), 1);
    // base64("admin:s3cret")
    assert_eq!(
        token[0].header("authorization"),
        Some("Basic YWRtaW46czNjcmV0")
    );
    assert_eq!(query(&token[0])["scope"], "registry:catalog:*");

    // The same from the environment; a wrong password is refused: exit 4.
    let env = vec![("CRCTL_USERNAME", "admin"), ("CRCTL_PASSWORD", "s3cret")];
    let tag = acr_with(
        &fake,
        &["tags", "show", "app", "v1"],
        Opts {
            env,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(tag.json()["tag"]["name"], "v1");
    let wrong = acr(
        &fake,
        &["-u", "admin", "-p", "guess", "repositories", "list"],
    )
    .await;
    wrong.failed(4, &["refused the credentials"]);
    assert!(!wrong.stderr.contains("guess"), "no secret in errors");
}

#[tokio::test]
async fn aad_token_from_the_environment_and_refused_tokens() {
    let fake = FakeAcr::builder().aad_token(AAD).start().await;
    let env = vec![("AZURE_ACCESS_TOKEN", AAD)];
    let ok = acr_with(
        &fake,
        &["tags", "show", "app", "v1"],
        Opts {
            env,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(ok.json()["tag"]["digest"], DIGEST_A);
    assert_eq!(fake.count("POST", "/oauth2/exchange"), 1);

    // A refused AAD token: exit 4, and the token appears nowhere, even at -vv.
    let refused = acr(
        &fake,
        &[
            "-vv",
            "--aad-token",
            "not-the-token",
            "repositories",
            "show",
            "app",
        ],
    )
    .await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("oauth2/exchange"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("not-the-token"),
        "{}",
        refused.stderr
    );

    // --anonymous beats the environment's token: the registry refuses
    // anonymous access, and no exchange is tried.
    fake.clear_requests();
    let env = vec![("AZURE_ACCESS_TOKEN", AAD)];
    let anonymous = acr_with(
        &fake,
        &["--anonymous", "repositories", "list"],
        Opts {
            env,
            ..Opts::default()
        },
    )
    .await;
    anonymous.failed(4, &[]);
    assert_eq!(fake.count("POST", "/oauth2/exchange"), 0);
    assert_eq!(fake.count("POST", "/oauth2/token"), 1);
}

#[tokio::test]
async fn usage_errors_exit_2_before_any_request() {
    let fake = FakeAcr::start().await;
    let url = fake.url();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--anonymous", "--aad-token", "t", "repositories", "list"],
            "cannot be used with",
        ),
        (
            vec![
                "--anonymous",
                "-u",
                "admin",
                "-p",
                "x",
                "repositories",
                "list",
            ],
            "choose one",
        ),
        (vec!["repositories", "list"], "no credentials"),
        (
            vec!["--anonymous", "repositories", "update", "app"],
            "--delete-enabled",
        ),
        (
            vec![
                "--anonymous",
                "tags",
                "update",
                "app",
                "v1",
                "--write-enabled",
                "maybe",
            ],
            "maybe",
        ),
        (
            vec![
                "--anonymous",
                "tags",
                "list",
                "app",
                "--orderby",
                "sideways",
            ],
            "sideways",
        ),
        (
            vec![
                "--anonymous",
                "tags",
                "list",
                "app",
                "--digest",
                "sha256:nothex",
            ],
            "--digest",
        ),
        (
            vec!["--anonymous", "repositories", "list", "--limit", "0"],
            "--limit",
        ),
        (
            vec!["--anonymous", "repositories", "show", "a//b"],
            "invalid repository name",
        ),
        (
            vec![
                "--anonymous",
                "repositories",
                "list",
                "--orderby",
                "timeasc",
            ],
            "--orderby",
        ),
    ];
    for (args, word) in cases {
        let run = acr(&fake, &args).await;
        run.failed(2, &[word]);
    }
    // http:// needs --plain-http; the endpoint is required.
    crctl_with(
        &[
            "acr",
            "--endpoint",
            &url,
            "--anonymous",
            "repositories",
            "list",
        ],
        Opts::default(),
    )
    .await
    .failed(2, &["--plain-http"]);
    crctl_with(
        &["acr", "--anonymous", "repositories", "list"],
        Opts::default(),
    )
    .await
    .failed(2, &["--endpoint is required"]);
    assert_eq!(fake.request_count(), 0);
}
