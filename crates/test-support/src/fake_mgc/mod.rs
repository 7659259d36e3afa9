//! A fake Magalu Cloud Container Registry management API over real HTTP on
//! 127.0.0.1 (on [`FakeServer`]), shared by the `mgc-api`, `facade` and
//! `crctl` tests.
//!
//! It checks every request against the rules of the service's OpenAPI spec
//! (method and path of one of the 32 operations in [`spec::OPS`],
//! `X-API-Key` or `Authorization: Bearer`, a UUID `X-Request-ID`, a
//! `User-Agent`, query names and formats, JSON body shapes) and answers with
//! the spec's example shapes: objects, `{results, meta.page}` pages,
//! `{slug, message, detail}` errors. Every answer carries the request's
//! `X-Request-ID` and an `X-Mgc-Trace-Id` (`trace-1`, `trace-2`…). A request
//! breaking a rule is recorded as a violation ([`MagaluFake::violations`])
//! and answered 400 (401 for missing or wrong credentials). Tests set the
//! items a list pages through ([`MagaluFake::set_list`]) and add hooks to
//! answer some calls differently ([`MagaluFake::on`]).
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::fake_mgc::{API_KEY, MagaluFake, error_response};
//! let fake = MagaluFake::start().await;
//! fake.on("getRegistry", |_| Some(error_response(404)));
//! // ... point the client under test at fake.url() with X-API-Key API_KEY ...
//! assert_eq!(fake.calls("getRegistry"), 1);
//! fake.assert_clean();
//! # }
//! ```

pub mod spec;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::FakeServer;
use crate::http::{RecordedRequest, json_response, query_params, response};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use spec::{Answer, BodySpec, Field, OPS, Op, Param};

/// The credential the fake expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `X-API-Key: <key>`.
    ApiKey(String),
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

/// The API key [`MagaluFake::start`] expects.
pub const API_KEY: &str = "test-api-key-1234";

/// What a hook sees of a call that passed the spec checks.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The `operationId`.
    pub op: &'static str,
    /// 1 for the first call of this operation, 2 for the second...
    pub call: usize,
    /// Query pairs, decoded, in order.
    pub query: &'a [(String, String)],
    /// The JSON body, if any.
    pub body: Option<&'a Value>,
    /// The `X-Request-ID` received.
    pub request_id: &'a str,
}

impl Ctx<'_> {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Hook = Box<dyn Fn(&Ctx<'_>) -> Option<Response<Full<Bytes>>> + Send + Sync>;

#[derive(Default)]
struct State {
    seen: BTreeSet<&'static str>,
    calls: HashMap<&'static str, usize>,
    violations: Vec<String>,
    lists: HashMap<&'static str, Vec<Value>>,
    hooks: Vec<(&'static str, Hook)>,
    trace: u64,
}

/// The fake API; stops when dropped.
pub struct MagaluFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

impl MagaluFake {
    /// A fake expecting `X-API-Key: API_KEY`.
    pub async fn start() -> MagaluFake {
        Self::start_with(Auth::ApiKey(API_KEY.to_owned())).await
    }

    /// A fake expecting `auth`.
    pub async fn start_with(auth: Auth) -> MagaluFake {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let auth = Arc::new(auth);
        let server = FakeServer::start(move |req| {
            let st = st.clone();
            let auth = auth.clone();
            async move { handle(&st, &auth, req) }
        })
        .await;
        MagaluFake { server, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Forgets the requests received so far (call counts stay).
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        self.server.request_count()
    }

    /// The operations called so far (that passed the checks).
    pub fn seen(&self) -> BTreeSet<&'static str> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .get(op)
            .copied()
            .unwrap_or(0)
    }

    /// The rule violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Panics if any request broke a rule of the spec.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "requests broke the spec:\n{}", v.join("\n"));
    }

    /// The items the list operation `op` pages through.
    pub fn set_list(&self, op: &'static str, items: Vec<Value>) {
        self.state.lock().unwrap().lists.insert(op, items);
    }

    /// Answers calls of `op` with `hook` when it returns `Some`.
    pub fn on(
        &self,
        op: &'static str,
        hook: impl Fn(&Ctx<'_>) -> Option<Response<Full<Bytes>>> + Send + Sync + 'static,
    ) {
        spec::op(op);
        self.state.lock().unwrap().hooks.push((op, Box::new(hook)));
    }
}

/// A JSON response with the spec's error example for `status`.
pub fn error_response(status: u16) -> Response<Full<Bytes>> {
    json_response(status, &spec::error_body(status))
}

/// A `{results, meta}` page of `items` from `offset`, at most `limit`.
pub fn page_body(items: &[Value], offset: usize, limit: usize) -> Value {
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    json!({
        "results": page,
        "meta": {"page": {"count": page.len(), "limit": limit, "offset": offset, "total": items.len()}}
    })
}

/// The fake's default page size when `_limit` is not sent.
pub const DEFAULT_LIMIT: usize = 20;

fn handle(state: &Mutex<State>, auth: &Auth, req: Request<Bytes>) -> Response<Full<Bytes>> {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut resp = match check_and_answer(state, auth, &req, &request_id) {
        Ok(resp) => resp,
        Err((status, violation)) => {
            state.lock().unwrap().violations.push(violation.clone());
            let mut body = spec::error_body(status);
            body["message"] = Value::from(violation);
            json_response(status, &body)
        }
    };
    let trace = {
        let mut st = state.lock().unwrap();
        st.trace += 1;
        st.trace
    };
    let headers = resp.headers_mut();
    if let Ok(v) = request_id.parse() {
        headers.insert("x-request-id", v);
    }
    headers.insert("x-mgc-trace-id", format!("trace-{trace}").parse().unwrap());
    resp
}

/// Whether `s` is a UUID in its hyphenated form (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

type Checked<T> = Result<T, (u16, String)>;

fn check_and_answer(
    state: &Mutex<State>,
    auth: &Auth,
    req: &Request<Bytes>,
    request_id: &str,
) -> Checked<Response<Full<Bytes>>> {
    let what = format!("{} {}", req.method(), req.uri());
    let (op, path_params) = route(req.method().as_str(), req.uri().path())
        .ok_or((404, format!("{what}: no such operation")))?;
    let fail = |msg: String| (400u16, format!("{} ({what}): {msg}", op.id));

    check_auth(auth, req).map_err(|m| (401, format!("{} ({what}): {m}", op.id)))?;
    if !is_uuid(request_id) {
        return Err(fail(format!("X-Request-ID {request_id:?} is not a UUID")));
    }
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ua.is_empty() {
        return Err(fail("no User-Agent".into()));
    }
    for (name, value) in &path_params {
        if name.ends_with("_id") && !is_uuid(value) {
            return Err(fail(format!(
                "path parameter {name} {value:?} is not a UUID"
            )));
        }
        if value.is_empty() {
            return Err(fail(format!("path parameter {name} is empty")));
        }
    }
    let query: Vec<(String, String)> = query_params(req.uri());
    check_query(op, &query).map_err(fail)?;
    let body = check_body(op, req).map_err(fail)?;

    let mut st = state.lock().unwrap();
    st.seen.insert(op.id);
    let call = {
        let n = st.calls.entry(op.id).or_insert(0);
        *n += 1;
        *n
    };
    let ctx = Ctx {
        op: op.id,
        call,
        query: &query,
        body: body.as_ref(),
        request_id,
    };
    for (hook_op, hook) in &st.hooks {
        if *hook_op == op.id
            && let Some(resp) = hook(&ctx)
        {
            return Ok(resp);
        }
    }
    Ok(answer(&st, op, &ctx))
}

/// The operation for a method and path, with the decoded path parameters.
fn route(method: &str, path: &str) -> Option<(&'static Op, Vec<(&'static str, String)>)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    'ops: for op in OPS.iter().filter(|o| o.method == method) {
        let tmpl: Vec<&str> = op.path.trim_start_matches('/').split('/').collect();
        if tmpl.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        for (t, s) in tmpl.iter().zip(&segs) {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                params.push((name, percent_decode_str(s).decode_utf8_lossy().into_owned()));
            } else if t != s {
                continue 'ops;
            }
        }
        return Some((op, params));
    }
    None
}

fn check_auth(auth: &Auth, req: &Request<Bytes>) -> Result<(), String> {
    let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    match (auth, key, bearer) {
        (_, Some(_), Some(_)) => Err("both X-API-Key and Authorization sent".into()),
        (Auth::ApiKey(want), Some(got), None) if got == want => Ok(()),
        (Auth::Bearer(want), None, Some(got)) if got.strip_prefix("Bearer ") == Some(want) => {
            Ok(())
        }
        (_, None, None) => Err("no X-API-Key or Authorization header".into()),
        _ => Err("wrong credentials".into()),
    }
}

fn is_sort(v: &str) -> bool {
    v.split(',').all(|part| match part.split_once(':') {
        Some((f, d)) => {
            !f.is_empty()
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && (d == "asc" || d == "desc")
        }
        None => false,
    })
}

fn check_query(op: &Op, query: &[(String, String)]) -> Result<(), String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (name, value) in query {
        let param = op
            .params
            .iter()
            .find(|p| p.wire() == name)
            .ok_or_else(|| format!("unknown query parameter {name:?}"))?;
        *counts.entry(param.wire()).or_default() += 1;
        if counts[param.wire()] > 1 && !param.repeatable() {
            return Err(format!("query parameter {name} sent twice"));
        }
        let ok = match param {
            Param::Limit => value.parse::<u64>().is_ok_and(|n| n >= 1),
            Param::Offset => value.parse::<u64>().is_ok(),
            Param::Sort => is_sort(value),
            Param::Name | Param::PackageName | Param::CveId => !value.is_empty(),
            Param::Expand => [
                "tags_details",
                "extra_attr",
                "manifest_media_type",
                "media_type",
            ]
            .contains(&value.as_str()),
            Param::Status => {
                ["pending", "running", "completed", "failed", "stopped"].contains(&value.as_str())
            }
            Param::Severity => {
                ["unknown", "low", "medium", "high", "critical"].contains(&value.as_str())
            }
            Param::Fixable => value == "true" || value == "false",
        };
        if !ok {
            return Err(format!(
                "query parameter {name}={value:?} breaks its schema"
            ));
        }
        if value.contains(',') && param.repeatable() {
            return Err(format!("{name} must be repeated, not comma-joined"));
        }
    }
    Ok(())
}

fn check_field(name: &str, kind: Field, value: &Value) -> Result<(), String> {
    let s = value
        .as_str()
        .ok_or_else(|| format!("body field {name} is {value}, not a string"))?;
    let ok = match kind {
        Field::Str => true,
        Field::Uuid => is_uuid(s),
        Field::Role => s == "developer" || s == "guest",
        Field::Name => {
            !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("body field {name}={s:?} breaks its schema"))
    }
}

fn check_body(op: &Op, req: &Request<Bytes>) -> Result<Option<Value>, String> {
    let Some(BodySpec { required, optional }) = op.body else {
        if !req.body().is_empty() {
            return Err("this operation takes no body".into());
        }
        return Ok(None);
    };
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(format!("Content-Type {ct:?} is not application/json"));
    }
    let body: Value =
        serde_json::from_slice(req.body()).map_err(|e| format!("body is not JSON: {e}"))?;
    let obj = body.as_object().ok_or("body is not a JSON object")?;
    for (name, kind) in required {
        let v = obj
            .get(*name)
            .ok_or_else(|| format!("body lacks required field {name}"))?;
        check_field(name, *kind, v)?;
    }
    for (name, v) in obj {
        if required.iter().any(|(n, _)| n == name) {
            continue;
        }
        let (_, kind) = optional
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("body has unknown field {name}"))?;
        check_field(name, *kind, v)?;
    }
    Ok(Some(body))
}

fn answer(st: &State, op: &Op, ctx: &Ctx<'_>) -> Response<Full<Bytes>> {
    let list = |example: fn() -> Value| -> Value {
        let mut items = st
            .lists
            .get(op.id)
            .cloned()
            .unwrap_or_else(|| vec![example()]);
        if let Some(name) = ctx.param("name") {
            // Like a lenient server: a substring match.
            items.retain(|i| i["name"].as_str().is_some_and(|n| n.contains(name)));
        }
        let offset = ctx.param("_offset").map_or(0, |v| v.parse().unwrap());
        let limit = ctx
            .param("_limit")
            .map_or(DEFAULT_LIMIT, |v| v.parse().unwrap());
        page_body(&items, offset, limit)
    };
    match op.answer {
        Answer::Object(f) => json_response(op.status, &f()),
        Answer::List(f) => json_response(op.status, &list(f)),
        Answer::ListWithGoal(f) => {
            let mut body = list(f);
            body["goal"] = json!({"total": body["meta"]["page"]["total"]});
            json_response(op.status, &body)
        }
        Answer::NoContent => response(op.status, Bytes::new()),
    }
}
