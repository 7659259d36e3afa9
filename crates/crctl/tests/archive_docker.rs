//! `crctl copy` with Docker archives (`docker-archive:FILE.tar[:REPO:TAG]`,
//! the `docker save` format): registry → archive → registry keeping the
//! config and layers, `RepoTags` from the target or the source, failures
//! with the right exit code and no file left, and skopeo reading what we
//! write and writing what we read.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::process::Output;

use bytes::Bytes;
use facade::oci::archive::DockerArchiveReader;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage, NewIndex};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use facade::oci::{Client, Digest};
use run::{crctl_blocking as crctl, stdout_of as stdout};
use test_support::TestRegistry;
use test_support::layers::{gzip, pseudo_random, tar_files};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A linux image with two gzip layers and a config with their diff ids.
fn image(seed: u64, arch: &str) -> NewImage {
    let tars = [
        tar_files(&[("a/one", &pseudo_random(3000, seed))]),
        tar_files(&[("b/two", &pseudo_random(1000, seed + 1))]),
    ];
    let diff_ids: Vec<String> = tars
        .iter()
        .map(|t| Digest::sha256_of(t).to_string())
        .collect();
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Labels": {"seed": seed.to_string()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let mut b = ImageBuilder::new().config_bytes(
        OCI_CONFIG,
        Bytes::from(serde_json::to_vec(&config).unwrap()),
    );
    for t in &tars {
        b = b.layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, gzip(t)));
    }
    b.build().unwrap()
}

async fn seeded() -> (TestRegistry, NewImage) {
    let registry = TestRegistry::anonymous().await;
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("team/app");
    let one = image(1, "amd64");
    client.push_image("v1", &one).await.unwrap();
    (registry, one)
}

/// The digest of the config of `reference` (from its manifest).
fn config_digest(reference: &str) -> String {
    let m: serde_json::Value =
        serde_json::from_str(&stdout(&crctl(&["manifest", reference]))).unwrap();
    m["config"]["digest"].as_str().unwrap().to_owned()
}

/// The flattened file system of `reference`, through `crctl export`.
fn export(reference: &str) -> Vec<u8> {
    let o = crctl(&["export", reference]);
    assert!(o.status.success(), "export {reference}: {}", stderr(&o));
    o.stdout
}

#[tokio::test]
async fn copy_through_a_docker_archive_keeps_config_and_layers() {
    let (registry, one) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.tar");
    let src = format!("{host}/team/app:v1");
    let archive = format!("docker-archive:{}:localhost:5000/app:v1", file.display());
    // The printed digest is the one the archive gives the image.
    let printed = stdout(&crctl(&["copy", &src, &archive]));
    assert_eq!(
        stdout(&crctl(&["digest", &archive])),
        printed,
        "copy prints the archive's digest"
    );
    assert_ne!(printed.trim(), one.digest().to_string());
    let reader = DockerArchiveReader::open(&file).await.unwrap();
    assert_eq!(
        reader.repo_tags(),
        vec![&["localhost:5000/app:v1".to_owned()][..]]
    );

    // Back into a registry without a tag: the archive's `RepoTags` tag.
    let plain = format!("docker-archive:{}", file.display());
    let back = format!("{host}/restored/app");
    stdout(&crctl(&["copy", &plain, &back]));
    let restored = format!("{back}:v1");
    assert_eq!(
        stdout(&crctl(&["config", &restored])),
        stdout(&crctl(&["config", &src]))
    );
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("restored/app");
    let m = client.get_manifest("v1").await.unwrap();
    let original = one.manifest().as_image().unwrap();
    let layers = |m: &oci_spec::image::ImageManifest| -> Vec<String> {
        m.layers().iter().map(|l| l.digest().to_string()).collect()
    };
    assert_eq!(layers(m.as_image().unwrap()), layers(original));
    assert_eq!(export(&restored), export(&src));

    // No name at the destination: the source's repository and tag.
    let unnamed = dir.path().join("unnamed.tar");
    stdout(&crctl(&[
        "copy",
        &src,
        &format!("docker-archive:{}", unnamed.display()),
    ]));
    let reader = DockerArchiveReader::open(&unnamed).await.unwrap();
    assert_eq!(reader.repo_tags(), vec![&[src.clone()][..]]);
}

#[tokio::test]
async fn failures_have_their_exit_codes_and_leave_no_file() {
    let (registry, _) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();

    // A missing archive as source: not found, one line.
    let missing = format!("docker-archive:{}", dir.path().join("nope.tar").display());
    let o = crctl(&["copy", &missing, &format!("{host}/x/app:v1")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));

    // A missing source image: no archive written.
    let file = dir.path().join("out.tar");
    let dest = format!("docker-archive:{}:app:v1", file.display());
    let o = crctl(&["copy", &format!("{host}/team/app:nope"), &dest]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    // An index with --all-platforms: an archive holds images only.
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("team/multi");
    let idx = NewIndex::new(vec![image(10, "amd64"), image(20, "arm64")]).unwrap();
    client.push_index("v1", &idx).await.unwrap();
    let multi = format!("{host}/team/multi:v1");
    let o = crctl(&["copy", &multi, &dest, "--all-platforms"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not indexes"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // Without it, the platform's image is copied.
    stdout(&crctl(&[
        "copy",
        "--platform",
        "linux/arm64",
        &multi,
        &dest,
    ]));
    let o = crctl(&["config", &dest]);
    let config: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(config["architecture"], "arm64");

    // A reference that is not a REPO:TAG of the archive: not found.
    let o = crctl(&[
        "digest",
        &format!("docker-archive:{}:app:v2", file.display()),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("docker.io/library/app:v1"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn skopeo_reads_our_docker_archives_and_we_read_its() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let (registry, _) = seeded().await;
    let host = registry.host();
    let src = format!("{host}/team/app:v1");
    let dir = tempfile::tempdir().unwrap();

    // crctl writes, skopeo pushes it to the registry.
    let ours = dir.path().join("ours.tar");
    stdout(&crctl(&[
        "copy",
        &src,
        &format!("docker-archive:{}:app:v1", ours.display()),
    ]));
    test_support::skopeo::copy(
        &skopeo,
        &[],
        &[
            "--dest-tls-verify=false".into(),
            format!("docker-archive:{}", ours.display()),
            format!("docker://{host}/skopeo/app:v1"),
        ],
    );
    let via_skopeo = format!("{host}/skopeo/app:v1");
    assert_eq!(config_digest(&via_skopeo), config_digest(&src));
    assert_eq!(export(&via_skopeo), export(&src));

    // skopeo writes (uncompressed layers, legacy files), crctl reads.
    let theirs = dir.path().join("theirs.tar");
    test_support::skopeo::copy(
        &skopeo,
        &[],
        &[
            "--src-tls-verify=false".into(),
            format!("docker://{src}"),
            format!("docker-archive:{}:app:v1", theirs.display()),
        ],
    );
    let dst = format!("{host}/from-skopeo/app:v2");
    stdout(&crctl(&[
        "copy",
        &format!("docker-archive:{}:app:v1", theirs.display()),
        &dst,
    ]));
    assert_eq!(config_digest(&dst), config_digest(&src));
    assert_eq!(export(&dst), export(&src));
}
