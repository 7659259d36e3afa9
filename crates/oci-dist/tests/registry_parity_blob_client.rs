//! Parity with the Azure azcontainerregistry `Client`/`BlobClient` (seed
//! 002) against a real docker-registry behind the recording proxy:
//! `GetManifest` with `Accept`, `CheckChunkExists`, upload ids
//! (`Docker-Upload-UUID`), `UploadChunk` with an explicit range, and the
//! `BlobDigestCalculator`.

mod common;

use bytes::Bytes;
use common::{bytes, client_via};
use oci_dist::image::{ImageBuilder, ImageLayer};
use oci_dist::media_type::{
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST,
};
use oci_dist::upload::Mount;
use oci_dist::{Client, ErrorKind, UploadSession};
use registry_core::Digest;
use registry_core::digest::Algorithm;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use test_support::{Proxy, TestRegistry};

/// The `Accept` headers of the manifest GETs the proxy saw.
fn manifest_accepts(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().contains("/manifests/"))
        .map(|r| r.header("accept").unwrap_or("").to_owned())
        .collect()
}

async fn docker_image(app: &Client) -> Digest {
    let img = ImageBuilder::new()
        .docker_media_types(true)
        .config_bytes(DOCKER_CONFIG, common::config("linux", "amd64", None, "d"))
        .layer(ImageLayer::from_bytes(DOCKER_LAYER_GZIP, bytes(1234, 9)))
        .build()
        .unwrap();
    app.push_image("docker", &img).await.unwrap();
    img.digest().clone()
}

#[tokio::test]
async fn get_manifest_accepting_sends_exactly_the_types_given() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("accept");
    let oci = common::small_image(1, 100, 1);
    app.push_image("oci", &oci).await.unwrap();
    let docker = docker_image(&app).await;
    proxy.clear_requests();

    let m = app
        .get_manifest_accepting("oci", &[OCI_MANIFEST])
        .await
        .unwrap();
    assert_eq!(m.media_type(), OCI_MANIFEST);
    assert_eq!(m.digest(), oci.digest());
    let m = app
        .get_manifest_accepting("docker", &[DOCKER_MANIFEST])
        .await
        .unwrap();
    assert_eq!(m.media_type(), DOCKER_MANIFEST);
    assert_eq!(m.digest(), &docker);
    let m = app
        .get_manifest_accepting(&docker, &[DOCKER_MANIFEST, OCI_MANIFEST])
        .await
        .unwrap();
    assert_eq!(m.media_type(), DOCKER_MANIFEST);
    // The default still asks for every type the client reads.
    app.get_manifest("oci").await.unwrap();
    assert_eq!(
        manifest_accepts(&proxy),
        [
            OCI_MANIFEST.to_owned(),
            DOCKER_MANIFEST.to_owned(),
            format!("{DOCKER_MANIFEST}, {OCI_MANIFEST}"),
            MANIFEST_ACCEPT.to_owned(),
        ]
    );

    // Nothing sent for a malformed list.
    proxy.clear_requests();
    for bad in [&[][..], &["application/json, text/plain"][..]] {
        let err = app.get_manifest_accepting("oci", bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert_eq!(proxy.request_count(), 0);
}

#[tokio::test]
async fn a_manifest_not_in_an_accepted_type_is_refused_as_the_registry_answers() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("accept");
    let oci = common::small_image(1, 100, 2);
    app.push_image("oci", &oci).await.unwrap();
    let docker = docker_image(&app).await;

    // By digest, distribution 2.8 serves the Docker manifest as it is,
    // whatever the Accept: refused here, naming the type it sent.
    let err = app
        .get_manifest_accepting(&docker, &[OCI_MANIFEST])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains(DOCKER_MANIFEST), "{err}");
    assert_eq!(proxy.requests().last().unwrap().status, 200);

    // By tag, it takes the client for an old one and tries to rewrite the
    // manifest to schema 1, which fails: 400 MANIFEST_INVALID, passed on.
    let err = app
        .get_manifest_accepting("docker", &[OCI_MANIFEST])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST), "{err}");
    assert_eq!(err.oci_errors()[0].code, "MANIFEST_INVALID", "{err}");

    // An OCI manifest asked for as Docker only: distribution says it has
    // none it may send (404 MANIFEST_UNKNOWN).
    let err = app
        .get_manifest_accepting("oci", &[DOCKER_MANIFEST])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.oci_errors()[0].code, "MANIFEST_UNKNOWN");
    // An index type only, for an image manifest: the same.
    let err = app
        .get_manifest_accepting(oci.digest(), &[OCI_INDEX])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn check_blob_range_reports_what_the_registry_says() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("ranges");
    let data = bytes(1000, 3);
    let digest = app.push_blob_bytes(data).await.unwrap();
    proxy.clear_requests();

    let c = app.check_blob_range(&digest, 0..300).await.unwrap();
    // docker-registry 2.8 answers HEAD with Range like GET: 206.
    assert!(c.exists && c.available && c.partial_response, "{c:?}");
    assert_eq!(c.content_range.as_deref(), Some("bytes 0-299/1000"));
    assert_eq!((c.length, c.total), (Some(300), Some(1000)));

    let c = app.check_blob_range(&digest, 900..).await.unwrap();
    assert!(c.available, "{c:?}");
    assert_eq!(c.content_range.as_deref(), Some("bytes 900-999/1000"));

    // Running past the end: the registry cuts it; not all available.
    let c = app.check_blob_range(&digest, 900..=1500).await.unwrap();
    assert!(c.exists && !c.available, "{c:?}");
    assert_eq!(c.content_range.as_deref(), Some("bytes 900-999/1000"));

    // Starting past the end: 416 with the size.
    let c = app.check_blob_range(&digest, 2000..2100).await.unwrap();
    assert!(c.exists && !c.available && c.partial_response, "{c:?}");
    assert_eq!(c.content_range.as_deref(), Some("bytes */1000"));
    assert_eq!(c.total, Some(1000));

    let missing = Digest::sha256_of(b"not there");
    let c = app.check_blob_range(&missing, 0..10).await.unwrap();
    assert!(!c.exists && !c.available, "{c:?}");

    let heads: Vec<(String, u16)> = proxy
        .requests()
        .into_iter()
        .map(|r| {
            assert_eq!(r.method, "HEAD");
            (r.range().unwrap_or("").to_owned(), r.status)
        })
        .collect();
    assert_eq!(
        heads,
        [
            ("bytes=0-299".to_owned(), 206),
            ("bytes=900-".to_owned(), 206),
            ("bytes=900-1500".to_owned(), 206),
            ("bytes=2000-2099".to_owned(), 416),
            ("bytes=0-9".to_owned(), 404),
        ]
    );
}

/// A client (in repository `segment`) to a registry behind a proxy that
/// ignores `Range` on `method` blob requests; keep all three alive.
async fn ignoring_range(method: &str, segment: &str) -> (TestRegistry, Proxy, Client) {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .fault(test_support::FaultRule::new(
            method,
            "/v2/*/blobs/*",
            test_support::Fault::IgnoreRange,
        ))
        .start()
        .await;
    let app = client_via(&proxy).with_segment(segment);
    (registry, proxy, app)
}

#[tokio::test]
async fn check_blob_range_on_a_registry_ignoring_range() {
    let (_registry, _proxy, app) = ignoring_range("HEAD", "ranges").await;
    let digest = app.push_blob_bytes(bytes(1000, 4)).await.unwrap();
    let c = app.check_blob_range(&digest, 100..200).await.unwrap();
    assert!(c.exists && c.available && !c.partial_response, "{c:?}");
    assert_eq!(
        (c.length, c.total, c.content_range),
        (Some(1000), Some(1000), None)
    );
    let c = app.check_blob_range(&digest, 999..1001).await.unwrap();
    assert!(!c.available, "{c:?}");
}

#[tokio::test]
async fn get_blob_range_on_a_registry_ignoring_range_cuts_the_whole_blob() {
    let (_registry, _proxy, app) = ignoring_range("GET", "get-ranges").await;
    let data = bytes(1000, 5);
    let digest = app.push_blob_bytes(data.clone()).await.unwrap();
    for (part, want) in [
        (
            app.get_blob_range(&digest, 100..200).await.unwrap(),
            100..200,
        ),
        (app.get_blob_range(&digest, 990..).await.unwrap(), 990..1000),
    ] {
        assert!(!part.partial_response);
        assert_eq!(
            (part.offset, part.length, part.total),
            (want.start as u64, Some(want.len() as u64), Some(1000))
        );
        let got: Vec<Bytes> = futures_util::TryStreamExt::try_collect(part.stream)
            .await
            .unwrap();
        assert_eq!(got.concat(), data[want]);
    }
}

#[tokio::test]
async fn upload_sessions_know_their_id() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        // The header wins over the URL when both are there.
        .rewrite_response("POST", "/v2/named/blobs/uploads/", |_req, parts, body| {
            parts.headers.insert(
                "docker-upload-uuid",
                http::HeaderValue::from_static("from-header"),
            );
            body
        })
        // Without the header, the id comes from the URL.
        .rewrite_response("*", "/v2/bare/blobs/uploads/*", |_req, parts, body| {
            parts.headers.remove("docker-upload-uuid");
            body
        })
        .start()
        .await;
    let client = client_via(&proxy);

    let app = client.with_segment("ids");
    let mut s = app.start_upload().await.unwrap();
    let id = s.id().expect("an id").to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert!(
        s.location().contains(&format!("/blobs/uploads/{id}")),
        "{}",
        s.location()
    );
    app.upload_chunk(&mut s, Bytes::from_static(b"abc"))
        .await
        .unwrap();
    assert_eq!(app.upload_status(&mut s).await.unwrap(), 3);
    assert_eq!(s.id(), Some(id.as_str()));
    app.cancel_upload(s).await.unwrap();

    let named = client.with_segment("named");
    let s = named.start_upload().await.unwrap();
    assert_eq!(s.id(), Some("from-header"));
    named.cancel_upload(s).await.unwrap();

    let bare = client.with_segment("bare");
    let mut s = bare.start_upload().await.unwrap();
    let from_url = s
        .location()
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(s.id(), Some(from_url.as_str()));
    bare.upload_status(&mut s).await.unwrap();
    assert_eq!(s.id(), Some(from_url.as_str()));
    bare.cancel_upload(s).await.unwrap();
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| r.path().contains("/named/") || r.status / 100 == 2),
        "every request succeeded"
    );

    // A mount the registry cannot do opens an upload, with its id.
    let missing = Digest::sha256_of(b"in no repository");
    match app.mount_blob(&missing, "elsewhere").await.unwrap() {
        Mount::Upload(s) => {
            let id = s.id().expect("an id").to_owned();
            assert!(s.location().contains(&id));
            app.cancel_upload(s).await.unwrap();
        }
        Mount::Mounted => panic!("nothing to mount"),
    }
}

#[tokio::test]
async fn chunks_at_explicit_ranges() {
    let registry = TestRegistry::anonymous().await;
    // A registry that checks ranges (distribution 3, ACR) answers 416 to a
    // chunk that does not start where the upload ends; 2.8 does not check,
    // so the proxy plays that part once, for the chunk at 5-10.
    let refused = Arc::new(AtomicBool::new(false));
    let once = refused.clone();
    let proxy = registry
        .proxy_builder()
        .intercept(move |r| {
            (r.method == "PATCH"
                && r.header("content-range") == Some("5-10")
                && !once.swap(true, Ordering::SeqCst))
            .then(|| test_support::http::response(416, ""))
        })
        .start()
        .await;
    let app = client_via(&proxy).with_segment("explicit");
    let mut s = app.start_upload().await.unwrap();
    app.upload_chunk_at(&mut s, 0..=4, Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(s.offset(), 5);

    // Refused here, nothing sent: a range that does not hold the data, and
    // one that does not start where the upload ends (2.8 would append it).
    proxy.clear_requests();
    let before = s.clone();
    let err = app
        .upload_chunk_at(&mut s, 5..=9, Bytes::from_static(b"abc"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = app
        .upload_chunk_at(&mut s, 2..=4, Bytes::from_static(b"llo"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("offset 5"), "{err}");
    assert_eq!(proxy.request_count(), 0);
    assert_eq!(s, before);

    // The registry's 416: a conflict too, status kept, session unchanged.
    let err = app
        .upload_chunk_at(&mut s, 5..=10, Bytes::from_static(b" world"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(err.status(), Some(http::StatusCode::RANGE_NOT_SATISFIABLE));
    assert!(err.to_string().contains("starting at 5"), "{err}");
    assert_eq!(s, before);
    assert!(refused.load(Ordering::SeqCst));

    app.upload_chunk_at(&mut s, 5..=10, Bytes::from_static(b" world"))
        .await
        .unwrap();
    let patches: Vec<(Option<String>, u16)> = proxy
        .requests()
        .into_iter()
        .map(|r| (r.header("content-range").map(str::to_owned), r.status))
        .collect();
    assert_eq!(
        patches,
        [
            (Some("5-10".to_owned()), 416),
            (Some("5-10".to_owned()), 202)
        ]
    );
    let digest = Digest::sha256_of(b"hello world");
    app.complete_upload(s, &digest).await.unwrap();
    let back = app
        .get_blob(&digest)
        .await
        .unwrap()
        .bytes(64)
        .await
        .unwrap();
    assert_eq!(&back[..], b"hello world");
}

#[tokio::test]
async fn a_calculating_session_completes_without_a_digest() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("calc");
    let data = bytes(3 * 1024 + 17, 5);
    let mut s = app
        .start_upload()
        .await
        .unwrap()
        .calculating_digest(Algorithm::Sha256)
        .unwrap();
    app.upload_chunk(&mut s, data.slice(..1024)).await.unwrap();
    // A streamed chunk is hashed too.
    let part = data.slice(1024..2048);
    let stream: oci_dist::content::ByteStream = Box::pin(futures_util::stream::iter([Ok::<
        _,
        registry_core::Error,
    >(part)]));
    app.upload_chunk_stream(&mut s, stream, 1024).await.unwrap();
    app.upload_chunk(&mut s, data.slice(2048..)).await.unwrap();
    assert_eq!(s.offset(), data.len() as u64);
    let expected = Digest::sha256_of(&data);
    assert_eq!(s.calculated_digest(), Some(expected.clone()));

    let digest = app.complete_calculated_upload(s).await.unwrap();
    assert_eq!(digest, expected);
    assert!(app.blob_exists(&digest).await.unwrap());
    let back = app
        .get_blob(&digest)
        .await
        .unwrap()
        .bytes(8192)
        .await
        .unwrap();
    assert_eq!(back, data);
    let patches = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 3);
    let put = proxy
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert!(
        put.query()
            .unwrap()
            .contains(&format!("digest=sha256%3A{}", expected.hex())),
        "{:?}",
        put.query()
    );
}

#[tokio::test]
async fn a_calculating_session_refuses_a_wrong_digest_without_sending_it() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("calc");
    let mut s = app
        .start_upload()
        .await
        .unwrap()
        .calculating_digest(Algorithm::Sha256)
        .unwrap();
    for part in [&b"one "[..], b"two ", b"three"] {
        app.upload_chunk(&mut s, Bytes::copy_from_slice(part))
            .await
            .unwrap();
    }
    let keep = s.clone();
    let wrong = Digest::sha256_of(b"one two four");
    let err = app.complete_upload(s, &wrong).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(err.to_string().contains(&wrong.to_string()), "{err}");
    let err = app
        .complete_upload_with(keep.clone(), &wrong, Bytes::from_static(b"!"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert_eq!(proxy.count("PUT", "/v2/calc/blobs/uploads/*"), 0);
    assert!(proxy.requests().iter().all(|r| r.method != "PUT"));
    assert!(!app.blob_exists(&wrong).await.unwrap());

    // The right digest, supplied, completes.
    let right = Digest::sha256_of(b"one two three!");
    app.complete_upload_with(keep, &right, Bytes::from_static(b"!"))
        .await
        .unwrap();
    assert!(app.blob_exists(&right).await.unwrap());
}

#[tokio::test]
async fn a_session_without_a_calculator_cannot_complete_without_a_digest() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("calc");
    let mut s = app.start_upload().await.unwrap();
    app.upload_chunk(&mut s, Bytes::from_static(b"abc"))
        .await
        .unwrap();
    assert_eq!(s.calculated_digest(), None);
    let err = app.complete_calculated_upload(s.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // Too late to start one now.
    let err = s.clone().calculating_digest(Algorithm::Sha256).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(proxy.requests().iter().all(|r| r.method != "PUT"));

    // A chunk at an offset of the caller's choosing (here, a registry that
    // would take it is not at hand: resumed after a status) loses the
    // calculation: a session from its URL knows nothing of what was sent.
    let resumed = UploadSession::from_location(&s.location())
        .unwrap()
        .calculating_digest(Algorithm::Sha256)
        .unwrap();
    let mut resumed = resumed;
    app.upload_status(&mut resumed).await.unwrap();
    assert_eq!(resumed.offset(), 3);
    assert_eq!(resumed.calculated_digest(), None);
    let err = app.complete_calculated_upload(resumed).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(proxy.requests().iter().all(|r| r.method != "PUT"));
    app.cancel_upload(s).await.unwrap();
}

#[tokio::test]
async fn a_one_byte_first_chunk_moves_the_session_to_offset_one() {
    // Distribution answers `Range: 0-0` both for nothing and for one byte.
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = client_via(&proxy).with_segment("calc");
    let mut s = app
        .start_upload()
        .await
        .unwrap()
        .calculating_digest(Algorithm::Sha256)
        .unwrap();
    app.upload_chunk(&mut s, Bytes::from_static(b"a"))
        .await
        .unwrap();
    assert_eq!(s.offset(), 1);
    app.upload_chunk(&mut s, Bytes::from_static(b"bc"))
        .await
        .unwrap();
    assert_eq!(s.offset(), 3);
    let digest = app.complete_calculated_upload(s).await.unwrap();
    assert_eq!(digest, Digest::sha256_of(b"abc"));
}
