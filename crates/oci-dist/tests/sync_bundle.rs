//! `oci_dist::sync` through a bundle (many repositories in one OCI
//! archive): registry → bundle → a second registry keeps every tag's
//! digest (a multi-platform index and an image copied by digest only
//! included), blobs shared by repositories are stored once in the tar, the
//! file appears only when finished, and a rerun into the second registry
//! copies nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use oci_dist::archive::OciArchiveReader;
use oci_dist::image::NewIndex;
use oci_dist::sync::{
    self, Action, ArchiveEndpoint, Endpoint, REPOSITORY_ANNOTATION, RegistryEndpoint, SyncJob,
    SyncOptions, TagSelector, destination_name,
};
use oci_dist::{Client, ErrorKind, ImageSource, TagOrDigest};
use test_support::TestRegistry;

const REPOS: [&str; 3] = ["lib/r0", "lib/r1", "lib/r2"];
const TAGS: [&str; 2] = ["1.0", "2.0"];

/// [`REPOS`] with [`TAGS`] (a shared 2 KiB base layer and one 1 KiB layer
/// of their own, one amd64 config), and `multi/app:v1`, a two-platform
/// index. Returns the index's digest.
async fn populate(client: &Client) -> String {
    let base = common::bytes(2048, 7);
    for (r, repo) in REPOS.iter().enumerate() {
        let c = client.with_repository(repo);
        for (t, tag) in TAGS.iter().enumerate() {
            let own = common::bytes(1024, 100 + r as u64 * 10 + t as u64);
            let img = common::image(&[base.clone(), own], "linux", "amd64", None);
            c.push_image(*tag, &img).await.unwrap();
        }
    }
    let shared = common::bytes(3000, 50);
    let images = ["amd64", "arm64"]
        .iter()
        .enumerate()
        .map(|(i, arch)| {
            let own: Bytes = common::bytes(1500 + i, 60 + i as u64);
            common::image(&[shared.clone(), own], "linux", arch, None)
        })
        .collect();
    let index = NewIndex::new(images).unwrap();
    client
        .with_repository("multi/app")
        .push_index("v1", &index)
        .await
        .unwrap();
    index.manifest().digest().to_string()
}

async fn digest_of(client: &Client, repo: &str, target: &str) -> String {
    let target: TagOrDigest = target.parse().unwrap();
    ImageSource::resolve(&client.with_repository(repo), &target)
        .await
        .unwrap()
        .digest()
        .to_string()
}

/// The blob entries of the tar, each name as often as it occurs.
fn blob_entries(path: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("blobs/sha256/") && n.len() > "blobs/sha256/".len())
        .collect()
}

#[tokio::test]
async fn registry_to_bundle_to_registry_keeps_every_digest_storing_shared_blobs_once() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let src = common::client_for(&a);
    let index_digest = populate(&src).await;
    let pinned = digest_of(&src, "lib/r0", "1.0").await;

    // Connected side: every repository, plus lib/r0:1.0 by digest only
    // into `lib/pinned`.
    let source: Arc<dyn Endpoint> = Arc::new(RegistryEndpoint::new(src.clone()));
    let mut jobs: Vec<SyncJob> = REPOS
        .iter()
        .chain(&["multi/app"])
        .map(|r| SyncJob::new(source.clone(), *r, TagSelector::All, *r))
        .collect();
    jobs.push(SyncJob::new(
        source.clone(),
        "lib/r0",
        TagSelector::List(vec![pinned.clone()]),
        "lib/pinned",
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar");
    let bundle = ArchiveEndpoint::create(&path).await.unwrap();
    let opts = SyncOptions::default().jobs(4);
    let plan = sync::plan(&jobs, &bundle, &opts).await;
    // A new bundle has nothing to compare with: everything is copied.
    assert_eq!(plan.count(Action::Copy), 8, "{:?}", plan.items);
    assert_eq!(plan.items.len(), 8);
    let report = sync::execute(&plan, &jobs, &bundle, &opts).await;
    assert_eq!(report.failed(), 0, "{:?}", report.images);
    assert_eq!(report.copied(), 8);
    assert!(!path.exists(), "the bundle appears only when finished");
    bundle.finish().await.unwrap();
    assert!(path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // Each blob once: the base layer and the amd64 config shared by every
    // lib image, 6 own layers, 6 manifests; the index, its 2 manifests,
    // its shared layer, 2 own layers and the arm64 config (its amd64
    // config is the lib images' one). The pinned image adds nothing.
    let blobs = blob_entries(&path);
    let distinct: BTreeSet<&String> = blobs.iter().collect();
    assert_eq!(
        distinct.len(),
        blobs.len(),
        "a blob stored twice: {blobs:?}"
    );
    assert_eq!(blobs.len(), 14 + 7, "{blobs:?}");
    assert_eq!(report.blobs_moved, 8 + 4);

    // index.json: `REPO:TAG` ref names, and the digest-only image untagged
    // with its repository annotated.
    let reader = OciArchiveReader::open(&path).await.unwrap();
    let names: BTreeSet<String> = reader.list_refs().into_iter().map(|(n, _)| n).collect();
    let mut want: BTreeSet<String> = REPOS
        .iter()
        .flat_map(|r| TAGS.iter().map(move |t| format!("{r}:{t}")))
        .collect();
    want.insert("multi/app:v1".into());
    assert_eq!(names, want);
    let untagged: Vec<_> = reader
        .index()
        .manifests()
        .iter()
        .filter(|d| {
            d.annotations()
                .as_ref()
                .is_none_or(|a| !a.contains_key("org.opencontainers.image.ref.name"))
        })
        .collect();
    assert_eq!(untagged.len(), 1);
    assert_eq!(untagged[0].digest().to_string(), pinned);
    assert_eq!(
        untagged[0].annotations().as_ref().unwrap()[REPOSITORY_ANNOTATION],
        "lib/pinned"
    );

    // Air-gapped side: the bundle into a second registry, under `mirror/`.
    let bundle = Arc::new(ArchiveEndpoint::open(&path).await.unwrap());
    let repos = bundle.repositories();
    assert_eq!(
        repos,
        ["lib/pinned", "lib/r0", "lib/r1", "lib/r2", "multi/app"]
    );
    assert_eq!(
        bundle.list_tags("lib/pinned").await.unwrap(),
        vec![pinned.clone()]
    );
    let jobs: Vec<SyncJob> = repos
        .iter()
        .map(|r| {
            let source: Arc<dyn Endpoint> = bundle.clone();
            SyncJob::new(
                source,
                r.as_str(),
                TagSelector::All,
                destination_name("mirror", r, false),
            )
        })
        .collect();
    let dst_client = common::client_for(&b);
    let dest = RegistryEndpoint::new(dst_client.clone());
    let plan = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(plan.count(Action::Copy), 8, "{:?}", plan.items);
    let report = sync::execute(&plan, &jobs, &dest, &opts).await;
    assert_eq!(report.failed(), 0, "{:?}", report.images);
    dest.finish().await.unwrap();

    let mut digests = BTreeMap::new();
    for repo in REPOS {
        for tag in TAGS {
            let want = digest_of(&src, repo, tag).await;
            let got = digest_of(&dst_client, &format!("mirror/{repo}"), tag).await;
            assert_eq!(got, want, "{repo}:{tag}");
            digests.insert(format!("{repo}:{tag}"), got);
        }
    }
    assert_eq!(digests.len(), 6);
    assert_eq!(
        digest_of(&dst_client, "mirror/multi/app", "v1").await,
        index_digest
    );
    assert_eq!(
        digest_of(&dst_client, "mirror/lib/pinned", &pinned).await,
        pinned
    );

    // A rerun: every tag is at the destination already.
    let plan = sync::plan(&jobs, &dest, &opts).await;
    assert_eq!(plan.count(Action::Skip), 8, "{:?}", plan.items);
}

#[tokio::test]
async fn a_bundle_source_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = ArchiveEndpoint::open(dir.path().join("none.tar"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    // An empty bundle: no repositories; asking for one is NotFound.
    let path = dir.path().join("empty.tar");
    let bundle = ArchiveEndpoint::create(&path).await.unwrap();
    // Nothing to read in a bundle being written.
    let err = bundle.open("lib/x", false).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    bundle.finish().await.unwrap();
    // Finished, it takes nothing more.
    let err = bundle.open("lib/x", true).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("finished already"), "{err}");
    let bundle = ArchiveEndpoint::open(&path).await.unwrap();
    assert!(bundle.repositories().is_empty());
    let err = bundle.list_tags("lib/x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("lib/x"), "{err}");
    let named = format!("not found in bundle {}", path.display());
    assert!(err.to_string().contains(&named), "{err}");
    // Opened to read, it cannot be written.
    let store = bundle.open("lib/x", true).await.unwrap();
    let m = oci_dist::Manifest::new(
        Bytes::from_static(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
        ),
        None,
    )
    .unwrap();
    let err = oci_dist::ImageDestination::push_manifest(&*store, &m, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
