//! `crctl copy` with OCI archives (`oci-archive:FILE.tar[:TAG]`): registry
//! → archive → registry, several images in one archive, failures leaving
//! no file, a path with `:`, and skopeo interoperation both ways.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use run::{crctl_blocking as crctl, stdout_of as stdout};
use test_support::{Fault, FaultRule, TestRegistry};

fn image(seed: u64) -> NewImage {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"seed":"{seed}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
    );
    ImageBuilder::new()
        .config_bytes(OCI_CONFIG, Bytes::from(config))
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_GZIP,
            Bytes::from(test_support::layers::pseudo_random(4096, seed)),
        ))
        .build()
        .unwrap()
}

async fn seeded() -> (TestRegistry, NewImage, NewImage) {
    let registry = TestRegistry::anonymous().await;
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("team/app");
    let (one, two) = (image(1), image(2));
    client.push_image("v1", &one).await.unwrap();
    client.push_image("v2", &two).await.unwrap();
    (registry, one, two)
}

#[tokio::test]
async fn copy_through_an_oci_archive_keeps_the_digest() {
    let (registry, one, _) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    // A directory with a `:` in its name: the last component is the tag.
    let sub = dir.path().join("with:colon");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("app.tar");
    let archive = format!("oci-archive:{}:saved", file.display());
    let src = format!("{host}/team/app:v1");
    assert_eq!(
        stdout(&crctl(&["copy", &src, &archive])).trim(),
        one.digest().to_string()
    );
    assert!(file.is_file());
    // Inspect commands read archives too.
    assert_eq!(
        stdout(&crctl(&["digest", &archive])).trim(),
        one.digest().to_string()
    );
    assert_eq!(
        stdout(&crctl(&[
            "manifest",
            &format!("oci-archive:{}", file.display())
        ]))
        .as_bytes(),
        &one.manifest().bytes()[..]
    );
    let back = format!("{host}/restored/app:v9");
    assert_eq!(
        stdout(&crctl(&["copy", &archive, &back])).trim(),
        one.digest().to_string()
    );
    assert_eq!(
        stdout(&crctl(&["digest", &back])).trim(),
        one.digest().to_string()
    );

    // No tag at the destination: the source's tag is used.
    let untagged = dir.path().join("plain.tar");
    stdout(&crctl(&[
        "copy",
        &src,
        &format!("oci-archive:{}", untagged.display()),
    ]));
    assert_eq!(
        stdout(&crctl(&[
            "digest",
            &format!("oci-archive:{}:v1", untagged.display())
        ]))
        .trim(),
        one.digest().to_string()
    );

    // A missing tag is "not found".
    let o = crctl(&["digest", &format!("oci-archive:{}:nope", file.display())]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// Multi-threaded: the proxy serves while the test waits for crctl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_copies_leave_no_archive_and_keep_an_old_one() {
    let (registry, one, _) = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.tar");
    // A missing source.
    let o = crctl(&[
        "copy",
        &format!("{}/team/app:nope", registry.host()),
        &format!("oci-archive:{}", file.display()),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // Blob downloads that break mid-way (resumption refused).
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("GET", "/v2/team/app/blobs/*", Fault::CutAtHalf).only_unranged())
        .intercept(|req| {
            (req.method == "GET" && req.range().is_some()).then(|| {
                test_support::http::response(
                    403,
                    r#"{"errors":[{"code":"DENIED","message":"no more reads"}]}"#,
                )
            })
        })
        .start()
        .await;
    let via = format!("{}/team/app:v1", proxy.url().trim_start_matches("http://"));
    let o = crctl(&["copy", &via, &format!("oci-archive:{}", file.display())]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no more"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left"
    );

    // Over an existing archive: the old one stays until a copy succeeds.
    let good = format!("oci-archive:{}:v1", file.display());
    stdout(&crctl(&[
        "copy",
        &format!("{}/team/app:v1", registry.host()),
        &good,
    ]));
    let before = std::fs::read(&file).unwrap();
    let o = crctl(&["copy", &via, &good]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(
        stdout(&crctl(&["digest", &good])).trim(),
        one.digest().to_string()
    );
}

#[tokio::test]
async fn an_archive_with_several_images_needs_a_tag() {
    let (registry, one, two) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("two.tar");
    // Build a two-image archive with the library (as bundles will).
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("team/app");
    let writer = facade::oci::archive::OciArchiveWriter::create(&bundle)
        .await
        .unwrap();
    let opts = facade::oci::CopyOptions::default();
    facade::oci::copy(&client, "v1", &writer, "v1", &opts)
        .await
        .unwrap();
    facade::oci::copy(&client, "v2", &writer, "v2", &opts)
        .await
        .unwrap();
    writer.finish().await.unwrap();

    let o = crctl(&["digest", &format!("oci-archive:{}", bundle.display())]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (t, img) in [("v1", &one), ("v2", &two)] {
        let dst = format!("{host}/copied/app:{t}");
        assert_eq!(
            stdout(&crctl(&[
                "copy",
                &format!("oci-archive:{}:{t}", bundle.display()),
                &dst
            ]))
            .trim(),
            img.digest().to_string()
        );
    }
}

#[tokio::test]
async fn skopeo_reads_our_archives_and_we_read_its() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let (registry, one, _) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();

    // crctl writes, skopeo reads into an OCI layout.
    let ours = dir.path().join("ours.tar");
    stdout(&crctl(&[
        "copy",
        &format!("{host}/team/app:v1"),
        &format!("oci-archive:{}:v1", ours.display()),
    ]));
    let layout = dir.path().join("layout");
    test_support::skopeo::copy(
        &skopeo,
        &["--preserve-digests"],
        &[
            format!("oci-archive:{}:v1", ours.display()),
            format!("oci:{}:v1", layout.display()),
        ],
    );
    assert_eq!(
        stdout(&crctl(&["digest", &format!("oci:{}:v1", layout.display())])).trim(),
        one.digest().to_string()
    );

    // skopeo writes, crctl reads into the registry.
    let theirs = dir.path().join("theirs.tar");
    test_support::skopeo::copy(
        &skopeo,
        &["--preserve-digests"],
        &[
            "--src-tls-verify=false".into(),
            format!("docker://{host}/team/app:v1"),
            format!("oci-archive:{}:v1", theirs.display()),
        ],
    );
    let dst = format!("{host}/from-skopeo/app:v1");
    assert_eq!(
        stdout(&crctl(&[
            "copy",
            &format!("oci-archive:{}:v1", theirs.display()),
            &dst
        ]))
        .trim(),
        one.digest().to_string()
    );
}
