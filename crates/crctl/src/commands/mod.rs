//! One module per command; [`run`] dispatches.

mod blob;
mod copy;
mod export;
mod inspect;
mod list;
mod login;
mod modify;
mod referrers;
pub mod resolve;
mod sync;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let global = cli.global;
    match cli.command {
        Command::Mgc(args) => crate::mgc::run(args, &global).await,
        Command::Acr(args) => crate::acr::run(args, &global).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            // Into a buffer first: clap_complete panics on a write error
            // (a closed pipe), write_stdout does not.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "crctl", &mut script);
            crate::output::write_stdout(&script)
        }
        Command::Man { out } => man_pages(&out),
        Command::Copy {
            src,
            dst,
            all_platforms,
        } => copy::run(&global, &src, &dst, all_platforms).await,
        Command::Digest { reference } => inspect::digest(&global, &reference).await,
        Command::Manifest { reference } => inspect::manifest(&global, &reference).await,
        Command::Config { reference } => inspect::config(&global, &reference).await,
        Command::Exists { reference } => inspect::exists(&global, &reference).await,
        Command::Tags {
            repository,
            limit,
            last,
        } => list::tags(&global, &repository, limit, last.as_deref()).await,
        Command::Catalog {
            registry,
            prefix,
            limit,
            last,
        } => {
            list::catalog(
                &global,
                &registry,
                prefix.as_deref(),
                limit,
                last.as_deref(),
            )
            .await
        }
        Command::Tag { reference, tags } => modify::tag(&global, &reference, &tags).await,
        Command::Delete { reference } => modify::delete(&global, &reference).await,
        Command::Export { reference, output } => {
            export::run(&global, &reference, output.as_deref()).await
        }
        Command::Blob(cmd) => blob::run(&global, cmd).await,
        Command::Referrers {
            reference,
            artifact_type,
        } => referrers::run(&global, &reference, artifact_type.as_deref()).await,
        Command::Sync {
            source,
            to,
            dry_run,
            shard,
            report,
            flat,
            tags,
            platforms,
            referrers,
        } => {
            let args = sync::SyncArgs {
                source: &source,
                to: &to,
                dry_run,
                shard: shard.as_deref(),
                report: report.as_deref(),
                flat,
                tags: tags.as_deref(),
                platforms: &platforms,
                referrers,
            };
            sync::run(&global, args).await
        }
        Command::Login { host } => login::login(&global, &host).await,
        Command::Logout { host } => login::logout(&host).await,
    }
}

/// Writes one man page per command and subcommand into `out`.
fn man_pages(out: &std::path::Path) -> Result<(), Failure> {
    use clap::CommandFactory;
    let failed = |e: std::io::Error| {
        Failure::new(
            crate::exit::FAILURE,
            format!("writing man pages to {}: {e}", out.display()),
        )
    };
    std::fs::create_dir_all(out).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(failed)
}
