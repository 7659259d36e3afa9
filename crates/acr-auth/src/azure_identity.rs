//! The Azure SDK for Rust's credentials as a [`TokenCredential`]
//! (cargo feature `azure-identity`): managed identity, workload identity,
//! client secret, Azure CLI / developer tools, or any
//! `azure_core::credentials::TokenCredential`.

use std::sync::Arc;
use std::time::SystemTime;

use azure_core::credentials::TokenCredential as AzureTokenCredential;
use registry_core::auth::BoxFuture;
use registry_core::{Error, ErrorKind, Secret};

use crate::credential::{AccessToken, TokenCredential};

/// An `azure_identity` / `azure_core` credential adapted to
/// [`TokenCredential`].
///
/// ```no_run
/// use acr_auth::{AcrAuthenticator, AcrClient, AzureIdentityCredential};
/// # fn run() -> Result<(), registry_core::Error> {
/// let cred = AzureIdentityCredential::managed_identity()?;
/// let acr = AcrClient::new("myregistry.azurecr.io", AcrAuthenticator::aad(cred))?;
/// # drop(acr);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AzureIdentityCredential {
    inner: Arc<dyn AzureTokenCredential>,
}

/// The credential the Azure SDK set up (`what`), or why it could not.
fn set_up<C: AzureTokenCredential + 'static>(
    what: &str,
    built: azure_core::Result<Arc<C>>,
) -> Result<AzureIdentityCredential, Error> {
    built.map(|c| AzureIdentityCredential::new(c)).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("setting up the {what} credential failed"),
        )
        .with_source(e)
    })
}

impl AzureIdentityCredential {
    /// Wraps any Azure SDK credential.
    pub fn new(credential: Arc<dyn AzureTokenCredential>) -> AzureIdentityCredential {
        AzureIdentityCredential { inner: credential }
    }

    /// The managed identity of the Azure host (VM, App Service, …).
    pub fn managed_identity() -> Result<AzureIdentityCredential, Error> {
        let built = azure_identity::ManagedIdentityCredential::new(None);
        set_up("managed identity", built)
    }

    /// A user-assigned managed identity, by its client ID.
    pub fn user_assigned_managed_identity(
        client_id: impl Into<String>,
    ) -> Result<AzureIdentityCredential, Error> {
        let options = azure_identity::ManagedIdentityCredentialOptions {
            user_assigned_id: Some(azure_identity::UserAssignedId::ClientId(client_id.into())),
            ..Default::default()
        };
        let built = azure_identity::ManagedIdentityCredential::new(Some(options));
        set_up("managed identity", built)
    }

    /// Workload identity (Kubernetes federated tokens, from the
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE`
    /// environment variables).
    pub fn workload_identity() -> Result<AzureIdentityCredential, Error> {
        let built = azure_identity::WorkloadIdentityCredential::new(None);
        set_up("workload identity", built)
    }

    /// A service principal with a client secret.
    pub fn client_secret(
        tenant_id: &str,
        client_id: impl Into<String>,
        secret: &Secret,
    ) -> Result<AzureIdentityCredential, Error> {
        let secret = azure_core::credentials::Secret::new(secret.expose().to_owned());
        let built =
            azure_identity::ClientSecretCredential::new(tenant_id, client_id.into(), secret, None);
        set_up("client secret", built)
    }

    /// The signed-in Azure CLI (`az login`).
    pub fn azure_cli() -> Result<AzureIdentityCredential, Error> {
        let built = azure_identity::AzureCliCredential::new(None);
        set_up("Azure CLI", built)
    }

    /// The developer tools chain (Azure CLI, then Azure Developer CLI).
    pub fn developer_tools() -> Result<AzureIdentityCredential, Error> {
        let built = azure_identity::DeveloperToolsCredential::new(None);
        set_up("developer tools", built)
    }
}

impl TokenCredential for AzureIdentityCredential {
    fn get_token<'a>(&'a self, scopes: &'a [&'a str]) -> BoxFuture<'a, Result<AccessToken, Error>> {
        Box::pin(async move {
            let t = self.inner.get_token(scopes, None).await.map_err(|e| {
                Error::new(
                    ErrorKind::Unauthorized,
                    "the Azure credential gave no token",
                )
                .with_source(e)
            })?;
            Ok(AccessToken::new(
                t.token.secret().to_owned(),
                Some(SystemTime::from(t.expires_on)),
            ))
        })
    }
}
