//! Pushes over a bad network: request bodies cut mid-way by the test proxy
//! in front of a real docker-registry. A monolithic blob `PUT` starts again
//! on a new session, a chunk resumes from the registry's offset, a manifest
//! `PUT` is sent again as the same bytes.

mod common;

use oci_dist::upload::PushMethod;
use oci_dist::{Client, ErrorKind};
use registry_core::Digest;
use test_support::{Fault, FaultRule, TestRegistry};

fn client(url: &str) -> Client {
    test_support::init_tracing();
    Client::new(url).unwrap()
}

#[tokio::test]
async fn a_monolithic_put_cut_mid_body_is_restarted_on_a_new_session() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .fault(
            FaultRule::new(
                "PUT",
                "/v2/*/blobs/uploads/*",
                Fault::CutRequestAfter(1 << 20),
            )
            .times(1),
        )
        .start()
        .await;
    let app = client(&proxy.url()).with_segment("up");
    let data = common::bytes(4 << 20, 11);
    let digest = Digest::sha256_of(&data);
    let how = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap();
    assert_eq!(how, PushMethod::Monolithic);
    assert_eq!(proxy.fault_counts(), [1]);
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].status, 0, "the first PUT was cut");
    assert_eq!(puts[0].request_body_bytes(), 1 << 20);
    assert_eq!(puts[1].status, 201);
    // A new session for the second try: two POSTs, on different paths.
    assert_eq!(proxy.count("POST", "/v2/up/blobs/uploads/"), 2);
    assert_ne!(puts[0].path(), puts[1].path());
    let back = app
        .get_blob(&digest)
        .await
        .unwrap()
        .bytes(8 << 20)
        .await
        .unwrap();
    assert_eq!(back, data);
}

#[tokio::test]
async fn an_upload_cut_every_time_fails_after_the_bound_with_the_cause() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "PUT",
            "/v2/*/blobs/uploads/*",
            Fault::CutRequestAfter(64 << 10),
        ))
        .start()
        .await;
    let app = client(&proxy.url()).with_segment("up");
    let data = common::bytes(1 << 20, 12);
    let digest = Digest::sha256_of(&data);
    let err = app
        .push_blob(&data, &digest, data.len() as u64)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("restarted 3 times"), "{err}");
    assert_eq!(proxy.count("PUT", "/v2/up/blobs/uploads/*"), 4);
    assert!(
        !client(&registry.url())
            .with_segment("up")
            .blob_exists(&digest)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_one_shot_stream_cut_mid_upload_says_why_it_cannot_restart() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "PUT",
            "/v2/*/blobs/uploads/*",
            Fault::CutRequestAfter(64 << 10),
        ))
        .start()
        .await;
    let app = client(&proxy.url()).with_segment("up");
    let data = common::bytes(1 << 20, 13);
    let digest = Digest::sha256_of(&data);
    let once =
        oci_dist::content::OnceSource::new(Box::pin(futures_util::stream::iter([
            Ok(data.clone()),
        ])));
    let err = app
        .upload_blob(&once, &digest, data.len() as u64)
        .await
        .unwrap_err();
    // The cause (the cut) is reported, and why there was no second try.
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("cannot be restarted"), "{err}");
    assert_eq!(proxy.count("PUT", "/v2/up/blobs/uploads/*"), 1);
}

#[tokio::test]
async fn a_manifest_put_cut_mid_body_is_sent_again_as_the_same_bytes() {
    let registry = TestRegistry::anonymous().await;
    // Manifests are small: cut after a few bytes.
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("PUT", "/v2/*/manifests/*", Fault::CutRequestAfter(10)).times(1))
        .start()
        .await;
    let app = client(&proxy.url()).with_segment("up");
    let img = common::small_image(1, 1000, 14);
    app.push_image("v1", &img).await.unwrap();
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path().contains("/manifests/"))
        .collect();
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(puts[0].status, 0);
    assert_eq!(puts[1].status, 201);
    assert_eq!(
        puts[1].request_body_bytes(),
        img.manifest().bytes().len() as u64
    );
    assert_eq!(
        client(&registry.url())
            .with_segment("up")
            .get_digest("v1")
            .await
            .unwrap(),
        *img.digest()
    );
}
