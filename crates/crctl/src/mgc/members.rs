//! `crctl mgc members list | create | get | update | delete`: who may use a
//! registry, and how (`developer` pushes and pulls, `guest` only pulls).

use clap::{Subcommand, ValueEnum};
use facade::mgc::{MemberId, MemberRequest, MemberRole, MemberUpdateRequest, RegistryId, UserId};

use super::Ctx;
use super::list::{PageArgs, print_list};
use crate::exit::Failure;

/// `crctl mgc members …`
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List a registry's members (a JSON array).
    List {
        /// The registry ID (a UUID).
        registry_id: RegistryId,
        #[command(flatten)]
        paging: PageArgs,
    },
    /// Add a user to a registry; prints the membership (its id is the MEMBER_ID).
    #[command(visible_alias = "add")]
    Create {
        /// The registry ID.
        registry_id: RegistryId,
        /// The ID of the user to add (a UUID; see `crctl mgc users get`).
        user_id: UserId,
        /// The role (the API's default is guest).
        #[arg(long, value_enum, value_name = "ROLE")]
        role: Option<Role>,
    },
    /// Show a membership.
    Get {
        /// The registry ID.
        registry_id: RegistryId,
        /// The member ID (a UUID, the id `list` and `create` print).
        member_id: MemberId,
    },
    /// Change a member's role; prints the membership.
    Update {
        /// The registry ID.
        registry_id: RegistryId,
        /// The member ID.
        member_id: MemberId,
        /// The new role.
        #[arg(long, value_enum, value_name = "ROLE")]
        role: Role,
    },
    /// Remove a member from a registry; prints nothing.
    Delete {
        /// The registry ID.
        registry_id: RegistryId,
        /// The member ID.
        member_id: MemberId,
    },
}

/// The values of `--role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Can push and pull images.
    Developer,
    /// Read-only: can pull images.
    Guest,
}

impl From<Role> for MemberRole {
    fn from(r: Role) -> MemberRole {
        match r {
            Role::Developer => MemberRole::Developer,
            Role::Guest => MemberRole::Guest,
        }
    }
}

/// The table columns of a member list.
const COLUMNS: &[&str] = &["id", "user_id", "role", "created_at", "updated_at"];

/// Runs one members command.
pub async fn run(ctx: &Ctx, command: MembersCommand) -> Result<(), Failure> {
    let members = ctx.api.members();
    match command {
        MembersCommand::List {
            registry_id,
            paging,
        } => {
            let options = paging.options();
            print_list(
                ctx,
                &paging,
                COLUMNS,
                || members.list_stream(&registry_id, options.clone()),
                || members.list(&registry_id, options.clone()),
            )
            .await
        }
        MembersCommand::Create {
            registry_id,
            user_id,
            role,
        } => {
            let mut request = MemberRequest::new(user_id);
            if let Some(role) = role {
                request = request.role(role.into());
            }
            ctx.out.object(&members.add(&registry_id, request).await?)
        }
        MembersCommand::Get {
            registry_id,
            member_id,
        } => ctx
            .out
            .object(&members.get(&registry_id, &member_id).await?),
        MembersCommand::Update {
            registry_id,
            member_id,
            role,
        } => {
            let request = MemberUpdateRequest::new(role.into());
            ctx.out
                .object(&members.update(&registry_id, &member_id, request).await?)
        }
        MembersCommand::Delete {
            registry_id,
            member_id,
        } => Ok(members.delete(&registry_id, &member_id).await?),
    }
}
