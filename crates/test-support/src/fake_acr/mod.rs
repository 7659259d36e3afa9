//! A fake Azure Container Registry metadata API (`/acr/v1`, api-version
//! 2021-07-01) over real HTTP, answering with the JSON shapes of the ACR
//! data-plane spec: repository, tag and manifest attributes, `Link`
//! pagination as ACR writes it (no `api-version`, empty `orderby` when
//! unset), and `{"errors":[…]}` bodies.
//!
//! It holds one repository, [`REPOSITORY`] (`app`), with seven tags `v1`…`v7`
//! and three manifests ([`DIGEST_A`], [`DIGEST_B`], and the index
//! [`DIGEST_C`]); the catalog lists [`REPOS`]. Pages hold 3 items unless `n`
//! says otherwise. PATCH bodies are merged (only the four wire names
//! `deleteEnabled`, `writeEnabled`, `readEnabled`, `listEnabled` are
//! accepted, anything else is a 400); deletes really delete, and refuse
//! (403 `DENIED`) what has `deleteEnabled: false`.
//!
//! Built with [`FakeAcrBuilder::aad_token`] or [`FakeAcrBuilder::basic`],
//! every API request needs `Authorization: Bearer at|{scopes}` carrying the
//! scope ACR wants (`registry:catalog:*`, `repository:{name}:metadata_read`,
//! `…:metadata_write`, `…:delete`), and a 401 challenge names the realm
//! `{url}/oauth2/token` and service [`SERVICE`]. The token endpoints work as
//! ACR's do: `POST /oauth2/exchange` (AAD tokens → refresh token
//! [`REFRESH_TOKEN`], with the documented grants `access_token`,
//! `refresh_token` and `access_token_refresh_token`, see
//! [`FakeAcrBuilder::aad_refresh_token`] and [`FakeAcrBuilder::tenant`]),
//! `POST /oauth2/token` (refresh token → access token `at|{scopes}`, grant
//! `refresh_token` or `password`; the anonymous `grant_type=password` with
//! an empty refresh token is refused) and `GET /oauth2/token` with Basic
//! credentials (admin user or repository token). [`FakeAcr::exchanges`]
//! and [`FakeAcr::token_requests`] give what they received;
//! [`form_fields`] decodes a form.
//!
//! [`AcrTokenService`] (module [`token_service`]) is a different fake: only
//! the token endpoints, signing tokens a real `docker-registry` in
//! token-auth mode accepts.
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::fake_acr::{FakeAcr, DIGEST_A};
//! let acr = FakeAcr::builder().aad_token("aad").start().await;
//! // ... point the client under test at acr.url() ...
//! assert_eq!(acr.count("PATCH", &format!("/acr/v1/app/_manifests/{DIGEST_A}")), 1);
//! # }
//! ```

use std::sync::{Arc, Mutex};

use http::Method;

use metadata::{Store, handle};

mod auth;
mod grants;
mod metadata;
pub mod token_service;

pub use grants::form_fields;
pub use token_service::{
    AAD_TENANT, AcrTokenService, TOKEN_SERVICE, aad_refresh_token, aad_token, form,
};

use crate::http::{FakeServer, RecordedRequest, json_response, query_params, response};

/// An image manifest (amd64/windows) of [`REPOSITORY`], tagged `v1`, `v3`,
/// `v5`, `v7`.
pub const DIGEST_A: &str =
    "sha256:110d2b6c84592561338aa040b1b14b7ab81c2f9edbd564c2285dd7d70d777086";
/// An image manifest (loong64/linux) of [`REPOSITORY`], tagged `v2`, `v4`,
/// `v6`.
pub const DIGEST_B: &str =
    "sha256:7af5cd1dde3e8f5c2c9103860afa4ca871a6075373b6564b0e7b1b47866dab52";
/// An image index of [`REPOSITORY`] referencing [`DIGEST_A`] and [`DIGEST_B`].
pub const DIGEST_C: &str =
    "sha256:0873c923e00e0fd2ba78041bfb64a105e1ecb7678916d1f7776311e45bf5634b";

/// The repository names the catalog lists, in order.
pub const REPOS: [&str; 7] = [
    "alpha",
    "beta",
    "delta/one",
    "delta/two",
    "epsilon",
    "gamma",
    "zeta",
];

/// The one repository with properties, tags and manifests.
pub const REPOSITORY: &str = "app";

/// The `service` of the 401 challenges.
pub const SERVICE: &str = "fake.azurecr.io";

/// The refresh token `POST /oauth2/exchange` hands out.
pub const REFRESH_TOKEN: &str = "acr-refresh-1";

/// Builds a [`FakeAcr`].
#[derive(Debug, Default)]
pub struct FakeAcrBuilder {
    aad_token: Option<String>,
    aad_refresh_token: Option<String>,
    tenant: Option<String>,
    basic: Option<(String, String)>,
}

impl FakeAcrBuilder {
    /// Requires authentication, and accepts this AAD access token at
    /// `/oauth2/exchange`.
    pub fn aad_token(mut self, token: impl Into<String>) -> Self {
        self.aad_token = Some(token.into());
        self
    }

    /// Requires authentication, and accepts this AAD refresh token at
    /// `/oauth2/exchange` (grants `refresh_token` and
    /// `access_token_refresh_token`).
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use test_support::fake_acr::{FakeAcr, form_fields};
    /// let acr = FakeAcr::builder().aad_refresh_token("aad-rt").tenant("t1").start().await;
    /// // ... exchange "aad-rt" at acr.url() ...
    /// let sent = form_fields(&acr.exchanges()[0]);
    /// assert!(sent.contains(&("refresh_token".to_owned(), "aad-rt".to_owned())));
    /// assert!(acr.token_requests().is_empty());
    /// # }
    /// ```
    pub fn aad_refresh_token(mut self, token: impl Into<String>) -> Self {
        self.aad_refresh_token = Some(token.into());
        self
    }

    /// The AAD tenant of the accepted tokens: an exchange naming another
    /// `tenant` is refused (one naming none is accepted). Without it, any
    /// tenant is accepted. See [`aad_refresh_token`](Self::aad_refresh_token)
    /// for an example.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Requires authentication, and accepts these Basic credentials at
    /// `GET /oauth2/token`.
    pub fn basic(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic = Some((username.into(), password.into()));
        self
    }

    /// Starts the server on 127.0.0.1.
    pub async fn start(self) -> FakeAcr {
        let wants_auth =
            self.aad_token.is_some() || self.aad_refresh_token.is_some() || self.basic.is_some();
        let auth = wants_auth.then_some(Auth {
            aad_token: self.aad_token,
            aad_refresh_token: self.aad_refresh_token,
            tenant: self.tenant,
            basic: self.basic,
        });
        let state = Arc::new(State {
            store: Mutex::new(Store::new()),
            auth,
        });
        let server = FakeServer::start(move |req| {
            let st = state.clone();
            async move { handle(&st, req) }
        })
        .await;
        FakeAcr { server }
    }
}

/// A running fake ACR; stops when dropped.
#[derive(Debug)]
pub struct FakeAcr {
    server: FakeServer,
}

impl FakeAcr {
    /// Starts an ACR that wants no authentication.
    pub async fn start() -> FakeAcr {
        FakeAcr::builder().start().await
    }

    /// A builder (for an ACR that wants authentication).
    pub fn builder() -> FakeAcrBuilder {
        FakeAcrBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, the login server URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:PORT`, what the `registry` fields say.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// The underlying server.
    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.server.request_count()
    }

    /// How many requests matched `method` (`"*"` for any) and path glob
    /// `path` (see [`crate::http::glob_match`]).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.server.count(method, path)
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }

    /// The `POST /oauth2/exchange` requests received, in order (example at
    /// [`FakeAcrBuilder::aad_refresh_token`]).
    pub fn exchanges(&self) -> Vec<RecordedRequest> {
        self.posts_to("/oauth2/exchange")
    }

    /// The `POST /oauth2/token` requests received, in order (example at
    /// [`FakeAcrBuilder::aad_refresh_token`]).
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.posts_to("/oauth2/token")
    }

    fn posts_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method == Method::POST && r.path() == path)
            .collect()
    }
}

#[derive(Debug)]
struct Auth {
    aad_token: Option<String>,
    aad_refresh_token: Option<String>,
    tenant: Option<String>,
    basic: Option<(String, String)>,
}

struct State {
    store: Mutex<Store>,
    auth: Option<Auth>,
}
