//! Real `docker-registry` (distribution 2.8) processes for integration tests.
//!
//! [`TestRegistry`] starts Debian's `docker-registry` on 127.0.0.1 on a free
//! port, with its own temporary storage directory and generated `config.yml`,
//! waits until `GET /v2/` answers, and kills it when dropped. Three auth modes:
//! [`TestRegistry::anonymous`], [`TestRegistry::htpasswd`] and
//! [`TestRegistry::token`] (with a [`crate::TokenServer`]).
//!
//! The config rendering ([`RegistryConfig`]), the htpasswd line
//! ([`htpasswd_line`]), the binary look-up ([`docker_registry_path`]) and the
//! readiness probe ([`probe`]) are public so that `cargo xtask registry` can
//! reuse them.

use std::fs::File;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::http::{Proxy, ProxyBuilder};
use crate::token::{CERT_PEM, TokenServer};

/// PEM of the self-signed TLS certificate (`127.0.0.1`, `localhost`) a
/// registry started with [`TestRegistryBuilder::tls`] serves; trust it as an
/// extra root.
pub const TLS_CERT_PEM: &str = include_str!("../fixtures/tls-cert.pem");

/// PEM of the key of [`TLS_CERT_PEM`].
const TLS_KEY_PEM: &str = include_str!("../fixtures/tls-key.pem");

/// The message given when no `docker-registry` binary can be found.
pub const INSTALL_HINT: &str = "docker-registry not found: run `apt-get install -y docker-registry` (Debian) — .ci/run installs it";

/// Where Debian installs distribution's registry binary.
pub const DEFAULT_BINARY: &str = "/usr/bin/docker-registry";

/// Environment variable that may name another registry binary.
pub const BINARY_ENV: &str = "DOCKER_REGISTRY_BIN";

/// How long [`TestRegistry`] waits for the registry to answer `GET /v2/`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Finds the registry binary: `$DOCKER_REGISTRY_BIN`, `/usr/bin/docker-registry`,
/// then `docker-registry` on `PATH`.
pub fn docker_registry_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(BINARY_ENV).map(PathBuf::from)
        && p.is_file()
    {
        return Some(p);
    }
    let default = PathBuf::from(DEFAULT_BINARY);
    if default.is_file() {
        return Some(default);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("docker-registry"))
        .find(|p| p.is_file())
}

/// Returns a port on 127.0.0.1 that was free a moment ago (bind to port 0, release).
pub fn free_port() -> u16 {
    StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// One `user:bcrypt-hash` line for an htpasswd file (`$2y$`, cost 5), newline included.
pub fn htpasswd_line(user: &str, password: &str) -> String {
    let hash = bcrypt::hash_with_result(password, 5)
        .expect("bcrypt hashing")
        .format_for_version(bcrypt::Version::TwoY);
    format!("{user}:{hash}\n")
}

/// Sends `GET /v2/` to `addr` over plain TCP and returns the HTTP status, or
/// `None` if nothing answered within a second.
pub async fn probe(addr: SocketAddr) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut buf = Vec::with_capacity(64);
        let mut chunk = [0u8; 64];
        while !buf.contains(&b'\n') {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        let mut parts = line.split_whitespace();
        parts.next().filter(|v| v.starts_with("HTTP/"))?;
        parts.next()?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
}

/// The `auth` section of a registry config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// No auth section: everything is allowed.
    Anonymous,
    /// `auth: htpasswd` with a bcrypt htpasswd file.
    Htpasswd {
        /// Realm named in the Basic challenge.
        realm: String,
        /// Path of the htpasswd file (see [`htpasswd_line`]).
        path: PathBuf,
    },
    /// `auth: token` (Docker token spec).
    Token {
        /// Full URL of the token endpoint.
        realm: String,
        /// Service name, must equal the JWT `aud`.
        service: String,
        /// Issuer, must equal the JWT `iss`.
        issuer: String,
        /// PEM file with the certificate(s) that sign the tokens.
        rootcertbundle: PathBuf,
    },
}

/// A distribution 2.8 `config.yml`, rendered by [`RegistryConfig::to_yaml`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `http.addr`.
    pub addr: SocketAddr,
    /// `storage.filesystem.rootdirectory`.
    pub storage_dir: PathBuf,
    /// The `auth` section.
    pub auth: RegistryAuth,
    /// `log.level`: `error`, `warn`, `info` (logs every request) or `debug`.
    pub log_level: String,
    /// `http.tls`: certificate and key PEM files; `None` serves plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// Quotes a string for YAML (a JSON string is a valid double-quoted YAML scalar).
fn yaml_str(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).expect("strings serialize")
}

fn yaml_path(p: &Path) -> String {
    yaml_str(p.to_string_lossy())
}

impl RegistryConfig {
    /// An anonymous config on `addr` storing into `storage_dir`, log level `info`.
    pub fn new(addr: SocketAddr, storage_dir: impl Into<PathBuf>) -> Self {
        RegistryConfig {
            addr,
            storage_dir: storage_dir.into(),
            auth: RegistryAuth::Anonymous,
            log_level: "info".to_owned(),
            tls: None,
        }
    }

    /// Renders the YAML: filesystem storage, deletes enabled, no redirects, no
    /// upload purging, no health checks, no debug server, text logs.
    pub fn to_yaml(&self) -> String {
        let mut y = format!(
            "version: 0.1\n\
             log:\n  level: {level}\n  formatter: text\n  fields:\n    service: registry\n\
             storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n  \
             redirect:\n    disable: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: {addr}\n  secret: test-support-not-a-secret\n  headers:\n    X-Content-Type-Options: [nosniff]\n",
            level = yaml_str(&self.log_level),
            root = yaml_path(&self.storage_dir),
            addr = yaml_str(self.addr.to_string()),
        );
        if let Some((cert, key)) = &self.tls {
            y += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_path(cert),
                yaml_path(key)
            );
        }
        match &self.auth {
            RegistryAuth::Anonymous => {}
            RegistryAuth::Htpasswd { realm, path } => {
                y += &format!(
                    "auth:\n  htpasswd:\n    realm: {}\n    path: {}\n",
                    yaml_str(realm),
                    yaml_path(path)
                );
            }
            RegistryAuth::Token {
                realm,
                service,
                issuer,
                rootcertbundle,
            } => {
                y += &format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    yaml_str(realm),
                    yaml_str(service),
                    yaml_str(issuer),
                    yaml_path(rootcertbundle)
                );
            }
        }
        y
    }
}

#[derive(Debug, Clone)]
enum AuthSpec {
    Anonymous,
    Htpasswd {
        user: String,
        password: String,
    },
    Token {
        realm: String,
        service: String,
        issuer: String,
    },
}

/// Configures and starts a [`TestRegistry`]; see [`TestRegistry::builder`].
#[derive(Debug, Clone)]
pub struct TestRegistryBuilder {
    auth: AuthSpec,
    log_level: String,
    tls: bool,
}

impl TestRegistryBuilder {
    /// No authentication (the default).
    pub fn anonymous(mut self) -> Self {
        self.auth = AuthSpec::Anonymous;
        self
    }

    /// `auth: htpasswd` with one user.
    pub fn htpasswd(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = AuthSpec::Htpasswd {
            user: user.into(),
            password: password.into(),
        };
        self
    }

    /// `auth: token` trusting `server` (its realm, service, issuer and certificate).
    pub fn token(mut self, server: &TokenServer) -> Self {
        self.auth = AuthSpec::Token {
            realm: server.realm().to_owned(),
            service: server.service().to_owned(),
            issuer: server.issuer().to_owned(),
        };
        self
    }

    /// `auth: token` with explicit settings (the certificate is always [`CERT_PEM`]).
    pub fn token_settings(
        mut self,
        realm: impl Into<String>,
        service: impl Into<String>,
        issuer: impl Into<String>,
    ) -> Self {
        self.auth = AuthSpec::Token {
            realm: realm.into(),
            service: service.into(),
            issuer: issuer.into(),
        };
        self
    }

    /// Serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with the self-signed
    /// [`TLS_CERT_PEM`] for `127.0.0.1`; [`TestRegistry::url`] is then
    /// `https://…`. Clients must trust [`TLS_CERT_PEM`] (or skip
    /// verification).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Sets `log.level` (default `info`, which logs every request).
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = level.into();
        self
    }

    /// Starts the registry and waits until it answers `GET /v2/`.
    ///
    /// # Panics
    /// If `docker-registry` is missing ([`INSTALL_HINT`]), or it does not come
    /// up within [`READY_TIMEOUT`] (the panic message carries its log).
    pub async fn start(self) -> TestRegistry {
        let binary = docker_registry_path().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let dir = tempfile::Builder::new()
            .prefix("test-registry-")
            .tempdir()
            .expect("create temp dir for the registry");
        let storage_dir = dir.path().join("storage");
        std::fs::create_dir_all(&storage_dir).expect("create storage dir");
        let log_path = dir.path().join("registry.log");
        let config_path = dir.path().join("config.yml");

        let (auth, credentials) = match &self.auth {
            AuthSpec::Anonymous => (RegistryAuth::Anonymous, None),
            AuthSpec::Htpasswd { user, password } => {
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, htpasswd_line(user, password)).expect("write htpasswd");
                (
                    RegistryAuth::Htpasswd {
                        realm: "test-registry".to_owned(),
                        path,
                    },
                    Some((user.clone(), password.clone())),
                )
            }
            AuthSpec::Token {
                realm,
                service,
                issuer,
            } => {
                let rootcertbundle = dir.path().join("token-cert.pem");
                std::fs::write(&rootcertbundle, CERT_PEM).expect("write token certificate");
                let auth = RegistryAuth::Token {
                    realm: realm.clone(),
                    service: service.clone(),
                    issuer: issuer.clone(),
                    rootcertbundle,
                };
                (auth, None)
            }
        };

        let tls = self.tls.then(|| {
            let cert = dir.path().join("tls-cert.pem");
            let key = dir.path().join("tls-key.pem");
            std::fs::write(&cert, TLS_CERT_PEM).expect("write TLS certificate");
            std::fs::write(&key, TLS_KEY_PEM).expect("write TLS key");
            (cert, key)
        });

        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, free_port()));
            let mut config = RegistryConfig::new(addr, &storage_dir);
            config.auth = auth.clone();
            config.log_level = self.log_level.clone();
            config.tls = tls.clone();
            std::fs::write(&config_path, config.to_yaml()).expect("write config.yml");

            let child = spawn_registry(&binary, &config_path, &log_path)
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut registry = TestRegistry {
                child: Some(child),
                addr,
                storage_dir: storage_dir.clone(),
                log_path: log_path.clone(),
                config_path: config_path.clone(),
                credentials: credentials.clone(),
                tls: tls.is_some(),
                _dir: None,
            };
            match wait_ready(registry.child.as_mut().expect("child"), addr, READY_TIMEOUT).await {
                Ok(()) => {
                    registry._dir = Some(dir);
                    return registry;
                }
                Err(Failure::Exited(status)) => {
                    let log = registry.log_contents();
                    if log.contains("address already in use") && attempt < ATTEMPTS {
                        continue; // lost the free-port race: try another port
                    }
                    panic!("docker-registry exited ({status}) before becoming ready; log:\n{log}");
                }
                Err(Failure::Timeout) => {
                    registry.stop();
                    panic!(
                        "docker-registry did not answer GET /v2/ on {addr} within {READY_TIMEOUT:?}; log:\n{}",
                        registry.log_contents()
                    );
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }
}

/// Why a registry did not become ready.
#[derive(Debug)]
pub enum Failure {
    /// The process exited with this status.
    Exited(ExitStatus),
    /// It was still running but did not answer in time.
    Timeout,
}

/// Builds the command `docker-registry serve CONFIG` with stdout and stderr
/// going to a fresh `log_path`, stdin closed and any `REGISTRY_*` environment
/// overrides removed (callers may adjust it, e.g. detach it, before spawning).
pub fn registry_command(binary: &Path, config: &Path, log_path: &Path) -> std::io::Result<Command> {
    let mut log = File::create(log_path)?;
    writeln!(log, "# {} serve {}", binary.display(), config.display())?;
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("REGISTRY_") {
            cmd.env_remove(key);
        }
    }
    Ok(cmd)
}

/// Spawns [`registry_command`].
pub fn spawn_registry(binary: &Path, config: &Path, log_path: &Path) -> std::io::Result<Child> {
    registry_command(binary, config, log_path)?.spawn()
}

/// Polls `GET /v2/` on `addr` until any HTTP answer, the child exits, or `timeout`.
pub async fn wait_ready(
    child: &mut Child,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Failure::Exited(status));
        }
        if probe(addr).await.is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::Timeout);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running `docker-registry` on 127.0.0.1; killed (and reaped) on drop.
///
/// ```no_run
/// # async fn demo() {
/// let registry = test_support::TestRegistry::anonymous().await;
/// let base = registry.url(); // "http://127.0.0.1:PORT"
/// # let _ = base;
/// # }
/// ```
#[derive(Debug)]
pub struct TestRegistry {
    child: Option<Child>,
    addr: SocketAddr,
    storage_dir: PathBuf,
    log_path: PathBuf,
    config_path: PathBuf,
    credentials: Option<(String, String)>,
    tls: bool,
    // Declared last: dropped after the process is killed.
    _dir: Option<tempfile::TempDir>,
}

impl TestRegistry {
    /// A builder (anonymous, log level `info` unless changed).
    pub fn builder() -> TestRegistryBuilder {
        TestRegistryBuilder {
            auth: AuthSpec::Anonymous,
            log_level: "info".to_owned(),
            tls: false,
        }
    }

    /// Starts a registry without authentication.
    pub async fn anonymous() -> TestRegistry {
        Self::builder().start().await
    }

    /// Starts a registry with `auth: htpasswd` and one user.
    pub async fn htpasswd(user: &str, password: &str) -> TestRegistry {
        Self::builder().htpasswd(user, password).start().await
    }

    /// Starts a registry with `auth: token` trusting `server`.
    pub async fn token(server: &TokenServer) -> TestRegistry {
        Self::builder().token(server).start().await
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT` (`https://` when started with
    /// [`TestRegistryBuilder::tls`]).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The socket address the registry listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registry's storage root (`docker/registry/v2/...` lives below it).
    pub fn storage_dir(&self) -> &Path {
        &self.storage_dir
    }

    /// The generated `config.yml`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The htpasswd `(user, password)` when started with [`TestRegistry::htpasswd`].
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Everything the registry has logged so far (stdout and stderr).
    pub fn log_contents(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Starts a pass-through [`Proxy`] in front of this registry, for counting requests.
    pub async fn start_proxy(&self) -> Proxy {
        Proxy::builder(self.url()).start().await
    }

    /// A [`ProxyBuilder`] targeting this registry (to add hooks or tag pagination).
    pub fn proxy_builder(&self) -> ProxyBuilder {
        Proxy::builder(self.url())
    }

    /// Kills the registry now (also done on drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_line_is_bcrypt_2y() {
        let line = htpasswd_line("alice", "secret");
        let (user, hash) = line.trim_end().split_once(':').unwrap();
        assert_eq!(user, "alice");
        assert!(hash.starts_with("$2y$05$"), "{hash}");
        assert!(bcrypt::verify("secret", hash).unwrap());
        assert!(!bcrypt::verify("wrong", hash).unwrap());
    }

    #[test]
    fn config_yaml_has_auth_sections() {
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut c = RegistryConfig::new(addr, "/tmp/s");
        assert!(!c.to_yaml().contains("auth:"));
        assert!(c.to_yaml().contains("addr: \"127.0.0.1:5000\""));
        c.auth = RegistryAuth::Token {
            realm: "http://127.0.0.1:1/token".into(),
            service: "svc".into(),
            issuer: "iss".into(),
            rootcertbundle: "/tmp/c.pem".into(),
        };
        let y = c.to_yaml();
        assert!(
            y.contains("auth:\n  token:\n    realm: \"http://127.0.0.1:1/token\"\n"),
            "{y}"
        );
        assert!(y.contains("rootcertbundle: \"/tmp/c.pem\""), "{y}");
    }
}
