//! The metadata API of the fake (`/acr/v1`): the store of one repository
//! with its tags and manifests, listings with ACR's `Link` paging, PATCH
//! merges, deletes, and the request router.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use serde_json::{Value, json};

use super::*;

pub(super) struct Store {
    repo_props: Value,
    repo_deleted: bool,
    tags: Vec<Value>,
    manifests: Vec<Value>,
}

fn writeable() -> Value {
    json!({"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true})
}

impl Store {
    pub(super) fn new() -> Store {
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
            repo_deleted: false,
            tags,
            manifests,
        }
    }
}

pub(super) fn acr_error(
    status: u16,
    code: &str,
    message: &str,
    detail: Value,
) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message, "detail": detail}]}),
    )
}

fn name_unknown(name: &str) -> Response<Full<Bytes>> {
    acr_error(
        404,
        "NAME_UNKNOWN",
        "repository name not known to registry",
        json!({"name": name}),
    )
}

fn locked(what: &str, detail: Value) -> Response<Full<Bytes>> {
    acr_error(
        403,
        "DENIED",
        &format!("the {what} is locked: deleteEnabled is false"),
        detail,
    )
}

fn delete_enabled(attrs: &Value) -> bool {
    attrs["deleteEnabled"] != json!(false)
}

/// Merges the PATCH body into `target`; only the four wire names count.
/// A refused body is answered with a 400 and the ACR error body.
fn merge(target: &mut Value, body: &[u8]) -> Result<(), Box<Response<Full<Bytes>>>> {
    let bad = |m: String| Box::new(acr_error(400, "BAD_REQUEST", &m, Value::Null));
    let patch: Value = serde_json::from_slice(body).map_err(|_| bad("body is not JSON".into()))?;
    let Some(fields) = patch.as_object() else {
        return Err(bad("body is not a JSON object".into()));
    };
    for (k, v) in fields {
        let known = [
            "deleteEnabled",
            "writeEnabled",
            "readEnabled",
            "listEnabled",
        ];
        if !known.contains(&k.as_str()) || !v.is_boolean() {
            return Err(bad(format!("unknown attribute or not a boolean: {k}")));
        }
    }
    for (k, v) in fields {
        target[k] = v.clone();
    }
    Ok(())
}

/// One page of `items` after `last` (by `key`), `n` at most (default 3),
/// and the `Link` header value for the next one as ACR writes it.
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
            key(page.last().expect("a non-empty page")),
            q.get("orderby").map_or("", String::as_str)
        );
        if let Some(d) = q.get("digest") {
            link.push_str(&format!("&digest={d}"));
        }
        format!("<{link}>; rel=\"next\"")
    });
    (page, link)
}

fn listing(
    mut body: Value,
    field: &str,
    (page, link): (Vec<Value>, Option<String>),
) -> Response<Full<Bytes>> {
    body[field] = Value::Array(page);
    let mut resp = json_response(200, &body);
    if let Some(l) = link {
        resp.headers_mut()
            .insert("link", l.parse().expect("a valid Link header"));
    }
    resp
}

fn sort_by_time(items: &mut [Value], order: Option<&str>) {
    let time = |v: &Value| v["lastUpdateTime"].as_str().unwrap_or_default().to_owned();
    match order {
        Some("timedesc") => items.sort_by_key(|v| std::cmp::Reverse(time(v))),
        Some("timeasc") => items.sort_by_key(time),
        _ => {}
    }
}

pub(super) fn handle(st: &State, req: Request<Bytes>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if let Some(auth) = &st.auth {
        if path.starts_with("/oauth2/") {
            return auth::token_endpoint(auth, &req);
        }
        if let Some(challenge) = auth::authorize(&req) {
            return challenge;
        }
    }
    let mut store = st.store.lock().expect("fake ACR state poisoned");
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let q: HashMap<String, String> = query_params(req.uri());
    if let Some(rest) = path.strip_prefix("/v2/") {
        return delete_manifest_v2(&mut store, req.method(), rest);
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
        let key = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let page = page_of(&names, key, &q, "/acr/v1/_catalog");
        return listing(json!({}), "repositories", page);
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let pos = segs
        .iter()
        .position(|s| *s == "_tags" || *s == "_manifests");
    let name = segs[..pos.unwrap_or(segs.len())].join("/");
    if name != REPOSITORY || store.repo_deleted {
        return name_unknown(&name);
    }
    let head = json!({"registry": host, "imageName": REPOSITORY});
    let method = req.method().clone();
    let Some(pos) = pos else {
        return repository(&mut store, &head, &method, req.body());
    };
    let reference = segs.get(pos + 1).copied();
    match (segs[pos], reference, method) {
        ("_tags", None, Method::GET) => {
            let mut tags = store.tags.clone();
            if let Some(d) = q.get("digest") {
                tags.retain(|t| t["digest"] == json!(d));
            }
            sort_by_time(&mut tags, q.get("orderby").map(String::as_str));
            let key = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
            let page = page_of(&tags, key, &q, "/acr/v1/app/_tags");
            listing(head, "tags", page)
        }
        ("_manifests", None, Method::GET) => {
            let mut ms = store.manifests.clone();
            sort_by_time(&mut ms, q.get("orderby").map(String::as_str));
            let key = |v: &Value| v["digest"].as_str().unwrap_or_default().to_owned();
            let page = page_of(&ms, key, &q, "/acr/v1/app/_manifests");
            listing(head, "manifests", page)
        }
        ("_tags", Some(tag), m) => {
            let Some(i) = store.tags.iter().position(|t| t["name"] == json!(tag)) else {
                return acr_error(
                    404,
                    "TAG_UNKNOWN",
                    "the specified tag does not exist",
                    json!({"tag": tag}),
                );
            };
            let with = |head: &Value, t: &Value| {
                let mut b = head.clone();
                b["tag"] = t.clone();
                json_response(200, &b)
            };
            match m {
                Method::GET => with(&head, &store.tags[i]),
                Method::PATCH => {
                    match merge(&mut store.tags[i]["changeableAttributes"], req.body()) {
                        Ok(()) => with(&head, &store.tags[i]),
                        Err(resp) => *resp,
                    }
                }
                Method::DELETE if !delete_enabled(&store.tags[i]["changeableAttributes"]) => {
                    locked("tag", json!({"tag": tag}))
                }
                Method::DELETE => {
                    store.tags.remove(i);
                    response(202, "")
                }
                _ => response(405, ""),
            }
        }
        ("_manifests", Some(digest), m) => {
            let Some(i) = store
                .manifests
                .iter()
                .position(|t| t["digest"] == json!(digest))
            else {
                return manifest_unknown(digest);
            };
            let with = |head: &Value, m: &Value| {
                let mut b = head.clone();
                b["manifest"] = m.clone();
                json_response(200, &b)
            };
            match m {
                Method::GET => with(&head, &store.manifests[i]),
                Method::PATCH => {
                    match merge(&mut store.manifests[i]["changeableAttributes"], req.body()) {
                        Ok(()) => with(&head, &store.manifests[i]),
                        Err(resp) => *resp,
                    }
                }
                _ => response(405, ""),
            }
        }
        _ => response(405, ""),
    }
}

fn manifest_unknown(digest: &str) -> Response<Full<Bytes>> {
    acr_error(
        404,
        "MANIFEST_UNKNOWN",
        "manifest unknown",
        json!({"digest": digest}),
    )
}

/// `GET|PATCH|DELETE /acr/v1/{name}`.
fn repository(
    store: &mut Store,
    head: &Value,
    method: &Method,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let props = |store: &Store| {
        let mut p = head.clone();
        p["createdTime"] = json!("2018-09-06T06:17:20.9531248Z");
        p["lastUpdateTime"] = json!("2018-09-07T16:30:46.6583219Z");
        p["manifestCount"] = json!(store.manifests.len());
        p["tagCount"] = json!(store.tags.len());
        p["changeableAttributes"] = store.repo_props.clone();
        p["teleportEnabled"] = json!(false);
        p
    };
    match *method {
        Method::GET => json_response(200, &props(store)),
        Method::PATCH => match merge(&mut store.repo_props, body) {
            Ok(()) => json_response(200, &props(store)),
            Err(resp) => *resp,
        },
        Method::DELETE if !delete_enabled(&store.repo_props) => {
            locked("repository", json!({"name": REPOSITORY}))
        }
        Method::DELETE => {
            store.repo_deleted = true;
            let manifests: Vec<&Value> = store.manifests.iter().map(|m| &m["digest"]).collect();
            let tags: Vec<&Value> = store.tags.iter().map(|t| &t["name"]).collect();
            json_response(
                202,
                &json!({"manifestsDeleted": manifests, "tagsDeleted": tags}),
            )
        }
        _ => response(405, ""),
    }
}

/// `DELETE /v2/{name}/manifests/{digest}`: the manifest and its tags go.
fn delete_manifest_v2(store: &mut Store, method: &Method, rest: &str) -> Response<Full<Bytes>> {
    let Some((name, digest)) = rest.split_once("/manifests/") else {
        return response(404, "");
    };
    if *method != Method::DELETE || name != REPOSITORY || store.repo_deleted {
        return name_unknown(name);
    }
    let Some(i) = store
        .manifests
        .iter()
        .position(|m| m["digest"] == json!(digest))
    else {
        return manifest_unknown(digest);
    };
    if !delete_enabled(&store.manifests[i]["changeableAttributes"]) {
        return locked("manifest", json!({"digest": digest}));
    }
    store.manifests.remove(i);
    store.tags.retain(|t| t["digest"] != json!(digest));
    response(202, "")
}
