//! A fake ACR metadata API (`/acr/v1`, 2021-07-01) answering with the JSON
//! shapes of the data-plane spec: repository, tag and manifest attributes,
//! `Link` pagination as ACR writes it, `{"errors":[…]}` bodies; and a
//! variant that wants Bearer tokens with the metadata scopes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use acr_auth::AcrClient;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use registry_core::HttpClient;
use serde_json::{Value, json};
use test_support::FakeServer;
use test_support::http::{json_response, response};

pub const DIGEST_A: &str =
    "sha256:110d2b6c84592561338aa040b1b14b7ab81c2f9edbd564c2285dd7d70d777086";
pub const DIGEST_B: &str =
    "sha256:7af5cd1dde3e8f5c2c9103860afa4ca871a6075373b6564b0e7b1b47866dab52";
pub const DIGEST_C: &str =
    "sha256:0873c923e00e0fd2ba78041bfb64a105e1ecb7678916d1f7776311e45bf5634b";

pub const REPOS: [&str; 7] = [
    "alpha",
    "beta",
    "delta/one",
    "delta/two",
    "epsilon",
    "gamma",
    "zeta",
];

fn writeable() -> Value {
    json!({"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true})
}

struct Store {
    repo_props: Value,
    tags: Vec<Value>,
    manifests: Vec<Value>,
}

fn store() -> Store {
    let tags = (1..=7)
        .map(|i| {
            json!({
                "name": format!("v{i}"),
                "digest": if i % 2 == 0 { DIGEST_B } else { DIGEST_A },
                "createdTime": format!("2018-09-0{i}T06:17:21.0856539Z"),
                // Updated in the order 3, 1, 4, 7, 2, 5, 6 (not the name order).
                "lastUpdateTime": format!("2018-09-1{}T16:30:46.7022734Z", [0, 2, 5, 1, 3, 6, 7, 4][i]),
                "signed": false,
                "quarantineState": "Passed",
                "changeableAttributes": writeable(),
            })
        })
        .collect();
    let manifests = vec![
        json!({
            "digest": DIGEST_C, "imageSize": 1234,
            "createdTime": "2018-09-06T06:17:20.9983915Z", "lastUpdateTime": "2018-09-08T06:17:20.9983915Z",
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "references": [
                {"digest": DIGEST_A, "architecture": "amd64", "os": "linux"},
                {"digest": DIGEST_B, "architecture": "loong64", "os": "linux"}
            ],
            "tags": ["v1", "latest"], "changeableAttributes": writeable()
        }),
        json!({
            "digest": DIGEST_A, "imageSize": 2401606,
            "createdTime": "2018-09-06T06:17:20.9983915Z", "lastUpdateTime": "2018-09-06T06:17:20.9983915Z",
            "architecture": "amd64", "os": "windows",
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "configMediaType": "application/vnd.docker.container.image.v1+json",
            "tags": ["4.7.2-20180905-nanoserver-1803"], "changeableAttributes": writeable()
        }),
        json!({
            "digest": DIGEST_B, "imageSize": 4135121,
            "createdTime": "2018-09-07T16:30:46.5651701Z", "lastUpdateTime": "2018-09-07T16:30:46.5651701Z",
            "architecture": "loong64", "os": "linux", "tags": [], "changeableAttributes": writeable()
        }),
    ];
    Store {
        repo_props: writeable(),
        tags,
        manifests,
    }
}

fn acr_error(status: u16, code: &str, message: &str, detail: Value) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message, "detail": detail}]}),
    )
}

/// Merges the PATCH body into `target`; only the four wire names count.
fn merge(target: &mut Value, body: &[u8]) -> Result<(), String> {
    let patch: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON".to_owned())?;
    for (k, v) in patch.as_object().into_iter().flatten() {
        if ![
            "deleteEnabled",
            "writeEnabled",
            "readEnabled",
            "listEnabled",
        ]
        .contains(&k.as_str())
        {
            return Err(format!("unknown attribute {k}"));
        }
        target[k] = v.clone();
    }
    Ok(())
}

/// A 400 with the ACR error body.
fn bad_request(message: String) -> Response<Full<Bytes>> {
    acr_error(400, "BAD_REQUEST", &message, Value::Null)
}

/// One page of `items` after `last` (by `key`), `n` at most (default 3),
/// and the `Link` header value for the next one as ACR writes it (no
/// api-version, empty `orderby` when unset).
fn page_of(
    items: &[Value],
    key: impl Fn(&Value) -> String,
    q: &HashMap<String, String>,
    path: &str,
) -> (Vec<Value>, Option<String>) {
    let n: usize = q.get("n").and_then(|n| n.parse().ok()).unwrap_or(3);
    let start = match q.get("last") {
        Some(last) => items
            .iter()
            .position(|i| key(i) == *last)
            .map_or(items.len(), |p| p + 1),
        None => 0,
    };
    let page: Vec<Value> = items.iter().skip(start).take(n).cloned().collect();
    let link = (start + n < items.len()).then(|| {
        let mut link = format!(
            "{path}?last={}&n={n}&orderby={}",
            key(page.last().unwrap()),
            q.get("orderby").map_or("", String::as_str)
        );
        if let Some(d) = q.get("digest") {
            link.push_str(&format!("&digest={d}"));
        }
        format!("<{link}>; rel=\"next\"")
    });
    (page, link)
}

fn with_link(mut resp: Response<Full<Bytes>>, link: Option<String>) -> Response<Full<Bytes>> {
    if let Some(l) = link {
        resp.headers_mut().insert("link", l.parse().unwrap());
    }
    resp
}

fn handle(st: &Mutex<Store>, req: Request<Bytes>) -> Response<Full<Bytes>> {
    let mut st = st.lock().unwrap();
    let host = req.headers()["host"].to_str().unwrap().to_owned();
    let path = req.uri().path().to_owned();
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let method = req.method().clone();
    if let Some(rest) = path.strip_prefix("/v2/") {
        // DELETE /v2/{name}/manifests/{digest}
        let (name, digest) = rest.split_once("/manifests/").unwrap();
        if method != Method::DELETE || name != "app" {
            return acr_error(
                404,
                "NAME_UNKNOWN",
                "repository name not known to registry",
                json!({"name": name}),
            );
        }
        st.manifests.retain(|m| m["digest"] != json!(digest));
        return response(202, "");
    }
    let Some(rest) = path.strip_prefix("/acr/v1/") else {
        return response(404, "");
    };
    if q.get("api-version").map(String::as_str) != Some("2021-07-01") {
        return acr_error(
            400,
            "BAD_REQUEST",
            "api-version 2021-07-01 expected",
            Value::Null,
        );
    }
    if rest == "_catalog" {
        let names: Vec<Value> = REPOS.iter().map(|r| json!(r)).collect();
        let (page, link) = page_of(
            &names,
            |v| v.as_str().unwrap().to_owned(),
            &q,
            "/acr/v1/_catalog",
        );
        return with_link(json_response(200, &json!({"repositories": page})), link);
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let pos = segs
        .iter()
        .position(|s| *s == "_tags" || *s == "_manifests");
    let name = segs[..pos.unwrap_or(segs.len())].join("/");
    if name != "app" {
        return acr_error(
            404,
            "NAME_UNKNOWN",
            "repository name not known to registry",
            json!({"name": name}),
        );
    }
    let head = json!({"registry": host, "imageName": "app"});
    let Some(pos) = pos else {
        // The repository itself.
        let props = |st: &Store| {
            json!({"registry": host, "imageName": "app",
                   "createdTime": "2018-09-06T06:17:20.9531248Z", "lastUpdateTime": "2018-09-07T16:30:46.6583219Z",
                   "manifestCount": st.manifests.len(), "tagCount": st.tags.len(),
                   "changeableAttributes": st.repo_props, "teleportEnabled": false})
        };
        return match method {
            Method::GET => json_response(200, &props(&st)),
            Method::PATCH => match merge(&mut st.repo_props, req.body()) {
                Ok(()) => json_response(200, &props(&st)),
                Err(e) => bad_request(e),
            },
            Method::DELETE => json_response(
                202,
                &json!({"manifestsDeleted": [DIGEST_A, DIGEST_B, DIGEST_C], "tagsDeleted": ["v1", "latest"]}),
            ),
            _ => response(405, ""),
        };
    };
    let reference = segs.get(pos + 1).copied();
    match (segs[pos], reference, method) {
        ("_tags", None, Method::GET) => {
            let mut tags = st.tags.clone();
            if let Some(d) = q.get("digest") {
                tags.retain(|t| t["digest"] == json!(d));
            }
            match q.get("orderby").map(String::as_str) {
                Some("timedesc") => tags.sort_by(|a, b| {
                    b["lastUpdateTime"]
                        .as_str()
                        .cmp(&a["lastUpdateTime"].as_str())
                }),
                Some("timeasc") => tags.sort_by(|a, b| {
                    a["lastUpdateTime"]
                        .as_str()
                        .cmp(&b["lastUpdateTime"].as_str())
                }),
                _ => {}
            }
            let (page, link) = page_of(
                &tags,
                |v| v["name"].as_str().unwrap().to_owned(),
                &q,
                "/acr/v1/app/_tags",
            );
            let mut body = head;
            body["tags"] = Value::Array(page);
            with_link(json_response(200, &body), link)
        }
        ("_manifests", None, Method::GET) => {
            let mut ms = st.manifests.clone();
            if q.get("orderby").map(String::as_str) == Some("timeasc") {
                ms.sort_by(|a, b| {
                    a["lastUpdateTime"]
                        .as_str()
                        .cmp(&b["lastUpdateTime"].as_str())
                });
            }
            let (page, link) = page_of(
                &ms,
                |v| v["digest"].as_str().unwrap().to_owned(),
                &q,
                "/acr/v1/app/_manifests",
            );
            let mut body = head;
            body["manifests"] = Value::Array(page);
            with_link(json_response(200, &body), link)
        }
        ("_tags", Some(tag), m) => {
            let Some(i) = st.tags.iter().position(|t| t["name"] == json!(tag)) else {
                return acr_error(
                    404,
                    "TAG_UNKNOWN",
                    "the specified tag does not exist",
                    json!({"tag": tag}),
                );
            };
            match m {
                Method::GET => json_response(
                    200,
                    &json!({"registry": host, "imageName": "app", "tag": st.tags[i]}),
                ),
                Method::PATCH => match merge(&mut st.tags[i]["changeableAttributes"], req.body()) {
                    Ok(()) => json_response(
                        200,
                        &json!({"registry": host, "imageName": "app", "tag": st.tags[i]}),
                    ),
                    Err(e) => bad_request(e),
                },
                Method::DELETE
                    if st.tags[i]["changeableAttributes"]["deleteEnabled"] == json!(false) =>
                {
                    acr_error(
                        403,
                        "DENIED",
                        "the tag is locked: deleteEnabled is false",
                        json!({"tag": tag}),
                    )
                }
                Method::DELETE => {
                    st.tags.remove(i);
                    response(202, "")
                }
                _ => response(405, ""),
            }
        }
        ("_manifests", Some(digest), m) => {
            let Some(i) = st
                .manifests
                .iter()
                .position(|t| t["digest"] == json!(digest))
            else {
                return acr_error(
                    404,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                    json!({"digest": digest}),
                );
            };
            match m {
                Method::GET => json_response(
                    200,
                    &json!({"registry": host, "imageName": "app", "manifest": st.manifests[i]}),
                ),
                Method::PATCH => {
                    match merge(&mut st.manifests[i]["changeableAttributes"], req.body()) {
                        Ok(()) => json_response(
                            200,
                            &json!({"registry": host, "imageName": "app", "manifest": st.manifests[i]}),
                        ),
                        Err(e) => bad_request(e),
                    }
                }
                _ => response(405, ""),
            }
        }
        _ => response(405, ""),
    }
}

pub async fn fake_acr() -> (FakeServer, AcrClient) {
    let state = Arc::new(Mutex::new(store()));
    let server = FakeServer::start(move |req| {
        let st = state.clone();
        async move { handle(&st, req) }
    })
    .await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let client = AcrClient::from_http(&server.url(), http).unwrap();
    (server, client)
}

// ----- authentication of metadata requests -----

pub const AAD: &str = "aad-token-for-metadata";

/// An ACR whose metadata API wants Bearer tokens carrying the right scope;
/// its opaque access tokens are `at|{scope}`.
pub fn handle_with_auth(req: Request<Bytes>) -> Response<Full<Bytes>> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(req.body())
        .into_owned()
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str);
    match req.uri().path() {
        "/oauth2/exchange" => {
            if get("grant_type") == Some("access_token") && get("access_token") == Some(AAD) {
                json_response(200, &json!({"refresh_token": "acr-refresh-1"}))
            } else {
                acr_error(401, "UNAUTHORIZED", "bad AAD token", Value::Null)
            }
        }
        "/oauth2/token" => {
            if get("grant_type") == Some("refresh_token")
                && get("refresh_token") == Some("acr-refresh-1")
            {
                json_response(
                    200,
                    &json!({"access_token": format!("at|{}", get("scope").unwrap_or(""))}),
                )
            } else {
                acr_error(401, "UNAUTHORIZED", "bad refresh token", Value::Null)
            }
        }
        path => {
            let needed = match (req.method().clone(), path) {
                (_, "/acr/v1/_catalog") => "registry:catalog:*",
                (Method::PATCH, _) => "repository:app:metadata_write",
                _ => "repository:app:metadata_read",
            };
            let expected = format!("Bearer at|{needed}");
            if req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                != Some(expected.as_str())
            {
                let host = req.headers()["host"].to_str().unwrap().to_owned();
                let mut resp =
                    acr_error(401, "UNAUTHORIZED", "authentication required", Value::Null);
                resp.headers_mut().insert(
                    "www-authenticate",
                    format!(r#"Bearer realm="http://{host}/oauth2/token",service="fake.azurecr.io",scope="{needed}""#)
                        .parse()
                        .unwrap(),
                );
                return resp;
            }
            match path {
                "/acr/v1/_catalog" => json_response(200, &json!({"repositories": ["app"]})),
                "/acr/v1/app/_tags" => json_response(
                    200,
                    &json!({"registry": "fake.azurecr.io", "imageName": "app", "tags": []}),
                ),
                "/acr/v1/app/_tags/v1" => json_response(
                    200,
                    &json!({"registry": "fake.azurecr.io", "imageName": "app",
                            "tag": {"name": "v1", "digest": DIGEST_A, "changeableAttributes": {"writeEnabled": false}}}),
                ),
                _ => response(404, ""),
            }
        }
    }
}
