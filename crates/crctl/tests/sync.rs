//! `crctl sync` against real docker-registry instances: a skopeo-format
//! YAML file mirrored, a rerun that copies nothing, a failed image (exit 1,
//! listed) completed by a rerun, shards covering the plan once, unknown
//! YAML keys, the same file through `skopeo sync` giving the same tags
//! and digests, and the `--platforms` / `--referrers` flags.

#[path = "common/mirror.rs"]
mod mirror;
#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::collections::BTreeSet;

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer, NewIndex};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_TAR};
use run::Run;
use serde_json::Value;
use test_support::Proxy;
use test_support::TestRegistry;

use mirror::contents;
use run::crctl_anonymous as crctl;

const TAGS: [&str; 4] = ["1.0.0", "1.2.0", "2.0.0", "latest"];

fn yaml(host: &str) -> String {
    format!(
        r#"{host}:
  images:
    lib/r0: ["1.0.0", "latest"]
    lib/r1: []
  images-by-tag-regex:
    lib/r2: ^1\.
  images-by-semver:
    lib/r3: ">= 1.1.0, < 3"
  tls-verify: false
"#
    )
}

fn summary(run: &Run) -> Value {
    run.json()
}

#[tokio::test]
async fn yaml_sync_copies_then_reruns_as_a_no_op_with_a_report() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    mirror::populate(&a, 4, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yaml");
    std::fs::write(&file, yaml(&a.host())).unwrap();
    let file = file.to_str().unwrap();
    let to = format!("{}/mirror", b.host());

    let plan = crctl(&["sync", file, "--to", &to, "--dry-run", "--json"]).await;
    let plan = summary(&plan);
    let items = plan["items"].as_array().unwrap();
    // r0: 2, r1: 4, r2: 2 (1.0.0, 1.2.0), r3: 2 (1.2.0, 2.0.0).
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|i| i["action"] == "copy"));
    assert!(
        contents(&b.url(), &["mirror/lib/r0"]).await.is_empty(),
        "dry run changed nothing"
    );

    let report = dir.path().join("report.json");
    let run = crctl(&[
        "sync",
        file,
        "--to",
        &to,
        "--report",
        report.to_str().unwrap(),
    ])
    .await;
    run.ok();
    assert!(
        run.stdout.contains("10 copied, 0 skipped, 0 failed"),
        "{}",
        run.stdout
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["images"].as_array().unwrap().len(), 10);
    // base + config once, each image's own layer once.
    assert_eq!(written["blobs_moved"], 12);
    let ours = contents(
        &b.url(),
        &[
            "mirror/lib/r0",
            "mirror/lib/r1",
            "mirror/lib/r2",
            "mirror/lib/r3",
        ],
    )
    .await;
    let theirs = contents(&a.url(), &["lib/r0", "lib/r1", "lib/r2", "lib/r3"]).await;
    assert_eq!(ours.len(), 10);
    for (repo, tag, digest) in &ours {
        let src = (
            repo.trim_start_matches("mirror/").to_owned(),
            tag.clone(),
            digest.clone(),
        );
        assert!(
            theirs.contains(&src),
            "{repo}:{tag} differs from the source"
        );
    }

    let again = crctl(&["sync", file, "--to", &to, "--json"]).await;
    let again = summary(&again);
    assert_eq!(again["blobs_moved"], 0);
    assert!(
        again["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "skipped")
    );
}

#[tokio::test]
async fn a_failed_image_exits_1_listing_it_and_a_rerun_completes() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    mirror::populate(&a, 2, &TAGS).await;
    // Every manifest of lib/r1 is refused through the proxy.
    let proxy = Proxy::builder(a.url())
        .intercept(|req| {
            (req.method == "GET" && req.path().starts_with("/v2/lib/r1/manifests/sha256:"))
                .then(|| test_support::http::response(403, "denied"))
        })
        .start()
        .await;
    let file_for =
        |host: &str| format!("{host}:\n  images:\n    lib/r0: [latest]\n    lib/r1: [latest]\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yml");
    std::fs::write(&file, file_for(&proxy.host())).unwrap();
    let run = crctl(&["sync", file.to_str().unwrap(), "--to", &b.host()]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 copied, 0 skipped, 1 failed"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("lib/r1:latest"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 of 2 images failed"),
        "{}",
        run.stderr
    );

    std::fs::write(&file, file_for(&a.host())).unwrap();
    let run = crctl(&["sync", file.to_str().unwrap(), "--to", &b.host(), "--json"]).await;
    let report = summary(&run);
    let outcomes: Vec<_> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["destination"].as_str().unwrap().to_owned(),
                i["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("lib/r0".into(), "skipped".into()),
            ("lib/r1".into(), "copied".into())
        ]
    );
}

#[tokio::test]
async fn shards_cover_the_plan_exactly_once() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    mirror::populate(&a, 6, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yaml");
    let repos: String = (0..6).map(|r| format!("    lib/r{r}: []\n")).collect();
    std::fs::write(&file, format!("{}:\n  images:\n{repos}", a.host())).unwrap();
    let file = file.to_str().unwrap();
    let plan_of = |shard: Option<&'static str>| {
        let to = b.host();
        async move {
            let mut args = vec!["sync", file, "--to", &to, "--dry-run", "--json"];
            if let Some(s) = shard {
                args.extend(["--shard", s]);
            }
            let run = crctl(&args).await;
            let items: Vec<(String, String)> = summary(&run)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["source"].as_str().unwrap().to_owned(),
                        i["tag"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            items
        }
    };
    let whole = plan_of(None).await;
    let (s0, s1) = (plan_of(Some("0/2")).await, plan_of(Some("1/2")).await);
    assert_eq!(whole.len(), 24);
    assert!(!s0.is_empty() && !s1.is_empty());
    let repos = |v: &[(String, String)]| v.iter().map(|(s, _)| s.clone()).collect::<BTreeSet<_>>();
    assert!(repos(&s0).is_disjoint(&repos(&s1)));
    let mut union: Vec<_> = s0.into_iter().chain(s1).collect();
    union.sort();
    assert_eq!(union, whole);
    crctl(&["sync", file, "--to", &b.host(), "--shard", "2/2"])
        .await
        .failed(2, &["shard"]);
}

#[tokio::test]
async fn unknown_yaml_keys_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yaml");
    std::fs::write(
        &file,
        "r.example:\n  images:\n    app: []\n  tls-verfy: false\n",
    )
    .unwrap();
    crctl(&[
        "sync",
        file.to_str().unwrap(),
        "--to",
        "127.0.0.1:1",
        "--dry-run",
    ])
    .await
    .failed(2, &["tls-verfy", "line 4"]);
}

/// The same YAML through `skopeo sync` and `crctl sync --flat` gives the
/// same tags and digests on two destinations.
#[tokio::test]
async fn same_yaml_as_skopeo_sync_gives_the_same_tags_and_digests() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let a = TestRegistry::anonymous().await;
    let (ours, theirs) = (
        TestRegistry::anonymous().await,
        TestRegistry::anonymous().await,
    );
    mirror::populate(&a, 4, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yaml");
    // skopeo 1.9 reads `images` and `images-by-tag-regex` (not yet
    // `images-by-semver`, which it ignores).
    let text = yaml(&a.host()).replace("  images-by-semver:\n    lib/r3: \">= 1.1.0, < 3\"\n", "");
    assert!(!text.contains("semver"));
    std::fs::write(&file, text).unwrap();
    let out = tokio::process::Command::new(&skopeo)
        .args([
            "--insecure-policy",
            "sync",
            "--src",
            "yaml",
            "--dest",
            "docker",
        ])
        .arg("--dest-tls-verify=false")
        .arg("--preserve-digests")
        .arg(&file)
        .arg(format!("{}/mirror", theirs.host()))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    crctl(&[
        "sync",
        file.to_str().unwrap(),
        "--to",
        &format!("{}/mirror", ours.host()),
        "--flat",
    ])
    .await
    .ok();
    let repos = ["mirror/r0", "mirror/r1", "mirror/r2", "mirror/r3"];
    let (x, y) = (
        contents(&ours.url(), &repos).await,
        contents(&theirs.url(), &repos).await,
    );
    assert_eq!(x.len(), 8);
    assert_eq!(x, y);
}

/// `--platforms` keeps only those images of an index (a bad list is a
/// usage error); `--referrers` brings an image's signature along.
#[tokio::test]
async fn platforms_and_referrers_flags() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = Client::new(&a.url()).unwrap().with_repository("lib/multi");
    let image = |arch: &str, seed: u64| {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let own = test_support::layers::pseudo_random(512, seed);
        ImageBuilder::new()
            .config_bytes(OCI_CONFIG, Bytes::from(config))
            .layer(ImageLayer::from_bytes(
                OCI_LAYER_TAR,
                Bytes::from(test_support::layers::tar_files(&[("own", &own)])),
            ))
            .build()
            .unwrap()
    };
    let index = NewIndex::new(vec![image("amd64", 1), image("arm64", 2)]).unwrap();
    src.push_index("v1", &index).await.unwrap();
    let sig = ImageBuilder::new()
        .artifact_type("application/vnd.example.signature")
        .subject(index.manifest().descriptor())
        .build()
        .unwrap();
    src.push_image(sig.digest(), &sig).await.unwrap();
    let source = format!("{}/lib/multi", a.host());

    let bad = crctl(&["sync", &source, "--to", &b.host(), "--platforms", "linux"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--platforms"), "{}", bad.stderr);

    let to = format!("{}/only-arm", b.host());
    crctl(&["sync", &source, "--to", &to, "--platforms", "linux/arm64"])
        .await
        .ok();
    let dst = Client::new(&b.url()).unwrap();
    let got = dst
        .with_repository("only-arm/lib/multi")
        .get_manifest("v1")
        .await
        .unwrap();
    let entries = got.manifests();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].digest().to_string(),
        index.images()[1].digest().to_string()
    );

    let to = format!("{}/signed", b.host());
    // Only v1: the fallback tag (`sha256-…`, an index of the referrers)
    // would bring the signature along as a tag of its own.
    let run = crctl(&[
        "sync",
        &source,
        "--to",
        &to,
        "--tags",
        "^v1$",
        "--referrers",
        "--json",
    ])
    .await;
    let report = run.json();
    let images = report["images"].as_array().unwrap();
    let v1 = images.iter().find(|i| i["tag"] == "v1").unwrap();
    assert_eq!(v1["referrers_copied"], 1, "{report}");
    assert!(
        dst.with_repository("signed/lib/multi")
            .manifest_exists(sig.digest())
            .await
            .unwrap()
    );
}
