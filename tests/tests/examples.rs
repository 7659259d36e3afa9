//! Every crate's `examples/` run here, against a real docker-registry and
//! the fake Magalu and Azure services on 127.0.0.1, so that they never rot:
//! an example that fails, or prints the wrong thing, fails this test.
//!
//! The examples are built first (`cargo build --examples`, a no-op when
//! `cargo test --workspace --all-targets` built them already).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use test_support::TestRegistry;
use test_support::fake_acr::FakeAcr;
use test_support::fake_mgc::{API_KEY, MagaluFake};

/// The directory the examples are built into, next to this test's `deps`.
fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // The whole workspace, as `cargo test --workspace` builds it, so
        // that the features of the dependencies are the same and nothing
        // is built twice.
        build.args(["build", "--quiet", "--workspace", "--examples", "--bins"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build --examples");
        assert!(status.success(), "cargo build --examples failed");
        profile_dir.join("examples")
    })
}

/// The binary of `tests/readme-pull`, next to the examples directory.
fn readme_pull() -> PathBuf {
    examples_dir().parent().unwrap().join("readme-pull")
}

/// Runs example `name` with `args` and `env`; panics with its output
/// unless it exits 0; returns its stdout.
fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let exe = match name {
        "readme-pull" => readme_pull(),
        _ => examples_dir().join(name),
    };
    let mut cmd = Command::new(exe);
    cmd.args(args);
    for var in [
        "MGC_API_KEY",
        "MGC_TOKEN",
        "MGC_REGION",
        "MGC_API_URL",
        "AZURE_ACCESS_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", std::env::temp_dir()); // no Docker config of the user's
    cmd.envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("running the example");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    assert!(
        status.success(),
        "example {name} {args:?} failed ({status}):\n{stdout}\n{stderr}"
    );
    stdout.into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn oci_dist_examples_push_list_pull_and_copy() {
    let registry = TestRegistry::anonymous().await;
    let host = registry.host();
    let app = format!("{host}/team/hello");

    let pushed = run("push", &[&format!("{app}:v1")], &[]);
    let digest = pushed
        .split_whitespace()
        .nth(1)
        .expect("push prints the digest")
        .to_owned();
    assert!(digest.starts_with("sha256:"), "{pushed}");
    run("push", &[&format!("{app}:v2")], &[]);

    let tags = run("list_tags", &[&app, "1"], &[]);
    assert_eq!(tags.lines().collect::<Vec<_>>(), ["v1", "v2"]);

    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let pulled = run(
        "pull",
        &[&format!("{app}:v1"), layout.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        pulled.split_whitespace().nth(1),
        Some(digest.as_str()),
        "{pulled}"
    );
    let index = std::fs::read_to_string(layout.join("index.json")).unwrap();
    assert!(index.contains(&digest), "{index}");
    let (alg, hex) = digest.split_once(':').unwrap();
    assert!(layout.join("blobs").join(alg).join(hex).is_file());

    let copied = run(
        "copy",
        &[&format!("{app}:v1"), &format!("{host}/mirror/hello:v1")],
        &[],
    );
    assert!(copied.starts_with(&digest), "{copied}");
    assert!(
        copied.contains("2 mounted"),
        "same registry: blobs are mounted: {copied}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mgc_api_example_lists_registries_and_repositories() {
    let fake = MagaluFake::start().await;
    let url = fake.url();
    let out = run(
        "mgc_list",
        &[],
        &[("MGC_API_KEY", API_KEY), ("MGC_API_URL", &url)],
    );
    assert!(out.contains("cool_registry\n  alpine (2 images)"), "{out}");
    assert_eq!(fake.calls("getRegistries"), 1, "{out}");
    assert_eq!(fake.calls("getRepositoriesV1"), 1, "{out}");
    fake.assert_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn acr_auth_example_lists_anonymously_and_with_aad() {
    let anonymous = FakeAcr::start().await;
    let out = run("acr_list", &[&anonymous.url(), "app"], &[]);
    assert!(out.starts_with("alpha\nbeta\n"), "{out}");
    assert!(out.contains("app: v1 v2 v3 v4 v5 v6 v7"), "{out}");

    let aad = FakeAcr::builder().aad_token("aad-token").start().await;
    let out = run(
        "acr_list",
        &[&aad.url(), "app"],
        &[("AZURE_ACCESS_TOKEN", "aad-token")],
    );
    assert!(out.contains("app: v1 v2 v3 v4 v5 v6 v7"), "{out}");
    assert_eq!(
        aad.count("POST", "/oauth2/exchange"),
        1,
        "one AAD exchange, then cached"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn facade_example_uses_one_client_for_all_three() {
    let registry = TestRegistry::anonymous().await;
    let app = format!("{}/team/hello", registry.host());
    run("push", &[&format!("{app}:v1")], &[]);
    let mgc = MagaluFake::start().await;
    let acr = FakeAcr::start().await;

    let out = run(
        "one_client",
        &[&app, &acr.url()],
        &[("MGC_API_KEY", API_KEY), ("MGC_API_URL", &mgc.url())],
    );
    assert!(out.contains(&format!("oci {app}: v1")), "{out}");
    assert!(out.contains("mgc registry "), "{out}");
    assert!(out.contains("acr "), "{out}");
    assert_eq!(mgc.calls("getRegistries"), 1);
    mgc.assert_clean();
}

/// The README's pull program is `tests/readme-pull/src/main.rs`, a project
/// depending only on `oci-dist` (and tokio): the text is the same, and the
/// program pulls from a real registry.
#[tokio::test(flavor = "multi_thread")]
async fn readme_pull_program_is_the_readme_text_and_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let program = std::fs::read_to_string(root.join("tests/readme-pull/src/main.rs")).unwrap();
    let block = readme
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust block in the README");
    assert_eq!(
        block, program,
        "README's pull program and tests/readme-pull differ"
    );
    let manifest = std::fs::read_to_string(root.join("tests/readme-pull/Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
        .collect();
    assert_eq!(names, ["oci-dist", "tokio"]);

    let registry = TestRegistry::anonymous().await;
    let app = format!("{}/team/hello", registry.host());
    let pushed = run("push", &[&format!("{app}:v1")], &[]);
    let digest = pushed.split_whitespace().nth(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let out = run(
        "readme-pull",
        &[&format!("{app}:v1"), layout.to_str().unwrap()],
        &[],
    );
    assert!(out.starts_with(&format!("pulled {digest} (")), "{out}");
    assert!(layout.join("index.json").is_file());
}
