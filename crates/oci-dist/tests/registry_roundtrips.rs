//! Round trips of copies, counted through the request-logging proxy in
//! front of a real docker-registry 2.8.
//!
//! | copy | before | after | skopeo 1.9 |
//! |---|---|---|---|
//! | (a) index of 3 images (6 blobs), repository → repository of one registry | 23 | 14 | 42 (from the issue; not measured here) |
//! | (b) one image (3 blobs), registry → registry on another host (source + destination) | 4 + 13 = 17 | 4 + 11 = 15 | |
//! | (c) a fresh image (3 blobs) from an OCI layout into a new repository | 13 | 11 | |
//!
//! Where they went: (a) mounts with one `POST ?mount=&from=` per blob and
//! no `HEAD` first (a blob already there is a `201` too), and `PUT`s the
//! child manifests without a `HEAD` (the same round trip as the idempotent
//! `PUT` it could save); (b) and (c) probe `GET /v2/` once per registry
//! instead of once per streamed upload. A layout pushed into a second
//! repository of a registry mounts every blob from the first (the client's
//! blob-info cache), and a mount the registry answers with an upload
//! session (`202`) carries the upload.

mod common;

use oci_dist::copy::{CopyOptions, copy};
use oci_dist::image::NewIndex;
use oci_dist::layout::OciLayout;
use oci_dist::{CheckedDescriptor, Client, Digest, ImageDestination};
use registry_core::credentials::{Credential, Static};
use test_support::{Proxy, TestRegistry, TokenServer};

/// An index of three images, each a config and one small layer of its own.
fn three_image_index(seed: u64) -> NewIndex {
    let images = [("amd64", None), ("arm64", Some("v8")), ("arm", Some("v7"))]
        .iter()
        .enumerate()
        .map(|(i, (arch, variant))| {
            let layer = common::bytes(2000 + i, seed + i as u64);
            common::image(&[layer], "linux", arch, *variant)
        })
        .collect();
    NewIndex::new(images).unwrap()
}

/// `METHOD path?query` of each request, every digest written `<digest>`.
fn shape(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .iter()
        .map(|r| {
            let line = match r.query() {
                Some(q) => format!("{} {}?{q}", r.method, r.path()),
                None => format!("{} {}", r.method, r.path()),
            };
            without_digests(&line)
        })
        .collect()
}

fn without_digests(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("sha256") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "sha256".len()..];
        let sep = if after.starts_with(':') {
            1
        } else if after.starts_with("%3A") {
            3
        } else {
            out.push_str("sha256");
            rest = after;
            continue;
        };
        let hex = after[sep..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .count();
        out.push_str("<digest>");
        rest = &after[sep + hex..];
    }
    out.push_str(rest);
    out
}

/// The config's digest, then the layers'.
fn blob_digests(image: &oci_dist::image::NewImage) -> Vec<Digest> {
    image
        .manifest()
        .blobs()
        .into_iter()
        .map(|d| CheckedDescriptor::try_from(d).unwrap().digest().clone())
        .collect()
}

fn repeat(line: &str, n: usize) -> Vec<String> {
    vec![line.to_owned(); n]
}

/// The upload sessions the registry still holds for `repository`.
fn open_uploads(registry: &TestRegistry, repository: &str) -> usize {
    let dir = registry
        .storage_dir()
        .join("docker/registry/v2/repositories")
        .join(repository)
        .join("_uploads");
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// An OCI layout holding `image` under `tag`, written from a scratch
/// registry.
async fn layout_with(
    image: &oci_dist::image::NewImage,
    tag: &str,
) -> (tempfile::TempDir, OciLayout) {
    let scratch = TestRegistry::anonymous().await;
    let src = common::client_for(&scratch).with_segment("scratch");
    src.push_image(tag, image).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("oci")).await.unwrap();
    copy(&src, tag, &layout, tag, &CopyOptions::default())
        .await
        .unwrap();
    (dir, layout)
}

/// The requests of copying `src/app:v1`, an index of three images, to
/// `dst/app:v1` in the same registry. Phases follow each other (plan,
/// blobs, manifests); inside one the order varies but the shape does not.
fn in_registry_copy_shape() -> Vec<String> {
    let mut expected = vec!["GET /v2/src/app/manifests/v1".to_owned()];
    expected.extend(repeat("GET /v2/src/app/manifests/<digest>", 3));
    expected.extend(repeat(
        "POST /v2/dst/app/blobs/uploads/?mount=<digest>&from=src%2Fapp",
        6,
    ));
    expected.extend(repeat("PUT /v2/dst/app/manifests/<digest>", 3));
    expected.push("PUT /v2/dst/app/manifests/v1".to_owned());
    expected
}

#[tokio::test]
async fn in_registry_index_copy_makes_at_most_14_requests() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let src = common::client_via(&proxy).with_segment("src/app");
    let index = three_image_index(1);
    src.push_index("v1", &index).await.unwrap();
    proxy.clear_requests();

    let dst = src.with_repository("dst/app");
    let report = copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (
            report.manifests,
            report.blobs,
            report.mounted,
            report.copied
        ),
        (4, 6, 6, 0)
    );

    assert_eq!(shape(&proxy), in_registry_copy_shape());
    assert!(proxy.request_count() <= 14);

    // Every blob of every image mounted once; the copy is the same index.
    let mut mounted: Vec<String> = proxy
        .requests()
        .iter()
        .filter_map(|r| r.query().map(str::to_owned))
        .collect();
    mounted.sort();
    mounted.dedup();
    assert_eq!(mounted.len(), 6);
    assert_eq!(
        dst.get_manifest("v1").await.unwrap().bytes(),
        index.manifest().bytes()
    );
    for image in index.images() {
        assert_eq!(
            dst.get_manifest(image.digest()).await.unwrap().bytes(),
            image.manifest().bytes()
        );
    }
    assert_eq!(open_uploads(&registry, "dst/app"), 0);

    // Again, untagged: the root is there, so nothing below it is asked.
    proxy.clear_requests();
    let digest: &Digest = index.manifest().digest();
    let again = copy(&src, digest, &dst, None, &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(&again.digest, digest);
    let mut expected = vec!["GET /v2/src/app/manifests/<digest>".to_owned()];
    expected.extend(repeat("GET /v2/src/app/manifests/<digest>", 3));
    expected.extend(repeat(
        "POST /v2/dst/app/blobs/uploads/?mount=<digest>&from=src%2Fapp",
        6,
    ));
    expected.push("HEAD /v2/dst/app/manifests/<digest>".to_owned());
    assert_eq!(shape(&proxy), expected);
}

#[tokio::test]
async fn a_mount_answered_with_an_upload_session_carries_the_upload() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let image = common::small_image(2, 3000, 7);
    let (_dir, layout) = layout_with(&image, "v1").await;
    let client = common::client_via(&proxy);

    // The client sees the blobs land in `gone`; someone else then deletes
    // them there, so the client's knowledge is stale.
    copy(
        &layout,
        "v1",
        &client.with_repository("gone"),
        "v1",
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    let other = common::client_for(&registry).with_repository("gone");
    let blobs = blob_digests(&image);
    for d in &blobs {
        other.delete_blob(d).await.unwrap();
    }

    proxy.clear_requests();
    let dst = client.with_repository("dst");
    let report = copy(&layout, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((report.copied, report.mounted), (3, 0));
    // Each mount was answered 202 and its session took the upload: no
    // second POST, no HEAD, no cancelled session.
    let shapes = shape(&proxy);
    let count = |prefix: &str| shapes.iter().filter(|s| s.starts_with(prefix)).count();
    assert_eq!(
        count("POST /v2/dst/blobs/uploads/?mount=<digest>&from=gone"),
        3,
        "{shapes:#?}"
    );
    assert_eq!(count("PUT /v2/dst/blobs/uploads/"), 3, "{shapes:#?}");
    assert_eq!(count("POST"), 3, "{shapes:#?}");
    assert_eq!(count("HEAD"), 0, "{shapes:#?}");
    assert_eq!(count("DELETE"), 0, "{shapes:#?}");
    // The client probed `GET /v2/` during the first copy already.
    assert_eq!(shapes.len(), 3 + 3 + 1, "{shapes:#?}");

    // Stored right, nothing left open.
    assert_eq!(open_uploads(&registry, "dst"), 0);
    let pulled = dst.get_image("v1", &Default::default()).await.unwrap();
    assert_eq!(pulled.digest(), image.digest());
    for (i, d) in blobs[1..].iter().enumerate() {
        let bytes = pulled.layer(i).await.unwrap().bytes(1 << 20).await.unwrap();
        assert_eq!(&Digest::sha256_of(&bytes), d);
    }

    // The stale entry is forgotten: the next repository mounts from `dst`.
    proxy.clear_requests();
    let third = client.with_repository("third");
    let report = copy(&layout, "v1", &third, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.mounted, 3);
    assert_eq!(
        proxy.count("POST", "/v2/third/blobs/uploads/"),
        3,
        "{:#?}",
        shape(&proxy)
    );
    assert!(
        shape(&proxy)
            .iter()
            .filter(|s| s.starts_with("POST"))
            .all(|s| s.ends_with("&from=dst")),
        "{:#?}",
        shape(&proxy)
    );
}

#[tokio::test]
async fn a_layout_pushed_into_a_second_repository_mounts_from_the_first() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let image = common::small_image(2, 3000, 9);
    let (_dir, layout) = layout_with(&image, "v1").await;
    let client = common::client_via(&proxy);

    // (c): a fresh image from a layout into a new repository.
    let one = client.with_repository("one");
    let report = copy(&layout, "v1", &one, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.copied, 3);
    let mut expected = repeat("HEAD /v2/one/blobs/<digest>", 3);
    expected.extend(repeat("POST /v2/one/blobs/uploads/", 3));
    expected.push("GET /v2/".to_owned());
    expected.extend(repeat("PUT /v2/one/blobs/uploads/", 3));
    expected.push("PUT /v2/one/manifests/v1".to_owned());
    let mut got: Vec<String> = shape(&proxy)
        .into_iter()
        .map(|s| match s.split_once("/blobs/uploads/") {
            Some((head, tail)) if s.starts_with("PUT") && !tail.is_empty() => {
                format!("{head}/blobs/uploads/")
            }
            _ => s,
        })
        .collect();
    // Uploads run concurrently; the probe comes before the first streamed PUT.
    let probe_at = got.iter().position(|s| s == "GET /v2/").unwrap();
    assert!(probe_at < got.iter().position(|s| s.starts_with("PUT")).unwrap());
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // The same layout into another repository: mounted from the first.
    proxy.clear_requests();
    let two = client.with_repository("two");
    let report = copy(&layout, "v1", &two, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((report.mounted, report.copied), (3, 0));
    let mut expected = repeat("POST /v2/two/blobs/uploads/?mount=<digest>&from=one", 3);
    expected.push("PUT /v2/two/manifests/v1".to_owned());
    assert_eq!(shape(&proxy), expected);
    assert_eq!(proxy.count("PATCH", "/v2/*"), 0);
    assert_eq!(proxy.body_bytes_sent("PUT", "/v2/two/blobs/*"), 0);
    assert_eq!(two.get_digest("v1").await.unwrap(), *image.digest());

    // Mounting turned off: uploaded again.
    proxy.clear_requests();
    let three = client.with_repository("three");
    let report = copy(
        &layout,
        "v1",
        &three,
        "v1",
        &CopyOptions::default().mount(false),
    )
    .await
    .unwrap();
    assert_eq!((report.mounted, report.copied), (0, 3));
    assert!(!ImageDestination::check_manifests_first(&three));
}

#[tokio::test]
async fn copy_to_another_registry_probes_once() {
    let a = TestRegistry::anonymous().await;
    let b = TestRegistry::anonymous().await;
    let pa = a.start_proxy().await;
    let pb = b.start_proxy().await;
    let src = common::client_via(&pa).with_segment("src/app");
    let image = common::small_image(2, 3000, 5);
    src.push_image("v1", &image).await.unwrap();
    pa.clear_requests();

    // (b): 4 requests at the source, 11 at the destination.
    let dst = common::client_via(&pb).with_segment("mirror/app");
    let report = copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.copied, 3);
    assert_eq!(pa.request_count(), 4, "{:#?}", shape(&pa));
    assert_eq!(pb.count("GET", "/v2/"), 1, "{:#?}", shape(&pb));
    assert_eq!(pb.count("HEAD", "/v2/mirror/app/blobs/*"), 3);
    assert_eq!(pb.count("POST", "/v2/mirror/app/blobs/uploads/"), 3);
    assert_eq!(pb.count("PUT", "/v2/mirror/app/blobs/uploads/*"), 3);
    assert_eq!(pb.count("PUT", "/v2/mirror/app/manifests/v1"), 1);
    assert_eq!(pb.request_count(), 11, "{:#?}", shape(&pb));
}

#[tokio::test]
async fn token_registry_in_registry_index_copy() {
    let tokens = TokenServer::builder().user("alice", "secret").start().await;
    let registry = TestRegistry::token(&tokens).await;
    let proxy = registry.start_proxy().await;
    let client = Client::builder(&proxy.url())
        .credentials(Static::new(Credential::basic("alice", "secret")).for_host(proxy.host()))
        .build()
        .unwrap();
    let src = client.with_repository("src/app");
    let index = three_image_index(3);
    src.push_index("v1", &index).await.unwrap();
    proxy.clear_requests();
    tokens.clear_requests();

    let dst = client.with_repository("dst/app");
    let report = copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((report.mounted, report.copied), (6, 0));
    // The same 14 requests as without auth (the client knows the token
    // service from the push), and two tokens: one for the mounts (push on
    // the destination, pull on the source), one for the manifests.
    assert_eq!(shape(&proxy), in_registry_copy_shape());
    let scopes: Vec<Vec<String>> = tokens.requests().iter().map(|r| r.scopes.clone()).collect();
    assert_eq!(
        scopes,
        [
            vec!["repository:dst/app:pull,push", "repository:src/app:pull"],
            vec!["repository:dst/app:pull,push"],
        ]
    );
    assert_eq!(
        dst.get_manifest("v1").await.unwrap().bytes(),
        index.manifest().bytes()
    );
}
