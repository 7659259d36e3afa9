//! `crctl login HOST` and `crctl logout HOST`: credentials in docker's
//! config.json (written atomically, mode 0600).

use facade::core::credentials::DockerConfig;
use facade::core::{Body, ErrorKind};

use crate::cli::GlobalOptions;
use crate::exit::{AUTH, Failure};
use crate::target;

/// Checks the credentials against the registry, then stores them.
pub async fn login(global: &GlobalOptions, host: &str) -> Result<(), Failure> {
    let Some(username) = global.username.clone() else {
        return Err(Failure::usage("login needs --username (or CRCTL_USERNAME)"));
    };
    let Some(password) = target::password(global)? else {
        return Err(Failure::usage(
            "login needs a password (-p, --password-stdin or CRCTL_PASSWORD)",
        ));
    };
    // Check with exactly these credentials (not whatever config.json holds).
    let client = facade::Registry::builder(host)
        .credentials(username.clone(), password.clone())
        .docker_config(false)
        .transport(target::transport(global)?)
        .build()?;
    let plain = global.plain_http || facade::oci::client::is_loopback(host);
    let scheme = if plain { "http" } else { "https" };
    let url = format!(
        "{scheme}://{}/v2/",
        facade::oci::reference::endpoint_for(host)
    );
    let req = facade::core::http::Request::get(url)
        .body(Body::empty())
        .map_err(|e| Failure::usage(format!("invalid registry host {host:?}: {e}")))?;
    let resp = client
        .http()
        .send(req)
        .await
        .map_err(|e| Failure::from(e).context(format!("login to {host}")))?;
    match resp.status().as_u16() {
        200..=299 => {}
        401 | 403 => {
            return Err(Failure::new(
                AUTH,
                format!(
                    "login to {host} failed: the registry refused the credentials for {username}"
                ),
            ));
        }
        s => {
            return Err(Failure::from(facade::core::Error::new(
                ErrorKind::from_status(resp.status()),
                format!("login to {host} failed: HTTP {s}"),
            )));
        }
    }
    DockerConfig::new()
        .store(host, &username, &password)
        .map_err(|e| Failure::from(e).context("storing credentials"))?;
    Ok(())
}

/// Removes stored credentials (nothing to do is not an error).
pub async fn logout(host: &str) -> Result<(), Failure> {
    DockerConfig::new()
        .erase(host)
        .map_err(|e| Failure::from(e).context("removing credentials"))?;
    Ok(())
}
