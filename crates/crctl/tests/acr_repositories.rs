//! `crctl acr repositories …` (list, show, update, delete): the built binary
//! against the fake ACR metadata API (`test_support::fake_acr`) over real
//! HTTP on 127.0.0.1.

#[path = "common/acr_cli.rs"]
mod cli;

use cli::{AAD, acr, anonymous, patches, query, requests_to, with_aad};
use http::Method;
use serde_json::json;
use test_support::fake_acr::{DIGEST_A, DIGEST_B, DIGEST_C, FakeAcr, REFRESH_TOKEN, REPOS};

#[tokio::test]
async fn repositories_list_one_page_or_every_page() {
    let fake = FakeAcr::start().await;
    // One page, as the registry sizes it (3 here).
    let first = anonymous(&fake, &["repositories", "list"]).await;
    assert_eq!(first.json(), json!(REPOS[..3]));
    // --limit and --last pick the page.
    let page = anonymous(
        &fake,
        &["repositories", "list", "--limit", "2", "--last", "beta"],
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
    let show = with_aad(&fake, &["repositories", "show", "app"]).await;
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

    let updated = with_aad(
        &fake,
        &[
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
    let refused = with_aad(&fake, &["repositories", "delete", "app"]).await;
    refused.failed(
        4,
        &[
            "deleting repository app",
            "DENIED",
            "deleteEnabled is false",
        ],
    );
    with_aad(
        &fake,
        &["repositories", "update", "app", "--delete-enabled", "true"],
    )
    .await
    .json();
    let deleted = with_aad(&fake, &["repositories", "delete", "app"]).await;
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
    let gone = with_aad(&fake, &["repositories", "show", "app"]).await;
    gone.failed(3, &["repository app", "NAME_UNKNOWN", &fake.host()]);
    assert_eq!(gone.stderr.lines().count(), 1, "{:?}", gone.stderr);
}
