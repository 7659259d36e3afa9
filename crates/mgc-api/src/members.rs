//! Members of a registry and their roles
//! (`/v0/registries/{registry_id}/members`).

use chrono::{DateTime, Utc};
use http::Method;
use serde::{Deserialize, Serialize};

pub use crate::client::MembersService;
use crate::error::Error;
use crate::ids::{MemberId, RegistryId, UserId};
use crate::paging::{Accepts, ItemStream, ListOptions, ListResponse, walk};
use crate::request::Call;
use crate::serde_util;

registry_core::open_enum! {
    /// A member's role.
    ///
    /// ```
    /// use mgc_api::MemberRole;
    /// assert_eq!("developer".parse::<MemberRole>().unwrap(), MemberRole::Developer);
    /// assert!("admin".parse::<MemberRole>().is_err());
    /// ```
    MemberRole: FromStr<Err = crate::Error> {
        /// Can push and pull images.
        Developer = "developer",
        /// Read-only: can pull images.
        Guest = "guest",
    }
}

/// `MemberRequest`: adds a user to a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRequest {
    /// UUID of the user to add.
    pub user_id: UserId,
    /// Role; the API uses `guest` when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<MemberRole>,
}

impl MemberRequest {
    /// Adds user `user_id` with the default role.
    ///
    /// ```
    /// use mgc_api::{MemberRequest, MemberRole, UserId};
    /// let user: UserId = "e3d49354-35d7-4565-b634-65d8b86aa594".parse()?;
    /// let req = MemberRequest::new(user).role(MemberRole::Developer);
    /// assert_eq!(
    ///     serde_json::to_value(&req).unwrap(),
    ///     serde_json::json!({"user_id": "e3d49354-35d7-4565-b634-65d8b86aa594", "role": "developer"})
    /// );
    /// # Ok::<(), mgc_api::Error>(())
    /// ```
    pub fn new(user_id: UserId) -> Self {
        MemberRequest {
            user_id,
            role: None,
        }
    }
}

registry_core::setters!(MemberRequest { role: MemberRole });

/// `MemberUpdateRequest`: a member's new role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberUpdateRequest {
    /// The new role.
    pub role: MemberRole,
}

impl MemberUpdateRequest {
    /// Changes the role to `role`.
    pub fn new(role: MemberRole) -> Self {
        MemberUpdateRequest { role }
    }
}

/// `MemberResponse`: a user's membership of a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberResponse {
    /// UUID of the membership (the `member_id` of the other operations).
    pub id: MemberId,
    /// The registry's UUID.
    pub registry_id: RegistryId,
    /// The user's UUID.
    pub user_id: UserId,
    /// The role, e.g. `guest`.
    pub role: MemberRole,
    /// When the member was added.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the membership last changed.
    #[serde(deserialize_with = "serde_util::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// `MembersResponse`: one page of members.
pub type MembersResponse = ListResponse<MemberResponse>;

fn members_path(registry_id: &RegistryId) -> String {
    format!("/v0/registries/{}/members", registry_id.segment())
}

fn member_path(registry_id: &RegistryId, member_id: &MemberId) -> String {
    format!("{}/{}", members_path(registry_id), member_id.segment())
}

impl MembersService {
    /// `addRegistryMember`: `POST /v0/registries/{registry_id}/members`. Not retried.
    pub async fn add(
        &self,
        registry_id: &RegistryId,
        request: MemberRequest,
    ) -> Result<MemberResponse, Error> {
        const OP: &str = "addRegistryMember";
        let path = members_path(registry_id);
        if let Some(role) = &request.role {
            role.check_known("role").map_err(|e| e.with_operation(OP))?;
        }
        let call = Call::new(OP, Method::POST, path).json(&request)?;
        self.client.json(call).await
    }

    /// `getRegistryMembers`: one page of the registry's members. Takes
    /// `limit`, `offset` and `sort` (default `created_at:desc`).
    pub async fn list(
        &self,
        registry_id: &RegistryId,
        options: ListOptions,
    ) -> Result<MembersResponse, Error> {
        const OP: &str = "getRegistryMembers";
        let path = members_path(registry_id);
        let q = options.query(OP, Accepts::Paging)?;
        let call = Call::new(OP, Method::GET, path).query(q);
        self.client.json(call).await
    }

    /// Every member of the registry, page after page, as a stream.
    pub fn list_stream(
        &self,
        registry_id: &RegistryId,
        options: ListOptions,
    ) -> ItemStream<MemberResponse> {
        let ctx = (self.clone(), registry_id.clone());
        let fetch = |(this, reg): (Self, RegistryId), o| async move { this.list(&reg, o).await };
        walk("getRegistryMembers", options, ctx, fetch)
    }

    /// `getRegistryMember`: `GET /v0/registries/{registry_id}/members/{member_id}`.
    pub async fn get(
        &self,
        registry_id: &RegistryId,
        member_id: &MemberId,
    ) -> Result<MemberResponse, Error> {
        const OP: &str = "getRegistryMember";
        let path = member_path(registry_id, member_id);
        self.client.json(Call::new(OP, Method::GET, path)).await
    }

    /// `updateRegistryMember`: `PATCH …/members/{member_id}`, a new role. Not retried.
    pub async fn update(
        &self,
        registry_id: &RegistryId,
        member_id: &MemberId,
        request: MemberUpdateRequest,
    ) -> Result<MemberResponse, Error> {
        const OP: &str = "updateRegistryMember";
        let path = member_path(registry_id, member_id);
        request
            .role
            .check_known("role")
            .map_err(|e| e.with_operation(OP))?;
        let call = Call::new(OP, Method::PATCH, path).json(&request)?;
        self.client.json(call).await
    }

    /// `deleteRegistryMember`: `DELETE …/members/{member_id}`.
    pub async fn delete(
        &self,
        registry_id: &RegistryId,
        member_id: &MemberId,
    ) -> Result<(), Error> {
        const OP: &str = "deleteRegistryMember";
        let path = member_path(registry_id, member_id);
        self.client.empty(Call::new(OP, Method::DELETE, path)).await
    }
}
