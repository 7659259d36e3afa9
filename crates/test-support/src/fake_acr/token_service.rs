//! A fake ACR token service (`POST /oauth2/exchange` and `POST /oauth2/token`
//! as the ACR data-plane spec describes them) whose access tokens a real
//! `docker-registry` in token-auth mode accepts: the tokens are signed by a
//! [`TokenServer`] the registry trusts.
//!
//! * `/oauth2/exchange` accepts only the AAD access token [`aad_token()`]
//!   and the AAD refresh token [`aad_refresh_token()`], with the grant
//!   rules ACR documents (`access_token`, `refresh_token`,
//!   `access_token_refresh_token`; a `tenant`, when sent, must be
//!   [`AAD_TENANT`]), and answers with a refresh token (a signed JWT, valid
//!   for three hours unless [`AcrTokenService::set_refresh_lifetime`] says
//!   otherwise).
//! * `/oauth2/token` with `grant_type=refresh_token` (or `password`) grants
//!   every scope asked to a refresh token it issued (and still remembers).
//! * `/oauth2/token` with `grant_type=password` and an empty
//!   `refresh_token` is anonymous access: `pull` only, and only when the
//!   service was started with anonymous pull allowed.
//!
//! Every form must name the service [`TOKEN_SERVICE`]; errors are ACR's
//! `{"errors":[{"code","message"}]}` bodies.
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::fake_acr::{AcrTokenService, aad_token, form};
//! let acr = AcrTokenService::start(false).await;
//! let registry = acr.registry().await;
//! // ... point a client holding aad_token() at registry.url() ...
//! assert_eq!(acr.exchanges().len(), 1);
//! assert_eq!(form(&acr.exchanges()[0])["access_token"], aad_token());
//! # }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;

use super::grants::{self, Accepted, Form, TokenGrant};
use crate::http::{FakeServer, RecordedRequest, json_response};
use crate::registry::TestRegistry;
use crate::token::{Scope, TokenServer};

/// The ACR `service` (and JWT `aud`) of the registry behind an
/// [`AcrTokenService`].
pub const TOKEN_SERVICE: &str = "fakeacr.azurecr.io";

/// The only AAD access token the fake exchange accepts: a JWT-shaped token
/// (unsigned) for the ACR audience, tenant `tenant-1`, expiring in 2100.
pub fn aad_token() -> String {
    let exp = 4_102_444_800_u64; // 2100-01-01
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"aud": "https://containerregistry.azure.net", "exp": exp, "tid": "tenant-1"})
            .to_string(),
    );
    format!("eyJhbGciOiJub25lIn0.{payload}.aad-signature")
}

/// The tenant of [`aad_token()`] (its `tid`); an exchange naming another
/// is refused.
///
/// ```
/// assert_eq!(test_support::fake_acr::AAD_TENANT, "tenant-1");
/// ```
pub const AAD_TENANT: &str = "tenant-1";

/// The only AAD refresh token the fake exchange accepts (grants
/// `refresh_token` and `access_token_refresh_token`).
///
/// ```
/// use test_support::fake_acr::{aad_refresh_token, aad_token};
/// assert_ne!(aad_refresh_token(), aad_token());
/// ```
pub fn aad_refresh_token() -> String {
    "aad-refresh-token-0.AVYA-opaque".to_owned()
}

/// Decoded form parameters of a recorded request (the last value of a
/// repeated field; [`form_fields`](super::form_fields) keeps them all).
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

/// A fake ACR token service in front of which a real registry runs; stops
/// when dropped.
pub struct AcrTokenService {
    /// The HTTP server (its requests are recorded).
    pub server: FakeServer,
    state: Arc<State>,
}

impl std::fmt::Debug for AcrTokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcrTokenService")
            .field("url", &self.server.url())
            .field("anonymous", &self.state.anonymous.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

fn acr_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

impl AcrTokenService {
    /// Starts the service on 127.0.0.1; `anonymous` says whether anonymous
    /// pull is allowed.
    pub async fn start(anonymous: bool) -> AcrTokenService {
        let signer = TokenServer::builder().service(TOKEN_SERVICE).start().await;
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

    /// `http://127.0.0.1:PORT` of the service.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The realm the registry announces: `{server}/oauth2/token`.
    pub fn realm(&self) -> String {
        format!("{}/oauth2/token", self.server.url())
    }

    /// A real registry trusting this service's tokens.
    pub async fn registry(&self) -> TestRegistry {
        TestRegistry::builder()
            .token_settings(self.realm(), TOKEN_SERVICE, self.state.signer.issuer())
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
        self.state
            .refresh_tokens
            .lock()
            .expect("refresh tokens poisoned")
            .clear();
    }

    /// The `/oauth2/exchange` requests received, in order.
    pub fn exchanges(&self) -> Vec<RecordedRequest> {
        self.requests_to("/oauth2/exchange")
    }

    /// The `/oauth2/token` requests received, in order.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to("/oauth2/token")
    }

    fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path() == path)
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
    let f = Form::parse(req.body());
    if f.get("service") != Some(TOKEN_SERVICE) {
        return acr_error(400, "BAD_REQUEST", "unknown service");
    }
    let refused = |(status, code, message): grants::Refusal| acr_error(status, code, message);
    match req.uri().path() {
        "/oauth2/exchange" => {
            let aad_refresh = aad_refresh_token();
            let accepted = Accepted {
                access_token: Some(&st.aad_token),
                refresh_token: Some(&aad_refresh),
                tenant: Some(AAD_TENANT),
            };
            if let Err(r) = grants::check_exchange(&f, &accepted) {
                return refused(r);
            }
            let lifetime = Duration::from_secs(st.refresh_lifetime.load(Ordering::SeqCst));
            let refresh = st.signer.issue_token(Some("aad-user"), &[], lifetime);
            st.refresh_tokens
                .lock()
                .expect("refresh tokens poisoned")
                .insert(refresh.clone(), "aad-user".to_owned());
            json_response(200, &json!({"refresh_token": refresh}))
        }
        "/oauth2/token" => match grants::token_grant(&f) {
            Err(r) => refused(r),
            Ok(TokenGrant::Refresh(r)) => {
                let user = st
                    .refresh_tokens
                    .lock()
                    .expect("refresh tokens poisoned")
                    .get(r)
                    .cloned();
                let Some(user) = user else {
                    return acr_error(401, "UNAUTHORIZED", "the refresh token is not valid");
                };
                let access = scopes(&f.scopes(), |_| true);
                let token = st
                    .signer
                    .issue_token(Some(&user), &access, Duration::from_secs(300));
                json_response(200, &json!({"access_token": token}))
            }
            Ok(TokenGrant::Anonymous) => {
                if !st.anonymous.load(Ordering::SeqCst) {
                    return acr_error(401, "UNAUTHORIZED", "anonymous access is disabled");
                }
                let access = scopes(&f.scopes(), |a| a == "pull");
                let token = st
                    .signer
                    .issue_token(None, &access, Duration::from_secs(300));
                json_response(200, &json!({"access_token": token}))
            }
        },
        _ => acr_error(404, "NOT_FOUND", "no such endpoint"),
    }
}

/// The scopes asked (space separated), with the actions `allow` keeps.
fn scopes(param: &str, allow: impl Fn(&str) -> bool) -> Vec<Scope> {
    param
        .split_whitespace()
        .filter_map(Scope::parse)
        .map(|s| Scope {
            actions: s.actions.into_iter().filter(|a| allow(a)).collect(),
            ..s
        })
        .collect()
}
