//! Credentials from flags and the environment, exit codes, secrets, tables.

use test_support::fake_mgc::spec::{DIGEST, MEMBER_ID, PROXY_CACHE_ID, SCAN_ID, USER_ID};
use test_support::fake_mgc::{API_KEY, Auth, MagaluFake, error_response};

use crate::cli::{crctl_env, mgc, only};
use crate::{REG, REPO, registry, uuid};

#[tokio::test]
async fn credentials_from_the_environment_and_tokens() {
    let fake = MagaluFake::start().await;
    let url = fake.url();
    let env = crctl_env(
        &["mgc", "registries", "get", REG],
        &[
            ("MGC_API_KEY", API_KEY),
            ("MGC_API_URL", &url),
            ("MGC_REGION", "br-ne1"),
        ],
    )
    .await;
    assert_eq!(env.json()["id"], REG);
    assert_eq!(only(&fake).header("x-api-key"), Some(API_KEY));
    // A flag wins over the environment.
    fake.clear_requests();
    let flag = crctl_env(
        &["mgc", "--api-key", API_KEY, "registries", "get", REG],
        &[
            ("MGC_API_KEY", "stale-key"),
            ("MGC_TOKEN", "stale-token"),
            ("MGC_API_URL", &url),
        ],
    )
    .await;
    assert_eq!(flag.json()["id"], REG);
    assert_eq!(only(&fake).header("authorization"), None);

    let jwt = MagaluFake::start_with(Auth::Bearer("eyJ.jwt.sig".into())).await;
    let url = jwt.url();
    let token = crctl_env(
        &[
            "mgc",
            "--api-url",
            &url,
            "--token",
            "eyJ.jwt.sig",
            "users",
            "get",
        ],
        &[],
    )
    .await;
    assert_eq!(token.json()["id"], USER_ID);
    let from_env = crctl_env(
        &["mgc", "users", "get"],
        &[("MGC_TOKEN", "Bearer eyJ.jwt.sig"), ("MGC_API_URL", &url)],
    )
    .await;
    assert_eq!(from_env.json()["id"], USER_ID);
    let requests = jwt.requests();
    let auth: Vec<Option<&str>> = requests.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(auth, [Some("Bearer eyJ.jwt.sig"); 2]);
    assert!(
        jwt.requests()
            .iter()
            .all(|r| r.header("x-api-key").is_none())
    );
    fake.assert_clean();
    jwt.assert_clean();
}

#[tokio::test]
async fn api_errors_map_to_exit_codes() {
    let fake = MagaluFake::start().await;
    fake.on("getRegistry", |_| Some(error_response(404)));
    fake.on("deleteRegistry", |_| Some(error_response(403)));
    let missing = mgc(&fake, &["registries", "get", REG]).await;
    let sent_id = only(&fake).header("x-request-id").unwrap().to_owned();
    missing.failed(
        3,
        &[
            "getRegistry",
            "404",
            "not_found",
            "error when getting resource",
            &sent_id,
        ],
    );
    assert_eq!(missing.stderr.lines().count(), 1, "{:?}", missing.stderr);
    mgc(&fake, &["registries", "delete", REG])
        .await
        .failed(4, &["forbidden", "user not allowed"]);

    // A key the API refuses: 401, exit 4; the key appears nowhere, even at -vv.
    let url = fake.url();
    let secret = "sk-live-do-not-print-4711";
    let refused = crctl_env(
        &[
            "mgc",
            "-vv",
            "--api-url",
            &url,
            "--api-key",
            secret,
            "registries",
            "list",
        ],
        &[],
    )
    .await;
    assert_eq!(
        (refused.code, refused.stdout.as_str()),
        (4, ""),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("unauthorized"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("mgc api"),
        "-vv logs: {}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(secret), "{}", refused.stderr);
    // Nor an access secret the API answers with an error.
    fake.on("createProxyCache", |_| Some(error_response(409)));
    let conflict = mgc(
        &fake,
        &[
            "-vv",
            "proxy-caches",
            "create",
            "hub",
            "--provider",
            "docker-hub",
            "--url",
            "https://hub.docker.com",
            "--access-secret",
            "pc-secret-0815",
        ],
    )
    .await;
    conflict.failed(1, &["conflict", "resource already exists"]);
    assert!(
        !conflict.stderr.contains("pc-secret-0815"),
        "{}",
        conflict.stderr
    );
    assert!(!conflict.stderr.contains(API_KEY), "{}", conflict.stderr);
}

#[tokio::test]
async fn usage_errors_exit_2_before_any_request() {
    let fake = MagaluFake::start().await;
    let digest_typo = format!("{DIGEST}x");
    for (args, why) in [
        (&["registries", "create", "Bad_Name"][..], "lowercase"),
        (&["registries", "get", "not-a-uuid"][..], "not a UUID"),
        (
            &["repositories", "list", "0c6bbd87881a4bf8b3f64ff3ceacb42c"][..],
            "not a UUID",
        ),
        (
            &["images", "delete", REG, REPO, digest_typo.as_str()][..],
            "digest",
        ),
        (&["images", "get", REG, REPO, "a/b"][..], "tag"),
        (&["registries", "list", "--sort", "name"][..], "_sort"),
        (&["registries", "list", "--limit", "0"][..], "--limit"),
        (
            &["images", "list", REG, REPO, "--expand", "everything"][..],
            "--expand",
        ),
        (&["proxy-caches", "update", PROXY_CACHE_ID][..], "required"),
        (&["proxy-caches", "list", "--name", "x"][..], "--name"),
        (
            &["members", "update", REG, MEMBER_ID, "--role", "admin"][..],
            "--role",
        ),
        (
            &["scans", "vulnerabilities", SCAN_ID, "--severity", "urgent"][..],
            "--severity",
        ),
    ] {
        let run = mgc(&fake, args).await;
        run.failed(2, &[why]);
    }
    let url = fake.url();
    for (args, env, why) in [
        (
            &["mgc", "--api-url", url.as_str(), "users", "get"][..],
            &[][..],
            "no credentials",
        ),
        (
            &["mgc", "users", "get"][..],
            &[("MGC_API_KEY", "k"), ("MGC_REGION", "us-east-1")][..],
            "br-se1",
        ),
        (
            &[
                "mgc",
                "--api-key",
                "k",
                "--api-url",
                "http://mgc.example",
                "users",
                "get",
            ][..],
            &[][..],
            "--plain-http",
        ),
        (
            &["mgc", "--api-key", "k", "--token", "t", "users", "get"][..],
            &[][..],
            "--token",
        ),
    ] {
        crctl_env(args, env).await.failed(2, &[why]);
    }
    assert_eq!(fake.request_count(), 0);
}

/// Every id argument is parsed into its type by the command line: a
/// malformed UUID is a usage error (exit 2) naming the argument, and no
/// request is sent. The same commands with well-formed ids reach the API.
#[tokio::test]
async fn malformed_ids_are_usage_errors_naming_the_argument() {
    let fake = MagaluFake::start().await;
    let bad = "0c6bbd87-881a-4bf8-b3f6";
    // A repository is a UUID or a name (resolved by look-up, see
    // tests/mgc_names.rs): only an empty one is refused before sending.
    let cases: &[(&[&str], &str, &str)] = &[
        (&["registries", "get", bad], "<REGISTRY_ID>", "registry_id"),
        (
            &["registries", "delete", bad],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (
            &["registries", "create", "ok", "--proxy-cache-id", bad],
            "--proxy-cache-id",
            "proxy_cache_id",
        ),
        (
            &["repositories", "list", bad],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (
            &["repositories", "get", REG, ""],
            "<REPOSITORY_ID>",
            "repository_id",
        ),
        (
            &["repositories", "delete", bad, REPO],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (
            &["images", "list", REG, ""],
            "<REPOSITORY_ID>",
            "repository_id",
        ),
        (
            &["images", "get", bad, REPO, "latest"],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (
            &["images", "delete", REG, "", DIGEST],
            "<REPOSITORY_ID>",
            "repository_id",
        ),
        (
            &["proxy-caches", "get", bad],
            "<PROXY_CACHE_ID>",
            "proxy_cache_id",
        ),
        (
            &["proxy-caches", "update", bad, "--name", "x"],
            "<PROXY_CACHE_ID>",
            "proxy_cache_id",
        ),
        (
            &["proxy-caches", "delete", bad],
            "<PROXY_CACHE_ID>",
            "proxy_cache_id",
        ),
        (
            &["proxy-caches", "status", bad],
            "<PROXY_CACHE_ID>",
            "proxy_cache_id",
        ),
        (&["members", "list", bad], "<REGISTRY_ID>", "registry_id"),
        (&["members", "create", REG, bad], "<USER_ID>", "user_id"),
        (&["members", "add", REG, "bob"], "<USER_ID>", "user_id"),
        (&["members", "get", REG, bad], "<MEMBER_ID>", "member_id"),
        (
            &["members", "update", REG, bad, "--role", "guest"],
            "<MEMBER_ID>",
            "member_id",
        ),
        (
            &["members", "delete", bad, MEMBER_ID],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (&["users", "delete", bad], "<USER_ID>", "user_id"),
        (
            &["scans", "schedule", REG, "", "latest"],
            "<REPOSITORY_ID>",
            "repository_id",
        ),
        (
            &["scans", "list", bad, REPO, "latest"],
            "<REGISTRY_ID>",
            "registry_id",
        ),
        (&["scans", "get", bad], "<SCAN_ID>", "scan_id"),
        (&["scans", "stop", ""], "<SCAN_ID>", "scan_id"),
        (&["scans", "vulnerabilities", bad], "<SCAN_ID>", "scan_id"),
    ];
    for (args, argument, param) in cases {
        let run = mgc(&fake, args).await;
        run.failed(2, &[argument, param, "is not a UUID"]);
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(fake.request_count(), 0);

    // Well-formed ids go through: one request.
    let ok = mgc(&fake, &["repositories", "get", REG, REPO]).await;
    ok.ok();
    assert_eq!(fake.request_count(), 1);
    fake.assert_clean();
}

#[tokio::test]
async fn table_output() {
    let fake = MagaluFake::start().await;
    fake.set_list("getRegistries", (0..2).map(registry).collect());
    let table = mgc(&fake, &["registries", "list", "--output", "table"]).await;
    let lines: Vec<&str> = table.ok().stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "STORAGE_USAGE_BYTES",
            "PROXY_CACHE_ID",
            "CREATED_AT"
        ]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        row,
        [uuid(1).as_str(), "reg1", "100", "-", "2024-05-15T19:56:47Z"]
    );
    // Columns line up under the header.
    assert_eq!(lines[0].find("NAME"), lines[1].find("reg0"));

    let one = mgc(&fake, &["--output", "table", "registries", "get", REG]).await;
    let rows: Vec<Vec<&str>> = one
        .ok()
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.contains(&vec!["id", REG]), "{}", one.stdout);
    assert!(
        rows.contains(&vec!["name", "cool_registry"]),
        "{}",
        one.stdout
    );
    fake.assert_clean();
}
