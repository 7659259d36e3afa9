//! Registry credentials and where they come from.
//!
//! The lookup order is explicit > environment > docker `config.json`
//! (`auths`, `credsStore`, `credHelpers`, identity tokens) > anonymous,
//! expressed as a [`CredentialChain`]. Reading `config.json` and running
//! credential helpers is done by the `docker_credential` crate.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::host::normalize as normalize_host;
use crate::secret::Secret;

/// What to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (also admin users and repository tokens).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token ("identity token" in docker's config.json),
    /// exchanged at the token realm with `grant_type=refresh_token`.
    IdentityToken(Secret),
    /// A registry access token sent as-is as `Authorization: Bearer`.
    RegistryToken(Secret),
}

impl Credential {
    /// Basic credentials.
    ///
    /// ```
    /// use registry_core::credentials::Credential;
    /// let c = Credential::basic("alice", "s3cret");
    /// assert!(!format!("{c:?}").contains("s3cret"));
    /// ```
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Credential {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Credential::RegistryToken(_) => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

/// Looks up the credential for a registry host (`host[:port]`).
pub trait CredentialProvider: Send + Sync + 'static {
    /// The credential for `host`, or `None` to let the next provider answer.
    fn credential(&self, host: &str) -> Option<Credential>;
}

impl<F> CredentialProvider for F
where
    F: Fn(&str) -> Option<Credential> + Send + Sync + 'static,
{
    fn credential(&self, host: &str) -> Option<Credential> {
        self(host)
    }
}

/// No credentials: anonymous access.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl CredentialProvider for Anonymous {
    fn credential(&self, _host: &str) -> Option<Credential> {
        None
    }
}

/// One credential, used only for the hosts it was given for.
///
/// ```
/// use registry_core::credentials::{Credential, CredentialProvider, Static};
/// let p = Static::new(Credential::basic("u", "p")).for_host("r.example:5000");
/// assert!(p.credential("r.example:5000").is_some());
/// assert!(p.credential("evil.example").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Static {
    credential: Credential,
    hosts: Option<Vec<String>>,
}

impl Static {
    /// A credential for every host this client talks to. Prefer
    /// [`Static::for_host`] when the client may reach several registries.
    pub fn new(credential: Credential) -> Static {
        Static {
            credential,
            hosts: None,
        }
    }

    /// Restricts the credential to `host` (may be called several times).
    pub fn for_host(mut self, host: impl Into<String>) -> Static {
        self.hosts
            .get_or_insert_with(Vec::new)
            .push(normalize_host(&host.into()));
        self
    }
}

impl CredentialProvider for Static {
    fn credential(&self, host: &str) -> Option<Credential> {
        match &self.hosts {
            Some(hosts) if !hosts.iter().any(|h| h == &normalize_host(host)) => None,
            _ => Some(self.credential.clone()),
        }
    }
}

/// Credentials from two environment variables (user name and password).
#[derive(Debug, Clone)]
pub struct Environment {
    user_var: String,
    password_var: String,
}

impl Environment {
    /// Reads `user_var` and `password_var` at each lookup.
    pub fn new(user_var: impl Into<String>, password_var: impl Into<String>) -> Environment {
        Environment {
            user_var: user_var.into(),
            password_var: password_var.into(),
        }
    }
}

impl CredentialProvider for Environment {
    fn credential(&self, _host: &str) -> Option<Credential> {
        let user = std::env::var(&self.user_var)
            .ok()
            .filter(|u| !u.is_empty())?;
        let password = std::env::var(&self.password_var).ok()?;
        Some(Credential::basic(user, password))
    }
}

/// Credentials from docker's `config.json`, including `credsStore`,
/// `credHelpers` and identity tokens.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    path: Option<PathBuf>,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, read at
    /// each lookup.
    pub fn new() -> DockerConfig {
        DockerConfig { path: None }
    }

    /// A specific config file.
    pub fn at(path: impl Into<PathBuf>) -> DockerConfig {
        DockerConfig {
            path: Some(path.into()),
        }
    }

    /// The file this provider reads.
    pub fn path(&self) -> Option<PathBuf> {
        self.path.clone().or_else(default_docker_config_path)
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn default_docker_config_path() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")))
        .map(|d| d.join("config.json"))
}

/// The key docker uses in `config.json` for a registry host.
pub fn docker_config_key(host: &str) -> String {
    match normalize_host(host).as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_owned()
        }
        h => h.to_owned(),
    }
}

impl DockerConfig {
    /// Stores Basic credentials for `host` in `auths` (what `docker login`
    /// does without a credential store). The file is rewritten atomically
    /// (temp file + rename) with mode 0600; other entries are kept.
    ///
    /// ```
    /// use registry_core::credentials::{Credential, CredentialProvider, DockerConfig};
    /// let dir = tempfile::tempdir().unwrap();
    /// let cfg = DockerConfig::at(dir.path().join("config.json"));
    /// cfg.store("r.example:5000", "alice", "pw").unwrap();
    /// assert_eq!(cfg.credential("r.example:5000"), Some(Credential::basic("alice", "pw")));
    /// assert!(cfg.erase("r.example:5000").unwrap());
    /// assert_eq!(cfg.credential("r.example:5000"), None);
    /// ```
    pub fn store(&self, host: &str, username: &str, password: &str) -> Result<(), crate::Error> {
        use base64::Engine as _;
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        self.update(|auths| {
            auths.insert(docker_config_key(host), serde_json::json!({ "auth": auth }));
            true
        })
        .map(|_| ())
    }

    /// Removes the `auths` entry for `host`; `Ok(false)` when there was none.
    pub fn erase(&self, host: &str) -> Result<bool, crate::Error> {
        let key = docker_config_key(host);
        self.update(|auths| {
            let before = auths.len();
            auths.retain(|k, _| k != &key && normalize_host(k) != normalize_host(host));
            auths.len() != before
        })
    }

    fn update(
        &self,
        change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool,
    ) -> Result<bool, crate::Error> {
        use std::io::Write as _;
        let path = self.path().ok_or_else(|| {
            crate::Error::invalid_input("no docker config path: set DOCKER_CONFIG or HOME")
        })?;
        let mut doc: serde_json::Value = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                crate::Error::invalid_input(format!("{} is not valid JSON", path.display()))
                    .with_source(e)
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
            Err(e) => return Err(e.into()),
        };
        let obj = doc.as_object_mut().ok_or_else(|| {
            crate::Error::invalid_input(format!("{} is not a JSON object", path.display()))
        })?;
        let auths = obj
            .entry("auths")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .ok_or_else(|| {
                crate::Error::invalid_input("\"auths\" in docker config is not an object")
            })?;
        if !change(auths) {
            return Ok(false);
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json")
            .tempfile_in(dir)?;
        {
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        tmp.write_all(&serde_json::to_vec_pretty(&doc).expect("JSON value serialises"))?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path)
            .map_err(|e| crate::Error::from(e.error))?;
        Ok(true)
    }
}

impl CredentialProvider for DockerConfig {
    fn credential(&self, host: &str) -> Option<Credential> {
        let path = self.path()?;
        let file = std::fs::File::open(&path).ok()?;
        let key = docker_config_key(host);
        match docker_credential::get_credential_from_reader(std::io::BufReader::new(file), &key) {
            Ok(docker_credential::DockerCredential::UsernamePassword(u, p)) => {
                Some(Credential::basic(u, p))
            }
            Ok(docker_credential::DockerCredential::IdentityToken(t)) => {
                Some(Credential::IdentityToken(Secret::new(t)))
            }
            Err(docker_credential::CredentialRetrievalError::NoCredentialConfigured) => None,
            Err(e) => {
                tracing::warn!(host, config = %path.display(), "reading docker credentials failed: {e}");
                None
            }
        }
    }
}

/// Providers asked in order; the first answer wins.
///
/// ```
/// use registry_core::credentials::{CredentialChain, Credential, CredentialProvider, DockerConfig, Environment, Static};
/// let chain = CredentialChain::new()
///     .with(Static::new(Credential::basic("u", "p")).for_host("r.example"))
///     .with(Environment::new("CRCTL_USERNAME", "CRCTL_PASSWORD"))
///     .with(DockerConfig::new());
/// assert!(chain.credential("r.example").is_some());
/// ```
#[derive(Clone, Default)]
pub struct CredentialChain {
    providers: Vec<Arc<dyn CredentialProvider>>,
}

impl CredentialChain {
    /// An empty chain (anonymous).
    pub fn new() -> CredentialChain {
        CredentialChain::default()
    }

    /// The usual chain: environment variables, then docker's config.json.
    pub fn standard(user_var: &str, password_var: &str) -> CredentialChain {
        CredentialChain::new()
            .with(Environment::new(user_var, password_var))
            .with(DockerConfig::new())
    }

    /// Appends a provider.
    pub fn with(mut self, provider: impl CredentialProvider) -> CredentialChain {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Puts a provider first (e.g. explicit credentials).
    pub fn prepend(mut self, provider: impl CredentialProvider) -> CredentialChain {
        self.providers.insert(0, Arc::new(provider));
        self
    }
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl CredentialProvider for CredentialChain {
    fn credential(&self, host: &str) -> Option<Credential> {
        self.providers.iter().find_map(|p| p.credential(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn docker_config_auths_and_identity_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut f = std::fs::File::create(&path).unwrap();
        write!(
            f,
            r#"{{"auths":{{
                "r.example:5000":{{"auth":"YWxpY2U6czNjcmV0"}},
                "tok.example":{{"auth":"PHRva2VuPjo=","identitytoken":"refresh-xyz"}},
                "https://index.docker.io/v1/":{{"auth":"ZGg6aHVi"}}
            }}}}"#
        )
        .unwrap();
        let cfg = DockerConfig::at(&path);
        assert_eq!(
            cfg.credential("r.example:5000"),
            Some(Credential::basic("alice", "s3cret"))
        );
        assert_eq!(
            cfg.credential("tok.example"),
            Some(Credential::IdentityToken(Secret::new("refresh-xyz")))
        );
        assert_eq!(
            cfg.credential("docker.io"),
            Some(Credential::basic("dh", "hub"))
        );
        assert_eq!(cfg.credential("other.example"), None);
    }
}
