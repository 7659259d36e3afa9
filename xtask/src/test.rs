//! `cargo xtask test`: the README's test command. Makes sure Debian's
//! `docker-registry` is there (installing it as root), runs the lints, then
//! every test of the workspace (examples included), then installs crctl
//! with `cargo install` into a temporary root.

use std::process::ExitCode;

/// Arguments of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Skip formatting and clippy.
    #[arg(long)]
    no_lint: bool,
    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true)]
    rest: Vec<String>,
}

/// Runs `cargo xtask test`.
pub(crate) fn run(args: Args) -> ExitCode {
    let result = (|| {
        let bin = crate::registry::ensure_binary()?;
        eprintln!("using {}", bin.display());
        if !args.no_lint {
            crate::lint::lint(true)?;
        }
        let mut cmd = vec!["test", "--workspace", "--all-targets"];
        cmd.extend(args.rest.iter().map(String::as_str));
        crate::lint::cargo(&cmd)?;
        // Doc tests are examples in the public docs; run them too.
        crate::lint::cargo(&["test", "--workspace", "--doc"])?;
        // crctl as users install it, with its man pages.
        crate::dist::install_check()
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test failed: {e}");
            ExitCode::FAILURE
        }
    }
}
