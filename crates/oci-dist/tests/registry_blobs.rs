//! Blob transfers against docker-registry: monolithic and chunked uploads,
//! `OCI-Chunk-Min-Length`, resume after an interrupted chunk, fallback to
//! chunks on 413, the session API, ranges, cross-repository mounts, and
//! corruption detection.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_dist::copy::{CopyOptions, copy};
use oci_dist::upload::{Mount, PushMethod};
use oci_dist::{Client, ErrorKind};
use registry_core::Digest;
use test_support::TestRegistry;
use test_support::http::response;

fn chunked_client(url: &str, chunk: u64) -> Client {
    test_support::init_tracing();
    Client::builder(url)
        .chunk_size(chunk)
        .chunked_uploads(true)
        .build()
        .unwrap()
}

async fn read_back(app: &Client, digest: &Digest) -> Bytes {
    app.get_blob(digest)
        .await
        .unwrap()
        .bytes(64 << 20)
        .await
        .unwrap()
}

#[tokio::test]
async fn monolithic_upload_is_one_streamed_put() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("mono");
    let data = common::bytes(3 << 20, 1);
    let digest = Digest::sha256_of(&data);
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Monolithic);
    assert_eq!(proxy.count("POST", "/v2/mono/blobs/uploads/"), 1);
    assert_eq!(proxy.count("PATCH", "/v2/*"), 0);
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].headers["content-length"],
        (3u64 << 20).to_string().as_str()
    );
    assert_eq!(puts[0].headers["content-type"], "application/octet-stream");
    assert_eq!(read_back(&app, &digest).await, data);
    // Present now: nothing is sent.
    proxy.clear_requests();
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Existed);
    assert_eq!(proxy.count("*", "/v2/mono/blobs/uploads/*"), 0);
}

#[tokio::test]
async fn chunked_upload_honours_chunk_size_and_min_length() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = chunked_client(&proxy.url(), 64 * 1024).with_segment("chunks");
    let data = common::bytes(300 * 1024, 2);
    let digest = Digest::sha256_of(&data);
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Chunked);
    let ranges: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.headers["content-range"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ranges,
        [
            "0-65535",
            "65536-131071",
            "131072-196607",
            "196608-262143",
            "262144-307199"
        ]
    );
    assert_eq!(read_back(&app, &digest).await, data);

    // A registry asking for chunks of at least 100000 bytes gets them.
    let proxy = registry
        .proxy_builder()
        .rewrite_response("POST", "/v2/*/blobs/uploads/", |_req, parts, body| {
            parts
                .headers
                .insert("oci-chunk-min-length", "100000".parse().unwrap());
            body
        })
        .start()
        .await;
    let app = chunked_client(&proxy.url(), 64 * 1024).with_segment("chunks-min");
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Chunked);
    let ranges: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.headers["content-range"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ranges,
        ["0-99999", "100000-199999", "200000-299999", "300000-307199"]
    );
    assert_eq!(read_back(&app, &digest).await, data);
}

#[tokio::test]
async fn interrupted_chunk_is_resumed_from_the_registry_offset() {
    let registry = TestRegistry::anonymous().await;
    let patches = Arc::new(AtomicUsize::new(0));
    let seen = patches.clone();
    // The third PATCH fails once, as a broken proxy would.
    let proxy = registry
        .proxy_builder()
        .intercept(move |req| {
            if req.method != "PATCH" {
                return None;
            }
            (seen.fetch_add(1, Ordering::SeqCst) == 2).then(|| response(503, "try later"))
        })
        .start()
        .await;
    let app = chunked_client(&proxy.url(), 64 * 1024).with_segment("resume");
    let data = common::bytes(300 * 1024, 3);
    let digest = Digest::sha256_of(&data);
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Chunked);
    assert_eq!(patches.load(Ordering::SeqCst), 6);
    // One status request to learn the offset, and the failed range re-sent.
    assert_eq!(proxy.count("GET", "/v2/resume/blobs/uploads/*"), 1);
    let ranges: Vec<(String, u16)> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| {
            (
                r.headers["content-range"].to_str().unwrap().to_owned(),
                r.status,
            )
        })
        .collect();
    assert_eq!(ranges[2], ("131072-196607".to_owned(), 503));
    assert_eq!(ranges[3], ("131072-196607".to_owned(), 202));
    assert_eq!(read_back(&app, &digest).await, data);
}

#[tokio::test]
async fn payload_too_large_switches_to_chunks() {
    let registry = TestRegistry::anonymous().await;
    // A proxy capping bodies at 100 KiB, as nginx's client_max_body_size does.
    let proxy = registry
        .proxy_builder()
        .intercept(|req| {
            let len: u64 = req
                .headers
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            (len > 100 * 1024).then(|| response(413, "too large"))
        })
        .start()
        .await;
    let app = Client::builder(&proxy.url())
        .chunk_size(64 * 1024)
        .build()
        .unwrap()
        .with_segment("capped");
    let data = common::bytes(200 * 1024, 4);
    let digest = Digest::sha256_of(&data);
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Chunked);
    assert_eq!(read_back(&app, &digest).await, data);
    let statuses: Vec<(String, u16)> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" || r.method == "PATCH")
        .map(|r| (r.method.to_string(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("PUT".to_owned(), 413),
            ("PATCH".to_owned(), 202),
            ("PATCH".to_owned(), 202),
            ("PATCH".to_owned(), 202),
            ("PATCH".to_owned(), 202),
            ("PUT".to_owned(), 201)
        ]
    );
    // The client remembers: the next blob goes in chunks directly.
    proxy.clear_requests();
    let other = common::bytes(150 * 1024, 5);
    app.push_blob_bytes(other.clone()).await.unwrap();
    assert_eq!(proxy.count("PATCH", "/v2/*"), 3);
    assert_eq!(
        proxy.requests().iter().filter(|r| r.status == 413).count(),
        0
    );
}

#[tokio::test]
async fn session_api_status_and_cancel() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("session");
    let data = common::bytes(5000, 6);
    let digest = Digest::sha256_of(&data);
    let mut s = app.start_upload().await.unwrap();
    assert_eq!(s.offset(), 0);
    app.upload_chunk(&mut s, data.slice(..2000)).await.unwrap();
    assert_eq!(s.offset(), 2000);
    // A fresh view of the same session learns the offset from the registry.
    let mut resumed = oci_dist::UploadSession::from_location(&s.location()).unwrap();
    assert_eq!(app.upload_status(&mut resumed).await.unwrap(), 2000);
    let tail: oci_dist::content::ByteStream =
        Box::pin(futures_util::stream::iter([Ok(data.slice(2000..))]));
    app.upload_chunk_stream(&mut resumed, tail, 3000)
        .await
        .unwrap();
    assert_eq!(resumed.offset(), 5000);
    assert_eq!(app.complete_upload(resumed, &digest).await.unwrap(), digest);
    assert_eq!(read_back(&app, &digest).await, data);

    // Cancelled sessions are gone.
    let mut s = app.start_upload().await.unwrap();
    app.upload_chunk(&mut s, data.slice(..100)).await.unwrap();
    let mut again = s.clone();
    app.cancel_upload(s).await.unwrap();
    let err = app.upload_status(&mut again).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // A wrong digest is refused by the registry.
    let mut s = app.start_upload().await.unwrap();
    app.upload_chunk(&mut s, data.slice(..100)).await.unwrap();
    let err = app
        .complete_upload(s, &Digest::sha256_of(b"other"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[tokio::test]
async fn stream_of_unknown_size_is_hashed_on_the_way() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("stream");
    let data = common::bytes(1 << 20, 7);
    let chunks: Vec<Result<Bytes, registry_core::Error>> = data
        .chunks(100_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let digest = app
        .push_blob_stream(Box::pin(futures_util::stream::iter(chunks)), None)
        .await
        .unwrap();
    assert_eq!(digest, Digest::sha256_of(&data));
    assert_eq!(read_back(&app, &digest).await, data);
}

#[tokio::test]
async fn streams_of_declared_size_are_stored_and_a_longer_one_is_refused() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("stream-sized");
    let chunks = |data: &Bytes| -> oci_dist::content::ByteStream {
        let chunks: Vec<Result<Bytes, registry_core::Error>> = data
            .chunks(30_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Box::pin(futures_util::stream::iter(chunks))
    };
    let data = common::bytes(100_000, 9);
    let size = data.len() as u64;
    let digest = app
        .push_blob_stream(chunks(&data), Some(size))
        .await
        .unwrap();
    assert_eq!(digest, Digest::sha256_of(&data));
    assert_eq!(read_back(&app, &digest).await, data);
    // An empty stream of declared size 0 is the empty blob.
    let empty = app
        .push_blob_stream(chunks(&Bytes::new()), Some(0))
        .await
        .unwrap();
    assert_eq!(empty, Digest::sha256_of(b""));
    assert_eq!(app.blob_size(&empty).await.unwrap(), Some(0));
    // More bytes than declared: an error, nothing stored under their digest.
    let err = app
        .push_blob_stream(chunks(&data), Some(size - 1))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("longer than the declared"),
        "{err}"
    );
}

#[tokio::test]
async fn ranges() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("range");
    let data = common::bytes(10_000, 8);
    let digest = app.push_blob_bytes(data.clone()).await.unwrap();
    let part = app.get_blob_range(&digest, 100..200).await.unwrap();
    assert!(part.partial_response);
    assert_eq!(
        (part.offset, part.length, part.total),
        (100, Some(100), Some(10_000))
    );
    let got: Vec<Bytes> = part.stream.try_collect().await.unwrap();
    assert_eq!(got.concat(), data[100..200]);
    let tail = app.get_blob_range(&digest, 9_990..).await.unwrap();
    let got: Vec<Bytes> = tail.stream.try_collect().await.unwrap();
    assert_eq!(got.concat(), data[9_990..]);
    assert_eq!(app.blob_size(&digest).await.unwrap(), Some(10_000));
    assert_eq!(
        app.blob_size(&Digest::sha256_of(b"none")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn cross_repository_mount_sends_no_blob_data() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let root = common::client_via(&proxy);
    let src = root.with_segment("team/source");
    let img = common::small_image(3, 50_000, 9);
    src.push_image("v1", &img).await.unwrap();
    proxy.clear_requests();

    let dst = root.with_segment("team/dest");
    let report = copy(&src, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!((report.blobs, report.mounted, report.copied), (4, 4, 0));
    assert_eq!(proxy.count("POST", "/v2/team/dest/blobs/uploads/"), 4);
    assert!(
        proxy
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .all(
                |r| r.query().is_some_and(|q| q.contains("from=team%2Fsource")) && r.status == 201
            )
    );
    assert_eq!(proxy.count("PATCH", "/v2/*"), 0);
    assert_eq!(proxy.count("PUT", "/v2/*/blobs/*"), 0);
    assert_eq!(proxy.count("GET", "/v2/*/blobs/*"), 0);
    assert_eq!(dst.get_digest("v1").await.unwrap(), *img.digest());

    // The single-blob API: 201 on mount, an upload session when the source lacks it.
    let dst2 = root.with_segment("team/dest2");
    let layer = oci_dist::descriptor::digest_of(&img.manifest().blobs()[1].clone()).unwrap();
    assert_eq!(
        dst2.mount_blob(&layer, "team/source").await.unwrap(),
        Mount::Mounted
    );
    assert!(dst2.blob_exists(&layer).await.unwrap());
    match dst2
        .mount_blob(&Digest::sha256_of(b"absent"), "team/source")
        .await
        .unwrap()
    {
        Mount::Upload(session) => dst2.cancel_upload(session).await.unwrap(),
        Mount::Mounted => panic!("mounted a blob that does not exist"),
    }
}

#[tokio::test]
async fn a_size_other_than_the_descriptors_is_a_digest_mismatch() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("sized");
    let data = common::bytes(1_000, 9);
    let digest = app.push_blob_bytes(data).await.unwrap();
    let wrong = oci_dist::descriptor::new("application/octet-stream", &digest, 999);
    let err = app.fetch_blob(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(
        err.to_string()
            .contains("registry says 1000 bytes, the descriptor says 999"),
        "{err}"
    );
}

#[tokio::test]
async fn corrupt_blobs_are_digest_mismatches() {
    let registry = TestRegistry::anonymous().await;
    let app = common::client_for(&registry).with_segment("corrupt");
    let img = common::small_image(2, 100_000, 11);
    app.push_image("v1", &img).await.unwrap();
    let proxy = registry.proxy_builder().corrupt_blobs().start().await;
    let bad = common::client_via(&proxy).with_segment("corrupt");
    let layer = img.manifest().blobs()[1].clone();
    let digest = oci_dist::descriptor::digest_of(&layer).unwrap();
    let err = bad
        .get_blob(&digest)
        .await
        .unwrap()
        .bytes(1 << 20)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    // The config is checked too, so the image cannot even be opened.
    let err = bad.get_image("v1", &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    // A copy out of the corrupting registry fails with the source's error.
    let other = TestRegistry::anonymous().await;
    let dst = common::client_for(&other).with_segment("copy");
    let err = copy(&bad, "v1", &dst, "v1", &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(!dst.manifest_exists("v1").await.unwrap());
    // No corrupt blob was completed at the destination.
    for b in img.manifest().blobs() {
        let d = oci_dist::descriptor::digest_of(b).unwrap();
        assert!(!dst.blob_exists(&d).await.unwrap(), "{d}");
    }
}
