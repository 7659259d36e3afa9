//! Names and messages from a registry or an API reach the terminal escaped:
//! hostile tags, repository names, a registry error message and Magalu
//! fields with escape sequences, CR and bidi overrides are printed visibly
//! escaped as text, and as JSON that decodes to the exact strings.

#[path = "common/mgc_cli.rs"]
mod cli;

use bytes::Bytes;
use cli::{Run, crctl_env, mgc};
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_TAR};
use serde_json::{Value, json};
use test_support::TestRegistry;
use test_support::fake_mgc::MagaluFake;
use test_support::http::json_response;

/// Tags no registry should send, and how crctl prints each.
const HOSTILE: &[(&str, &str)] = &[
    ("\u{1b}[31mred", "\\x1b[31mred"),
    ("a\rb", "a\\rb"),
    ("ok\u{202e}txt", "ok\\u{202e}txt"),
    ("nl\nforged", "nl\\nforged"),
    ("csi\u{9b}2J", "csi\\u{9b}2J"),
    ("bs\u{8}\u{7f}", "bs\\x08\\x7f"),
    ("iso\u{2067}late", "iso\\u{2067}late"),
    ("caf\u{e9}-\u{1f680}", "caf\u{e9}-\u{1f680}"),
];

/// Characters that must never reach the terminal raw (a line feed only
/// as the end of a line).
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            c != '\n'
                && (c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c))
        })
        .collect()
}

#[track_caller]
fn assert_terminal_safe(text: &str) {
    let raw = raw_controls(text);
    assert!(raw.is_empty(), "raw {raw:?} in {text:?}");
}

async fn crctl(args: &[&str]) -> Run {
    crctl_env(args, &[("DOCKER_CONFIG", "/nonexistent-crctl-test")]).await
}

/// A registry with `app:v1`, behind a proxy that adds [`HOSTILE`] names
/// to the tag list of `app` and a hostile repository to the catalog.
async fn hostile_registry() -> (TestRegistry, test_support::Proxy) {
    let registry = TestRegistry::anonymous().await;
    let img = ImageBuilder::new()
        .config_bytes(
            OCI_CONFIG,
            Bytes::from_static(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#),
        )
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_TAR,
            Bytes::from(test_support::layers::tar_files(&[("f", b"x")])),
        ))
        .build()
        .unwrap();
    let app = Client::new(&registry.url()).unwrap().with_segment("app");
    app.push_image("v1", &img).await.unwrap();
    let tags = HOSTILE.iter().map(|(raw, _)| (*raw).to_owned()).collect();
    let repos = vec!["evil\u{1b}]0;pwned\u{7}/app".to_owned()];
    let proxy = registry
        .proxy_builder()
        .add_tags("app", tags)
        .add_repositories(repos)
        .start()
        .await;
    (registry, proxy)
}

/// Every tag the proxy serves, sorted as crctl lists them.
fn all_tags() -> Vec<&'static str> {
    let mut all: Vec<&str> = HOSTILE.iter().map(|(raw, _)| *raw).collect();
    all.push("v1");
    all.sort();
    all
}

#[tokio::test]
async fn hostile_tag_names_are_escaped_as_text_and_exact_in_json() {
    let (_registry, proxy) = hostile_registry().await;
    let repo = format!("{}/app", proxy.host());
    let escaped = |raw: &str| {
        HOSTILE
            .iter()
            .find(|(r, _)| *r == raw)
            .map_or(raw, |(_, e)| *e)
            .to_owned()
    };
    let expected: String = all_tags()
        .into_iter()
        .map(|t| format!("{}\n", escaped(t)))
        .collect();

    let run = crctl(&["tags", &repo]).await;
    assert_eq!(run.ok().stdout, expected);
    assert_terminal_safe(&run.stdout);
    assert_eq!(
        run.stdout.lines().count(),
        HOSTILE.len() + 1,
        "no forged lines"
    );
    // One page by --limit: the same escaping.
    let run = crctl(&["tags", &repo, "--limit", "100"]).await;
    assert_eq!(run.ok().stdout, expected);

    for args in [
        vec!["--json", "tags", &repo],
        vec!["--json", "tags", &repo, "--limit", "100"],
    ] {
        let run = crctl(&args).await;
        assert_terminal_safe(&run.stdout);
        assert_eq!(run.json(), json!({ "tags": all_tags() }), "{args:?}");
        assert!(run.stdout.contains(r#""ok\u202etxt""#), "{}", run.stdout);
        assert!(run.stdout.contains(r#""\u001b[31mred""#), "{}", run.stdout);
    }
}

#[tokio::test]
async fn hostile_repository_names_are_escaped() {
    let (_registry, proxy) = hostile_registry().await;
    let run = crctl(&["catalog", &proxy.host()]).await;
    assert_eq!(run.ok().stdout, "app\nevil\\x1b]0;pwned\\x07/app\n");
    let run = crctl(&["--json", "catalog", &proxy.host()]).await;
    assert_terminal_safe(&run.stdout);
    assert_eq!(
        run.json(),
        json!({"repositories": ["app", "evil\u{1b}]0;pwned\u{7}/app"]})
    );
}

#[tokio::test]
async fn a_registry_error_message_is_escaped_on_stderr() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .intercept(|req| {
            (req.path() == "/v2/app/tags/list").then(|| {
                json_response(
                    404,
                    &json!({"errors": [{
                        "code": "NAME_UNKNOWN",
                        "message": "repository \u{1b}]0;pwned\u{7}\u{1b}[2J unknown\r\u{202e}",
                        "detail": {"name": "app"}
                    }]}),
                )
            })
        })
        .start()
        .await;
    for json in [false, true] {
        let repo = format!("{}/app", proxy.host());
        let mut args = vec!["tags", repo.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let run = crctl(&args).await;
        run.failed(
            3,
            &[
                "NAME_UNKNOWN",
                r"repository \x1b]0;pwned\x07\x1b[2J unknown\r\u{202e}",
            ],
        );
        assert_terminal_safe(&run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

/// A Magalu registry with hostile fields.
fn hostile_registry_item() -> Value {
    json!({
        "id": "00000000-0000-4000-8000-000000000001",
        "name": "reg\u{1b}[8m\u{202e}\r\u{9b}",
        "storage_usage_bytes": 1,
        "created_at": "2024-05-15T19:56:47Z",
        "updated_at": "2024-05-16T10:00:00Z"
    })
}

#[tokio::test]
async fn magalu_tables_json_and_errors_are_terminal_safe() {
    let fake = MagaluFake::start().await;
    fake.set_list("getRegistries", vec![hostile_registry_item()]);
    let table = mgc(&fake, &["registries", "list", "--output", "table"]).await;
    assert_terminal_safe(&table.ok().stdout);
    assert!(
        table.stdout.contains("reg\\x1b[8m\\u{202e}\\r\\u{9b}"),
        "{}",
        table.stdout
    );
    let json = mgc(&fake, &["registries", "list"]).await;
    assert_terminal_safe(&json.stdout);
    assert_eq!(json.json()[0]["name"], "reg\u{1b}[8m\u{202e}\r\u{9b}");

    fake.on("getRegistries", |_| {
        Some(json_response(
            400,
            &json!({"slug": "bad_request", "message": "bad \u{1b}]52;c;aGk=\u{7} param", "detail": {}}),
        ))
    });
    let run = mgc(&fake, &["registries", "list"]).await;
    assert_terminal_safe(&run.stderr);
    assert!(
        run.stderr.contains(r"bad \x1b]52;c;aGk=\x07 param"),
        "{}",
        run.stderr
    );
    assert_ne!(run.code, 0);
}
