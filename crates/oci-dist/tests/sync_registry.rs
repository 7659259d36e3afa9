//! `oci_dist::sync` between real registries: selection by list, regex and
//! semver (latest N), deny patterns; each shared blob moved once; a rerun moves nothing; a failed
//! image is reported and a rerun completes it; shards split the plan; OCI
//! layouts both ways.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use oci_dist::sync::{
    self, Action, Endpoint, LayoutEndpoint, RegistryEndpoint, SyncJob, SyncOptions, TagSelector,
    config::SyncConfig,
};
use oci_dist::{Client, ImageSource, TagOrDigest};
use test_support::{Proxy, TestRegistry};

const TAGS: [&str; 4] = ["1.0.0", "1.1.0", "2.0.0", "latest"];

/// Ten repositories `lib/r0`..`lib/r9`, each with [`TAGS`], every image a
/// shared 2 KiB base layer plus its own 1 KiB layer.
async fn populate(client: &Client) -> Bytes {
    let base = common::bytes(2048, 7);
    for r in 0..10u64 {
        let c = client.with_repository(&format!("lib/r{r}"));
        for (t, tag) in TAGS.iter().enumerate() {
            let own = common::bytes(1024, 100 + r * 10 + t as u64);
            let img = common::image(&[base.clone(), own], "linux", "amd64", None);
            c.push_image(*tag, &img).await.unwrap();
        }
    }
    base
}

fn endpoint(url: &str) -> Arc<dyn Endpoint> {
    Arc::new(RegistryEndpoint::new(common::client(url)))
}

const CONFIG: &str = r#"
HOST:
  images:
    lib/r0: ["1.0.0", "2.0.0"]
    lib/r1: []
    lib/r2: [latest]
  images-by-tag-regex:
    lib/r3: ^1\.
    lib/r4: "^2"
  images-by-semver:
    lib/r5: ">= 1.1.0, < 3"
    lib/r6: ">= 1.0.0"
  tls-verify: false
  tags-deny: ['^1\.1']
  semver-latest: 1
"#;

fn config_jobs(host: &str, url: &str) -> Vec<SyncJob> {
    let cfg = SyncConfig::parse(&CONFIG.replace("HOST", host)).unwrap();
    let url = url.to_owned();
    cfg.jobs("mirror", false, |_, _| Ok(endpoint(&url)))
        .unwrap()
}

/// (destination repository, tag) of every item the plan takes.
fn selected(plan: &sync::SyncPlan) -> BTreeSet<(String, String)> {
    plan.items
        .iter()
        .map(|i| (i.destination.clone(), i.tag.clone()))
        .collect()
}

async fn digest_of(client: &Client, repo: &str, tag: &str) -> String {
    let target: TagOrDigest = tag.parse().unwrap();
    ImageSource::resolve(&client.with_repository(repo), &target)
        .await
        .unwrap()
        .digest()
        .to_string()
}

#[tokio::test]
async fn mirrors_selected_tags_moving_each_blob_once_and_reruns_as_a_no_op() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a);
    populate(&src).await;
    let proxy = Proxy::start(b.url()).await;
    let dest = RegistryEndpoint::new(common::client_via(&proxy));
    let jobs = config_jobs(&a.host(), &a.url());
    let opts = SyncOptions::default().jobs(4);

    let plan = sync::plan(&jobs, &dest, &opts).await;
    let m = |r: &str, t: &str| (format!("mirror/lib/{r}"), t.to_owned());
    let expected: BTreeSet<_> = [
        m("r0", "1.0.0"),
        m("r0", "2.0.0"),
        m("r1", "1.0.0"),
        m("r1", "2.0.0"),
        m("r1", "latest"),
        m("r2", "latest"),
        m("r3", "1.0.0"),
        m("r4", "2.0.0"),
        m("r5", "2.0.0"),
        m("r6", "2.0.0"),
    ]
    .into_iter()
    .collect();
    assert_eq!(selected(&plan), expected);
    assert_eq!(plan.count(Action::Copy), expected.len());
    // Deterministic: sorted, and the same again.
    let again = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(plan.items, again.items);

    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!(report.failed(), 0, "{:?}", report.images);
    assert_eq!(report.copied(), expected.len());
    // Shared base layer and config once, each image's own layer once.
    assert_eq!(report.blobs_moved, 2 + expected.len());
    assert!(report.bytes_deduplicated >= 2048 * (7 - 1));
    let uploads = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path().contains("/blobs/uploads/"))
        .count();
    assert_eq!(uploads, 2 + expected.len());
    let dst = common::client(&b.url());
    for (repo, tag) in &expected {
        let src_repo = repo.trim_start_matches("mirror/");
        assert_eq!(
            digest_of(&dst, repo, tag).await,
            digest_of(&src, src_repo, tag).await,
            "{repo}:{tag}"
        );
    }

    // A rerun: every tag is there at its digest; no blob is touched.
    proxy.clear_requests();
    let plan = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(plan.count(Action::Skip), expected.len());
    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!((report.skipped(), report.blobs_moved), (expected.len(), 0));
    let blob_requests: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.path().contains("/blobs/"))
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert!(blob_requests.is_empty(), "{blob_requests:?}");

    // A digest in a list (as skopeo files have) is copied by digest.
    let digest = digest_of(&src, "lib/r2", "1.0.0").await;
    let by_digest = vec![SyncJob::new(
        endpoint(&a.url()),
        "lib/r2",
        TagSelector::List(vec![digest.clone()]),
        "pinned/r2",
    )];
    let plan = sync::plan(&by_digest, &dest, &opts).await;
    assert_eq!(plan.count(Action::Copy), 1, "{:?}", plan.items);
    let report = sync::execute(&plan, &by_digest, &dest, &opts).await;
    assert_eq!(report.copied(), 1, "{:?}", report.images);
    assert_eq!(digest_of(&dst, "pinned/r2", &digest).await, digest);
    let plan = sync::plan(&by_digest, &dest, &opts).await;
    assert_eq!(plan.count(Action::Skip), 1);

    // A repository whose tags cannot be listed is one failed item.
    let missing = vec![SyncJob::new(
        endpoint(&a.url()),
        "lib/none",
        TagSelector::All,
        "x",
    )];
    let plan = sync::plan(&missing, &dest, &opts).await;
    assert_eq!(plan.items.len(), 1, "{:?}", plan.items);
    let item = &plan.items[0];
    assert_eq!((item.action, item.tag.as_str()), (Action::Fail, ""));
    let error = item.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("listing tags: "), "{error}");
}

#[tokio::test]
async fn a_failed_image_is_listed_the_others_copied_and_a_rerun_completes() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a);
    let base = common::bytes(2048, 7);
    let mut broken = String::new();
    for r in 0..3u64 {
        let own = common::bytes(1024, 500 + r);
        let img = common::image(&[base.clone(), own.clone()], "linux", "amd64", None);
        src.with_repository(&format!("app/r{r}"))
            .push_image("v1", &img)
            .await
            .unwrap();
        if r == 1 {
            broken = oci_dist::Digest::sha256_of(&own).to_string();
        }
    }
    let blocked = format!("/v2/app/r1/blobs/{broken}");
    let proxy = Proxy::builder(a.url())
        .intercept(move |req| {
            (req.method == "GET" && req.path() == blocked)
                .then(|| test_support::http::response(403, "denied"))
        })
        .start()
        .await;
    let dest = RegistryEndpoint::new(common::client(&b.url()));
    let jobs_via = |url: &str| -> Vec<SyncJob> {
        (0..3)
            .map(|r| {
                let repo = format!("app/r{r}");
                SyncJob::new(endpoint(url), &repo, TagSelector::All, &repo)
            })
            .collect()
    };
    let opts = SyncOptions::default();
    let jobs = jobs_via(&proxy.url());
    let plan = sync::plan(&jobs, &dest, &opts).await;
    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!(
        (report.copied(), report.failed()),
        (2, 1),
        "{:?}",
        report.images
    );
    let failed: Vec<_> = report
        .images
        .iter()
        .filter(|i| i.outcome == sync::ImageOutcome::Failed)
        .collect();
    assert_eq!(failed[0].destination, "app/r1");
    assert!(failed[0].error.as_deref().unwrap().contains("app/r1"));

    let jobs = jobs_via(&a.url());
    let plan = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!((plan.count(Action::Copy), plan.count(Action::Skip)), (1, 2));
    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!((report.copied(), report.failed()), (1, 0));
    // Only r1's blobs move (at most its three: the failure stopped the
    // image's other transfers wherever they were).
    assert!(report.blobs_moved <= 3);
    let r1 = &report.images[1];
    assert_eq!(
        (r1.destination.as_str(), r1.outcome),
        ("app/r1", sync::ImageOutcome::Copied)
    );
    assert_eq!(report.images[0].outcome, sync::ImageOutcome::Skipped);
}

#[tokio::test]
async fn shards_cover_the_plan_exactly_once_by_repository() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    populate(&common::client_for(&a)).await;
    let dest = RegistryEndpoint::new(common::client(&b.url()));
    let jobs: Vec<SyncJob> = (0..10)
        .map(|r| {
            let repo = format!("lib/r{r}");
            SyncJob::new(endpoint(&a.url()), &repo, TagSelector::All, &repo)
        })
        .collect();
    let whole = sync::plan(&jobs, &dest, &SyncOptions::default()).await;
    let parts: Vec<_> = futures_util::future::join_all(["0/2", "1/2"].map(|s| {
        let opts = SyncOptions::default().shard(s.parse().unwrap());
        let (jobs, dest) = (&jobs, &dest);
        async move { sync::plan(jobs, dest, &opts).await }
    }))
    .await;
    let repos = |p: &sync::SyncPlan| -> BTreeSet<String> {
        p.items.iter().map(|i| i.source.clone()).collect()
    };
    assert!(repos(&parts[0]).is_disjoint(&repos(&parts[1])));
    assert!(!parts[0].items.is_empty() && !parts[1].items.is_empty());
    let mut union: Vec<_> = parts.iter().flat_map(|p| p.items.clone()).collect();
    union.sort();
    assert_eq!(union, whole.items);
    assert_eq!(whole.items.len(), 40);
}

#[tokio::test]
async fn registry_to_layout_and_layout_to_registry() {
    let a = TestRegistry::anonymous().await;
    let c = TestRegistry::anonymous().await;
    populate(&common::client_for(&a)).await;
    let dir = tempfile::tempdir().unwrap();
    let layouts = LayoutEndpoint::new(dir.path());
    let jobs: Vec<SyncJob> = (0..2)
        .map(|r| {
            let repo = format!("lib/r{r}");
            SyncJob::new(
                endpoint(&a.url()),
                &repo,
                TagSelector::List(vec!["1.0.0".into(), "latest".into()]),
                &repo,
            )
        })
        .collect();
    let opts = SyncOptions::default();
    let report = sync::execute(
        &sync::plan(&jobs, &layouts, &opts).await,
        &jobs,
        &layouts,
        &opts,
    )
    .await;
    assert_eq!(
        (report.copied(), report.failed()),
        (4, 0),
        "{:?}",
        report.images
    );
    assert!(dir.path().join("lib/r1/index.json").exists());
    let again = sync::plan(&jobs, &layouts, &opts).await;
    assert_eq!(again.count(Action::Skip), 4);

    // Back from the layouts to another registry.
    let layouts: Arc<dyn Endpoint> = Arc::new(layouts);
    let back: Vec<SyncJob> = (0..2)
        .map(|r| {
            let repo = format!("lib/r{r}");
            SyncJob::new(
                layouts.clone(),
                &repo,
                TagSelector::All,
                format!("copy/{repo}"),
            )
        })
        .collect();
    let dest = RegistryEndpoint::new(common::client(&c.url()));
    let report = sync::execute(&sync::plan(&back, &dest, &opts).await, &back, &dest, &opts).await;
    assert_eq!(
        (report.copied(), report.failed()),
        (4, 0),
        "{:?}",
        report.images
    );
    let (src, dst) = (common::client(&a.url()), common::client(&c.url()));
    assert_eq!(
        digest_of(&dst, "copy/lib/r1", "latest").await,
        digest_of(&src, "lib/r1", "latest").await
    );
}
