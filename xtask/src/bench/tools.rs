//! The external tools under test (crctl, skopeo, the oci-client peer):
//! building or installing them, and running one timed invocation with its
//! peak RSS measured by `/usr/bin/time -f %M`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::image::TAG;

/// A tool compared by the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tool {
    /// This project's CLI.
    Crctl,
    /// Debian's skopeo.
    Skopeo,
    /// The oci-client 0.18 peer program (pull only).
    OciClient,
    /// The in-process baseline written straight on `registry_core::HttpClient`.
    Raw,
    /// The raw pull, plus what any durable layout must do: `fsync` each
    /// blob file and the blob directory. On a disk slower than the network
    /// this is the physical limit of a durable pull.
    RawDurable,
}

impl Tool {
    /// Its name in tables and JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Crctl => "crctl",
            Tool::Skopeo => "skopeo",
            Tool::OciClient => "oci-client",
            Tool::Raw => "raw",
            Tool::RawDurable => "raw-durable",
        }
    }
}

/// One finished child process.
#[derive(Debug)]
pub(crate) struct Timed {
    /// Wall-clock seconds from spawn to exit.
    pub(crate) seconds: f64,
    /// Peak resident set size in KiB, when `/usr/bin/time` was available.
    pub(crate) peak_rss_kib: Option<u64>,
    /// User plus system CPU seconds, when `/usr/bin/time` was available.
    pub(crate) cpu_seconds: Option<f64>,
    /// What it printed on stdout.
    pub(crate) stdout: String,
}

/// Where the tools are, or why one is unavailable.
#[derive(Debug)]
pub(crate) struct Tools {
    /// `target/release/crctl` (its `copy` may still be unimplemented).
    pub(crate) crctl: Result<PathBuf, String>,
    /// The `skopeo` binary.
    pub(crate) skopeo: Result<PathBuf, String>,
    /// The oci-client peer binary.
    pub(crate) peer: Result<PathBuf, String>,
    /// `/usr/bin/time` (GNU time), for peak RSS.
    pub(crate) time: Option<PathBuf>,
    /// A scratch directory for RSS files.
    pub(crate) scratch: PathBuf,
}

impl Tools {
    /// The binary of an external tool.
    pub(crate) fn binary(&self, tool: Tool) -> Result<&Path, String> {
        let r = match tool {
            Tool::Crctl => &self.crctl,
            Tool::Skopeo => &self.skopeo,
            Tool::OciClient => &self.peer,
            Tool::Raw | Tool::RawDurable => return Err("raw runs in-process".to_owned()),
        };
        r.as_deref().map_err(Clone::clone)
    }

    /// Runs `tool args...`, timed, wrapped in `/usr/bin/time -f "%M %U %S"`
    /// (peak RSS and CPU time) when available. Fails with the exit status and the end of stderr.
    pub(crate) fn run(&self, tool: Tool, args: &[OsString]) -> Result<Timed, String> {
        let program = self.binary(tool)?;
        let rss_file = self.scratch.join(format!("rss-{}.txt", tool.name()));
        let _ = std::fs::remove_file(&rss_file);
        let mut cmd = match &self.time {
            Some(time) => {
                let mut c = Command::new(time);
                c.arg("-f")
                    .arg("%M %U %S")
                    .arg("-o")
                    .arg(&rss_file)
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd
            .spawn()
            .and_then(|c| c.wait_with_output())
            .map_err(|e| format!("running {}: {e}", program.display()))?;
        let seconds = start.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "{} {} failed ({}): {}",
                tool.name(),
                args.first()
                    .map(|a| a.to_string_lossy())
                    .unwrap_or_default(),
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr))
            ));
        }
        let (peak_rss_kib, cpu_seconds) = std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| parse_time_output(&s))
            .unzip();
        Ok(Timed {
            seconds,
            peak_rss_kib,
            cpu_seconds,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }
}

/// Peak RSS (KiB) and user + system seconds from the last line GNU time
/// wrote with `-f "%M %U %S"`.
fn parse_time_output(s: &str) -> Option<(u64, f64)> {
    let mut fields = s.lines().last()?.split_whitespace();
    let rss = fields.next()?.parse().ok()?;
    let user: f64 = fields.next()?.parse().ok()?;
    let sys: f64 = fields.next()?.parse().ok()?;
    Some((rss, user + sys))
}

/// CPU seconds (user + system) this process has used so far, from
/// `/proc/self/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`).
pub(crate) fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, so the 12th and 13th after it.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Bytes free for this user in the file system of `dir` (`df`), `None`
/// when `dir` does not exist or `df` fails.
pub(crate) fn free_bytes(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

/// The last few lines of a tool's stderr, on one line.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    let s = lines[start..].join(" | ");
    if s.is_empty() {
        "no output".to_owned()
    } else {
        s
    }
}

/// Arguments for one copy. `registry` is `127.0.0.1:PORT`.
pub(crate) enum Copy<'a> {
    /// Layout → registry repository.
    Push {
        /// `oci:DIR:TAG` of the source layout.
        layout: &'a str,
        /// Destination registry.
        registry: &'a str,
        /// Destination repository.
        repo: &'a str,
    },
    /// Registry repository → layout directory.
    Pull {
        /// Source registry.
        registry: &'a str,
        /// Source repository.
        repo: &'a str,
        /// Destination layout directory (created by the tool).
        dest: &'a Path,
    },
    /// Repository → repository of the same registry.
    Within {
        /// The registry.
        registry: &'a str,
        /// Source repository.
        from: &'a str,
        /// Destination repository.
        to: &'a str,
    },
}

/// Command-line arguments of `tool` for a copy (always tag [`TAG`]).
pub(crate) fn copy_args(tool: Tool, copy: &Copy<'_>) -> Vec<OsString> {
    let s = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    match (tool, copy) {
        (
            Tool::Crctl,
            Copy::Push {
                layout,
                registry,
                repo,
            },
        ) => s(&[
            "copy",
            layout,
            &format!("{registry}/{repo}:{TAG}"),
            "--plain-http",
        ]),
        (
            Tool::Crctl,
            Copy::Pull {
                registry,
                repo,
                dest,
            },
        ) => s(&[
            "copy",
            &format!("{registry}/{repo}:{TAG}"),
            &format!("oci:{}:{TAG}", dest.display()),
            "--plain-http",
        ]),
        (Tool::Crctl, Copy::Within { registry, from, to }) => s(&[
            "copy",
            &format!("{registry}/{from}:{TAG}"),
            &format!("{registry}/{to}:{TAG}"),
            "--plain-http",
        ]),
        // --preserve-digests: fail rather than rewrite the manifest; the
        // layers are gzip already, so skopeo passes them through unchanged.
        (
            Tool::Skopeo,
            Copy::Push {
                layout,
                registry,
                repo,
            },
        ) => s(&[
            "--insecure-policy",
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            layout,
            &format!("docker://{registry}/{repo}:{TAG}"),
        ]),
        (
            Tool::Skopeo,
            Copy::Pull {
                registry,
                repo,
                dest,
            },
        ) => s(&[
            "--insecure-policy",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{registry}/{repo}:{TAG}"),
            &format!("oci:{}:{TAG}", dest.display()),
        ]),
        (Tool::Skopeo, Copy::Within { registry, from, to }) => s(&[
            "--insecure-policy",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{registry}/{from}:{TAG}"),
            &format!("docker://{registry}/{to}:{TAG}"),
        ]),
        (
            Tool::OciClient,
            Copy::Pull {
                registry,
                repo,
                dest,
            },
        ) => {
            vec![
                OsString::from(format!("{registry}/{repo}:{TAG}")),
                dest.as_os_str().to_owned(),
            ]
        }
        (tool, _) => panic!("{} has no command for this copy", tool.name()),
    }
}

/// Command-line arguments of `tool` to list every tag of `registry/repo`.
pub(crate) fn tags_args(tool: Tool, registry: &str, repo: &str) -> Vec<OsString> {
    let v: Vec<String> = match tool {
        Tool::Crctl => vec![
            "tags".into(),
            format!("{registry}/{repo}"),
            "--plain-http".into(),
        ],
        Tool::Skopeo => vec![
            "list-tags".into(),
            "--tls-verify=false".into(),
            format!("docker://{registry}/{repo}"),
        ],
        other => panic!("{} cannot list tags", other.name()),
    };
    v.into_iter().map(OsString::from).collect()
}

/// How many tags a tool printed: one a line for crctl, the `Tags` array of
/// skopeo's JSON.
pub(crate) fn count_tags(tool: Tool, stdout: &str) -> Result<usize, String> {
    match tool {
        Tool::Skopeo => {
            let v: serde_json::Value = serde_json::from_str(stdout)
                .map_err(|e| format!("skopeo list-tags printed invalid JSON: {e}"))?;
            v["Tags"]
                .as_array()
                .map(Vec::len)
                .ok_or_else(|| "skopeo list-tags printed no Tags array".to_owned())
        }
        _ => Ok(stdout.lines().filter(|l| !l.trim().is_empty()).count()),
    }
}

/// Whether this process runs as root, read from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// The first `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Finds `binary`, installing Debian package `package` when missing and root.
pub(crate) fn ensure_package(binary: &str, package: &str) -> Result<PathBuf, String> {
    if let Some(p) = which(binary) {
        return Ok(p);
    }
    if !is_root() {
        return Err(format!(
            "{binary} not found and not root (install it: apt-get install -y {package})"
        ));
    }
    eprintln!("bench: {binary} not found; installing Debian's {package}");
    for args in [&["update"][..], &["install", "-y", package][..]] {
        let ok = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("running apt-get: {e}"))?
            .success();
        if !ok {
            return Err(format!("apt-get {} failed", args.join(" ")));
        }
    }
    which(binary).ok_or_else(|| format!("{binary} still missing after apt-get install {package}"))
}

/// GNU time for peak RSS: `/usr/bin/time` (package `time`).
pub(crate) fn ensure_time() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/time");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    match ensure_package("time", "time") {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("bench: no peak RSS figures: {e}");
            None
        }
    }
}

/// Runs `cargo build --release ...` in the workspace; the error says why.
pub(crate) fn cargo_build(root: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release {}", args.join(" "));
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release"])
        .args(args)
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build --release {} failed ({status})",
            args.join(" ")
        ))
    }
}

/// Builds (unless `skip_build`) and finds `target/release/crctl`, checking
/// that it has a `copy` command.
pub(crate) fn crctl(root: &Path, target: &Path, skip_build: bool) -> Result<PathBuf, String> {
    if !skip_build {
        cargo_build(root, &["-p", "crctl"])?;
    }
    let bin = target.join("release").join("crctl");
    if !bin.is_file() {
        return Err(format!("{} does not exist", bin.display()));
    }
    let out = Command::new(&bin)
        .args(["copy", "--help"])
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`crctl copy --help` failed ({}): {}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    Ok(bin)
}

/// Builds (unless `skip_build`) the oci-client peer into `target/peers`.
pub(crate) fn peer(root: &Path, target: &Path, skip_build: bool) -> Result<PathBuf, String> {
    let manifest = root.join("xtask/peers/oci-client-pull/Cargo.toml");
    let target_dir = target.join("peers");
    if !skip_build {
        cargo_build(
            root,
            &[
                "--manifest-path",
                &manifest.to_string_lossy(),
                "--target-dir",
                &target_dir.to_string_lossy(),
            ],
        )?;
    }
    let bin = target_dir.join("release").join("oci-client-pull");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} does not exist", bin.display()))
    }
}
