//! `cargo xtask registry start|stop|status`: a local `docker-registry` in the background.
//!
//! State lives in `target/xtask-registry/` (or `$CARGO_TARGET_DIR/xtask-registry/`):
//! `state.json` (pids, URL, credentials), `config.yml`, `registry.log`,
//! `storage/` (kept across restarts; delete the folder to start empty) and,
//! for token auth, `token-cert.pem` and `token-server.log`.
//!
//! Token auth needs a token server for as long as the registry runs: `start`
//! launches this same binary detached as the hidden
//! `cargo xtask registry token-server --port N --user U --password P`, which
//! serves `test_support::TokenServer` (anonymous callers may pull, the user
//! may do anything); `stop` ends both processes.
//!
//! The config, htpasswd line, readiness probe and binary look-up come from
//! `test_support::registry`, so tests and the local registry are configured alike.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use test_support::registry::{
    INSTALL_HINT, READY_TIMEOUT, RegistryAuth, RegistryConfig, docker_registry_path, htpasswd_line,
    probe, registry_command,
};
use test_support::token::{CERT_PEM, DEFAULT_ISSUER, DEFAULT_SERVICE};
use test_support::{TokenPolicy, TokenServer};

/// Arguments of `cargo xtask registry`.
#[derive(Debug, clap::Args)]
pub(crate) struct RegistryArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Start docker-registry on 127.0.0.1 in the background and print its URL.
    Start {
        /// Authentication mode.
        #[arg(long, value_enum, default_value_t = AuthMode::None)]
        auth: AuthMode,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 5000)]
        port: u16,
    },
    /// Stop the background registry (and its token server).
    Stop,
    /// Say whether the registry is running, and where. Exit code 3 when it is not.
    Status,
    /// Serve the token realm in the foreground (used by `start --auth token`).
    #[command(hide = true)]
    TokenServer {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// User allowed to push.
        #[arg(long)]
        user: String,
        /// That user's password.
        #[arg(long)]
        password: String,
    },
}

/// How the local registry authenticates clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AuthMode {
    /// Anonymous: everything allowed.
    None,
    /// HTTP Basic with a generated user and password.
    Htpasswd,
    /// Docker token auth with a local token server.
    Token,
}

/// What `start` leaves in `state.json` for `stop` and `status`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    pid: u32,
    token_server_pid: Option<u32>,
    url: String,
    auth: AuthMode,
    user: Option<String>,
    password: Option<String>,
    token_realm: Option<String>,
    service: Option<String>,
}

/// Runs `cargo xtask registry ...`.
pub(crate) fn run(args: RegistryArgs) -> ExitCode {
    let result = match args.action {
        Action::Start { auth, port } => start(auth, port),
        Action::Stop => stop(),
        Action::Status => return status(),
        Action::TokenServer {
            port,
            user,
            password,
        } => token_server(port, user, password),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cargo xtask registry: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `target/xtask-registry`, honouring `CARGO_TARGET_DIR`.
fn state_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("xtask lives in the workspace")
                .join("target")
        });
    target.join("xtask-registry")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn read_state(dir: &Path) -> Option<State> {
    let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether `pid` is a live (non-zombie) process whose command line contains `name`.
fn alive(pid: u32, name: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the parenthesised command name.
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    !zombie && String::from_utf8_lossy(&cmdline).contains(name)
}

/// Whether this process runs as root, read from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// Finds docker-registry, installing it with apt-get when running as root.
pub(crate) fn ensure_binary() -> Result<PathBuf, String> {
    if let Some(path) = docker_registry_path() {
        return Ok(path);
    }
    if !is_root() {
        return Err(format!(
            "{INSTALL_HINT}\n(not root, so not installing it myself)"
        ));
    }
    eprintln!(
        "docker-registry not found; installing it: apt-get update && apt-get install -y docker-registry"
    );
    for args in [&["update"][..], &["install", "-y", "docker-registry"][..]] {
        let ok = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("running apt-get: {e}"))?
            .success();
        if !ok {
            return Err(format!("apt-get {} failed\n{INSTALL_HINT}", args.join(" ")));
        }
    }
    docker_registry_path()
        .ok_or_else(|| format!("still missing after apt-get install\n{INSTALL_HINT}"))
}

/// 16 random bytes as hex, from the kernel.
fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("reading /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Binds 127.0.0.1:`port` to check it is free (0: find a free one); returns the port.
fn claim_port(port: u16) -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("port {port} on 127.0.0.1 is not available ({e}); choose another with --port N (0 = any)"))
}

fn print_state(state: &State, dir: &Path) {
    println!(
        "registry running at {} (auth: {:?}, pid {})",
        state.url, state.auth, state.pid
    );
    if let (Some(user), Some(password)) = (&state.user, &state.password) {
        println!("  user:     {user}");
        println!("  password: {password}");
    }
    if let Some(realm) = &state.token_realm {
        println!("  token realm: {realm}");
        println!("  service:     {}", state.service.as_deref().unwrap_or(""));
        println!("  (anonymous callers may pull; the user may push)");
    }
    println!("  state:    {}", dir.display());
}

fn start(auth: AuthMode, port: u16) -> Result<(), String> {
    let dir = state_dir();
    if let Some(state) = read_state(&dir)
        && alive(state.pid, "docker-registry")
    {
        println!("already running; `cargo xtask registry stop` first to change settings");
        print_state(&state, &dir);
        return Ok(());
    }
    // Clean leftovers of a registry that died (e.g. its token server).
    stop_quietly(&dir);

    let binary = ensure_binary()?;
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage)
        .map_err(|e| format!("creating {}: {e}", storage.display()))?;
    let port = claim_port(port)?;
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let mut config = RegistryConfig::new(addr, &storage);
    let mut state = State {
        pid: 0,
        token_server_pid: None,
        url: format!("http://{addr}"),
        auth,
        user: None,
        password: None,
        token_realm: None,
        service: None,
    };
    let write = |name: &str, contents: &str| {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok::<PathBuf, String>(path)
    };
    let rt = runtime();

    match auth {
        AuthMode::None => {}
        AuthMode::Htpasswd => {
            let (user, password) = ("xtask".to_owned(), random_hex()?);
            let path = write("htpasswd", &htpasswd_line(&user, &password))?;
            config.auth = RegistryAuth::Htpasswd {
                realm: "xtask-registry".to_owned(),
                path,
            };
            state.user = Some(user);
            state.password = Some(password);
        }
        AuthMode::Token => {
            let (user, password) = ("xtask".to_owned(), random_hex()?);
            let token_port = claim_port(0)?;
            let token_addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, token_port));
            let log = std::fs::File::create(dir.join("token-server.log"))
                .map_err(|e| format!("token log: {e}"))?;
            let exe = std::env::current_exe().map_err(|e| format!("locating xtask: {e}"))?;
            let child = Command::new(exe)
                .args([
                    "registry",
                    "token-server",
                    "--port",
                    &token_port.to_string(),
                ])
                .args(["--user", &user, "--password", &password])
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("starting the token server: {e}"))?;
            state.token_server_pid = Some(child.id());
            // Any HTTP answer (404 for /v2/) means it is up.
            let deadline = Instant::now() + READY_TIMEOUT;
            while rt.block_on(probe(token_addr)).is_none() {
                if Instant::now() > deadline || !alive(child.id(), "xtask") {
                    kill(child.id());
                    let log =
                        std::fs::read_to_string(dir.join("token-server.log")).unwrap_or_default();
                    return Err(format!(
                        "the token server did not come up on {token_addr}; log:\n{log}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let rootcertbundle = write("token-cert.pem", CERT_PEM)?;
            let realm = format!("http://{token_addr}/token");
            config.auth = RegistryAuth::Token {
                realm: realm.clone(),
                service: DEFAULT_SERVICE.to_owned(),
                issuer: DEFAULT_ISSUER.to_owned(),
                rootcertbundle,
            };
            state.user = Some(user);
            state.password = Some(password);
            state.token_realm = Some(realm);
            state.service = Some(DEFAULT_SERVICE.to_owned());
        }
    }

    let config_path = write("config.yml", &config.to_yaml())?;
    let log_path = dir.join("registry.log");
    let mut child = registry_command(&binary, &config_path, &log_path)
        .map_err(|e| format!("preparing docker-registry: {e}"))?
        // Own process group: a Ctrl-C in this terminal does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    state.pid = child.id();
    if let Err(failure) = rt.block_on(test_support::registry::wait_ready(
        &mut child,
        addr,
        READY_TIMEOUT,
    )) {
        let _ = child.kill();
        let _ = child.wait();
        if let Some(pid) = state.token_server_pid {
            kill(pid);
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(format!(
            "docker-registry did not become ready ({failure:?}); log:\n{log}"
        ));
    }
    let json = serde_json::to_string_pretty(&state).expect("state serializes");
    write("state.json", &json)?;
    print_state(&state, &dir);
    Ok(())
}

/// Sends SIGTERM, waits up to 10 s, then SIGKILL.
fn kill(pid: u32) {
    let signal = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        if !alive(pid, "") {
            return; // a zombie: gone as far as we are concerned
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid, "") {
        signal("-KILL");
    }
}

/// Stops whatever `state.json` names; returns whether something was running.
fn stop_quietly(dir: &Path) -> bool {
    let Some(state) = read_state(dir) else {
        return false;
    };
    let mut was_running = false;
    if alive(state.pid, "docker-registry") {
        kill(state.pid);
        was_running = true;
    }
    if let Some(pid) = state.token_server_pid
        && alive(pid, "token-server")
    {
        kill(pid);
    }
    let _ = std::fs::remove_file(dir.join("state.json"));
    was_running
}

fn stop() -> Result<(), String> {
    let dir = state_dir();
    if stop_quietly(&dir) {
        println!(
            "registry stopped (storage kept in {})",
            dir.join("storage").display()
        );
    } else {
        println!("registry not running");
    }
    Ok(())
}

fn status() -> ExitCode {
    let dir = state_dir();
    match read_state(&dir) {
        Some(state) if alive(state.pid, "docker-registry") => {
            print_state(&state, &dir);
            if let Some(pid) = state.token_server_pid
                && !alive(pid, "token-server")
            {
                println!(
                    "  warning: the token server (pid {pid}) is not running; restart with stop + start"
                );
            }
            ExitCode::SUCCESS
        }
        _ => {
            println!("registry not running");
            ExitCode::from(3)
        }
    }
}

fn token_server(port: u16, user: String, password: String) -> Result<(), String> {
    runtime().block_on(async {
        let server = TokenServer::builder()
            .port(port)
            .user(user, password)
            .policy(TokenPolicy::AnonymousPullOnly)
            .start()
            .await;
        println!(
            "token server at {} (service {}, issuer {})",
            server.realm(),
            server.service(),
            server.issuer()
        );
        std::future::pending::<()>().await;
    });
    Ok(())
}
