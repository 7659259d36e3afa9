//! `crctl mgc users list | get | create | delete`.
//!
//! The API knows one registry user per identity: `getUser` (`GET
//! /v0/users`) answers the authenticated one, `createUser` creates it,
//! `deleteUser` deletes a user by ID.

use clap::Subcommand;
use facade::mgc::UserId;

use super::Ctx;
use crate::exit::Failure;

/// `crctl mgc users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List the registry users visible to you: the authenticated one (a JSON array).
    List,
    /// Show the authenticated registry user.
    Get,
    /// Create the registry user of the authenticated identity; prints it.
    Create,
    /// Delete a registry user; prints nothing.
    Delete {
        /// The user ID (a UUID).
        user_id: UserId,
    },
}

/// The table columns of a user list.
const COLUMNS: &[&str] = &["id", "username", "created_at"];

/// Runs one users command.
pub async fn run(ctx: &Ctx, command: UsersCommand) -> Result<(), Failure> {
    let users = ctx.api.users();
    match command {
        UsersCommand::List => ctx.out.list(&[users.get().await?], COLUMNS),
        UsersCommand::Get => ctx.out.object(&users.get().await?),
        UsersCommand::Create => ctx.out.object(&users.create().await?),
        UsersCommand::Delete { user_id } => Ok(users.delete(&user_id).await?),
    }
}
