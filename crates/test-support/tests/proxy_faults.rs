//! Proxy fault injection against a real docker-registry: cuts, resets, stalls,
//! trickles, ignored ranges, lying digests, byte accounting, hostile names.
//! Cut uploads are in `proxy_faults_upload.rs`.

mod common;

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{digest, json, push_blob, push_image};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Empty};
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
/// How long the stall tests wait to see that nothing arrives.
const QUIET: Duration = Duration::from_millis(300);

const BLOB_LEN: usize = 300 * 1024 + 7;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Deterministic incompressible bytes.
fn blob_data(len: usize, seed: u64) -> Bytes {
    Bytes::from(test_support::layers::pseudo_random(len, seed))
}

/// A registry holding one blob of `len` bytes in repository `app`.
async fn registry_with_blob(len: usize) -> (TestRegistry, String, Bytes) {
    let registry = TestRegistry::anonymous().await;
    let data = blob_data(len, 42);
    let digest = push_blob(&registry.url(), "app", data.clone(), None).await;
    (registry, digest, data)
}

fn blob_url(proxy: &Proxy, digest: &str) -> String {
    format!("{}/v2/app/blobs/{digest}", proxy.url())
}

fn request(method: Method, url: &str, range: Option<&str>) -> Request<Empty<Bytes>> {
    let mut req = Request::builder().method(method).uri(url);
    if let Some(range) = range {
        req = req.header("range", range);
    }
    req.body(Empty::new()).unwrap()
}

/// What a client got: the head, the body bytes and frame sizes until the end
/// or an error, and that error.
struct Fetched {
    head: http::response::Parts,
    body: Vec<u8>,
    frames: Vec<usize>,
    error: Option<hyper::Error>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The kind of the I/O error under the body error.
    fn error_kind(&self) -> Option<io::ErrorKind> {
        let mut source: Option<&(dyn std::error::Error + 'static)> =
            Some(self.error.as_ref()? as _);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                return Some(io.kind());
            }
            source = e.source();
        }
        None
    }
}

async fn read_body(head: http::response::Parts, mut body: Incoming) -> Fetched {
    let mut fetched = Fetched {
        head,
        body: Vec::new(),
        frames: Vec::new(),
        error: None,
    };
    loop {
        match timeout(BOUND, body.frame()).await.expect("body stalled") {
            None => break,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    fetched.frames.push(data.len());
                    fetched.body.extend_from_slice(data);
                }
            }
            Some(Err(e)) => {
                fetched.error = Some(e);
                break;
            }
        }
    }
    fetched
}

async fn send(client: &HttpClient, req: Request<Empty<Bytes>>) -> Response<Incoming> {
    timeout(BOUND, client.request(req))
        .await
        .expect("no response head")
        .expect("request failed")
}

async fn fetch(client: &HttpClient, method: Method, url: &str, range: Option<&str>) -> Fetched {
    let (head, body) = send(client, request(method, url, range)).await.into_parts();
    read_body(head, body).await
}

#[tokio::test]
async fn cut_after_sends_the_head_and_exactly_n_bytes_then_eof() {
    let (registry, digest, data) = registry_with_blob(BLOB_LEN).await;
    let rule = FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAfter(100_000));
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let got = fetch(&client(), Method::GET, &blob_url(&proxy, &digest), None).await;

    assert_eq!(got.head.status, 200);
    assert_eq!(got.header("content-length"), Some(&*BLOB_LEN.to_string()));
    assert_eq!(got.header("docker-content-digest"), Some(&*digest));
    assert_eq!(got.body.len(), 100_000);
    assert_eq!(&got.body[..], &data[..100_000]);
    assert!(got.error.is_some(), "the body must end in an error");
    assert_eq!(got.error_kind(), Some(io::ErrorKind::UnexpectedEof));

    assert_eq!(proxy.faults_applied(), 1);
    assert_eq!(proxy.fault_counts(), vec![1]);
    let logged = proxy.requests();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, 200);
    assert_eq!(logged[0].range(), None);
    assert_eq!(logged[0].body_bytes_sent(), 100_000);
    assert_eq!(proxy.body_bytes_sent("GET", "/v2/*/blobs/*"), 100_000);
}

#[tokio::test]
async fn cut_at_half_and_per_path_and_overall_limits() {
    let registry = TestRegistry::anonymous().await;
    let a = blob_data(BLOB_LEN, 1);
    let b = blob_data(1001, 2);
    let c = blob_data(5000, 3);
    let da = push_blob(&registry.url(), "app", a.clone(), None).await;
    let db = push_blob(&registry.url(), "app", b.clone(), None).await;
    let dc = push_blob(&registry.url(), "other", c.clone(), None).await;
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new("GET", "/v2/app/blobs/*", Fault::CutAtHalf).times_per_path(1))
        .fault(FaultRule::new("GET", "/v2/other/blobs/*", Fault::CutAfter(10)).times(1))
        .start()
        .await;
    let client = client();

    // Each app blob is cut once, half-way, then served whole.
    for (blob, data) in [(&da, &a), (&db, &b)] {
        let url = blob_url(&proxy, blob);
        let cut = fetch(&client, Method::GET, &url, None).await;
        assert_eq!(cut.head.status, 200);
        assert_eq!(cut.body.len(), data.len() / 2);
        assert_eq!(&cut.body[..], &data[..data.len() / 2]);
        assert_eq!(cut.error_kind(), Some(io::ErrorKind::UnexpectedEof));
        let whole = fetch(&client, Method::GET, &url, None).await;
        assert!(whole.error.is_none(), "second GET: {:?}", whole.error);
        assert_eq!(&digest(&whole.body), blob);
    }
    // times(1): only the first request of the rule overall.
    let url = format!("{}/v2/other/blobs/{dc}", proxy.url());
    assert_eq!(fetch(&client, Method::GET, &url, None).await.body.len(), 10);
    let whole = fetch(&client, Method::GET, &url, None).await;
    assert_eq!(whole.body, c);

    assert_eq!(proxy.fault_counts(), vec![2, 1]);
    assert_eq!(proxy.faults_applied(), 3);
    let expected = (a.len() / 2 + a.len() + b.len() / 2 + b.len()) as u64;
    assert_eq!(proxy.body_bytes_sent("GET", "/v2/app/blobs/*"), expected);
    assert_eq!(
        proxy.body_bytes_sent("*", "*"),
        expected + 10 + c.len() as u64
    );
}

#[tokio::test]
async fn only_unranged_lets_a_resumption_through_and_bytes_are_counted() {
    let (registry, digest, data) = registry_with_blob(BLOB_LEN).await;
    let n = 123_456;
    let rule = FaultRule::new("GET", "/v2/*/blobs/*", Fault::CutAfter(n as u64)).only_unranged();
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client = client();
    let url = blob_url(&proxy, &digest);

    let cut = fetch(&client, Method::GET, &url, None).await;
    assert_eq!(cut.body.len(), n);
    assert!(cut.error.is_some());
    let range = format!("bytes={n}-");
    let rest = fetch(&client, Method::GET, &url, Some(&range)).await;
    assert_eq!(rest.head.status, 206);
    assert!(rest.error.is_none(), "{:?}", rest.error);
    assert_eq!(rest.body.len(), BLOB_LEN - n);
    let mut whole = cut.body.clone();
    whole.extend_from_slice(&rest.body);
    assert_eq!(whole, data);
    // A HEAD sends no body bytes.
    let head = fetch(&client, Method::HEAD, &url, None).await;
    assert_eq!(head.head.status, 200);

    // The resumed pull downloaded each byte once.
    assert_eq!(
        proxy.body_bytes_sent("GET", "/v2/app/blobs/*"),
        BLOB_LEN as u64
    );
    assert_eq!(proxy.body_bytes_sent("HEAD", "*"), 0);
    let logged = proxy.requests();
    let statuses: Vec<u16> = logged.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 206, 200]);
    assert_eq!(logged[1].range(), Some(&*range));
    assert_eq!(proxy.fault_counts(), vec![1]);
}

#[tokio::test]
async fn reset_after_sends_n_bytes_then_a_tcp_reset() {
    let (registry, digest, data) = registry_with_blob(BLOB_LEN).await;
    let rule = FaultRule::new("GET", "/v2/*/blobs/*", Fault::ResetAfter(250_000));
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client = client();
    let got = fetch(&client, Method::GET, &blob_url(&proxy, &digest), None).await;

    assert_eq!(got.head.status, 200);
    assert_eq!(got.header("content-length"), Some(&*BLOB_LEN.to_string()));
    assert_eq!(got.body.len(), 250_000);
    assert_eq!(&got.body[..], &data[..250_000]);
    assert_eq!(
        got.error_kind(),
        Some(io::ErrorKind::ConnectionReset),
        "{:?}",
        got.error
    );
    assert_eq!(proxy.body_bytes_sent("GET", "*"), 250_000);
    assert_eq!(proxy.requests()[0].status, 200);

    // The proxy still serves (on a new connection).
    let again = fetch(&client, Method::GET, &blob_url(&proxy, &digest), None).await;
    assert_eq!(again.body.len(), 250_000);
    assert_eq!(proxy.faults_applied(), 2);
}

#[tokio::test]
async fn ignore_range_turns_a_ranged_get_into_a_whole_200() {
    let (registry, digest, data) = registry_with_blob(BLOB_LEN).await;
    let rule = FaultRule::new("GET", "/v2/*/blobs/*", Fault::IgnoreRange);
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client = client();
    let got = fetch(
        &client,
        Method::GET,
        &blob_url(&proxy, &digest),
        Some("bytes=1000-"),
    )
    .await;

    assert_eq!(got.head.status, 200);
    assert!(got.error.is_none());
    assert_eq!(got.body, data);
    assert_eq!(proxy.requests()[0].range(), Some("bytes=1000-"));
    assert_eq!(proxy.requests()[0].status, 200);
    assert_eq!(proxy.faults_applied(), 1);

    // Without the rule the registry honours the range.
    let plain = registry.start_proxy().await;
    let got = fetch(
        &client,
        Method::GET,
        &blob_url(&plain, &digest),
        Some("bytes=1000-"),
    )
    .await;
    assert_eq!(got.head.status, 206);
    assert_eq!(&got.body[..], &data[1000..]);
}

#[tokio::test]
async fn stall_after_headers_sends_a_head_and_no_body_until_dropped() {
    let (registry, digest, data) = registry_with_blob(BLOB_LEN).await;
    let other = push_blob(&registry.url(), "app", blob_data(4096, 7), None).await;
    let stalled_path = format!("/v2/app/blobs/{digest}");
    let rule = FaultRule::new("GET", &stalled_path, Fault::StallAfterHeaders);
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client = client();

    let resp = send(
        &client,
        request(Method::GET, &blob_url(&proxy, &digest), None),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"],
        data.len().to_string().as_str()
    );
    let mut body = resp.into_body();
    assert!(
        timeout(QUIET, body.frame()).await.is_err(),
        "a body frame arrived"
    );

    // Other requests are served meanwhile, on other connections.
    let fine = fetch(&client, Method::GET, &blob_url(&proxy, &other), None).await;
    assert!(fine.error.is_none());
    assert_eq!(fine.body.len(), 4096);
    assert!(timeout(QUIET, body.frame()).await.is_err());

    assert_eq!(proxy.body_bytes_sent("GET", &stalled_path), 0);
    assert_eq!(proxy.requests()[0].status, 200);
    assert_eq!(proxy.faults_applied(), 1);

    // Dropping the proxy ends the stall.
    drop(proxy);
    let end = timeout(BOUND, body.frame())
        .await
        .expect("stall outlived the proxy");
    assert!(matches!(end, Some(Err(_))), "{end:?}");
}

#[tokio::test]
async fn stall_before_headers_never_answers_until_dropped() {
    let (registry, digest, _data) = registry_with_blob(1000).await;
    let other = push_blob(&registry.url(), "app", blob_data(4096, 7), None).await;
    let stalled_path = format!("/v2/app/blobs/{digest}");
    let rule = FaultRule::new("*", &stalled_path, Fault::StallBeforeHeaders);
    let proxy = registry.proxy_builder().fault(rule).start().await;
    let client = client();

    // A client with a timeout gives up without a head.
    let req = request(Method::HEAD, &blob_url(&proxy, &digest), None);
    assert!(timeout(QUIET, client.request(req)).await.is_err());

    // One without keeps waiting while other requests are served.
    let req = request(Method::GET, &blob_url(&proxy, &digest), None);
    let mut pending = tokio::spawn(client.request(req));
    let fine = fetch(&client, Method::GET, &blob_url(&proxy, &other), None).await;
    assert!(fine.error.is_none());
    assert_eq!(fine.body.len(), 4096);
    assert!(
        timeout(QUIET, &mut pending).await.is_err(),
        "a head arrived"
    );

    // Dropping the proxy ends it.
    drop(proxy);
    let outcome = timeout(BOUND, pending)
        .await
        .expect("stall outlived the proxy")
        .unwrap();
    assert!(outcome.is_err(), "got a response: {outcome:?}");
}

#[tokio::test]
async fn trickle_sends_pieces_of_the_configured_size() {
    let len = 10 * 1024 + 100;
    let (registry, digest, data) = registry_with_blob(len).await;
    let every = Duration::from_millis(20);
    let rule = FaultRule::new(
        "GET",
        "/v2/*/blobs/*",
        Fault::Trickle { bytes: 1024, every },
    );
    let proxy = registry.proxy_builder().fault(rule).start().await;

    let started = Instant::now();
    let got = fetch(&client(), Method::GET, &blob_url(&proxy, &digest), None).await;
    let elapsed = started.elapsed();

    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.body, data);
    assert_eq!(got.header("content-length"), Some(&*len.to_string()));
    // 11 pieces, the first at once: at least 10 intervals.
    assert!(elapsed >= every * 10, "{elapsed:?}");
    // The client may read two pieces at once if it falls behind, but frames
    // never split a piece, and most arrive alone.
    let (last, rest) = got.frames.split_last().unwrap();
    assert_eq!(*last % 1024, 100, "frames: {:?}", got.frames);
    assert!(
        rest.iter().all(|f| *f > 0 && f % 1024 == 0),
        "frames: {:?}",
        got.frames
    );
    assert!(
        got.frames.iter().filter(|f| **f <= 1024).count() >= 6,
        "frames: {:?}",
        got.frames
    );
    assert_eq!(proxy.body_bytes_sent("GET", "*"), len as u64);
}

#[tokio::test]
async fn lie_digest_replaces_the_header_on_the_statuses_asked_for() {
    let (registry, digest, data) = registry_with_blob(5000).await;
    let lie = format!("sha256:{}", "0".repeat(64));
    let missing = format!("sha256:{}", "1".repeat(64));
    let proxy = registry
        .proxy_builder()
        .fault(FaultRule::new(
            "*",
            "/v2/*/blobs/*",
            Fault::LieDigest(lie.clone()),
        ))
        .fault(
            FaultRule::new("GET", "/v2/*/blobs/*", Fault::LieDigest("wrong".into()))
                .statuses([404]),
        )
        .start()
        .await;
    let client = client();
    let url = blob_url(&proxy, &digest);

    let got = fetch(&client, Method::GET, &url, None).await;
    assert_eq!(got.header("docker-content-digest"), Some(&*lie));
    assert_eq!(got.body, data);
    let head = fetch(&client, Method::HEAD, &url, None).await;
    assert_eq!(head.header("docker-content-digest"), Some(&*lie));
    let gone = fetch(&client, Method::GET, &blob_url(&proxy, &missing), None).await;
    assert_eq!(gone.head.status, 404);
    assert_eq!(gone.header("docker-content-digest"), Some("wrong"));
    assert_eq!(proxy.fault_counts(), vec![2, 1]);

    // The registry itself tells the truth.
    let truth = get(&format!("{}/v2/app/blobs/{digest}", registry.url()), None).await;
    assert_eq!(truth.headers()["docker-content-digest"], digest.as_str());
}

#[tokio::test]
async fn add_tags_and_repositories_inject_hostile_names() {
    let registry = TestRegistry::anonymous().await;
    push_image(&registry.url(), "app", "v1", None).await;
    push_image(&registry.url(), "other", "v1", None).await;
    let hostile = vec!["\x1b[31mred".to_owned(), "a\rb".to_owned()];
    let proxy = registry
        .proxy_builder()
        .add_tags("app", hostile.clone())
        .add_repositories(vec!["evil\x1b]0;title\x07".to_owned()])
        .paginate_tags()
        .start()
        .await;

    let tags = json(&get(&format!("{}/v2/app/tags/list", proxy.url()), None).await);
    assert_eq!(
        tags["tags"],
        serde_json::json!(["\x1b[31mred", "a\rb", "v1"])
    );
    let other = json(&get(&format!("{}/v2/other/tags/list", proxy.url()), None).await);
    assert_eq!(other["tags"], serde_json::json!(["v1"]));
    // The injected names are paged with the real ones.
    let page = get(&format!("{}/v2/app/tags/list?n=2", proxy.url()), None).await;
    assert_eq!(json(&page)["tags"], serde_json::json!(hostile));
    assert!(page.headers().contains_key("link"));

    let catalog = json(&get(&format!("{}/v2/_catalog", proxy.url()), None).await);
    assert_eq!(
        catalog["repositories"],
        serde_json::json!(["app", "other", "evil\x1b]0;title\x07"])
    );
    // Not on a page that has a next one.
    let first = get(&format!("{}/v2/_catalog?n=1", proxy.url()), None).await;
    assert!(first.headers().contains_key("link"));
    assert_eq!(json(&first)["repositories"], serde_json::json!(["app"]));
}
