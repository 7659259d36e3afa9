//! Request handling of the token endpoint: Basic auth, the `GET` (token-spec)
//! and `POST` (OAuth2 password / refresh-token grant) flows, and the request log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use ring::rand::SecureRandom;
use serde_json::{Value, json};

use super::jwt::{Signer, now_secs, rfc3339};
use super::scope::{Scope, TokenPolicy};
use crate::http::query_params;
use crate::server::{self, Body};

/// One request received by a [`TokenServer`](super::TokenServer), as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// HTTP method (`GET` or `POST`).
    pub method: Method,
    /// Request path (normally `/token`).
    pub path: String,
    /// Decoded query parameters, in order, repeated keys kept.
    pub query: Vec<(String, String)>,
    /// Decoded form parameters of a POST body, in order; empty for GET.
    pub form: Vec<(String, String)>,
    /// Whether an `Authorization: Basic` header was present.
    pub basic_auth: bool,
    /// The authenticated user (Basic auth, password grant or refresh token), if any.
    pub user: Option<String>,
    /// All requested scopes (query and form, space-separated values split).
    pub scopes: Vec<String>,
    /// The `service` parameter, if given.
    pub service: Option<String>,
    /// The `grant_type` form parameter of a POST, if given.
    pub grant_type: Option<String>,
    /// The HTTP status the server answered.
    pub status: u16,
}

impl TokenRequest {
    /// The first value of parameter `key` in the query or, failing that, the form.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(self.form.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The shared state of a running [`TokenServer`](super::TokenServer).
#[derive(Debug)]
pub(super) struct Inner {
    pub(super) service: String,
    pub(super) issuer: String,
    pub(super) expires_in: Duration,
    pub(super) users: HashMap<String, String>,
    pub(super) anonymous: bool,
    pub(super) policy: TokenPolicy,
    pub(super) signer: Signer,
    pub(super) realm: String,
    pub(super) requests: Mutex<Vec<TokenRequest>>,
    pub(super) refresh_tokens: Mutex<HashMap<String, String>>,
    pub(super) counter: AtomicU64,
}

/// Outcome of authenticating a request.
enum Auth {
    User(String),
    Denied,
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(server::full(body.to_string()))
        .expect("valid response")
}

fn split_scopes<'a>(params: impl Iterator<Item = &'a (String, String)>) -> Vec<String> {
    params
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_owned))
        .collect()
}

impl Inner {
    fn random_string(&self) -> String {
        let mut bytes = [0u8; 16];
        self.signer.rng.fill(&mut bytes).expect("system randomness");
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{n}-{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(super) fn sign_token(
        &self,
        user: Option<&str>,
        access: &[Scope],
        expires_in: Duration,
    ) -> String {
        let now = now_secs();
        let access: Vec<Value> = access
            .iter()
            .map(|s| json!({"type": s.kind, "name": s.name, "actions": s.actions}))
            .collect();
        let claims = json!({
            "iss": self.issuer,
            "sub": user.unwrap_or(""),
            "aud": self.service,
            "exp": now + expires_in.as_secs(),
            "nbf": now,
            "iat": now,
            "jti": self.random_string(),
            "access": access,
        });
        self.signer.sign(&claims)
    }

    fn basic_auth(&self, req: &Request<Incoming>) -> Option<Auth> {
        let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, creds) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD
            .decode(creds.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        Some(match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, pass)) if self.users.get(user).is_some_and(|p| p == pass) => {
                Auth::User(user.to_owned())
            }
            _ => Auth::Denied,
        })
    }

    fn grants(&self, user: Option<&str>, scopes: &[String]) -> Vec<Scope> {
        scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .map(|scope| {
                let actions = self.policy.grant(user, &scope);
                Scope { actions, ..scope }
            })
            .collect()
    }

    fn unauthorized(&self, message: &str) -> Response<Body> {
        let mut resp = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"errors": [{"code": "UNAUTHORIZED", "message": message}], "error": "invalid_grant"}),
        );
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"test-token-server\""),
        );
        resp
    }

    fn bad_request(message: &str) -> Response<Body> {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({"errors": [{"code": "INVALID_REQUEST", "message": message}], "error": "invalid_request"}),
        )
    }

    pub(super) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query: Vec<(String, String)> = query_params(req.uri());
        let basic = self.basic_auth(&req);
        let basic_auth = basic.is_some();
        let form: Vec<(String, String)> = if method == Method::POST {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            url::form_urlencoded::parse(&body).into_owned().collect()
        } else {
            Vec::new()
        };
        let mut entry = TokenRequest {
            method: method.clone(),
            path: path.clone(),
            scopes: split_scopes(query.iter().chain(form.iter())),
            query,
            form,
            basic_auth,
            user: None,
            service: None,
            grant_type: None,
            status: 0,
        };
        entry.service = entry.param("service").map(str::to_owned);
        entry.grant_type = if method == Method::POST {
            entry
                .form
                .iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.clone())
        } else {
            None
        };

        let response = if path != "/token" {
            json_response(StatusCode::NOT_FOUND, &json!({"error": "not found"}))
        } else if method == Method::GET {
            self.handle_get(&mut entry, basic)
        } else if method == Method::POST {
            self.handle_post(&mut entry)
        } else {
            json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "method not allowed"}),
            )
        };
        entry.status = response.status().as_u16();
        self.requests
            .lock()
            .expect("token log poisoned")
            .push(entry);
        response
    }

    /// A `400` response when the request names another service.
    fn wrong_service(&self, entry: &TokenRequest) -> Option<Response<Body>> {
        match &entry.service {
            Some(s) if *s != self.service => Some(Self::bad_request(&format!(
                "unknown service {s:?} (this server is {:?})",
                self.service
            ))),
            _ => None,
        }
    }

    fn handle_get(&self, entry: &mut TokenRequest, basic: Option<Auth>) -> Response<Body> {
        if let Some(resp) = self.wrong_service(entry) {
            return resp;
        }
        let user = match basic {
            Some(Auth::Denied) => return self.unauthorized("invalid username or password"),
            Some(Auth::User(u)) => Some(u),
            None if self.anonymous => None,
            None => return self.unauthorized("authentication required"),
        };
        entry.user = user.clone();
        let access = self.grants(user.as_deref(), &entry.scopes);
        let token = self.sign_token(user.as_deref(), &access, self.expires_in);
        let mut body = json!({
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in.as_secs(),
            "issued_at": rfc3339(now_secs()),
        });
        if let Some(u) = &user
            && entry.param("offline_token") == Some("true")
        {
            let refresh = self.random_string();
            self.refresh_tokens
                .lock()
                .expect("refresh tokens poisoned")
                .insert(refresh.clone(), u.clone());
            body["refresh_token"] = Value::String(refresh);
        }
        json_response(StatusCode::OK, &body)
    }

    fn handle_post(&self, entry: &mut TokenRequest) -> Response<Body> {
        if let Some(resp) = self.wrong_service(entry) {
            return resp;
        }
        let form = |key: &str| {
            entry
                .form
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let (user, refresh) = match entry.grant_type.as_deref() {
            Some("password") => {
                let (Some(name), Some(pass)) = (form("username"), form("password")) else {
                    return Self::bad_request("password grant needs username and password");
                };
                if self.users.get(&name) != Some(&pass) {
                    return self.unauthorized("invalid username or password");
                }
                let refresh = self.random_string();
                self.refresh_tokens
                    .lock()
                    .expect("refresh tokens poisoned")
                    .insert(refresh.clone(), name.clone());
                (name, refresh)
            }
            Some("refresh_token") => {
                let Some(refresh) = form("refresh_token") else {
                    return Self::bad_request("refresh_token grant needs refresh_token");
                };
                let user = self
                    .refresh_tokens
                    .lock()
                    .expect("refresh tokens poisoned")
                    .get(&refresh)
                    .cloned();
                match user {
                    Some(user) => (user, refresh),
                    None => return self.unauthorized("unknown refresh token"),
                }
            }
            Some(other) => return Self::bad_request(&format!("unsupported grant_type {other:?}")),
            None => return Self::bad_request("missing grant_type"),
        };
        entry.user = Some(user.clone());
        let access = self.grants(Some(&user), &entry.scopes);
        let token = self.sign_token(Some(&user), &access, self.expires_in);
        json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "refresh_token": refresh,
                "expires_in": self.expires_in.as_secs(),
                "scope": entry.scopes.join(" "),
                "token_type": "Bearer",
                "issued_at": rfc3339(now_secs()),
            }),
        )
    }
}
