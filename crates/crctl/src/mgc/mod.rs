//! `crctl mgc`: the Magalu Cloud Container Registry management API:
//! registries, repositories, images, login credentials, proxy caches,
//! members, users and image scans.
//!
//! Every command prints JSON (pretty) on stdout with the API's own field
//! names; list commands print an array (one page, or every page with
//! `--all`). `--output table` prints an aligned table instead (a header row
//! and the main columns for lists, `key value` lines for one object).
//! Deleting and stopping print nothing. Failures are one line on stderr with
//! the API's slug, message and request id, and the exit codes of `CLI.md`
//! (2 input refused before sending, 3 not found, 4 credentials refused).
//!
//! Id arguments are parsed into `mgc_api`'s id types ([`mgc::RegistryId`],
//! [`mgc::RepositoryId`], …) by clap, so a malformed UUID is a usage error
//! naming the argument (exit 2) before the client is even built, and each
//! id can only reach the parameter of its kind. A repository (`REPOSITORY_ID`)
//! is its UUID or its name, like the Go SDK: a UUID-shaped argument is an
//! id, anything else a name, resolved with one exact-match look-up before
//! the UUID call (no such name: exit 3; two repositories with that name: an
//! error asking for the id).

mod connect;
mod credentials;
mod images;
mod list;
mod members;
mod print;
mod proxy_caches;
mod registries;
mod repositories;
mod repository;
mod scans;
mod users;

use clap::{Args, Subcommand};
use facade::mgc::{self, MgcClient};

use crate::cli::GlobalOptions;
use crate::exit::Failure;

/// `crctl mgc` arguments.
#[derive(Debug, Args)]
#[command(
    about = "Magalu Cloud Container Registry management: registries, repositories, images, \
             credentials, proxy caches, members, users, scans",
    after_help = "Authenticate with --api-key (or MGC_API_KEY) or --token (or MGC_TOKEN); \
                  a flag wins over the environment. IDs are UUIDs (checked before anything is \
                  sent); a repository is its UUID or its exact name (e.g. team/app); images are \
                  addressed by digest (sha256:…) or tag."
)]
pub struct MgcArgs {
    #[command(flatten)]
    connect: connect::ConnectArgs,
    /// Output format: json, or table for people.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value_t = print::Format::Json,
        help_heading = "Magalu API"
    )]
    output: print::Format,
    #[command(subcommand)]
    command: MgcCommand,
}

#[derive(Debug, Subcommand)]
enum MgcCommand {
    /// Container registries: list, get, create, delete.
    #[command(subcommand)]
    Registries(registries::RegistriesCommand),
    /// Repositories of a registry: list, get, delete.
    #[command(subcommand)]
    Repositories(repositories::RepositoriesCommand),
    /// Images of a repository: list, get, delete.
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// The docker login of the registries: get, reset-password.
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Proxy caches: list, get, create, update, delete, status, check.
    #[command(subcommand, name = "proxy-caches")]
    ProxyCaches(proxy_caches::ProxyCachesCommand),
    /// Members of a registry and their roles: list, create, get, update, delete.
    #[command(subcommand)]
    Members(members::MembersCommand),
    /// Container registry users: list, get, create, delete.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Image scans: schedule, list, get, stop, vulnerabilities.
    #[command(subcommand)]
    Scans(scans::ScansCommand),
}

/// What every subcommand gets: the API client and how to print.
pub(crate) struct Ctx {
    /// The management API client.
    pub api: MgcClient,
    /// The output format.
    pub out: print::Printer,
}

/// Runs `crctl mgc`.
pub async fn run(args: MgcArgs, global: &GlobalOptions) -> Result<(), Failure> {
    let api = connect::connect(&args.connect, global)?;
    tracing::info!(base_url = api.base_url(), "Magalu API");
    let ctx = Ctx {
        api,
        out: print::Printer::new(args.output),
    };
    match args.command {
        MgcCommand::Registries(c) => registries::run(&ctx, c).await,
        MgcCommand::Repositories(c) => repositories::run(&ctx, c).await,
        MgcCommand::Images(c) => images::run(&ctx, c).await,
        MgcCommand::Credentials(c) => credentials::run(&ctx, c).await,
        MgcCommand::ProxyCaches(c) => proxy_caches::run(&ctx, c).await,
        MgcCommand::Members(c) => members::run(&ctx, c).await,
        MgcCommand::Users(c) => users::run(&ctx, c).await,
        MgcCommand::Scans(c) => scans::run(&ctx, c).await,
    }
}

impl From<mgc::Error> for Failure {
    /// The error's own line: operation, HTTP status, the API's slug and
    /// message, and the request and trace ids (never a credential); the
    /// exit code is [`crate::exit::code_for`] of its kind, as for every
    /// other error.
    fn from(e: mgc::Error) -> Failure {
        let unauthorized = e.kind() == mgc::ErrorKind::Unauthorized;
        let mut failure = Failure::from(facade::core::Error::from(e));
        if unauthorized {
            failure.message.push_str(
                "; check the API key or token (--api-key/MGC_API_KEY, --token/MGC_TOKEN)",
            );
        }
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{AUTH, FAILURE, NOT_FOUND, USAGE};

    #[test]
    fn api_errors_map_to_exit_codes() {
        use mgc::ErrorKind as K;
        for (kind, code) in [
            (K::NotFound, NOT_FOUND),
            (K::Unauthorized, AUTH),
            (K::Denied, AUTH),
            (K::InvalidInput, USAGE),
            // A 400 from the API: it refused the request, not a usage error.
            (K::Protocol, FAILURE),
            (K::Conflict, FAILURE),
            (K::Server, FAILURE),
            (K::Transport, FAILURE),
        ] {
            let f = Failure::from(mgc::Error::new(kind, "x"));
            assert_eq!(f.code, code, "{kind}");
        }
    }
}
