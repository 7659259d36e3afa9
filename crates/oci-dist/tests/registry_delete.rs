//! Tag and manifest deletion against docker-registry, which refuses tag
//! deletion (`400 DIGEST_INVALID`), so the fallbacks run (the manifest by
//! digest, or a placeholder for a shared manifest; a registry with manifest
//! deletes disabled refuses both); and against
//! a registry that deletes tags (a proxy answering the DELETE as the spec
//! says).

mod common;

use oci_dist::image::NewIndex;
use oci_dist::{ErrorKind, TagDeletion};
use test_support::TestRegistry;
use test_support::http::response;

#[tokio::test]
async fn fallback_deletes_a_manifest_with_a_single_tag() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("del/one");
    let img = common::small_image(1, 500, 10);
    app.push_image("v1", &img).await.unwrap();
    let keep = common::small_image(1, 500, 11);
    app.push_image("keep", &keep).await.unwrap();
    proxy.clear_requests();

    let done = app.delete_tag("v1").await.unwrap();
    assert_eq!(
        done,
        TagDeletion::ManifestDeleted {
            digest: img.digest().clone()
        }
    );
    // The tag DELETE was refused, then the manifest was deleted by digest.
    assert_eq!(proxy.count("DELETE", "/v2/del/one/manifests/v1"), 1);
    assert_eq!(
        proxy.count("DELETE", &format!("/v2/del/one/manifests/{}", img.digest())),
        1
    );
    let err = app.check_image_exists("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    app.check_image_exists("keep").await.unwrap();
    assert_eq!(app.list_tags().await.unwrap(), ["keep"]);

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = app.delete_tag(&img.digest().to_string()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Every blob of `img` (config and layers), fetched by its descriptor
/// (size and digest checked while reading).
async fn assert_blobs_intact(app: &oci_dist::Client, img: &oci_dist::NewImage) {
    let manifest = app.get_manifest(img.digest()).await.unwrap();
    let m = manifest.as_image().expect("an image manifest");
    let mut descriptors = vec![m.config().clone()];
    descriptors.extend(m.layers().iter().cloned());
    assert!(descriptors.len() >= 2);
    for d in &descriptors {
        let bytes = app
            .fetch_blob(d)
            .await
            .unwrap()
            .bytes(1 << 20)
            .await
            .unwrap();
        assert_eq!(bytes.len() as u64, d.size(), "{}", d.digest());
    }
}

#[tokio::test]
async fn a_shared_manifest_loses_only_the_deleted_tag_through_a_placeholder() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("del/shared");
    let img = common::small_image(2, 500, 12);
    app.push_image("v1", &img).await.unwrap();
    app.tag_image("v1", "latest").await.unwrap();
    app.tag_image("v1", "stable").await.unwrap();
    proxy.clear_requests();

    let done = app.delete_tag("v1").await.unwrap();
    let TagDeletion::PlaceholderDeleted {
        digest,
        placeholder,
    } = done
    else {
        panic!("{done:?}");
    };
    assert_eq!(digest, *img.digest());
    assert_ne!(placeholder, digest);

    // The refused tag DELETE; a DELETE of the placeholder's digest before it
    // exists (404: the registry deletes manifests); the `{}` blob; the
    // placeholder PUT under the tag; the DELETE of the placeholder by digest.
    let log: Vec<(String, String, u16)> = proxy
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .map(|r| (r.method.to_string(), r.uri.path().to_owned(), r.status))
        .collect();
    let by_digest = format!("/v2/del/shared/manifests/{placeholder}");
    let empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let expected_tail = [
        (
            "PUT".to_owned(),
            "/v2/del/shared/manifests/v1".to_owned(),
            201,
        ),
        ("DELETE".to_owned(), by_digest.clone(), 202),
    ];
    assert_eq!(
        log[0],
        ("DELETE".into(), "/v2/del/shared/manifests/v1".into(), 400),
        "{log:?}"
    );
    assert_eq!(log[1], ("DELETE".into(), by_digest.clone(), 404), "{log:?}");
    assert_eq!(log[log.len() - 2..], expected_tail, "{log:?}");
    // Nothing else was deleted, and the image's manifest was not touched.
    assert_eq!(proxy.count("DELETE", "/v2/*"), 3, "{log:?}");
    assert_eq!(
        proxy.count("PUT", "/v2/del/shared/manifests/*"),
        1,
        "{log:?}"
    );
    // The placeholder's config was there or pushed, by its digest.
    assert!(
        proxy.count("HEAD", &format!("/v2/del/shared/blobs/{empty}")) == 1,
        "{:?}",
        proxy.requests()
    );

    // Exactly that tag went; the other two resolve to the same manifest.
    let err = app.check_image_exists("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(app.get_digest("latest").await.unwrap(), *img.digest());
    assert_eq!(app.get_digest("stable").await.unwrap(), *img.digest());
    let mut tags = app.list_tags().await.unwrap();
    tags.sort();
    assert_eq!(tags, ["latest", "stable"]);
    assert!(!app.manifest_exists(&placeholder).await.unwrap());
    assert_blobs_intact(&app, &img).await;

    // A manifest listed by a tagged index: its own tag goes, the index stays whole.
    let solo = common::small_image(1, 500, 13);
    let index = NewIndex::new(vec![solo.clone()]).unwrap();
    app.push_index("multi", &index).await.unwrap();
    app.push_image("solo", &solo).await.unwrap();
    let done = app.delete_tag("solo").await.unwrap();
    assert!(
        matches!(done, TagDeletion::PlaceholderDeleted { .. }),
        "{done:?}"
    );
    assert_eq!(
        app.check_image_exists("solo").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    app.check_image_exists(solo.digest()).await.unwrap();
    app.check_image_exists("multi").await.unwrap();
    assert_blobs_intact(&app, &solo).await;
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

#[tokio::test]
async fn with_manifest_deletes_disabled_a_shared_tag_is_refused_and_untouched() {
    let registry = registry_without_deletes().await;
    let proxy = test_support::Proxy::start(registry.url.clone()).await;
    let app = common::client_via(&proxy).with_segment("del/kept");
    let img = common::small_image(1, 500, 16);
    app.push_image("v1", &img).await.unwrap();
    app.tag_image("v1", "latest").await.unwrap();
    proxy.clear_requests();

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let msg = err.to_string();
    assert!(
        msg.contains("tag latest")
            && msg.contains("refuses manifest deletes too")
            && msg.contains("nothing was deleted")
            && msg.contains(&img.digest().to_string()),
        "{msg}"
    );
    // The tag DELETE is refused (405 here, deletes being off), then the
    // question with the placeholder's digest (405 UNSUPPORTED), and a stop:
    // no placeholder was pushed and the tag never moved.
    let deletes: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, [405, 405]);
    assert_eq!(proxy.count("PUT", "/v2/*"), 0);
    assert_eq!(proxy.count("POST", "/v2/*"), 0);
    assert_eq!(app.get_digest("v1").await.unwrap(), *img.digest());
    assert_eq!(app.get_digest("latest").await.unwrap(), *img.digest());
}

#[tokio::test]
async fn registries_that_delete_tags_keep_the_manifest() {
    let registry = TestRegistry::anonymous().await;
    // As the distribution spec allows: DELETE of a tag answers 202.
    let proxy = registry
        .proxy_builder()
        .intercept(|req| {
            (req.method == "DELETE" && req.path() == "/v2/del/tagged/manifests/v1")
                .then(|| response(202, ""))
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("del/tagged");
    let img = common::small_image(1, 100, 14);
    app.push_image("v1", &img).await.unwrap();
    assert_eq!(app.delete_tag("v1").await.unwrap(), TagDeletion::TagDeleted);
    assert_eq!(proxy.count("DELETE", "/v2/*"), 1);
}

#[tokio::test]
async fn delete_manifest_and_blob_by_digest() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("del/digest");
    let img = common::small_image(1, 100, 15);
    app.push_image("v1", &img).await.unwrap();
    app.delete_manifest(img.digest()).await.unwrap();
    assert_eq!(
        app.check_image_exists("v1").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let err = app.delete_manifest(img.digest()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let blob = app.push_blob_bytes(common::bytes(100, 99)).await.unwrap();
    assert!(app.blob_exists(&blob).await.unwrap());
    app.delete_blob(&blob).await.unwrap();
    assert!(!app.blob_exists(&blob).await.unwrap());
}

#[tokio::test]
async fn a_tag_changed_under_the_placeholder_is_reported_not_overwritten() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let registry = TestRegistry::anonymous().await;
    let other = common::small_image(1, 100, 18);
    let (armed, put_seen) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (a, p) = (armed.clone(), put_seen.clone());
    let (other_digest, other_size) = (other.digest().to_string(), other.manifest().size());
    // Someone else pushes to the tag right after the placeholder PUT: the
    // proxy answers the next HEAD of the tag with their manifest.
    let proxy = registry
        .proxy_builder()
        .intercept(move |req| {
            if !a.load(Ordering::SeqCst) || req.path() != "/v2/del/race/manifests/v1" {
                return None;
            }
            if req.method == "PUT" {
                p.store(true, Ordering::SeqCst);
                return None;
            }
            if req.method != "HEAD" || !p.load(Ordering::SeqCst) {
                return None;
            }
            let mut resp = response(200, "");
            let h = resp.headers_mut();
            h.insert("docker-content-digest", other_digest.parse().unwrap());
            h.insert(
                "content-type",
                oci_dist::media_type::OCI_MANIFEST.parse().unwrap(),
            );
            h.insert("content-length", other_size.to_string().parse().unwrap());
            Some(resp)
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("del/race");
    let img = common::small_image(1, 500, 17);
    app.push_image("v1", &img).await.unwrap();
    app.tag_image("v1", "latest").await.unwrap();
    armed.store(true, Ordering::SeqCst);
    proxy.clear_requests();

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let msg = err.to_string();
    assert!(
        msg.contains("changed by someone else") && msg.contains(&other.digest().to_string()),
        "{msg}"
    );
    assert!(put_seen.load(Ordering::SeqCst));
    // The shared manifest was never deleted, and `latest` still holds it.
    assert_eq!(
        proxy.count(
            "DELETE",
            &format!("/v2/del/race/manifests/{}", img.digest())
        ),
        0
    );
    assert_eq!(app.get_digest("latest").await.unwrap(), *img.digest());
}

#[tokio::test]
async fn a_refused_placeholder_delete_puts_the_tag_back() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let registry = TestRegistry::anonymous().await;
    let deletes = Arc::new(AtomicUsize::new(0));
    let d = deletes.clone();
    // The probe DELETE goes through (404); the real one is forbidden.
    let proxy = registry
        .proxy_builder()
        .intercept(move |req| {
            let by_digest = req.path().starts_with("/v2/del/restore/manifests/sha256:");
            (req.method == "DELETE" && by_digest && d.fetch_add(1, Ordering::SeqCst) == 1)
                .then(|| response(403, ""))
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("del/restore");
    let img = common::small_image(1, 500, 19);
    app.push_image("v1", &img).await.unwrap();
    app.tag_image("v1", "latest").await.unwrap();

    let err = app.delete_tag("v1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("the tag points at {} again", img.digest())),
        "{err}"
    );
    assert_eq!(deletes.load(Ordering::SeqCst), 2);
    assert_eq!(app.get_digest("v1").await.unwrap(), *img.digest());
    assert_eq!(app.get_digest("latest").await.unwrap(), *img.digest());
}
