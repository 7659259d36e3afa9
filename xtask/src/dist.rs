//! Distribution checks and artefacts: the crates package (`cargo package`),
//! `crctl` installs with `cargo install`, and its man pages (`cargo xtask
//! man`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::lint::cargo;

/// `cargo package` of every published crate (those without
/// `publish = false`), in dependency order (cargo packages workspace
/// dependencies first and resolves them from the freshly packaged `.crate`
/// files), each one built from its package to prove the package is
/// complete.
pub(crate) fn package_check() -> Result<(), String> {
    let published = published_packages()?;
    forget_unpacked_packages(&published);
    // Verification builds go to their own directory, and our crates'
    // artefacts there are removed first: cargo takes a registry package of
    // the same name and version as unchanged, so it would link the build of
    // an earlier run.
    let target_dir = crate::workspace_root().join("target").join("package-check");
    forget_built_packages(&target_dir, &published);
    let mut args = vec!["package", "--locked", "--allow-dirty", "--target-dir"];
    args.push(path_str(&target_dir)?);
    for p in &published {
        args.extend(["-p", p.as_str()]);
    }
    cargo(&args)
}

/// Removes what a build in `target_dir` made of the packages `names` (in
/// `deps`, `.fingerprint`, `build` and `incremental`), keeping the
/// dependencies' builds.
fn forget_built_packages(target_dir: &Path, names: &[String]) {
    // File names use the package name with `-` or `_`, or the library name
    // (`facade` for crctl-facade).
    let mut prefixes: Vec<String> = Vec::new();
    for n in names {
        prefixes.push(format!("{n}-"));
        prefixes.push(format!("{}-", n.replace('-', "_")));
        prefixes.push(format!("lib{}-", n.replace('-', "_")));
    }
    prefixes.extend(["facade-".into(), "libfacade-".into()]);
    for dir in ["deps", ".fingerprint", "build", "incremental"] {
        let Ok(entries) = std::fs::read_dir(target_dir.join("debug").join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    }
}

/// Removes the sources cargo unpacked from the temporary registry of an
/// earlier `cargo package` run. They live in
/// `$CARGO_HOME/registry/src/-<hash>/<name>-<version>` (the registry has no
/// name, hence the leading `-`), and cargo reuses them when the version has
/// not changed, so the packages would be checked against stale sources.
fn forget_unpacked_packages(names: &[String]) {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(src) = cargo_home.map(|h| h.join("registry").join("src")) else {
        return;
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return;
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue; // a named registry such as crates.io: not ours
        }
        let Ok(packages) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for package in packages.flatten() {
            let dir = package.file_name().to_string_lossy().into_owned();
            let ours = names.iter().any(|n| {
                dir.strip_prefix(n.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                let _ = std::fs::remove_dir_all(package.path());
            }
        }
    }
}

/// The names of the workspace packages that may be published.
fn published_packages() -> Result<Vec<String>, String> {
    let out = output(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(crate::workspace_root()),
    )?;
    let metadata: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("reading cargo metadata: {e}"))?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    // `publish = false` is `"publish": []`; unset is `null`.
    Ok(packages
        .iter()
        .filter(|p| {
            p["publish"]
                .as_array()
                .is_none_or(|registries| !registries.is_empty())
        })
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect())
}

/// `cargo install --path crates/crctl` into a temporary root (a debug build
/// sharing the workspace's target directory), then runs the installed
/// binary: `--version` and `man`.
pub(crate) fn install_check() -> Result<(), String> {
    let root = crate::workspace_root();
    let tmp = root.join("target").join("install-check");
    let _ = std::fs::remove_dir_all(&tmp);
    let target_dir = root.join("target");
    cargo(&[
        "install",
        "--path",
        "crates/crctl",
        "--debug",
        "--locked",
        "--root",
        path_str(&tmp)?,
        "--target-dir",
        path_str(&target_dir)?,
    ])?;
    let crctl = tmp.join("bin").join("crctl");
    let version = output(Command::new(&crctl).arg("--version"))?;
    if !version.starts_with("crctl ") {
        return Err(format!("installed crctl --version printed {version:?}"));
    }
    let man = tmp.join("man");
    output(Command::new(&crctl).arg("man").arg("--out").arg(&man))?;
    for page in ["crctl.1", "crctl-copy.1", "crctl-mgc.1"] {
        if !man.join(page).is_file() {
            return Err(format!("crctl man wrote no {page}"));
        }
    }
    eprintln!(
        "installed {} and its man pages in {}",
        version.trim(),
        tmp.display()
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// `cargo xtask man [--out DIR]`: builds crctl and writes its man pages.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Where to write them.
    #[arg(long, default_value = "target/man")]
    out: PathBuf,
}

/// Runs `cargo xtask man`.
pub(crate) fn man(args: ManArgs) -> ExitCode {
    let result = (|| {
        cargo(&["build", "-p", "crctl"])?;
        let crctl = crate::workspace_root().join("target/debug/crctl");
        output(Command::new(crctl).arg("man").arg("--out").arg(&args.out))?;
        eprintln!("man pages in {}", args.out.display());
        Ok::<(), String>(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("man failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// Runs `cmd`, returning its stdout, or an error with its stderr.
fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
