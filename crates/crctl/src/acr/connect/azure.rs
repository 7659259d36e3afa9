//! The Azure SDK credentials for `crctl acr` (cargo feature
//! `azure-identity`): `--azure-identity env|managed|cli` and the Azure
//! environment variables, as Azure's EnvironmentCredential reads them.

use facade::acr::{AcrAuthenticator, AzureIdentityCredential};
use facade::core::Secret;

use super::AzureIdentity;
use crate::exit::Failure;

const TENANT_ID: &str = "AZURE_TENANT_ID";
const CLIENT_ID: &str = "AZURE_CLIENT_ID";
const CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
const CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";

/// What the environment credential needs, for messages.
const NEEDS: &str = "the Azure environment credential needs AZURE_TENANT_ID, AZURE_CLIENT_ID, \
                     and AZURE_CLIENT_SECRET (client secret) or AZURE_FEDERATED_TOKEN_FILE \
                     (workload identity)";

/// The Azure environment variables that select a credential: set and
/// not blank.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Vars {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub federated_token_file: Option<String>,
    pub client_certificate_path: bool,
}

impl Vars {
    fn from_env() -> Vars {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Vars {
            tenant_id: var(TENANT_ID),
            client_id: var(CLIENT_ID),
            client_secret: var(CLIENT_SECRET),
            federated_token_file: var(FEDERATED_TOKEN_FILE),
            client_certificate_path: var(CLIENT_CERTIFICATE_PATH).is_some(),
        }
    }

    fn any(&self) -> bool {
        self.tenant_id.is_some()
            || self.client_id.is_some()
            || self.client_secret.is_some()
            || self.federated_token_file.is_some()
    }
}

/// The environment credential, as Azure's `EnvironmentCredential` and
/// `DefaultAzureCredential` read it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EnvCredential {
    /// A service principal with a client secret.
    ClientSecret {
        tenant_id: String,
        client_id: String,
    },
    /// A federated token file (Kubernetes workload identity).
    WorkloadIdentity,
}

/// Which environment credential `vars` select: `None` when no Azure
/// variable is set (and `required` is false); a usage error naming the
/// missing variable when only some are.
pub(super) fn select(vars: &Vars, required: bool) -> Result<Option<EnvCredential>, Failure> {
    if !vars.any() && !required {
        return Ok(None);
    }
    let missing =
        |name: &str, hint: &str| Failure::usage(format!("{name} is not set: {NEEDS}{hint}"));
    let Some(tenant_id) = &vars.tenant_id else {
        let hint = if vars.client_id.is_some()
            && vars.client_secret.is_none()
            && vars.federated_token_file.is_none()
        {
            "; for a managed identity pass --azure-identity managed"
        } else {
            ""
        };
        return Err(missing(TENANT_ID, hint));
    };
    let Some(client_id) = &vars.client_id else {
        return Err(missing(CLIENT_ID, ""));
    };
    if vars.client_secret.is_some() {
        return Ok(Some(EnvCredential::ClientSecret {
            tenant_id: tenant_id.clone(),
            client_id: client_id.clone(),
        }));
    }
    if vars.federated_token_file.is_some() {
        return Ok(Some(EnvCredential::WorkloadIdentity));
    }
    let hint = if vars.client_certificate_path {
        "; AZURE_CLIENT_CERTIFICATE_PATH (certificates) is not supported"
    } else {
        ""
    };
    Err(missing(
        "AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE",
        hint,
    ))
}

/// The environment credential, if the Azure variables select one.
pub(super) fn from_env(required: bool) -> Result<Option<AcrAuthenticator>, Failure> {
    let vars = Vars::from_env();
    let Some(which) = select(&vars, required)? else {
        return Ok(None);
    };
    let credential = match which {
        EnvCredential::ClientSecret {
            tenant_id,
            client_id,
        } => {
            let secret = Secret::new(vars.client_secret.unwrap_or_default());
            AzureIdentityCredential::client_secret(&tenant_id, client_id, &secret)?
        }
        EnvCredential::WorkloadIdentity => AzureIdentityCredential::workload_identity()?,
    };
    Ok(Some(AcrAuthenticator::aad(credential)))
}

/// `--azure-identity KIND`.
pub(super) fn explicit(kind: AzureIdentity) -> Result<AcrAuthenticator, Failure> {
    let credential = match kind {
        AzureIdentity::Env => {
            return from_env(true)?.ok_or_else(|| Failure::usage(NEEDS));
        }
        AzureIdentity::Managed => match Vars::from_env().client_id {
            Some(id) => AzureIdentityCredential::user_assigned_managed_identity(id)?,
            None => AzureIdentityCredential::managed_identity()?,
        },
        AzureIdentity::Cli => AzureIdentityCredential::azure_cli()?,
    };
    Ok(AcrAuthenticator::aad(credential))
}
