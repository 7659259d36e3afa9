//! The one place crctl builds clients: registry commands (through
//! [`crate::target`]), `login`, `acr` and `mgc` all start from the global
//! options turned into one [`facade::TransportOptions`] ([`transport`]):
//! the same scheme choice, TLS settings (`--insecure`, `--ca-file`),
//! `User-Agent`, timeouts and retry budget everywhere.

use std::io::BufRead as _;

use facade::TransportOptions;
use facade::acr::{AcrAuthenticator, Endpoint};
use facade::core::Secret;
use facade::mgc::{MgcClient, Region};

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// The `User-Agent` of every request crctl makes.
pub const USER_AGENT: &str = concat!("crctl/", env!("CARGO_PKG_VERSION"));

/// Transport settings from the global options.
pub fn transport(global: &GlobalOptions) -> Result<TransportOptions, Failure> {
    let timeout = GlobalOptions::seconds("timeout", global.timeout)?;
    let retry_time = GlobalOptions::seconds("retry-time", global.retry_time)?;
    let low_speed = match global.low_speed_limit {
        0 => None,
        bytes => Some(facade::core::timeout::LowSpeed::new(
            bytes,
            GlobalOptions::seconds("low-speed-time", global.low_speed_time)?,
        )),
    };
    let mut t = TransportOptions::new()
        .insecure(global.insecure)
        .jobs(global.jobs)
        .user_agent(USER_AGENT)
        .response_timeout(timeout)
        .read_timeout(timeout)
        .low_speed_limit(low_speed)
        .retry_budget(retry_time)
        .resume(facade::oci::blob::ResumePolicy::default().budget(retry_time));
    if global.plain_http {
        t = t.plain_http(true);
    } else if global.insecure || global.ca_file.is_some() {
        // Asking how to verify TLS means TLS, even where plain HTTP is the
        // default (loopback hosts).
        t = t.plain_http(false);
    }
    if let Some(ca) = &global.ca_file {
        t = t.ca_file(ca)?;
    }
    Ok(t)
}

/// The password from `-p`, `--password-stdin` (first line) or
/// `CRCTL_PASSWORD`.
pub fn password(global: &GlobalOptions) -> Result<Option<String>, Failure> {
    if !global.password_stdin {
        return Ok(global.password.clone());
    }
    if global.password.is_some() {
        return Err(Failure::usage(
            "--password and --password-stdin are exclusive",
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::from(e).context("reading the password from standard input"))?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// `-u` and the password together, or neither.
pub fn user_and_password(global: &GlobalOptions) -> Result<Option<(String, String)>, Failure> {
    match (&global.username, password(global)?) {
        (Some(u), Some(p)) => Ok(Some((u.clone(), p))),
        (Some(_), None) => Err(Failure::usage(
            "--username needs a password (-p, --password-stdin or CRCTL_PASSWORD)",
        )),
        (None, Some(_)) => Err(Failure::usage("a password was given without --username")),
        (None, None) => Ok(None),
    }
}

/// Where a registry client's credentials come from.
pub enum RegistryLogin {
    /// `-u/-p` when given, else docker's config.json (and its helpers),
    /// else anonymous: what every registry command uses.
    Usual,
    /// Exactly these, nothing else (`crctl login` checks what it stores).
    Only {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

/// An OCI client for `registry` (`host[:port]`).
pub fn registry(
    global: &GlobalOptions,
    registry: &str,
    login: RegistryLogin,
) -> Result<facade::oci::Client, Failure> {
    let mut b = facade::Registry::builder(registry).transport(transport(global)?);
    match login {
        RegistryLogin::Usual => {
            if let Some((u, p)) = user_and_password(global)? {
                b = b.credentials(u, p);
            }
        }
        RegistryLogin::Only { username, password } => {
            b = b.credentials(username, password).docker_config(false);
        }
    }
    Ok(b.build()?)
}

/// The OCI and metadata clients of an Azure Container Registry; the
/// endpoint's scheme decides plain HTTP.
pub fn azure(
    global: &GlobalOptions,
    endpoint: &Endpoint,
    auth: AcrAuthenticator,
) -> Result<facade::Azure, Failure> {
    let transport = transport(global)?.plain_http(endpoint.is_plain_http());
    Ok(facade::Azure::builder(endpoint.url())
        .authenticator(auth)
        .transport(transport)
        .build()?)
}

/// How the Magalu API authenticates.
pub enum MgcCredential {
    /// `X-API-Key`.
    ApiKey(Secret),
    /// `Authorization: Bearer`.
    Token(Secret),
}

/// The Magalu API client for `region`, or `api_url` when given (checked by
/// the caller); nothing is sent yet.
pub fn mgc(
    global: &GlobalOptions,
    region: Region,
    api_url: Option<String>,
    credential: MgcCredential,
) -> Result<MgcClient, Failure> {
    let mut b = facade::Magalu::builder()
        .region(region)
        .transport(transport(global)?);
    if let Some(url) = api_url {
        b = b.api_url(url);
    }
    b = match credential {
        MgcCredential::ApiKey(key) => b.api_key(key),
        MgcCredential::Token(token) => b.token(token),
    };
    Ok(b.build()?.api().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn global(args: &[&str]) -> GlobalOptions {
        let mut argv = vec!["crctl"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["digest", "127.0.0.1:5000/a:b"]);
        crate::cli::Cli::try_parse_from(argv).unwrap().global
    }

    #[test]
    fn one_user_agent() {
        assert!(USER_AGENT.starts_with("crctl/"));
    }

    /// `scheme://host` of a client (its `Debug` shows the base URL).
    fn base(c: &facade::oci::Client) -> String {
        let debug = format!("{c:?}");
        let start = debug.find("base: \"").unwrap() + 7;
        debug[start..].split('"').next().unwrap().to_owned()
    }

    #[test]
    fn every_registry_client_takes_the_same_scheme() {
        let host = "127.0.0.1:5000";
        let only = || RegistryLogin::Only {
            username: "u".into(),
            password: "p".into(),
        };
        // Loopback: plain HTTP by default, HTTPS once TLS settings are
        // given; `login` (Only) decides exactly as every other command.
        for (args, want) in [
            (&[][..], "http://127.0.0.1:5000"),
            (&["--insecure"][..], "https://127.0.0.1:5000"),
            (&["--plain-http"][..], "http://127.0.0.1:5000"),
        ] {
            let usual = registry(&global(args), host, RegistryLogin::Usual).unwrap();
            let login = registry(&global(args), host, only()).unwrap();
            assert_eq!(base(&usual), want, "{args:?}");
            assert_eq!(base(&login), want, "{args:?}");
        }
    }

    #[test]
    fn credentials_come_in_pairs() {
        let e = user_and_password(&global(&["-u", "alice"])).unwrap_err();
        assert_eq!(e.code, crate::exit::USAGE);
        let e = user_and_password(&global(&["-p", "pw"])).unwrap_err();
        assert_eq!(e.code, crate::exit::USAGE);
        assert_eq!(
            user_and_password(&global(&["-u", "alice", "-p", "pw"])).unwrap(),
            Some(("alice".to_owned(), "pw".to_owned()))
        );
    }
}
