//! `crctl`: the command-line tool for container registries, Magalu Cloud
//! and Azure Container Registry. The contract (names, flags, outputs, exit
//! codes) is `CLI.md`.

// The doc comments of this binary are its `--help` text, written for a
// terminal (`HOST[:PORT]`, bare URLs), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::bare_urls)]

mod acr;
mod cli;
mod commands;
mod connect;
mod exit;
mod mgc;
mod output;
mod progress;
mod target;

use std::process::ExitCode;

use clap::Parser;

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    exit::OK as u8
                }
                _ => exit::USAGE as u8,
            });
        }
    };
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crctl: starting the async runtime failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // One line, and the registry's text cannot drive the terminal.
            let line = failure.message.replace('\n', " ");
            eprintln!("crctl: {}", output::terminal_safe(&line));
            ExitCode::from(failure.code as u8)
        }
    }
}
