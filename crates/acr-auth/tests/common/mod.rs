//! Shared test fixtures: raw OCI push/pull helpers. (The fake ACR token
//! service is `test_support::fake_acr::AcrTokenService`.)

#![allow(dead_code)]

use bytes::Bytes;
use http::Request;
use registry_core::{Body, Digest, HttpClient};
use serde_json::json;

// ----- raw OCI helpers -----

pub async fn send(client: &HttpClient, req: Request<Body>) -> (u16, Bytes) {
    let resp = client.send(req).await.expect("request failed");
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body().collect_bytes(1 << 20).await.unwrap(),
    )
}

/// Monolithic blob upload; `streamed` sends the PUT body as a stream (not
/// replayable).
pub async fn push_blob(
    client: &HttpClient,
    base: &str,
    repo: &str,
    data: &'static [u8],
    streamed: bool,
) -> Digest {
    let digest = Digest::sha256_of(data);
    let resp = client
        .send(
            Request::post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "start upload");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    put_blob(client, base, &location, data, streamed).await;
    digest
}

/// Completes an upload session at `location` with `data`.
pub async fn put_blob(
    client: &HttpClient,
    base: &str,
    location: &str,
    data: &'static [u8],
    streamed: bool,
) {
    let digest = Digest::sha256_of(data);
    let url = url::Url::parse(&format!("{base}/v2/"))
        .unwrap()
        .join(location)
        .unwrap();
    let sep = if url.query().is_some() { '&' } else { '?' };
    let body = if streamed {
        Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
            Bytes::from_static(data),
        )]))
    } else {
        Body::full(Bytes::from_static(data))
    };
    let resp = client
        .send(
            Request::put(format!("{url}{sep}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .header("content-length", data.len())
                .body(body)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "complete upload");
}

pub const CONFIG: &[u8] =
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
pub const LAYER: &[u8] = b"pretend this is a gzipped tarball";
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// An OCI image manifest for [`CONFIG`] and [`LAYER`].
pub fn manifest() -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(CONFIG).to_string(), "size": CONFIG.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": Digest::sha256_of(LAYER).to_string(), "size": LAYER.len()}]
    })
    .to_string()
    .into_bytes()
}

/// Pushes [`CONFIG`], [`LAYER`] and [`manifest`] as `repo:tag`.
pub async fn push_image(client: &HttpClient, base: &str, repo: &str, tag: &str) -> Digest {
    push_blob(client, base, repo, CONFIG, false).await;
    push_blob(client, base, repo, LAYER, false).await;
    let m = manifest();
    let (status, _) = send(
        client,
        Request::put(format!("{base}/v2/{repo}/manifests/{tag}"))
            .header("content-type", MANIFEST_TYPE)
            .body(Body::full(m.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "put manifest");
    Digest::sha256_of(&m)
}

/// `GET {base}/v2/{repo}/manifests/{reference}`.
pub async fn get_manifest(
    client: &HttpClient,
    base: &str,
    repo: &str,
    reference: &str,
) -> (u16, Bytes) {
    send(
        client,
        Request::get(format!("{base}/v2/{repo}/manifests/{reference}"))
            .header("accept", MANIFEST_TYPE)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// `GET {base}/v2/{repo}/blobs/{digest}`.
pub async fn get_blob(
    client: &HttpClient,
    base: &str,
    repo: &str,
    digest: &Digest,
) -> (u16, Bytes) {
    send(
        client,
        Request::get(format!("{base}/v2/{repo}/blobs/{digest}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}
