//! `crctl login HOST` and `crctl logout HOST`: credentials in docker's
//! config.json (written atomically, mode 0600).

use facade::core::ErrorKind;
use facade::core::credentials::DockerConfig;

use crate::cli::GlobalOptions;
use crate::connect::{self, RegistryLogin};
use crate::exit::{AUTH, Failure};

/// Checks the credentials against the registry (a ping through the same
/// client every command uses: same scheme, TLS settings and auth flow),
/// then stores them.
pub async fn login(global: &GlobalOptions, host: &str) -> Result<(), Failure> {
    let Some(username) = global.username.clone() else {
        return Err(Failure::usage("login needs --username (or CRCTL_USERNAME)"));
    };
    let Some(password) = connect::password(global)? else {
        return Err(Failure::usage(
            "login needs a password (-p, --password-stdin or CRCTL_PASSWORD)",
        ));
    };
    // Check with exactly these credentials (not whatever config.json holds).
    let client = connect::registry(
        global,
        host,
        RegistryLogin::Only {
            username: username.clone(),
            password: password.clone(),
        },
    )?;
    client.ping().await.map_err(|e| match e.kind() {
        ErrorKind::Unauthorized | ErrorKind::Denied => Failure::new(
            AUTH,
            format!("login to {host} failed: the registry refused the credentials for {username}"),
        ),
        _ => Failure::from(e).context(format!("login to {host} failed")),
    })?;
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
