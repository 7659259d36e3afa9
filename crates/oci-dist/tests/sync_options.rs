//! `oci_dist::sync`'s options between real registries.
//!
//! - A platform filter (`platforms:` in the YAML file): the destination
//!   gets an index of only those images (its own digest, planned before any
//!   transfer), the other images' blobs are not copied, a rerun is a no-op,
//!   and a filter that keeps every image leaves digests unchanged.
//! - Progress: one `Image` event per plan item, blob bytes adding up to
//!   what the report says moved.
//! - Referrers (`referrers: true`): a signature and an SBOM of an image, and
//!   a signature of the SBOM, come along by digest; the destination's
//!   tag-schema fallback lists them; a rerun copies none; without the key
//!   none come.

mod common;

use std::sync::Arc;

use oci_dist::image::ImageBuilder;
use oci_dist::image::NewIndex;
use oci_dist::progress::ProgressEvent;
use oci_dist::sync::{
    self, Action, Endpoint, RegistryEndpoint, SyncJob, SyncOptions, config::SyncConfig,
};
use oci_dist::{Client, Digest, ImageSource, TagOrDigest};
use test_support::TestRegistry;

/// amd64, arm64/v8 and arm/v7 images sharing a base layer, each with its
/// own second layer.
fn three_platform_index(seed: u64) -> NewIndex {
    let shared = common::bytes(4096, seed);
    let images = [("amd64", None), ("arm64", Some("v8")), ("arm", Some("v7"))]
        .iter()
        .enumerate()
        .map(|(i, (arch, variant))| {
            common::image(
                &[shared.clone(), common::bytes(2048 + i, seed + 1 + i as u64)],
                "linux",
                arch,
                *variant,
            )
        })
        .collect();
    NewIndex::new(images).unwrap()
}

fn jobs(host: &str, url: &str, platforms: &str) -> Result<Vec<SyncJob>, oci_dist::Error> {
    let yaml = format!("{host}:\n  images:\n    lib/multi: [v1]\n  platforms: {platforms}\n");
    let url = url.to_owned();
    SyncConfig::parse(&yaml)?.jobs("mirror", false, |_, _| {
        Ok(Arc::new(RegistryEndpoint::new(common::client(&url))) as Arc<dyn Endpoint>)
    })
}

async fn digest_at(client: &Client, repo: &str, tag: &str) -> Digest {
    let target: TagOrDigest = tag.parse().unwrap();
    ImageSource::resolve(&client.with_repository(repo), &target)
        .await
        .unwrap()
        .digest()
        .clone()
}

#[tokio::test]
async fn a_platform_filter_mirrors_an_index_of_only_those_images_and_reruns_as_a_no_op() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let index = three_platform_index(70);
    let src = common::client_for(&a).with_repository("lib/multi");
    src.push_index("v1", &index).await.unwrap();
    let dst = common::client_for(&b);
    let dest = RegistryEndpoint::new(dst.clone());
    let opts = SyncOptions::default().jobs(2);

    let jobs = jobs(&a.host(), &a.url(), "[linux/arm64, linux/arm/v7]").unwrap();
    let plan = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(plan.items.len(), 1, "{plan:?}");
    let item = &plan.items[0];
    assert_eq!(item.action, Action::Copy);
    assert_eq!(item.digest.as_ref(), Some(index.manifest().digest()));
    let filtered: Digest = item.filtered.clone().expect("a filtered digest");
    assert_ne!(&filtered, index.manifest().digest());

    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!(
        (report.copied(), report.failed()),
        (1, 0),
        "{:?}",
        report.images
    );
    assert_eq!(report.images[0].digest.as_ref(), Some(&filtered));

    // The destination's index lists arm64 and arm/v7 only, under the
    // planned digest; amd64's own layer never moved.
    let mirrored = dst.with_repository("mirror/lib/multi");
    assert_eq!(digest_at(&dst, "mirror/lib/multi", "v1").await, filtered);
    let got = mirrored.get_manifest("v1").await.unwrap();
    let archs: Vec<String> = got
        .as_index()
        .unwrap()
        .manifests()
        .iter()
        .map(|d| d.platform().as_ref().unwrap().architecture().to_string())
        .collect();
    assert_eq!(archs, ["arm64", "arm"]);
    let amd64 = &index.images()[0];
    let own_layer = amd64.manifest().as_image().unwrap().layers()[1]
        .digest()
        .to_string();
    assert!(
        !mirrored
            .blob_exists(&own_layer.parse().unwrap())
            .await
            .unwrap()
    );
    for image in &index.images()[1..] {
        assert!(mirrored.manifest_exists(image.digest()).await.unwrap());
    }

    // Planned again: the destination has the filtered digest, a no-op.
    let again = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(again.count(Action::Skip), 1, "{again:?}");
}

#[tokio::test]
async fn a_filter_keeping_every_image_keeps_the_digest_and_one_keeping_none_fails_the_item() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let index = three_platform_index(80);
    common::client_for(&a)
        .with_repository("lib/multi")
        .push_index("v1", &index)
        .await
        .unwrap();
    let dst = common::client_for(&b);
    let dest = RegistryEndpoint::new(dst.clone());
    let opts = SyncOptions::default();

    let all = jobs(&a.host(), &a.url(), "[linux/amd64, linux/arm64, linux/arm]").unwrap();
    let plan = sync::plan(&all, &dest, &opts).await;
    assert_eq!(plan.items[0].filtered, None);
    let report = sync::execute(&plan, &all, &dest, &opts).await;
    assert_eq!(report.copied(), 1, "{:?}", report.images);
    assert_eq!(
        &digest_at(&dst, "mirror/lib/multi", "v1").await,
        index.manifest().digest()
    );

    let none = jobs(&a.host(), &a.url(), "[linux/s390x]").unwrap();
    let plan = sync::plan(&none, &dest, &opts).await;
    assert_eq!(plan.items[0].action, Action::Fail);
    let why = plan.items[0].error.as_deref().unwrap();
    assert!(why.contains("no image for platforms linux/s390x"), "{why}");

    let bad = jobs(&a.host(), &a.url(), "[linux]").unwrap_err();
    assert!(bad.to_string().contains("linux"), "{bad}");
}

#[tokio::test]
async fn progress_reports_each_image_and_bytes_adding_up_to_the_report() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a);
    let base = common::bytes(8192, 90);
    for r in 0..3u64 {
        let img = common::image(
            &[base.clone(), common::bytes(1024, 91 + r)],
            "linux",
            "amd64",
            None,
        );
        src.with_repository(&format!("lib/p{r}"))
            .push_image("v1", &img)
            .await
            .unwrap();
    }
    let jobs: Vec<SyncJob> = (0..3)
        .map(|r| {
            let repo = format!("lib/p{r}");
            let endpoint = Arc::new(RegistryEndpoint::new(common::client(&a.url())));
            SyncJob::new(endpoint, &repo, sync::TagSelector::All, &repo)
        })
        .collect();
    let dest = RegistryEndpoint::new(common::client_for(&b));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = SyncOptions::default().jobs(2).progress(tx);
    let plan = sync::plan(&jobs, &dest, &opts).await;
    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    drop(opts);
    assert_eq!(report.copied(), 3, "{:?}", report.images);

    let mut images = Vec::new();
    let (mut last_done, mut last_total) = (0, 0);
    while let Some(e) = rx.recv().await {
        match e {
            ProgressEvent::Image {
                tag, done, total, ..
            } => images.push((tag, done, total)),
            ProgressEvent::BlobDone {
                overall_done,
                overall_total,
                ..
            } => {
                last_done = last_done.max(overall_done);
                last_total = last_total.max(overall_total);
            }
            _ => {}
        }
    }
    let done: Vec<usize> = images.iter().map(|(_, d, _)| *d).collect();
    assert_eq!(done, [1, 2, 3]);
    assert!(images.iter().all(|(t, _, total)| t == "v1" && *total == 3));
    // The shared base counts once in the total, as in the bytes moved.
    assert_eq!(last_total, last_done);
    assert!(
        last_done >= report.bytes_moved,
        "{last_done} < {}",
        report.bytes_moved
    );
    assert!(
        last_total < 2 * 8192,
        "base counted more than once: {last_total}"
    );
}

#[tokio::test]
async fn referrers_come_along_by_digest_once() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_repository("lib/signed");
    let img = common::small_image(1, 512, 95);
    src.push_image("v1", &img).await.unwrap();
    let artifact = |kind: &str, subject: &oci_dist::Descriptor| {
        ImageBuilder::new()
            .artifact_type(kind)
            .subject(subject.clone())
            .build()
            .unwrap()
    };
    let sig = artifact(
        "application/vnd.example.signature",
        &img.manifest().descriptor(),
    );
    let sbom = artifact("application/vnd.example.sbom", &img.manifest().descriptor());
    let sbom_sig = artifact(
        "application/vnd.example.signature",
        &sbom.manifest().descriptor(),
    );
    for r in [&sig, &sbom, &sbom_sig] {
        src.push_image(r.digest(), r).await.unwrap();
    }
    let dst = common::client_for(&b);
    let dest = RegistryEndpoint::new(dst.clone());
    let opts = SyncOptions::default();
    let jobs = |referrers: bool| {
        let yaml = format!(
            "{}:\n  images:\n    lib/signed: [v1]\n  referrers: {referrers}\n",
            a.host()
        );
        let url = a.url();
        SyncConfig::parse(&yaml)
            .unwrap()
            .jobs(if referrers { "with" } else { "without" }, false, |_, _| {
                Ok(Arc::new(RegistryEndpoint::new(common::client(&url))) as Arc<dyn Endpoint>)
            })
            .unwrap()
    };

    let without = jobs(false);
    let report = sync::execute(
        &sync::plan(&without, &dest, &opts).await,
        &without,
        &dest,
        &opts,
    )
    .await;
    assert_eq!(report.images[0].referrers_copied, 0);
    let bare = dst.with_repository("without/lib/signed");
    assert!(!bare.manifest_exists(sig.digest()).await.unwrap());

    let with = jobs(true);
    let report = sync::execute(&sync::plan(&with, &dest, &opts).await, &with, &dest, &opts).await;
    assert_eq!(report.failed(), 0, "{:?}", report.images);
    assert_eq!(report.images[0].referrers_copied, 3);
    let mirrored = dst.with_repository("with/lib/signed");
    let listed = mirrored.referrers(img.digest(), None).await.unwrap();
    let mut got: Vec<String> = listed
        .descriptors
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    got.sort();
    let mut want = vec![sig.digest().to_string(), sbom.digest().to_string()];
    want.sort();
    assert_eq!(got, want);
    assert!(mirrored.manifest_exists(sbom_sig.digest()).await.unwrap());

    // Found, not copied again: the image is skipped, its referrers too.
    let report = sync::execute(&sync::plan(&with, &dest, &opts).await, &with, &dest, &opts).await;
    assert_eq!(report.skipped(), 1, "{:?}", report.images);
    assert_eq!(report.images[0].referrers_copied, 0);
}
