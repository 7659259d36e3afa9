//! `crctl delete REG/REPO:TAG` for a manifest other tags share, against a
//! real docker-registry (distribution 2.8 cannot delete tags): the tag goes
//! through a placeholder manifest and the others stay; with manifest
//! deletes disabled, it is refused (exit 1) and nothing changes.

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_TAR};
use run::{crctl_blocking as crctl, stdout_of as stdout};
use test_support::{Proxy, TestRegistry};

fn image(seed: u8) -> NewImage {
    let layer = test_support::layers::tar_files(&[("hello.txt", &[seed; 300][..])]);
    ImageBuilder::new()
        .config_bytes(
            OCI_CONFIG,
            format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["S={seed}"]}}}}"#),
        )
        .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, layer))
        .build()
        .unwrap()
}

/// Pushes an image under v1, v2 and v3 of `team/app` through `proxy`.
async fn three_tags(proxy: &Proxy, seed: u8) -> NewImage {
    let client = Client::new(&proxy.url()).unwrap().with_segment("team/app");
    let img = image(seed);
    client.push_image("v1", &img).await.unwrap();
    client.tag_image("v1", "v2").await.unwrap();
    client.tag_image("v1", "v3").await.unwrap();
    img
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_one_tag_of_a_shared_manifest_keeps_the_others() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let img = three_tags(&proxy, 1).await;
    let host = proxy.host();
    proxy.clear_requests();

    let o = crctl(&["delete", &format!("{host}/team/app:v2")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());

    // The placeholder went under the tag, then was deleted by its digest.
    let puts: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.uri.path().contains("/manifests/"))
        .map(|r| r.uri.path().to_owned())
        .collect();
    assert_eq!(puts, ["/v2/team/app/manifests/v2"]);
    let deleted: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.status == 202)
        .map(|r| r.uri.path().to_owned())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    let placeholder = deleted[0].strip_prefix("/v2/team/app/manifests/").unwrap();
    assert!(placeholder.starts_with("sha256:"), "{placeholder}");
    assert_ne!(placeholder, img.digest().to_string());

    assert_eq!(
        stdout(&crctl(&["tags", &format!("{host}/team/app")])),
        "v1\nv3\n"
    );
    for tag in ["v1", "v3"] {
        assert_eq!(
            stdout(&crctl(&["digest", &format!("{host}/team/app:{tag}")])).trim(),
            img.digest().to_string()
        );
    }
    assert_eq!(
        crctl(&["exists", &format!("{host}/team/app:v2")])
            .status
            .code(),
        Some(3)
    );
    // The image is whole: its config and layer blobs read back, byte for byte.
    let manifest: serde_json::Value = serde_json::from_slice(img.manifest().bytes()).unwrap();
    let mut blobs = vec![manifest["config"].clone()];
    blobs.extend(manifest["layers"].as_array().unwrap().iter().cloned());
    assert_eq!(blobs.len(), 2);
    for b in blobs {
        let digest = b["digest"].as_str().unwrap();
        let o = crctl(&["blob", "get", &format!("{host}/team/app@{digest}")]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            o.stdout.len() as u64,
            b["size"].as_u64().unwrap(),
            "{digest}"
        );
    }
    assert_eq!(
        stdout(&crctl(&["manifest", &format!("{host}/team/app:v3")])).as_bytes(),
        &img.manifest().bytes()[..]
    );
}

/// A real docker-registry with `storage.delete.enabled: false`.
struct NoDeletes {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for NoDeletes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn registry_without_deletes() -> NoDeletes {
    use test_support::registry::*;
    let binary = docker_registry_path().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
    let dir = tempfile::tempdir().unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = RegistryConfig::new(addr, dir.path().join("storage")).to_yaml();
    let disabled = "delete:\n    enabled: false";
    let yaml = yaml.replace("delete:\n    enabled: true", disabled);
    assert!(yaml.contains(disabled), "{yaml}");
    let config = dir.path().join("config.yml");
    std::fs::write(&config, yaml).unwrap();
    let log = dir.path().join("registry.log");
    let mut child = spawn_registry(&binary, &config, &log).unwrap();
    if let Err(e) = wait_ready(&mut child, addr, READY_TIMEOUT).await {
        let _ = child.kill();
        panic!(
            "{e:?}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    NoDeletes {
        child,
        url: format!("http://{addr}"),
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_manifest_deletes_disabled_the_tag_is_refused_and_kept() {
    let registry = registry_without_deletes().await;
    let proxy = Proxy::start(registry.url.clone()).await;
    let img = three_tags(&proxy, 2).await;
    let host = proxy.host();

    let o = crctl(&["delete", &format!("{host}/team/app:v2")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing was deleted") && err.contains("tag v1") && err.contains("tag v3"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(proxy.count("PUT", "/v2/team/app/manifests/*"), 3);
    assert_eq!(
        stdout(&crctl(&["tags", &format!("{host}/team/app")])),
        "v1\nv2\nv3\n"
    );
    assert_eq!(
        stdout(&crctl(&["digest", &format!("{host}/team/app:v2")])).trim(),
        img.digest().to_string()
    );
}
