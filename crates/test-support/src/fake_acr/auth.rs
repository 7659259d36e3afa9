//! ACR authentication: the scopes requests need, 401 challenges, and the
//! token endpoints (`/oauth2/exchange`, `/oauth2/token`).

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use serde_json::{Value, json};

use super::grants::{Accepted, Form, Refusal, TokenGrant, check_exchange, token_grant};
use super::metadata::acr_error;
use super::{Auth, REFRESH_TOKEN, SERVICE};
use crate::http::{json_response, query_params, response};

/// The scope ACR wants for a request.
fn needed_scope(method: &Method, path: &str) -> String {
    if path == "/acr/v1/_catalog" {
        return "registry:catalog:*".to_owned();
    }
    let name = if let Some(rest) = path.strip_prefix("/v2/") {
        rest.split_once("/manifests/").map_or(rest, |(n, _)| n)
    } else {
        let rest = path.strip_prefix("/acr/v1/").unwrap_or(path);
        rest.split_once("/_tags")
            .or_else(|| rest.split_once("/_manifests"))
            .map_or(rest, |(n, _)| n)
    };
    let action = match *method {
        Method::PATCH => "metadata_write",
        Method::DELETE => "delete",
        _ => "metadata_read",
    };
    format!("repository:{name}:{action}")
}

/// Checks the Bearer token carries the needed scope; if not, the 401
/// challenge to answer with.
pub(super) fn authorize(req: &Request<Bytes>) -> Option<Response<Full<Bytes>>> {
    let needed = needed_scope(req.method(), req.uri().path());
    let granted = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer at|"))
        .is_some_and(|scopes| scopes.split(' ').any(|s| s == needed));
    if granted {
        return None;
    }
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let mut resp = acr_error(401, "UNAUTHORIZED", "authentication required", Value::Null);
    let challenge = format!(
        r#"Bearer realm="http://{host}/oauth2/token",service="{SERVICE}",scope="{needed}""#
    );
    resp.headers_mut().insert(
        "www-authenticate",
        challenge.parse().expect("a valid challenge"),
    );
    Some(resp)
}

fn unauthorized(message: &str) -> Response<Full<Bytes>> {
    acr_error(401, "UNAUTHORIZED", message, Value::Null)
}

fn access_token(scopes: &str) -> Response<Full<Bytes>> {
    json_response(200, &json!({"access_token": format!("at|{scopes}")}))
}

/// `/oauth2/exchange` and `/oauth2/token`.
pub(super) fn token_endpoint(auth: &Auth, req: &Request<Bytes>) -> Response<Full<Bytes>> {
    if req.method() == Method::GET && req.uri().path() == "/oauth2/token" {
        // The Docker flow: Basic credentials, scopes in the query.
        let q: Vec<(String, String)> = query_params(req.uri());
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let expected = auth
            .basic
            .as_ref()
            .map(|(u, p)| format!("{u}:{p}").into_bytes());
        if given.is_none() || given != expected {
            return unauthorized("the user name or password is not valid");
        }
        let scopes: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str())
            .collect();
        return access_token(&scopes.join(" "));
    }
    if req.method() != Method::POST {
        return response(405, "");
    }
    let form = Form::parse(req.body());
    let refused = |(status, code, message): Refusal| acr_error(status, code, message, Value::Null);
    match req.uri().path() {
        "/oauth2/exchange" => {
            let accepted = Accepted {
                access_token: auth.aad_token.as_deref(),
                refresh_token: auth.aad_refresh_token.as_deref(),
                tenant: auth.tenant.as_deref(),
            };
            match check_exchange(&form, &accepted) {
                Ok(()) => json_response(200, &json!({"refresh_token": REFRESH_TOKEN})),
                Err(r) => refused(r),
            }
        }
        "/oauth2/token" => match token_grant(&form) {
            Ok(TokenGrant::Refresh(REFRESH_TOKEN)) => access_token(&form.scopes()),
            Ok(TokenGrant::Refresh(_)) => unauthorized("the refresh token is not valid"),
            Ok(TokenGrant::Anonymous) => unauthorized("anonymous access is disabled"),
            Err(r) => refused(r),
        },
        _ => response(404, ""),
    }
}
