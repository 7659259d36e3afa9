//! Command-line targets: registry references (`HOST[:PORT]/REPO[:TAG][@DIGEST]`)
//! and OCI image layout directories (`oci:PATH[:TAG]`), and the clients for them.

use std::io::BufRead as _;
use std::path::PathBuf;

use facade::oci::Reference;

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// Where an image is.
#[derive(Debug, Clone)]
pub enum Target {
    /// In a registry.
    Registry(Reference),
    /// In an OCI image layout directory, optionally under a tag.
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to use.
        tag: Option<String>,
    },
}

impl Target {
    /// Parses `oci:PATH[:TAG]` or a registry reference.
    pub fn parse(s: &str) -> Result<Target, Failure> {
        if let Some(rest) = s.strip_prefix("oci:") {
            if rest.is_empty() {
                return Err(Failure::usage(format!(
                    "invalid layout reference {s:?}: no path"
                )));
            }
            let (path, tag) = match rest.rsplit_once(':') {
                Some((p, t)) if !p.is_empty() && !t.is_empty() && !t.contains('/') => {
                    (p, Some(t.to_owned()))
                }
                _ => (rest, None),
            };
            return Ok(Target::Layout {
                path: PathBuf::from(path),
                tag,
            });
        }
        Ok(Target::Registry(parse_reference(s)?))
    }
}

/// Parses a registry reference, as a usage error when malformed.
pub fn parse_reference(s: &str) -> Result<Reference, Failure> {
    Reference::parse(s).map_err(|e| Failure::usage(e.to_string()))
}

/// The password from `-p`, `--password-stdin` (first line) or the env.
pub fn password(global: &GlobalOptions) -> Result<Option<String>, Failure> {
    if global.password_stdin {
        if global.password.is_some() {
            return Err(Failure::usage(
                "--password and --password-stdin are exclusive",
            ));
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()));
    }
    Ok(global.password.clone())
}

/// Transport settings from the global options.
pub fn transport(global: &GlobalOptions) -> Result<facade::TransportOptions, Failure> {
    let timeout = GlobalOptions::seconds("timeout", global.timeout)?;
    let retry_time = GlobalOptions::seconds("retry-time", global.retry_time)?;
    let low_speed = match global.low_speed_limit {
        0 => None,
        bytes => Some(facade::core::timeout::LowSpeed::new(
            bytes,
            GlobalOptions::seconds("low-speed-time", global.low_speed_time)?,
        )),
    };
    let mut t = facade::TransportOptions::new()
        .insecure(global.insecure)
        .jobs(global.jobs)
        .user_agent(concat!("crctl/", env!("CARGO_PKG_VERSION")))
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

/// An OCI client for `registry` (`host[:port]`) with the global options'
/// credentials (explicit > env > docker config.json > anonymous).
pub fn client(global: &GlobalOptions, registry: &str) -> Result<facade::oci::Client, Failure> {
    let mut b = facade::Registry::builder(registry).transport(transport(global)?);
    match (&global.username, password(global)?) {
        (Some(u), Some(p)) => b = b.credentials(u.clone(), p),
        (Some(_), None) => {
            return Err(Failure::usage(
                "--username needs a password (-p, --password-stdin or CRCTL_PASSWORD)",
            ));
        }
        (None, Some(_)) => return Err(Failure::usage("a password was given without --username")),
        (None, None) => {}
    }
    Ok(b.build()?)
}

/// A client scoped to a reference's repository.
pub fn repository_client(
    global: &GlobalOptions,
    reference: &Reference,
) -> Result<facade::oci::Client, Failure> {
    Ok(client(global, reference.registry())?.with_repository(reference.repository()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_targets() {
        match Target::parse("oci:/tmp/x:v1").unwrap() {
            Target::Layout { path, tag } => {
                assert_eq!(path, PathBuf::from("/tmp/x"));
                assert_eq!(tag.as_deref(), Some("v1"));
            }
            t => panic!("{t:?}"),
        }
        match Target::parse("oci:dir").unwrap() {
            Target::Layout { path, tag } => {
                assert_eq!(path, PathBuf::from("dir"));
                assert_eq!(tag, None);
            }
            t => panic!("{t:?}"),
        }
        assert!(Target::parse("oci:").is_err());
        assert!(matches!(
            Target::parse("127.0.0.1:5000/a/b:t").unwrap(),
            Target::Registry(_)
        ));
        assert_eq!(
            Target::parse("UPPER/Case").unwrap_err().code,
            crate::exit::USAGE
        );
    }
}
