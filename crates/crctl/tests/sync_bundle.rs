//! `crctl sync` through a bundle (`oci-archive:FILE.tar`, every repository
//! in one OCI archive) between real docker-registry instances: the
//! air-gap round trip with identical digests (and into layouts, a layout
//! directory then a plain SOURCE), `--dry-run` writing nothing,
//! a run with failures (the others land; nothing lands when all fail),
//! `crctl copy` of one bundle image, and skopeo reading our bundles and
//! writing ones we read.

#[path = "common/mirror.rs"]
mod mirror;
#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use facade::oci::archive::OciArchiveReader;
use test_support::TestRegistry;

use mirror::{contents, digest};
use run::crctl_anonymous as crctl;

const TAGS: [&str; 3] = ["1.0.0", "2.0.0", "latest"];

/// The ref names in a bundle's `index.json`.
async fn ref_names(path: &Path) -> BTreeSet<String> {
    OciArchiveReader::open(path)
        .await
        .unwrap()
        .list_refs()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

fn files(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

fn yaml(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.to_string_lossy().into_owned()
}

#[tokio::test]
async fn yaml_to_bundle_to_registry_keeps_every_digest() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    mirror::populate(&a, 2, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let file = yaml(
        dir.path(),
        "mirror.yaml",
        &format!(
            "{}:\n  images:\n    lib/r0: []\n    lib/r1: [latest]\n  tls-verify: false\n",
            a.host()
        ),
    );
    let bundle = dir.path().join("b.tar");
    let to = format!("oci-archive:{}", bundle.display());

    // Dry run: every tag to copy, and nothing written.
    let before = files(dir.path());
    let plan = crctl(&["sync", &file, "--to", &to, "--dry-run", "--json"]).await;
    let items = plan.ok().json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i["action"] == "copy"), "{items:?}");
    assert_eq!(files(dir.path()), before, "a dry run writes nothing");

    // Connected side.
    let run = crctl(&["sync", &file, "--to", &to]).await;
    run.ok();
    assert!(
        run.stdout.contains("4 copied, 0 skipped, 0 failed"),
        "{}",
        run.stdout
    );
    let names = ref_names(&bundle).await;
    let want: BTreeSet<String> = [
        "lib/r0:1.0.0",
        "lib/r0:2.0.0",
        "lib/r0:latest",
        "lib/r1:latest",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, want);

    // Air-gapped side: a plain FILE.tar source.
    let dest = format!("{}/mirror", b.host());
    crctl(&["sync", bundle.to_str().unwrap(), "--to", &dest])
        .await
        .ok();
    let ours = contents(&b.url(), &["mirror/lib/r0", "mirror/lib/r1"]).await;
    let theirs: BTreeSet<_> = contents(&a.url(), &["lib/r0", "lib/r1"])
        .await
        .into_iter()
        .filter(|(r, t, _)| r == "lib/r0" || t == "latest")
        .map(|(r, t, d)| (format!("mirror/{r}"), t, d))
        .collect();
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, theirs);

    // `oci-archive:` works as well; everything is there already.
    let again = crctl(&["sync", &to, "--to", &dest, "--json"]).await;
    let images = again.ok().json()["images"].as_array().unwrap().clone();
    assert_eq!(images.len(), 4);
    assert!(
        images.iter().all(|i| i["outcome"] == "skipped"),
        "{images:?}"
    );

    // The bundle into layouts, and a layout directory as a plain SOURCE.
    let layouts = dir.path().join("layouts");
    let to_layouts = format!("oci:{}", layouts.display());
    crctl(&["sync", &to, "--to", &to_layouts]).await.ok();
    let r0 = layouts.join("lib/r0");
    crctl(&[
        "sync",
        r0.to_str().unwrap(),
        "--to",
        &format!("{}/from-layout", b.host()),
    ])
    .await
    .ok();
    assert_eq!(
        digest(&b.url(), "from-layout/r0", "1.0.0").await,
        digest(&a.url(), "lib/r0", "1.0.0").await
    );

    // One image out of the bundle with crctl copy.
    let src = format!("oci-archive:{}:lib/r0:2.0.0", bundle.display());
    let dst = format!("{}/copied/x:y", b.host());
    crctl(&["copy", &src, &dst]).await.ok();
    assert_eq!(
        digest(&b.url(), "copied/x", "y").await,
        digest(&a.url(), "lib/r0", "2.0.0").await
    );
    let missing = format!("oci-archive:{}:lib/r9:1.0.0", bundle.display());
    crctl(&["copy", &missing, &dst])
        .await
        .failed(3, &["lib/r9:1.0.0"]);
}

#[tokio::test]
async fn a_bundle_holds_the_images_that_did_not_fail_and_none_when_all_fail() {
    let a = TestRegistry::anonymous().await;
    mirror::populate(&a, 2, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    let to = format!("oci-archive:{}", bundle.display());
    let some = yaml(
        dir.path(),
        "some.yaml",
        &format!("{}:\n  images:\n    lib/r0: [latest, nope]\n", a.host()),
    );
    let run = crctl(&["sync", &some, "--to", &to]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("lib/r0:nope"), "{}", run.stderr);
    assert_eq!(
        ref_names(&bundle).await,
        BTreeSet::from(["lib/r0:latest".to_owned()])
    );

    // Every image failing: the existing bundle stays as it was.
    let written = std::fs::read(&bundle).unwrap();
    let none = yaml(
        dir.path(),
        "none.yaml",
        &format!("{}:\n  images:\n    lib/r1: [nope]\n", a.host()),
    );
    let run = crctl(&["sync", &none, "--to", &to]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read(&bundle).unwrap(), written);
    let names: BTreeSet<_> = files(dir.path())
        .into_iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["b.tar", "none.yaml", "some.yaml"].map(String::from).into(),
        "no temporary file left"
    );
}

#[tokio::test]
async fn a_missing_or_foreign_bundle_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("oci-archive:{}", dir.path().join("none.tar").display());
    crctl(&["sync", &missing, "--to", "127.0.0.1:1/m"])
        .await
        .failed(3, &["none.tar"]);
    let other = dir.path().join("other.tar");
    let mut t = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_cksum();
    t.append_data(&mut h, "x", &b"hi"[..]).unwrap();
    std::fs::write(&other, t.into_inner().unwrap()).unwrap();
    crctl(&["sync", other.to_str().unwrap(), "--to", "127.0.0.1:1/m"])
        .await
        .failed(1, &["not an OCI archive"]);
    crctl(&["sync", "oci-archive:", "--to", "127.0.0.1:1/m"])
        .await
        .failed(2, &["oci-archive:FILE"]);
    crctl(&["sync", &missing, "--to", "oci-archive:"])
        .await
        .failed(2, &["oci-archive:FILE"]);
}

/// skopeo reads a repository's tag out of our bundle (`REPO:TAG` ref
/// names), and a bundle skopeo wrote is a `crctl sync` source; digests are
/// kept both ways.
#[tokio::test]
async fn skopeo_reads_our_bundles_and_we_read_its() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let a = TestRegistry::anonymous().await;
    let c = TestRegistry::anonymous().await;
    mirror::populate(&a, 2, &TAGS).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    let to = format!("oci-archive:{}", bundle.display());
    crctl(&["sync", &format!("{}/lib/r1", a.host()), "--to", &to])
        .await
        .ok();
    let skopeo_copy = |from: String, to: String| {
        let skopeo = skopeo.clone();
        async move {
            let out = tokio::process::Command::new(&skopeo)
                .args(["--insecure-policy", "copy", "--preserve-digests"])
                .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
                .arg(from)
                .arg(to)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "skopeo copy: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // Our bundle, as written by `--to oci-archive:` for `HOST/lib/r1`.
    let name = "lib/r1:2.0.0";
    assert!(ref_names(&bundle).await.contains(name));
    skopeo_copy(
        format!("oci-archive:{}:{name}", bundle.display()),
        format!("docker://{}/x:y", c.host()),
    )
    .await;
    assert_eq!(
        digest(&c.url(), "x", "y").await,
        digest(&a.url(), "lib/r1", "2.0.0").await
    );

    // A bundle skopeo wrote, read by `crctl sync FILE.tar`.
    let theirs = dir.path().join("s.tar");
    skopeo_copy(
        format!("docker://{}/lib/r0:latest", a.host()),
        format!("oci-archive:{}:lib/r0:latest", theirs.display()),
    )
    .await;
    crctl(&[
        "sync",
        theirs.to_str().unwrap(),
        "--to",
        &format!("{}/from-skopeo", c.host()),
    ])
    .await
    .ok();
    assert_eq!(
        digest(&c.url(), "from-skopeo/lib/r0", "latest").await,
        digest(&a.url(), "lib/r0", "latest").await
    );
}
