//! `crctl acr …` credentials (admin user, AAD token, anonymous) and usage
//! errors: the built binary against the fake ACR metadata API
//! (`test_support::fake_acr`) over real HTTP on 127.0.0.1.

#[path = "common/acr_cli.rs"]
mod cli;

use cli::{AAD, Opts, acr, acr_env, acr_with, crctl_with, query, requests_to};
use http::Method;
use serde_json::json;
use test_support::fake_acr::{DIGEST_A, FakeAcr, REPOS};

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
    let tag = acr_env(
        &fake,
        &["tags", "show", "app", "v1"],
        &[("CRCTL_USERNAME", "admin"), ("CRCTL_PASSWORD", "s3cret")],
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
    let ok = acr_env(
        &fake,
        &["tags", "show", "app", "v1"],
        &[("AZURE_ACCESS_TOKEN", AAD)],
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
    let anonymous = acr_env(
        &fake,
        &["--anonymous", "repositories", "list"],
        &[("AZURE_ACCESS_TOKEN", AAD)],
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
