//! `crctl` against a real docker-registry (distribution 2.8): the built
//! binary, driven as a user would, its stdout, files and exit codes checked.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use std::path::Path;
use std::process::Output;

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR};
use run::stdout_of as stdout;
use test_support::TestRegistry;

fn crctl(args: &[&str]) -> Output {
    crctl_env(args, &[])
}

fn crctl_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crctl"));
    cmd.args(args)
        .env_remove("CRCTL_USERNAME")
        .env_remove("CRCTL_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent-crctl-test");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run crctl")
}

fn tar(entries: &[(&str, &[u8])]) -> Bytes {
    Bytes::from(test_support::layers::tar_files(entries))
}

fn gzip(data: &[u8]) -> Bytes {
    Bytes::from(test_support::layers::gzip(data))
}

const CONFIG: &[u8] = br#"{"architecture":"amd64","os":"linux","config":{"Labels":{"app":"demo"}},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn demo_image() -> NewImage {
    ImageBuilder::new()
        .config_bytes(OCI_CONFIG, Bytes::from_static(CONFIG))
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_TAR,
            tar(&[("etc/motd", b"hello"), ("bin/tool", b"v1")]),
        ))
        .layer(ImageLayer::from_bytes(
            OCI_LAYER_GZIP,
            gzip(&tar(&[("etc/.wh.motd", b""), ("bin/tool", b"v2")])),
        ))
        .build()
        .unwrap()
}

async fn seeded() -> (TestRegistry, NewImage) {
    let registry = TestRegistry::anonymous().await;
    let img = demo_image();
    let client = Client::new(&registry.url())
        .unwrap()
        .with_segment("team/app");
    client.push_image("v1", &img).await.unwrap();
    (registry, img)
}

#[tokio::test]
async fn inspect_commands() {
    let (registry, img) = seeded().await;
    let r = format!("{}/team/app:v1", registry.host());
    let digest = img.digest().to_string();

    assert_eq!(stdout(&crctl(&["digest", &r])).trim(), digest);
    let by_digest = format!("{}/team/app@{digest}", registry.host());
    assert_eq!(stdout(&crctl(&["digest", &by_digest])).trim(), digest);
    // The exact bytes served.
    let out = crctl(&["manifest", &r]);
    assert_eq!(Bytes::from(out.stdout.clone()), *img.manifest().bytes());
    assert_eq!(
        stdout(&crctl(&["config", &r])).trim_end().as_bytes(),
        CONFIG
    );
    assert_eq!(crctl(&["exists", &r]).status.code(), Some(0));
    let missing = format!("{}/team/app:nope", registry.host());
    let o = crctl(&["exists", &missing]);
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty());
    assert_eq!(crctl(&["manifest", &missing]).status.code(), Some(3));
    // JSON output.
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&crctl(&["digest", "--json", &r]))).unwrap();
    assert_eq!(v["digest"], digest);
}

#[tokio::test]
async fn tags_tag_catalog_delete() {
    let (registry, img) = seeded().await;
    let host = registry.host();
    let r = format!("{host}/team/app:v1");
    assert_eq!(stdout(&crctl(&["tag", &r, "v2", "v3"])), "");
    let tags = stdout(&crctl(&["tags", &format!("{host}/team/app")]));
    assert_eq!(tags, "v1\nv2\nv3\n");
    assert_eq!(
        stdout(&crctl(&["digest", &format!("{host}/team/app:v3")])).trim(),
        img.digest().to_string()
    );
    let page = stdout(&crctl(&[
        "tags",
        &format!("{host}/team/app"),
        "--limit",
        "2",
    ]));
    assert_eq!(page.lines().count(), 2);

    // A second repository, for the catalog scope.
    assert_eq!(
        crctl(&["copy", &r, &format!("{host}/other/thing:v1")])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        stdout(&crctl(&["catalog", &host])),
        "other/thing\nteam/app\n"
    );
    assert_eq!(
        stdout(&crctl(&["catalog", &host, "--prefix", "team"])),
        "team/app\n"
    );

    // distribution 2.8 cannot delete tags; the manifest is shared by three
    // tags, so v3 goes through a placeholder manifest and the others stay
    // (tests/delete_shared_tag.rs checks the requests).
    assert_eq!(
        stdout(&crctl(&["delete", &format!("{host}/team/app:v3")])),
        ""
    );
    assert_eq!(
        stdout(&crctl(&["tags", &format!("{host}/team/app")])),
        "v1\nv2\n"
    );
    assert_eq!(
        stdout(&crctl(&["digest", &format!("{host}/team/app:v2")])).trim(),
        img.digest().to_string()
    );
    // Deleting by digest works.
    let by_digest = format!("{host}/team/app@{}", img.digest());
    assert_eq!(stdout(&crctl(&["delete", &by_digest])), "");
    assert_eq!(crctl(&["exists", &r]).status.code(), Some(3));
}

#[tokio::test]
async fn copy_through_an_oci_layout_and_export() {
    let (registry, img) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let dst = format!("oci:{}:saved", layout.display());
    let r = format!("{host}/team/app:v1");
    assert_eq!(
        stdout(&crctl(&["copy", &r, &dst])).trim(),
        img.digest().to_string()
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "saved"
    );
    assert!(
        layout
            .join("blobs/sha256")
            .join(img.digest().hex())
            .exists()
    );

    // Layout -> another registry repository: the same digest.
    let back = format!("{host}/restored/app:v9");
    assert_eq!(
        stdout(&crctl(&["copy", &dst, &back])).trim(),
        img.digest().to_string()
    );
    assert_eq!(
        stdout(&crctl(&["manifest", &dst])).as_bytes(),
        &img.manifest().bytes()[..]
    );

    // Export applies the whiteout and the upper layer's file.
    let out = dir.path().join("fs.tar");
    assert_eq!(
        stdout(&crctl(&["export", &r, "-o", out.to_str().unwrap()])),
        ""
    );
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&out).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let mut data = String::new();
        std::io::Read::read_to_string(&mut e, &mut data).unwrap();
        names.push((e.path().unwrap().to_string_lossy().into_owned(), data));
    }
    names.sort();
    assert_eq!(names, [("bin/tool".to_owned(), "v2".to_owned())]);
    // To stdout too.
    let o = crctl(&["export", &r]);
    assert_eq!(std::fs::read(&out).unwrap(), o.stdout);

    // A missing source leaves no layout behind.
    let nothing = dir.path().join("never");
    let o = crctl(&[
        "copy",
        &format!("{host}/team/app:nope"),
        &format!("oci:{}", nothing.display()),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!Path::new(&nothing).exists());
}

#[tokio::test]
async fn blobs_and_referrers() {
    let (registry, img) = seeded().await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, b"some blob content").unwrap();
    let digest = stdout(&crctl(&[
        "blob",
        "put",
        &format!("{host}/team/app"),
        file.to_str().unwrap(),
    ]));
    let expected = facade::core::Digest::sha256_of(b"some blob content").to_string();
    assert_eq!(digest.trim(), expected);
    let r = format!("{host}/team/app@{expected}");
    let out = dir.path().join("copy.bin");
    stdout(&crctl(&["blob", "get", &r, "-o", out.to_str().unwrap()]));
    assert_eq!(std::fs::read(&out).unwrap(), b"some blob content");
    assert_eq!(crctl(&["blob", "get", &r]).stdout, b"some blob content");
    stdout(&crctl(&["blob", "delete", &r]));
    let gone = dir.path().join("gone.bin");
    let o = crctl(&["blob", "get", &r, "-o", gone.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!gone.exists());

    let index: serde_json::Value = serde_json::from_str(&stdout(&crctl(&[
        "referrers",
        &format!("{host}/team/app:v1"),
    ])))
    .unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 0);
    let _ = img;
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        vec!["digest", "registry.example/UPPER:tag"],
        vec!["digest", "host/repo@sha256:zz"],
        vec!["tags", "host/repo:tag"],
        vec!["nosuchcommand"],
        vec!["copy", "only-one-arg"],
    ] {
        let o = crctl(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.stderr.is_empty());
    }
}

#[tokio::test]
async fn login_logout_and_auth_exit_codes() {
    let registry = TestRegistry::htpasswd("ci", "s3cret-pw").await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().to_str().unwrap().to_owned();
    let env = [("DOCKER_CONFIG", cfg.as_str())];
    // Wrong password: exit 4, nothing stored, the password is not echoed.
    let o = crctl_env(&["login", &host, "-u", "ci", "-p", "wrong-pw"], &env);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("wrong-pw"));
    assert!(!dir.path().join("config.json").exists());
    // Anonymous access to the protected registry: exit 4.
    let o = crctl_env(&["tags", &format!("{host}/x")], &env);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = crctl_env(&["login", &host, "-u", "ci", "-p", "s3cret-pw"], &env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(stored["auths"][&host]["auth"].is_string());
    // Now the stored credentials are used.
    let o = crctl_env(&["catalog", &host], &env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    assert_eq!(crctl_env(&["logout", &host], &env).status.code(), Some(0));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(stored["auths"].get(&host).is_none());
    assert_eq!(crctl_env(&["catalog", &host], &env).status.code(), Some(4));
}
