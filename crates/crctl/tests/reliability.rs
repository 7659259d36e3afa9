//! `crctl` over a bad network and against registries that lie: cut blob
//! downloads resume, a killed pull into a layout is continued by the next
//! run, an unknown host fails at once, a lying digest header is named.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use test_support::{Fault, FaultRule, TestRegistry};

const NO_ENV: &[&str] = &["CRCTL_USERNAME", "CRCTL_PASSWORD"];

async fn crctl(args: &[&str]) -> run::Run {
    run::crctl(
        args,
        NO_ENV,
        &[("DOCKER_CONFIG", "/nonexistent-crctl-test")],
        None,
    )
    .await
}

/// Pseudo-random, incompressible bytes.
fn noise(len: usize, seed: u64) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(len, seed))
}

async fn seeded(layers: usize, size: usize) -> (TestRegistry, NewImage) {
    test_support::init_tracing();
    let registry = TestRegistry::anonymous().await;
    let mut b = ImageBuilder::new().config_bytes(
        OCI_CONFIG,
        Bytes::from_static(
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        ),
    );
    for i in 0..layers {
        b = b.layer(ImageLayer::from_bytes(
            OCI_LAYER_GZIP,
            noise(size, i as u64 + 1),
        ));
    }
    let img = b.build().unwrap();
    Client::new(&registry.url())
        .unwrap()
        .with_segment("team/app")
        .push_image("v1", &img)
        .await
        .unwrap();
    (registry, img)
}

fn layer_digests(img: &NewImage) -> Vec<(String, u64)> {
    let m: serde_json::Value = serde_json::from_slice(img.manifest().bytes()).unwrap();
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_owned(),
                l["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn partial_files(root: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let p = e.ok()?.path();
        let name = p.file_name()?.to_string_lossy().into_owned();
        name.starts_with(".partial-")
            .then(|| (p.clone(), std::fs::metadata(&p).map_or(0, |m| m.len())))
    })
    .collect()
}

#[tokio::test]
async fn a_copy_through_a_link_that_drops_every_blob_once_succeeds() {
    let (registry, img) = seeded(2, 3 << 20).await;
    let proxy = registry
        .proxy_builder()
        .fault(
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAtHalf)
                .times_per_path(1)
                .only_unranged(),
        )
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:v1", dir.path().join("oci").display());
    let run = crctl(&["copy", &format!("{}/team/app:v1", proxy.host()), &dest]).await;
    run.ok();
    assert_eq!(run.stdout.trim(), img.digest().to_string());
    for (digest, size) in layer_digests(&img) {
        let gets: Vec<_> = proxy
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path().ends_with(&digest))
            .collect();
        assert_eq!(gets.len(), 2, "{digest}");
        assert_eq!(
            gets[1].range(),
            Some(format!("bytes={}-", size / 2).as_str())
        );
        let data = std::fs::read(
            dir.path()
                .join("oci/blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap();
        assert_eq!(data.len() as u64, size);
    }
    // One line of progress at most on stderr, no retry chatter without -v.
    assert!(!run.stderr.contains("resuming"), "{}", run.stderr);
}

#[tokio::test]
async fn a_host_that_does_not_resolve_fails_at_once_with_one_line() {
    // A 64-character label: refused before any DNS server is asked (which
    // keeps the test on this machine), by rustls over HTTPS and by the
    // resolver over HTTP.
    let host = format!("{}.invalid", "a".repeat(64));
    for (extra, says) in [
        (None, "not a valid DNS name"),
        (Some("--plain-http"), "does not resolve"),
    ] {
        let started = Instant::now();
        let reference = format!("{host}/team/app:v1");
        let mut args = vec!["digest", reference.as_str()];
        args.extend(extra);
        let run = crctl(&args).await;
        run.failed(1, &[says]);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains("attempts"), "{}", run.stderr);
        assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[tokio::test]
async fn a_copy_of_a_tag_whose_digest_header_lies_names_both_digests() {
    let (registry, img) = seeded(1, 1000).await;
    let lie = format!("sha256:{}", "1".repeat(64));
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "*",
            "/v2/team/app/manifests/v1",
            Fault::LieDigest(lie.clone()),
        ))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:v1", dir.path().join("oci").display());
    let run = crctl(&["copy", &format!("{}/team/app:v1", proxy.host()), &dest]).await;
    // A failure of the registry (1), not "not found" (3).
    run.failed(1, &[&lie, &img.digest().to_string()]);
    // `digest` trusts the header, as its help says.
    let run = crctl(&["digest", &format!("{}/team/app:v1", proxy.host())]).await;
    run.ok();
    assert_eq!(run.stdout.trim(), lie);
}

#[tokio::test]
async fn a_killed_pull_into_a_layout_is_continued_by_the_next_run() {
    let (registry, img) = seeded(1, 8 << 20).await;
    let (digest, size) = layer_digests(&img)[0].clone();
    // A slow link: 256 KiB every 100 ms.
    let slow = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "GET",
            &format!("/v2/*/blobs/{digest}"),
            Fault::Trickle {
                bytes: 256 << 10,
                every: Duration::from_millis(100),
            },
        ))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("oci");
    let dest = format!("oci:{}:v1", root.display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crctl"))
        .args(["copy", &format!("{}/team/app:v1", slow.host()), &dest])
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait (bounded) until the layer's partial file holds at least 1 MiB,
    // then kill the copy.
    let deadline = Instant::now() + Duration::from_secs(60);
    let had = loop {
        if let Some((_, n)) = partial_files(&root)
            .into_iter()
            .find(|(_, n)| *n >= 1 << 20)
        {
            break n;
        }
        assert!(Instant::now() < deadline, "no partial file appeared");
        assert!(child.try_wait().unwrap().is_none(), "the copy ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill().await.unwrap();
    let kept = partial_files(&root)
        .into_iter()
        .map(|(_, n)| n)
        .max()
        .unwrap();
    assert!(kept >= had && kept < size, "{kept}");
    // The layout is valid and holds no image yet.
    let layout = facade::oci::layout::OciLayout::open(&root).await.unwrap();
    assert!(layout.list_refs().await.unwrap().is_empty());

    // The rerun asks only for what is missing.
    let counting = registry.start_proxy().await;
    let run = crctl(&["copy", &format!("{}/team/app:v1", counting.host()), &dest]).await;
    run.ok();
    let gets: Vec<_> = counting
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().ends_with(&digest))
        .collect();
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].range(), Some(format!("bytes={kept}-").as_str()));
    assert_eq!(gets[0].body_bytes_sent(), size - kept);
    assert!(partial_files(&root).is_empty());
    let data = std::fs::read(
        root.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(format!("sha256:{}", hex_sha256(&data)), digest);
}

fn hex_sha256(data: &[u8]) -> String {
    facade::core::Digest::sha256_of(data).hex().to_owned()
}

/// Not a test of behaviour but a measurement for the README: how long a
/// registry that stalls every blob download takes to fail with the default
/// settings. `cargo test -p crctl --test reliability -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "takes about two minutes; a measurement"]
async fn measure_time_to_failure_of_a_stalled_registry_with_defaults() {
    let (registry, _img) = seeded(1, 1 << 20).await;
    for fault in [Fault::StallAfterHeaders, Fault::StallBeforeHeaders] {
        let proxy = registry
            .proxy_builder()
            .fault(FaultRule::new("GET", "/v2/*/blobs/*", fault.clone()))
            .start()
            .await;
        let dir = tempfile::tempdir().unwrap();
        let dest = format!("oci:{}:v1", dir.path().join("oci").display());
        let started = Instant::now();
        let run = crctl(&["copy", &format!("{}/team/app:v1", proxy.host()), &dest]).await;
        let took = started.elapsed();
        println!(
            "{fault:?}: exit {} after {:.1}s, {} blob GETs: {}",
            run.code,
            took.as_secs_f64(),
            proxy.count("GET", "/v2/*/blobs/*"),
            run.stderr.trim()
        );
        assert_eq!(run.code, 1);
        assert!(took < Duration::from_secs(180));
    }
}
