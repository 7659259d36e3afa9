//! Where and as whom: `--endpoint`, and exactly one way to authenticate
//! (`--anonymous`, `--aad-token`/`AZURE_ACCESS_TOKEN`, the Azure identity
//! environment credential or `--azure-identity`, or the global `-u/-p`).

use clap::Args;
use facade::acr::{AZURE_ACCESS_TOKEN_ENV, AcrAuthenticator, Endpoint, StaticTokenCredential};
use facade::core::Secret;

use crate::cli::GlobalOptions;
use crate::connect;
use crate::exit::Failure;

/// The connection options of `crctl acr` (accepted before or after the
/// subcommand).
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The registry login server, https://NAME.azurecr.io (http:// only with --plain-http).
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<String>,
    /// Anonymous access (the registry must allow anonymous pull).
    #[arg(long, global = true, conflicts_with = "aad_token")]
    anonymous: bool,
    /// An AAD access token for the container registry audience
    /// (https://containerregistry.azure.net); default: the env AZURE_ACCESS_TOKEN.
    #[arg(long, global = true, value_name = "TOKEN")]
    aad_token: Option<Secret>,
    /// Which Azure identity credential to use (default: the environment
    /// credential when AZURE_CLIENT_ID and friends are set).
    #[cfg(feature = "azure-identity")]
    #[arg(
        long,
        global = true,
        value_name = "KIND",
        conflicts_with_all = ["anonymous", "aad_token"]
    )]
    azure_identity: Option<AzureIdentity>,
}

/// `--azure-identity`: an Azure SDK credential.
#[cfg(feature = "azure-identity")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AzureIdentity {
    /// AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (client secret) or
    /// AZURE_FEDERATED_TOKEN_FILE (workload identity).
    Env,
    /// The host's managed identity (user-assigned when AZURE_CLIENT_ID is set).
    Managed,
    /// The signed-in Azure CLI (`az login`).
    Cli,
}

/// A connected registry: the clients and the host for messages.
pub struct Registry {
    /// The OCI and metadata clients.
    pub client: facade::Azure,
    /// `NAME.azurecr.io` (with `:port` when not the default).
    pub host: String,
}

/// Parses `--endpoint` with the one ACR endpoint parser
/// ([`Endpoint::parse_with`]): a login server URL, or a bare host (HTTPS,
/// or HTTP with `--plain-http`). `http://` needs `--plain-http`.
fn endpoint(raw: &str, plain_http: bool) -> Result<Endpoint, Failure> {
    let endpoint = Endpoint::parse_with(raw, plain_http)
        .map_err(|e| Failure::usage(format!("--endpoint: {}", e.message())))?;
    if endpoint.is_plain_http() && !plain_http {
        return Err(Failure::usage(format!(
            "--endpoint {raw:?}: refusing plain HTTP; pass --plain-http to allow an http:// endpoint"
        )));
    }
    Ok(endpoint)
}

/// How to authenticate, from exactly one source: a flag (`--anonymous`,
/// `--aad-token`, `--azure-identity`), then `-u/-p`, then
/// `AZURE_ACCESS_TOKEN`, then the Azure identity environment credential.
fn authenticator(args: &ConnectArgs, global: &GlobalOptions) -> Result<AcrAuthenticator, Failure> {
    let registry_user = global.username.is_some() || global.password.is_some();
    let explicit = if args.anonymous {
        Some("--anonymous")
    } else if args.aad_token.is_some() {
        Some("--aad-token")
    } else if azure_identity_flag(args) {
        Some("--azure-identity")
    } else {
        None
    };
    if let Some(flag) = explicit
        && registry_user
    {
        return Err(Failure::usage(format!(
            "{flag} and -u/-p (or CRCTL_USERNAME/CRCTL_PASSWORD) both given: choose one way to authenticate"
        )));
    }
    if args.anonymous {
        return Ok(AcrAuthenticator::anonymous());
    }
    if let Some(token) = &args.aad_token {
        return aad(token.expose(), "--aad-token");
    }
    #[cfg(feature = "azure-identity")]
    if let Some(kind) = args.azure_identity {
        return azure::explicit(kind);
    }
    if registry_user || global.password_stdin {
        return match (&global.username, connect::password(global)?) {
            (Some(user), Some(pass)) => Ok(AcrAuthenticator::basic(user.clone(), pass)),
            (Some(_), None) => Err(Failure::usage(
                "--username needs a password (-p, --password-stdin or CRCTL_PASSWORD)",
            )),
            (None, _) => Err(Failure::usage("a password was given without --username")),
        };
    }
    if let Ok(token) = std::env::var(AZURE_ACCESS_TOKEN_ENV)
        && !token.trim().is_empty()
    {
        return aad(&token, AZURE_ACCESS_TOKEN_ENV);
    }
    #[cfg(feature = "azure-identity")]
    if let Some(auth) = azure::from_env(false)? {
        return Ok(auth);
    }
    Err(Failure::usage(format!(
        "no credentials: pass --anonymous, --aad-token TOKEN (or set {AZURE_ACCESS_TOKEN_ENV}), \
         or -u/-p (admin user or repository-scoped token){}",
        if cfg!(feature = "azure-identity") {
            ", set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or \
             AZURE_FEDERATED_TOKEN_FILE, or pass --azure-identity managed|cli"
        } else {
            ""
        }
    )))
}

#[cfg(feature = "azure-identity")]
fn azure_identity_flag(args: &ConnectArgs) -> bool {
    args.azure_identity.is_some()
}

#[cfg(not(feature = "azure-identity"))]
fn azure_identity_flag(_: &ConnectArgs) -> bool {
    false
}

#[cfg(feature = "azure-identity")]
mod azure;

fn aad(token: &str, from: &str) -> Result<AcrAuthenticator, Failure> {
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::usage(format!(
            "{from}: the AAD access token is empty"
        )));
    }
    Ok(AcrAuthenticator::aad(StaticTokenCredential::new(token)))
}

/// Builds the clients for `crctl acr` (through [`connect::azure`], as
/// every client is built).
pub fn connect(args: &ConnectArgs, global: &GlobalOptions) -> Result<Registry, Failure> {
    let Some(raw) = args.endpoint.as_deref() else {
        return Err(Failure::usage(
            "--endpoint is required: the registry login server, e.g. https://NAME.azurecr.io",
        ));
    };
    let endpoint = endpoint(raw, global.plain_http)?;
    // Tokens go to this registry only, whatever a response points at (the
    // facade restricts the authenticator to the endpoint's host).
    let client = connect::azure(global, &endpoint, authenticator(args, global)?)?;
    Ok(Registry {
        client,
        host: endpoint.authority().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, plain: bool) -> (String, String) {
        let e = endpoint(raw, plain).unwrap();
        (e.url(), e.authority().to_owned())
    }

    #[cfg(feature = "azure-identity")]
    #[test]
    fn azure_environment_variables_select_a_credential() {
        use azure::{EnvCredential, Vars, select};
        let some = |v: &str| Some(v.to_owned());
        let full = Vars {
            tenant_id: some("t"),
            client_id: some("c"),
            client_secret: some("s"),
            federated_token_file: some("/f"),
            client_certificate_path: false,
        };
        let secret = EnvCredential::ClientSecret {
            tenant_id: "t".to_owned(),
            client_id: "c".to_owned(),
        };
        // A client secret comes first, as in Azure's EnvironmentCredential.
        assert_eq!(select(&full, false).unwrap(), Some(secret));
        let workload = Vars {
            client_secret: None,
            ..full
        };
        assert_eq!(
            select(&workload, false).unwrap(),
            Some(EnvCredential::WorkloadIdentity)
        );
        // Nothing set: not considered, unless required.
        assert_eq!(select(&Vars::default(), false).unwrap(), None);
        let err = select(&Vars::default(), true).unwrap_err();
        assert_eq!(err.code, crate::exit::USAGE);
        assert!(
            err.message.starts_with("AZURE_TENANT_ID is not set"),
            "{}",
            err.message
        );
        let only_client = Vars {
            client_id: some("c"),
            ..Vars::default()
        };
        let err = select(&only_client, false).unwrap_err();
        assert!(
            err.message.contains("--azure-identity managed"),
            "{}",
            err.message
        );
    }

    #[test]
    fn endpoints_are_checked_and_normalised() {
        let reg = (
            "https://reg.azurecr.io".to_owned(),
            "reg.azurecr.io".to_owned(),
        );
        assert_eq!(ok("https://reg.azurecr.io", false), reg);
        assert_eq!(ok("https://Reg.azurecr.io:443/", false), reg);
        assert_eq!(ok("reg.azurecr.io", false), reg);
        assert_eq!(
            ok("http://127.0.0.1:5000", true),
            (
                "http://127.0.0.1:5000".to_owned(),
                "127.0.0.1:5000".to_owned()
            )
        );
        assert_eq!(ok("127.0.0.1:80", true).0, "http://127.0.0.1");
        // An explicit https:// stays HTTPS under --plain-http.
        assert_eq!(ok("https://reg.azurecr.io", true), reg);
        for (raw, plain, why) in [
            ("http://reg.azurecr.io", false, "--plain-http"),
            ("ftp://reg.azurecr.io", true, "https://"),
            ("https://reg.azurecr.io/v2/", false, "without a path"),
            ("https://u:p@reg.azurecr.io", false, "-u/-p"),
            ("https://", false, "no host"),
            ("https://reg azurecr", false, "host[:port]"),
        ] {
            let err = endpoint(raw, plain).unwrap_err();
            assert_eq!(err.code, crate::exit::USAGE, "{raw}");
            assert!(err.message.contains(why), "{raw}: {}", err.message);
        }
    }
}
