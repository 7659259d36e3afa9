//! [`MgcClient`], its [`MgcClientBuilder`], and the [`Region`]s.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use http::HeaderValue;
use registry_core::redirect::RedirectLayer;
use registry_core::retry::Backoff;
use registry_core::{HttpClient, Secret};

use crate::error::Error;

/// The default `User-Agent`: `mgc-api/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("mgc-api/", env!("CARGO_PKG_VERSION"));
/// Environment variable with an API key (sent as `X-API-Key`).
pub const API_KEY_ENV: &str = "MGC_API_KEY";
/// Environment variable with a JWT access token (sent as `Authorization: Bearer`).
pub const TOKEN_ENV: &str = "MGC_TOKEN";
/// Environment variable with the region (`br-se1`, `br-ne1`, `br-mgl1`).
pub const REGION_ENV: &str = "MGC_REGION";
/// Environment variable with a base URL overriding the region.
pub const API_URL_ENV: &str = "MGC_API_URL";

/// A Magalu Cloud region.
///
/// ```
/// use mgc_api::Region;
/// let r: Region = "br-mgl1".parse().unwrap();
/// assert_eq!(r.base_url(), "https://api.magalu.cloud/br-se-1/container-registry");
/// assert_eq!(Region::default(), Region::BrSe1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Region {
    /// `br-se1` (the default).
    #[default]
    BrSe1,
    /// `br-ne1`.
    BrNe1,
    /// `br-mgl1`, whose URL segment is `br-se-1`.
    BrMgl1,
}

impl Region {
    /// Every region.
    pub const ALL: [Region; 3] = [Region::BrSe1, Region::BrNe1, Region::BrMgl1];

    /// The region's name, e.g. `br-mgl1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::BrSe1 => "br-se1",
            Region::BrNe1 => "br-ne1",
            Region::BrMgl1 => "br-mgl1",
        }
    }

    /// The segment used in API URLs, e.g. `br-se-1` for `br-mgl1`.
    pub fn url_segment(self) -> &'static str {
        match self {
            Region::BrSe1 => "br-se1",
            Region::BrNe1 => "br-ne1",
            Region::BrMgl1 => "br-se-1",
        }
    }

    /// `https://api.magalu.cloud/{segment}/container-registry`.
    pub fn base_url(self) -> String {
        format!(
            "https://api.magalu.cloud/{}/container-registry",
            self.url_segment()
        )
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = Error;

    fn from_str(s: &str) -> Result<Region, Error> {
        let s = s.trim().to_ascii_lowercase();
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown region {s:?}; expected one of br-se1, br-ne1, br-mgl1"
                ))
            })
    }
}

/// How requests authenticate.
#[derive(Clone)]
pub(crate) enum Credential {
    /// `X-API-Key: <key>`.
    ApiKey(Secret),
    /// `Authorization: Bearer <token>` (the token without the prefix).
    Bearer(Secret),
}

impl Credential {
    fn describe(&self) -> &'static str {
        match self {
            Credential::ApiKey(_) => "api key",
            Credential::Bearer(_) => "bearer token",
        }
    }

    /// The header to send, marked sensitive.
    pub(crate) fn header(&self) -> Result<(http::HeaderName, HeaderValue), Error> {
        let (name, value) = match self {
            Credential::ApiKey(k) => (
                http::HeaderName::from_static("x-api-key"),
                k.expose().to_owned(),
            ),
            Credential::Bearer(t) => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", t.expose()),
            ),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::invalid(format!(
                "the {} contains characters not allowed in an HTTP header",
                self.describe()
            ))
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}

type RequestIdGenerator = Arc<dyn Fn() -> String + Send + Sync>;

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) base_url: String,
    pub(crate) credential: Credential,
    pub(crate) user_agent: HeaderValue,
    pub(crate) request_id: RequestIdGenerator,
}

/// The Magalu Cloud Container Registry API client: cheap to clone, `Send +
/// Sync`. Each service is reached through a method named after it.
///
/// ```no_run
/// use mgc_api::{ListOptions, MgcClient, Region};
/// # async fn run() -> Result<(), mgc_api::Error> {
/// let mgc = MgcClient::builder().region(Region::BrNe1).api_key("my-key").build()?;
/// let page = mgc.registries().list(ListOptions::new().limit(10)).await?;
/// for r in page.results {
///     println!("{} {}", r.id, r.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MgcClient {
    pub(crate) inner: Arc<Inner>,
    pub(crate) fixed_request_id: Option<HeaderValue>,
}

impl fmt::Debug for MgcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MgcClient")
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.credential.describe())
            .field("user_agent", &self.inner.user_agent)
            .field("fixed_request_id", &self.fixed_request_id)
            .finish_non_exhaustive()
    }
}

impl MgcClient {
    /// A builder: region `br-se1`, no credentials yet.
    pub fn builder() -> MgcClientBuilder {
        MgcClientBuilder::default()
    }

    /// A client configured from `MGC_API_KEY` or `MGC_TOKEN`, `MGC_REGION`
    /// and `MGC_API_URL`; see [`MgcClientBuilder::from_env`].
    pub fn from_env() -> Result<MgcClient, Error> {
        MgcClientBuilder::from_env()?.build()
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// A client sending `id` as the `X-Request-ID` of every request it makes
    /// (instead of a fresh UUIDv4 each), e.g. to correlate with your own logs.
    ///
    /// ```
    /// # let mgc = mgc_api::MgcClient::builder().api_key("k").build().unwrap();
    /// let traced = mgc.with_request_id("3f1f7a52-51a9-4c1e-9d7e-1b2d3c4e5f60").unwrap();
    /// assert!(mgc.with_request_id("bad\nid").is_err());
    /// # drop(traced);
    /// ```
    pub fn with_request_id(&self, id: impl Into<String>) -> Result<MgcClient, Error> {
        let id = id.into();
        let value = request_id_value(&id)?;
        Ok(MgcClient {
            inner: self.inner.clone(),
            fixed_request_id: Some(value),
        })
    }

    /// The `X-Request-ID` for the next request.
    pub(crate) fn next_request_id(&self) -> Result<HeaderValue, Error> {
        match &self.fixed_request_id {
            Some(v) => Ok(v.clone()),
            None => request_id_value(&(self.inner.request_id)()),
        }
    }
}

/// The services: each a struct holding the client, and a method of
/// [`MgcClient`] named after it handing one out.
macro_rules! services {
    ($($(#[$doc:meta])* $name:ident: $service:ident,)+) => {
        $(
            #[doc = ::core::concat!(
                "The `", ::core::stringify!($name), "` operations; from [`MgcClient::",
                ::core::stringify!($name), "`]."
            )]
            #[derive(Debug, Clone)]
            pub struct $service {
                pub(crate) client: MgcClient,
            }
        )+

        impl MgcClient {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> $service {
                    $service { client: self.clone() }
                }
            )+
        }
    };
}

services! {
    /// Container registry login credentials.
    credentials: CredentialsService,
    /// Container registries.
    registries: RegistriesService,
    /// Repositories of a registry (`/v1`, by UUID).
    repositories: RepositoriesService,
    /// Images of a repository (`/v1`).
    images: ImagesService,
    /// Proxy caches.
    proxy_caches: ProxyCachesService,
    /// Registry members and their roles.
    members: MembersService,
    /// Container registry users.
    users: UsersService,
    /// Image scans and their vulnerabilities.
    scans: ScansService,
}

fn request_id_value(id: &str) -> Result<HeaderValue, Error> {
    let ok = !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(Error::invalid(format!(
            "request id {id:?} must be 1 to 200 visible ASCII characters"
        )));
    }
    HeaderValue::from_str(id)
        .map_err(|_| Error::invalid(format!("request id {id:?} is not a header value")))
}

/// Builds an [`MgcClient`].
///
/// ```
/// use mgc_api::{MgcClient, Region};
/// let mgc = MgcClient::builder()
///     .region(Region::BrMgl1)
///     .token("eyJhbGciOi…")
///     .user_agent("my-tool/1.0")
///     .max_attempts(3)
///     .build()
///     .unwrap();
/// assert_eq!(mgc.base_url(), "https://api.magalu.cloud/br-se-1/container-registry");
/// assert!(!format!("{mgc:?}").contains("eyJ"));
/// ```
#[derive(Default, Clone)]
pub struct MgcClientBuilder {
    region: Region,
    base_url: Option<String>,
    credential: Option<Credential>,
    http_client: Option<HttpClient>,
    user_agent: Option<String>,
    max_attempts: Option<u32>,
    request_id: Option<RequestIdGenerator>,
}

impl fmt::Debug for MgcClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MgcClientBuilder")
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("auth", &self.credential.as_ref().map(Credential::describe))
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

registry_core::setters!(MgcClientBuilder {
    /// A custom base URL (e.g. a test server or a proxy); requests go to
    /// `{base_url}/v0/...` and `{base_url}/v1/...`.
    base_url: impl Into<String>,
    /// Use this HTTP client (its retry, timeout and TLS settings) instead of
    /// building one. Build it without redirects, or an `X-API-Key` could
    /// follow a redirect to another host. Not with
    /// [`max_attempts`](Self::max_attempts) (an error at
    /// [`build`](Self::build)).
    http_client: HttpClient,
    /// The `User-Agent` (default `mgc-api/<version>`).
    user_agent: impl Into<String>,
    /// Total attempts for idempotent requests on 408/429/5xx and transport
    /// errors, honouring `Retry-After` (default 5; 1 disables retries).
    /// Only for the HTTP client this builder makes: with
    /// [`http_client`](Self::http_client), retries are that client's, and
    /// [`build`](Self::build) refuses both.
    max_attempts: u32,
});

impl MgcClientBuilder {
    /// A builder from the environment: `MGC_API_KEY` (preferred) or
    /// `MGC_TOKEN`, `MGC_REGION` and `MGC_API_URL` (which overrides the
    /// region). Empty variables count as unset. Fails on an unknown region.
    pub fn from_env() -> Result<MgcClientBuilder, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<MgcClientBuilder, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut b = MgcClientBuilder::default();
        if let Some(region) = get(REGION_ENV) {
            b =
                b.region(region.parse().map_err(|e: Error| {
                    Error::invalid(format!("{REGION_ENV}: {}", e.message()))
                })?);
        }
        if let Some(url) = get(API_URL_ENV) {
            b = b.base_url(url);
        }
        if let Some(token) = get(TOKEN_ENV) {
            b = b.token(token);
        }
        if let Some(key) = get(API_KEY_ENV) {
            b = b.api_key(key);
        }
        Ok(b)
    }

    /// The region (default `br-se1`); ignored when a base URL is set.
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Authenticate with an API key, sent as `X-API-Key` (replaces a token).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.credential = Some(Credential::ApiKey(key.into()));
        self
    }

    /// Authenticate with a JWT, sent as `Authorization: Bearer <jwt>`; a
    /// leading `Bearer ` is accepted (replaces an API key).
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        let token: Secret = token.into();
        let raw = token.expose().trim();
        let raw = match raw.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim_start(),
            _ => raw,
        };
        self.credential = Some(Credential::Bearer(Secret::new(raw)));
        self
    }

    /// Makes the `X-Request-ID` of each request (default: a random UUIDv4).
    pub fn request_id_generator(mut self, f: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.request_id = Some(Arc::new(f));
        self
    }

    /// Builds the client. Fails without credentials, on a base URL that is
    /// not `http(s)://`, on values that cannot be sent as headers, or on
    /// [`http_client`](Self::http_client) with
    /// [`max_attempts`](Self::max_attempts).
    pub fn build(self) -> Result<MgcClient, Error> {
        if self.http_client.is_some() && self.max_attempts.is_some() {
            return Err(Error::invalid(
                "max_attempts(..) cannot be combined with http_client(..): retries are set \
                 on the HTTP client given",
            ));
        }
        let credential = self.credential.ok_or_else(|| {
            Error::invalid(format!(
                "no credentials: set an API key ({API_KEY_ENV}) or an access token ({TOKEN_ENV})"
            ))
        })?;
        let secret = match &credential {
            Credential::ApiKey(s) | Credential::Bearer(s) => s,
        };
        if secret.is_empty() {
            return Err(Error::invalid(format!(
                "the {} is empty",
                credential.describe()
            )));
        }
        credential.header()?;
        let base_url = match self.base_url {
            Some(u) => normalize_base_url(&u)?,
            None => self.region.base_url(),
        };
        let ua = self
            .user_agent
            .unwrap_or_else(|| DEFAULT_USER_AGENT.to_owned());
        let user_agent = HeaderValue::from_str(&ua)
            .map_err(|_| Error::invalid(format!("user agent {ua:?} is not a header value")))?;
        let http = match self.http_client {
            Some(h) => h,
            None => HttpClient::builder()
                .user_agent(ua.clone())
                .retry_policy(Backoff::new().max_attempts(self.max_attempts.unwrap_or(5)))
                .redirects(RedirectLayer::new().max_hops(0))
                .build()
                .map_err(|e| Error::new(e.kind(), "building the HTTP client").with_source(e))?,
        };
        let request_id = self
            .request_id
            .unwrap_or_else(|| Arc::new(|| uuid::Uuid::new_v4().to_string()));
        Ok(MgcClient {
            inner: Arc::new(Inner {
                http,
                base_url,
                credential,
                user_agent,
                request_id,
            }),
            fixed_request_id: None,
        })
    }
}

fn normalize_base_url(raw: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::invalid(format!("base URL {raw:?} {why}"));
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<MgcClientBuilder, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MgcClientBuilder::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn regions() {
        assert_eq!(
            Region::BrSe1.base_url(),
            "https://api.magalu.cloud/br-se1/container-registry"
        );
        assert_eq!(
            Region::BrNe1.base_url(),
            "https://api.magalu.cloud/br-ne1/container-registry"
        );
        assert_eq!(Region::BrMgl1.url_segment(), "br-se-1");
        assert_eq!("BR-NE1".parse::<Region>().unwrap(), Region::BrNe1);
        assert!("br-se-1".parse::<Region>().is_err());
    }

    #[test]
    fn environment() {
        let c = from(&[
            (API_KEY_ENV, "k1"),
            (TOKEN_ENV, "t1"),
            (REGION_ENV, "br-ne1"),
        ])
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(
            c.base_url(),
            "https://api.magalu.cloud/br-ne1/container-registry"
        );
        assert!(matches!(&c.inner.credential, Credential::ApiKey(k) if k.expose() == "k1"));

        let c = from(&[
            (API_KEY_ENV, ""),
            (TOKEN_ENV, "Bearer t1"),
            (API_URL_ENV, "http://127.0.0.1:9/x/"),
        ])
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9/x");
        let (name, value) = c.inner.credential.header().unwrap();
        assert_eq!(name, http::header::AUTHORIZATION);
        assert_eq!(value, "Bearer t1");
        assert!(value.is_sensitive());

        let e = from(&[(REGION_ENV, "us-east-1")]).unwrap_err();
        assert!(e.to_string().contains("MGC_REGION"), "{e}");
        let e = from(&[]).unwrap().build().unwrap_err();
        assert!(e.to_string().contains("MGC_API_KEY"), "{e}");
    }

    #[test]
    fn bad_settings() {
        let b = || MgcClient::builder().api_key("k");
        assert!(b().base_url("ftp://x").build().is_err());
        assert!(b().base_url("not a url").build().is_err());
        assert!(b().base_url("https://u:p@x").build().is_err());
        assert!(MgcClient::builder().api_key("").build().is_err());
        let e = MgcClient::builder()
            .api_key("sec\nret")
            .build()
            .unwrap_err();
        assert!(!e.to_string().contains("sec"), "{e}");
        let e = b()
            .http_client(HttpClient::builder().build().unwrap())
            .max_attempts(2)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("max_attempts(..)"), "{e}");
        let t = MgcClient::builder().token("bearer abc").build().unwrap();
        assert_eq!(t.inner.credential.header().unwrap().1, "Bearer abc");
    }
}
