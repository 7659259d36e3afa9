//! [`Magalu`]: the Magalu Cloud Container Registry management API and the
//! registries themselves, logged in with credentials fetched from the API.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use mgc_api::{MgcClient, MgcClientBuilder, REGION_ENV, Region};
use registry_core::auth::{Authenticator, DockerAuth};
use registry_core::credentials::{Credential, Static};
use registry_core::{Error, ErrorKind, Secret};

use crate::TransportOptions;

/// Magalu Cloud Container Registry: [`Magalu::api`] for the management API
/// (registries, repositories, images, scans…) and [`Magalu::registry`] for
/// the OCI distribution API of one registry at
/// `container-registry.{region}.magalu.cloud/{registry-name}`.
///
/// The registry login (`GET /v0/credentials`) is fetched once, on the first
/// [`Magalu::registry`] call, and shared by every registry and every clone of
/// this value; it is sent as Basic credentials to the registry host only.
///
/// ```no_run
/// # async fn run() -> Result<(), facade::core::Error> {
/// use facade::mgc::{ListOptions, RegistryId, RegistryRequest};
/// let mgc = facade::Magalu::builder().api_key("my-api-key").region("br-ne1").build()?;
/// let created = mgc.api().registries().create(RegistryRequest::new("myregistry")).await?;
/// // Ids are typed (`created.id` is a `RegistryId`); text is parsed once.
/// let repos = mgc.api().repositories().list(&created.id, ListOptions::new()).await?;
/// let other: RegistryId = "0c6bbd87-881a-4bf8-b3f6-4ff3ceacb42c".parse()?;
/// mgc.api().registries().delete(&other).await?;
/// # drop(repos);
/// let app = mgc.registry(&created.name).await?.with_segment("team/app");
/// let digest = app.get_digest("latest").await?;
/// println!("{}/team/app@{digest}", mgc.registry_host());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Magalu {
    api: MgcClient,
    region: Region,
    registry_host: String,
    transport: TransportOptions,
    login: Arc<LoginCache>,
}

impl fmt::Debug for Magalu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Magalu")
            .field("api", &self.api)
            .field("region", &self.region)
            .field("registry_host", &self.registry_host)
            .field("logged_in", &self.login.ready().is_some())
            .finish_non_exhaustive()
    }
}

impl Magalu {
    /// A builder: region `br-se1`, no credentials yet.
    pub fn builder() -> MagaluBuilder {
        MagaluBuilder::default()
    }

    /// A client configured from `MGC_API_KEY` or `MGC_TOKEN`, `MGC_REGION`
    /// and `MGC_API_URL`; see [`MagaluBuilder::from_env`].
    pub fn from_env() -> Result<Magalu, Error> {
        MagaluBuilder::from_env().build()
    }

    /// The registry host of a region: `container-registry.{region}.magalu.cloud`.
    ///
    /// ```
    /// use facade::mgc::Region;
    /// let host = facade::Magalu::registry_host_for(Region::BrNe1);
    /// assert_eq!(host, "container-registry.br-ne1.magalu.cloud");
    /// ```
    pub fn registry_host_for(region: Region) -> String {
        format!("container-registry.{}.magalu.cloud", region.as_str())
    }

    /// The management API client. Its errors are [`mgc_api::Error`]s,
    /// which `?` turns into this crate's one [`Error`](crate::Error)
    /// without losing the API's slug, message or request id (read them
    /// back with [`ApiErrorExt`](crate::ApiErrorExt)). Its operations take
    /// typed ids ([`mgc_api::RegistryId`], [`mgc_api::RepositoryId`], …),
    /// parsed from text once by the caller and passed through as they are.
    pub fn api(&self) -> &MgcClient {
        &self.api
    }

    /// The region.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The registry host images are pushed to and pulled from
    /// (`container-registry.{region}.magalu.cloud` unless overridden).
    pub fn registry_host(&self) -> &str {
        &self.registry_host
    }

    /// An OCI client for the registry named `name`, scoped to it: add the
    /// repository with [`with_segment`](oci_dist::Client::with_segment).
    /// Fetches the registry login from the API on first use.
    ///
    /// Fails with [`ErrorKind::InvalidInput`] on a name that is not one
    /// repository path component (lowercase letters and digits joined by
    /// `.`, `_`, `__` or runs of `-`, as
    /// [`validate_path_component`](oci_dist::reference::validate_path_component)
    /// checks), or with the API's error when the login cannot be fetched.
    pub async fn registry(&self, name: &str) -> Result<oci_dist::Client, Error> {
        check_registry_name(name)?;
        Ok(self.registry_root().await?.with_segment(name))
    }

    /// An OCI client for the registry host, not scoped to a registry (e.g.
    /// for [`oci_dist::Client::for_reference`]). Fetches the registry login
    /// from the API on first use.
    pub async fn registry_root(&self) -> Result<oci_dist::Client, Error> {
        self.login.get_or_try_init(|| self.connect()).await
    }

    /// Forgets the cached registry login, e.g. after
    /// `api().credentials().reset_password()`: the next
    /// [`registry`](Self::registry) fetches it again. Clients already
    /// returned keep the old one.
    pub fn forget_login(&self) {
        *self.login.ready() = None;
    }

    async fn connect(&self) -> Result<oci_dist::Client, Error> {
        let login = self.api.credentials().get().await.map_err(|e| {
            Error::from(e).context(format!(
                "fetching the login for {} from the Magalu API",
                self.registry_host
            ))
        })?;
        let provider = Static::new(Credential::basic(login.username, login.password))
            .for_host(self.registry_host.clone());
        let auth: Arc<dyn Authenticator> = Arc::new(DockerAuth::new(provider));
        self.transport.registry_client(&self.registry_host, auth)
    }
}

/// A registry name is one repository path component.
fn check_registry_name(name: &str) -> Result<(), Error> {
    oci_dist::reference::validate_path_component(name)
        .map_err(|e| e.context(format!("registry name {name:?}")))
}

/// The registry client, made once on first use: concurrent first callers
/// wait at `loading` for one fetch of the login, then find it `ready`. A
/// failed or cancelled fetch releases the gate, and the next waiter fetches.
#[derive(Default)]
struct LoginCache {
    ready: Mutex<Option<oci_dist::Client>>,
    loading: tokio::sync::Mutex<()>,
}

impl LoginCache {
    fn ready(&self) -> MutexGuard<'_, Option<oci_dist::Client>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn get_or_try_init<Fut>(
        &self,
        init: impl FnOnce() -> Fut,
    ) -> Result<oci_dist::Client, Error>
    where
        Fut: Future<Output = Result<oci_dist::Client, Error>>,
    {
        if let Some(client) = self.ready().clone() {
            return Ok(client);
        }
        let _gate = self.loading.lock().await;
        if let Some(client) = self.ready().clone() {
            return Ok(client);
        }
        let client = init().await?;
        *self.ready() = Some(client.clone());
        Ok(client)
    }
}

/// Builds a [`Magalu`].
///
/// ```
/// let mgc = facade::Magalu::builder()
///     .token("eyJhbGciOi…")
///     .region("br-mgl1")
///     .build()
///     .unwrap();
/// assert_eq!(mgc.api().base_url(), "https://api.magalu.cloud/br-se-1/container-registry");
/// assert_eq!(mgc.registry_host(), "container-registry.br-mgl1.magalu.cloud");
/// assert!(!format!("{mgc:?}").contains("eyJ"));
///
/// let local = facade::Magalu::builder()
///     .api_key("k")
///     .api_url("http://127.0.0.1:8080")
///     .registry_host("127.0.0.1:5000")
///     .transport(facade::TransportOptions::new().plain_http(true))
///     .build()
///     .unwrap();
/// assert_eq!(local.registry_host(), "127.0.0.1:5000");
/// assert!(facade::Magalu::builder().api_key("k").region("us-east-1").build().is_err());
/// ```
#[derive(Default, Clone)]
pub struct MagaluBuilder {
    /// Credentials and API URL; region, `User-Agent` and HTTP client are
    /// set by [`build`](Self::build).
    api: MgcClientBuilder,
    region: Option<String>,
    registry_host: Option<String>,
    user_agent: Option<String>,
    transport: TransportOptions,
}

impl fmt::Debug for MagaluBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MagaluBuilder")
            .field("api", &self.api)
            .field("region", &self.region)
            .field("registry_host", &self.registry_host)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

registry_core::setters!(MagaluBuilder {
    /// The registry host (`host[:port]`) instead of
    /// `container-registry.{region}.magalu.cloud`.
    registry_host: impl Into<String>,
    /// The `User-Agent` of API and registry requests (default: the
    /// transport's, else `mgc-api/<version>` for the API and
    /// [`crate::USER_AGENT`] for registries).
    user_agent: impl Into<String>,
});

impl MagaluBuilder {
    /// A builder from the environment: `MGC_API_KEY` (preferred) or
    /// `MGC_TOKEN`, `MGC_REGION` and `MGC_API_URL`, read as
    /// [`MgcClientBuilder::from_env`] reads them (empty variables count as
    /// unset); an unknown region fails in [`build`](Self::build).
    pub fn from_env() -> MagaluBuilder {
        let region = std::env::var(REGION_ENV).ok();
        MagaluBuilder {
            // It fails only on an unknown `MGC_REGION`, which `build` reports.
            api: MgcClientBuilder::from_env().unwrap_or_default(),
            region: region.filter(|r| !r.trim().is_empty()),
            ..MagaluBuilder::default()
        }
    }

    /// Authenticate to the API with an API key (`X-API-Key`); replaces a token.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api = self.api.api_key(key);
        self
    }

    /// Authenticate to the API with a JWT (`Authorization: Bearer`; a
    /// leading `Bearer ` is accepted); replaces an API key.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.api = self.api.token(token);
        self
    }

    /// A custom API base URL (requests go to `{url}/v0/…` and `{url}/v1/…`)
    /// instead of the region's; checked by [`build`](Self::build).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api = self.api.base_url(url);
        self
    }

    /// The region: a [`Region`] or its name (`br-se1`, the default,
    /// `br-ne1`, `br-mgl1`); checked by [`build`](Self::build).
    pub fn region(mut self, region: impl fmt::Display) -> Self {
        self.region = Some(region.to_string());
        self
    }

    /// Transport settings of the API and registry clients (TLS, timeouts,
    /// retries, `User-Agent`; plain HTTP and jobs for the registries).
    pub fn transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Builds the client. Fails without credentials, on an unknown region
    /// or a bad API URL; nothing is sent yet.
    pub fn build(self) -> Result<Magalu, Error> {
        let region: Region = match &self.region {
            Some(r) => r.parse().map_err(Error::from)?,
            None => Region::default(),
        };
        let mut api = self.api.region(region);
        let mut transport = self.transport;
        if let Some(ua) = self.user_agent {
            transport = transport.user_agent(ua);
        }
        // One transport for the API and the registries: TLS, timeouts and
        // retries from the same options; no redirects for the API key.
        if let Some(ua) = &transport.user_agent {
            api = api.user_agent(ua);
        }
        api = api.http_client(transport.api_http_client()?);
        let registry_host = match self.registry_host {
            Some(h) if h.trim().is_empty() => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "the registry host is empty",
                ));
            }
            Some(h) => h.trim().trim_end_matches('/').to_owned(),
            None => Magalu::registry_host_for(region),
        };
        Ok(Magalu {
            api: api.build()?,
            region,
            registry_host,
            transport,
            login: Arc::new(LoginCache::default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names() {
        // The OCI rule for one path component: `__` and runs of `-` join.
        for ok in [
            "myregistry",
            "a",
            "cool_registry",
            "team-1.x",
            "a__b",
            "a--b",
        ] {
            assert!(check_registry_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "My", "a/b", "-a", "a-", "a___b", "a._b", "a b", "../x"] {
            let e = check_registry_name(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn hosts_and_regions() {
        let b = || Magalu::builder().api_key("k");
        let m = b().build().unwrap();
        assert_eq!(m.region(), Region::BrSe1);
        assert_eq!(m.registry_host(), "container-registry.br-se1.magalu.cloud");
        let m = b().region(Region::BrNe1).build().unwrap();
        assert_eq!(
            m.api().base_url(),
            "https://api.magalu.cloud/br-ne1/container-registry"
        );
        assert_eq!(m.registry_host(), "container-registry.br-ne1.magalu.cloud");
        let e = b().region("mars-1").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = Magalu::builder().build().unwrap_err();
        assert!(e.to_string().contains("MGC_API_KEY"), "{e}");
        assert!(b().registry_host(" ").build().is_err());
        assert!(b().api_url("ftp://x").build().is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let b = Magalu::builder().api_key("sekrit-key");
        assert!(!format!("{b:?}").contains("sekrit"));
        let m = b.build().unwrap();
        assert!(!format!("{m:?}").contains("sekrit"));
    }
}
