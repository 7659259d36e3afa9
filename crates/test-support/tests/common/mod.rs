//! Helpers shared by the test-support integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use test_support::client;

/// `sha256:<hex>` of `data`.
pub fn digest(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Sends a request with optional `Authorization`.
pub async fn request(
    method: &str,
    url: &str,
    auth: Option<&str>,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut req = Request::builder().method(method).uri(url);
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    client::send(req.body(Full::new(body.into())).unwrap()).await
}

/// Pushes `data` as a blob (POST to start, then a monolithic PUT: distribution
/// 2.8 does not finish an upload on `POST ?digest=`); asserts 201, returns the digest.
pub async fn push_blob(
    base: &str,
    repo: &str,
    data: impl Into<Bytes>,
    auth: Option<&str>,
) -> String {
    let data = data.into();
    let digest = digest(&data);
    let resp = request(
        "POST",
        &format!("{base}/v2/{repo}/blobs/uploads/"),
        auth,
        "",
    )
    .await;
    assert_eq!(resp.status(), 202, "start upload: {:?}", resp.body());
    let location = header(&resp, "location").expect("upload location");
    let location = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let mut req = Request::put(format!("{location}{sep}digest={digest}"))
        .header("content-type", "application/octet-stream");
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = client::send(req.body(Full::new(data)).unwrap()).await;
    assert_eq!(resp.status(), 201, "push blob: {:?}", resp.body());
    digest
}

/// Pushes a minimal OCI image (config + one layer) tagged `tag`; returns the manifest digest.
pub async fn push_image(base: &str, repo: &str, tag: &str, auth: Option<&str>) -> String {
    let layer = format!("layer of {repo}:{tag}").into_bytes();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let layer_len = layer.len();
    let config_len = config.len();
    let layer_digest = push_blob(base, repo, layer, auth).await;
    let config_digest = push_blob(base, repo, config, auth).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_len},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_len}],
    })
    .to_string();
    let digest = digest(manifest.as_bytes());
    let mut req = Request::put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json");
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = client::send(req.body(Full::new(Bytes::from(manifest))).unwrap()).await;
    assert_eq!(resp.status(), 201, "push manifest: {:?}", resp.body());
    digest
}

/// Parses a JSON body.
pub fn json(resp: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", resp.body()))
}

/// A header as a string.
pub fn header<'a>(resp: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}
