//! Credentials to log in to the container registry with Docker
//! (`/v0/credentials`).

use http::Method;
use registry_core::Secret;
use serde::{Deserialize, Serialize};

pub use crate::client::CredentialsService;
use crate::error::Error;
use crate::request::Call;
use crate::serde_util;

/// `CredentialsResponse`: the user's registry login. The password is a
/// [`Secret`]: `Debug` shows `<redacted>`; serializing writes it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsResponse {
    /// Username for `docker login`.
    pub username: String,
    /// Password for `docker login`.
    #[serde(with = "serde_util::secret")]
    pub password: Secret,
    /// Email of the user.
    pub email: String,
}

impl CredentialsService {
    /// `getCredentials`: `GET /v0/credentials`, the registry login.
    pub async fn get(&self) -> Result<CredentialsResponse, Error> {
        let call = Call::new("getCredentials", Method::GET, "/v0/credentials".into());
        self.client.json(call).await
    }

    /// `resetPassword`: `POST /v0/credentials/password`, a new password
    /// (the old one stops working). Not retried.
    pub async fn reset_password(&self) -> Result<CredentialsResponse, Error> {
        let call = Call::new(
            "resetPassword",
            Method::POST,
            "/v0/credentials/password".into(),
        );
        self.client.json(call).await
    }
}
