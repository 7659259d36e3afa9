//! Shared test fixtures: a fake ACR token service (`/oauth2/exchange` and
//! `/oauth2/token` as the ACR data-plane spec describes them) whose access
//! tokens the real `docker-registry` accepts, and raw OCI push/pull helpers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use registry_core::{Body, Digest, HttpClient};
use serde_json::json;
use test_support::http::{RecordedRequest, json_response};
use test_support::{FakeServer, Scope, TestRegistry, TokenServer};

/// The ACR `service` (and JWT `aud`) of the fake registry.
pub const SERVICE: &str = "fakeacr.azurecr.io";

/// The only AAD access token the fake exchange accepts.
pub fn aad_token() -> String {
    let exp = 4_102_444_800_u64; // 2100-01-01
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"aud": "https://containerregistry.azure.net", "exp": exp, "tid": "tenant-1"})
            .to_string(),
    );
    format!("eyJhbGciOiJub25lIn0.{payload}.aad-signature")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Decoded form parameters of a recorded request.
pub fn form(r: &RecordedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

struct State {
    signer: TokenServer,
    aad_token: String,
    refresh_lifetime: AtomicU64,
    anonymous: AtomicBool,
    refresh_tokens: Mutex<HashMap<String, String>>,
}

/// A fake ACR token service in front of which a real registry runs.
pub struct AcrTokenService {
    pub server: FakeServer,
    state: Arc<State>,
}

fn acr_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

impl AcrTokenService {
    /// Starts the service; `anonymous` says whether anonymous pull is allowed.
    pub async fn start(anonymous: bool) -> AcrTokenService {
        let signer = TokenServer::builder().service(SERVICE).start().await;
        let state = Arc::new(State {
            signer,
            aad_token: aad_token(),
            refresh_lifetime: AtomicU64::new(3 * 3600),
            anonymous: AtomicBool::new(anonymous),
            refresh_tokens: Mutex::new(HashMap::new()),
        });
        let st = state.clone();
        let server = FakeServer::start(move |req| {
            let st = st.clone();
            async move { handle(&st, req) }
        })
        .await;
        AcrTokenService { server, state }
    }

    /// The realm the registry announces: `{server}/oauth2/token`.
    pub fn realm(&self) -> String {
        format!("{}/oauth2/token", self.server.url())
    }

    /// A real registry trusting this service's tokens.
    pub async fn registry(&self) -> TestRegistry {
        TestRegistry::builder()
            .token_settings(self.realm(), SERVICE, self.state.signer.issuer())
            .start()
            .await
    }

    /// Lifetime of the refresh tokens minted from now on.
    pub fn set_refresh_lifetime(&self, d: Duration) {
        self.state
            .refresh_lifetime
            .store(d.as_secs(), Ordering::SeqCst);
    }

    /// Forgets every refresh token issued so far (as a revocation would).
    pub fn revoke_refresh_tokens(&self) {
        self.state.refresh_tokens.lock().unwrap().clear();
    }

    pub fn exchanges(&self) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path() == "/oauth2/exchange")
            .collect()
    }

    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path() == "/oauth2/token")
            .collect()
    }
}

fn handle(st: &State, req: Request<Bytes>) -> Response<Full<Bytes>> {
    if req.method() != http::Method::POST {
        return acr_error(405, "UNSUPPORTED", "POST only");
    }
    let is_form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/x-www-form-urlencoded");
    if !is_form {
        return acr_error(400, "BAD_REQUEST", "form body expected");
    }
    let f: HashMap<String, String> = url::form_urlencoded::parse(req.body())
        .into_owned()
        .collect();
    let get = |k: &str| f.get(k).map(String::as_str);
    if get("service") != Some(SERVICE) {
        return acr_error(400, "BAD_REQUEST", "unknown service");
    }
    match (req.uri().path(), get("grant_type")) {
        ("/oauth2/exchange", Some("access_token")) => {
            if get("access_token") != Some(st.aad_token.as_str()) {
                return acr_error(401, "UNAUTHORIZED", "the AAD access token is not valid");
            }
            let lifetime = Duration::from_secs(st.refresh_lifetime.load(Ordering::SeqCst));
            let refresh = st.signer.issue_token(Some("aad-user"), &[], lifetime);
            st.refresh_tokens
                .lock()
                .unwrap()
                .insert(refresh.clone(), "aad-user".to_owned());
            json_response(200, &json!({"refresh_token": refresh}))
        }
        ("/oauth2/token", Some("refresh_token")) => {
            let user = get("refresh_token")
                .and_then(|r| st.refresh_tokens.lock().unwrap().get(r).cloned());
            let Some(user) = user else {
                return acr_error(401, "UNAUTHORIZED", "the refresh token is not valid");
            };
            let access = scopes(get("scope"), |_| true);
            let token = st
                .signer
                .issue_token(Some(&user), &access, Duration::from_secs(300));
            json_response(200, &json!({"access_token": token}))
        }
        ("/oauth2/token", Some("password")) => {
            if get("refresh_token") != Some("") {
                return acr_error(400, "BAD_REQUEST", "anonymous needs an empty refresh_token");
            }
            if !st.anonymous.load(Ordering::SeqCst) {
                return acr_error(401, "UNAUTHORIZED", "anonymous access is disabled");
            }
            let access = scopes(get("scope"), |a| a == "pull");
            let token = st
                .signer
                .issue_token(None, &access, Duration::from_secs(300));
            json_response(200, &json!({"access_token": token}))
        }
        _ => acr_error(400, "BAD_REQUEST", "unsupported grant"),
    }
}

/// The scopes asked (space separated), with the actions `allow` keeps.
fn scopes(param: Option<&str>, allow: impl Fn(&str) -> bool) -> Vec<Scope> {
    param
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(Scope::parse)
        .map(|s| Scope {
            actions: s.actions.into_iter().filter(|a| allow(a)).collect(),
            ..s
        })
        .collect()
}

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
