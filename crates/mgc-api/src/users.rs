//! Container registry users (`/v0/users`).

use chrono::{DateTime, Utc};
use http::Method;
use serde::{Deserialize, Serialize};

pub use crate::client::UsersService;
use crate::error::Error;
use crate::ids::UserId;
use crate::request::Call;
use crate::serde_util;

/// `UserResponse`: a container registry user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResponse {
    /// The user's UUID.
    pub id: UserId,
    /// Username for registry authentication (usually the auth id).
    pub username: String,
    /// When the user was created.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
}

impl UsersService {
    /// `createUser`: `POST /v0/users`, creates the registry user of the
    /// authenticated identity. Not retried.
    pub async fn create(&self) -> Result<UserResponse, Error> {
        let call = Call::new("createUser", Method::POST, "/v0/users".into());
        self.client.json(call).await
    }

    /// `getUser`: `GET /v0/users`, the authenticated registry user.
    pub async fn get(&self) -> Result<UserResponse, Error> {
        let call = Call::new("getUser", Method::GET, "/v0/users".into());
        self.client.json(call).await
    }

    /// `deleteUser`: `DELETE /v0/users/{user_id}`.
    pub async fn delete(&self, user_id: &UserId) -> Result<(), Error> {
        const OP: &str = "deleteUser";
        let path = format!("/v0/users/{}", user_id.segment());
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }
}
