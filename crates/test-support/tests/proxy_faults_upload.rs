//! Proxy fault injection on request bodies against a real docker-registry:
//! `Fault::CutRequestAfter` on blob uploads.

mod common;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use common::digest;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use test_support::client::get;
use test_support::{Fault, FaultRule, Proxy, TestRegistry};
use tokio::time::timeout;

/// Bound on anything that should finish, so a broken proxy fails the test
/// instead of hanging it.
const BOUND: Duration = Duration::from_secs(30);

/// Deterministic incompressible bytes.
fn blob_data(len: usize, seed: u64) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(len, seed))
}

type UploadClient = Client<HttpConnector, Full<Bytes>>;

/// Starts an upload of `repo` through `proxy` (POST); returns the `PUT` URL
/// finishing it with `digest`.
async fn start_upload(client: &UploadClient, proxy: &Proxy, repo: &str, digest: &str) -> String {
    let req = Request::post(format!("{}/v2/{repo}/blobs/uploads/", proxy.url()))
        .body(Full::default())
        .unwrap();
    let resp = timeout(BOUND, client.request(req))
        .await
        .expect("no answer to POST")
        .expect("POST failed");
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap();
    let location = if location.starts_with('/') {
        format!("{}{location}", proxy.url())
    } else {
        location.to_owned()
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

async fn put_blob(
    client: &UploadClient,
    url: &str,
    data: Bytes,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    let req = Request::put(url)
        .header("content-type", "application/octet-stream")
        .body(Full::new(data))
        .unwrap();
    timeout(BOUND, client.request(req))
        .await
        .expect("PUT neither answered nor failed")
}

/// Whether `error` is a transport failure: a reset or broken connection, or
/// one closed before the message completed.
fn is_transport_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>()
            && hyper.is_incomplete_message()
        {
            return true;
        }
        source = e.source();
    }
    false
}

#[tokio::test]
async fn cut_request_after_aborts_an_upload_mid_body() {
    const LEN: usize = 4 << 20;
    const CUT: u64 = 1 << 20;
    let registry = TestRegistry::anonymous().await;
    let rule = FaultRule::new("PUT", "/v2/*/blobs/uploads/*", Fault::CutRequestAfter(CUT)).times(1);
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client: UploadClient = Client::builder(TokioExecutor::new()).build_http();
    let data = blob_data(LEN, 9);
    let blob = digest(&data);

    // The first PUT is cut after 1 MiB: the client gets an error, no response.
    let url = start_upload(&client, &proxy, "x", &blob).await;
    let error = put_blob(&client, &url, data.clone())
        .await
        .expect_err("the cut PUT got a response");
    assert!(is_transport_error(&error), "{error:?}");
    assert_eq!(proxy.fault_counts(), vec![1]);

    // The registry did not get the blob.
    let head = common::request(
        "HEAD",
        &format!("{}/v2/x/blobs/{blob}", registry.url()),
        None,
        "",
    )
    .await;
    assert_eq!(head.status(), 404);

    // Logged without a response, with the bytes forwarded before the cut.
    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PUT)
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].status, 0);
    assert_eq!(puts[0].body_bytes_sent(), 0);
    assert_eq!(puts[0].request_body_bytes(), CUT);

    // times(1): a second upload session goes through whole.
    let url = start_upload(&client, &proxy, "x", &blob).await;
    let resp = put_blob(&client, &url, data).await.expect("second PUT");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["docker-content-digest"], blob.as_str());
    let head = get(&format!("{}/v2/x/blobs/{blob}", registry.url()), None).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.body().len(), LEN);

    let logged = proxy.requests();
    let last = logged.last().unwrap();
    assert_eq!((last.method.clone(), last.status), (Method::PUT, 201));
    assert_eq!(last.request_body_bytes(), LEN as u64);
    assert_eq!(proxy.fault_counts(), vec![1]);
}

#[tokio::test]
async fn cut_request_after_lets_short_bodies_through_and_cuts_a_patch() {
    let registry = TestRegistry::anonymous().await;
    let rule = FaultRule::new("*", "/v2/*/blobs/uploads/*", Fault::CutRequestAfter(5000));
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client: UploadClient = Client::builder(TokioExecutor::new()).build_http();
    for len in [0, 4999, 5000] {
        let data = blob_data(len, 3);
        let blob = digest(&data);
        let url = start_upload(&client, &proxy, "short", &blob).await;
        let resp = put_blob(&client, &url, data).await.expect("short PUT");
        assert_eq!(resp.status(), 201, "{len} bytes");
        assert_eq!(
            proxy.requests().last().unwrap().request_body_bytes(),
            len as u64
        );
    }
    // A chunked body (no Content-Length) is streamed; short, it passes too.
    let data = blob_data(3000, 4);
    let blob = digest(&data);
    let url = start_upload(&client, &proxy, "short", &blob).await;
    let (tx, body) = http_body_util::channel::Channel::<Bytes, io::Error>::new(4);
    let chunked_client: Client<HttpConnector, _> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = Request::put(url).body(body).unwrap();
    let pending = tokio::spawn(chunked_client.request(req));
    let mut tx = tx;
    tx.send_data(data.slice(..1000)).await.unwrap();
    tx.send_data(data.slice(1000..)).await.unwrap();
    drop(tx);
    let resp = timeout(BOUND, pending).await.unwrap().unwrap().unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(proxy.fault_counts(), vec![0]);

    // A longer PATCH is cut like a PUT.
    let url = start_upload(&client, &proxy, "short", "sha256:0").await;
    let url = url.split("digest=").next().unwrap();
    let req = Request::patch(url.trim_end_matches(['&', '?']))
        .header("content-type", "application/octet-stream")
        .body(Full::new(blob_data(300_000, 5)))
        .unwrap();
    let error = timeout(BOUND, client.request(req))
        .await
        .expect("PATCH neither answered nor failed")
        .expect_err("the cut PATCH got a response");
    assert!(is_transport_error(&error), "{error:?}");
    let patch = proxy.requests().pop().unwrap();
    assert_eq!((&patch.method, patch.status), (&Method::PATCH, 0));
    assert_eq!(patch.request_body_bytes(), 5000);
    assert_eq!(proxy.fault_counts(), vec![1]);
}
