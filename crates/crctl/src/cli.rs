//! Command-line arguments (the contract in `../shared/CLI.md`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// crctl: container registries from the command line.
#[derive(Debug, Parser)]
#[command(name = "crctl", version, about, propagate_version = true)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the command.
#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// Talk HTTP instead of HTTPS to registries (the default for loopback
    /// hosts such as localhost and 127.0.0.1, unless --insecure or
    /// --ca-file asks for TLS).
    #[arg(long, global = true)]
    pub plain_http: bool,
    /// Do not verify TLS certificates (HTTPS, also to loopback hosts).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Extra trusted root certificates, PEM (HTTPS, also to loopback hosts).
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Registry user name.
    #[arg(short = 'u', long, global = true, env = "CRCTL_USERNAME")]
    pub username: Option<String>,
    /// Registry password.
    #[arg(
        short = 'p',
        long,
        global = true,
        env = "CRCTL_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Concurrent transfers.
    #[arg(long, global = true, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// Which image of an index to use: OS/ARCH[/VARIANT] (default: the host's).
    #[arg(long, global = true, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Logs on stderr (-v info, -vv debug); secrets never appear.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Machine-readable output where a command prints data.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for a response head (after the request body was
    /// sent) and for the next bytes of a body.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// A transfer slower than this many bytes/s over --low-speed-time is
    /// cut off (and a blob read resumed); 0 turns the limit off.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 1024)]
    pub low_speed_limit: u64,
    /// The window of --low-speed-limit, in seconds.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0)]
    pub low_speed_time: f64,
    /// Seconds one request may spend retrying, and a blob read resuming
    /// without progress, before crctl gives up.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 120.0)]
    pub retry_time: f64,
}

impl GlobalOptions {
    /// A duration from a number of seconds given on the command line.
    pub fn seconds(flag: &str, secs: f64) -> Result<std::time::Duration, crate::exit::Failure> {
        std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                crate::exit::Failure::usage(format!(
                    "--{flag} wants a positive number of seconds, got {secs}"
                ))
            })
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy an image or index between registries, OCI layouts, OCI archives
    /// and Docker archives (one platform's image: an archive of `docker
    /// save` holds no indexes).
    Copy {
        /// Source: HOST[:PORT]/REPO[:TAG][@DIGEST], oci:PATH[:TAG], oci-archive:FILE.tar[:TAG] or docker-archive:FILE.tar[:REPO:TAG].
        src: String,
        /// Destination: HOST[:PORT]/REPO[:TAG], oci:PATH[:TAG], oci-archive:FILE.tar[:TAG] or docker-archive:FILE.tar[:REPO:TAG] (archives are replaced when the copy succeeds).
        dst: String,
        /// Copy every platform of an index (default: only --platform's).
        #[arg(long)]
        all_platforms: bool,
    },
    /// Mirror many images: a skopeo-format YAML file, a bundle, an OCI
    /// layout or HOST/REPO to HOST[:PORT][/PREFIX], oci:PATH or a bundle
    /// oci-archive:FILE.tar. Plans first (tags already at the same digest
    /// are skipped), moves each blob once, keeps going past a failed image
    /// (exit 1, every failure listed).
    ///
    /// A bundle carries a mirror across an air gap: one OCI archive holding
    /// every repository, each blob once, each tag under the ref name
    /// REPO:TAG (`skopeo copy oci-archive:FILE.tar:REPO:TAG` reads it).
    /// `crctl sync mirror.yaml --to oci-archive:bundle.tar` writes it (in
    /// place only when the run ends, without the images that failed; not
    /// at all when every image failed), and `crctl sync bundle.tar --to
    /// HOST/PREFIX` recreates PREFIX/REPO:TAG for every tag in it.
    Sync {
        /// A YAML file (skopeo sync --src yaml format), a bundle
        /// (oci-archive:FILE or an existing FILE.tar), an OCI layout
        /// (oci:PATH or a directory holding one) or HOST/REPO.
        source: String,
        /// HOST[:PORT][/PREFIX] (source repository paths kept under it),
        /// oci:PATH (a layout per repository) or oci-archive:FILE.tar (a
        /// bundle, replaced when the run ends).
        #[arg(long, value_name = "DEST")]
        to: String,
        /// Print the plan (--json: as JSON) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do the I-th of N disjoint slices, by repository (0-based).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Also write the JSON result (or with --dry-run, the plan) to FILE, atomically.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Keep only the last component of repository names (skopeo's naming).
        #[arg(long)]
        flat: bool,
        /// With a HOST/REPO source, only the tags this regex matches.
        #[arg(long, value_name = "REGEX")]
        tags: Option<String>,
        /// Of an index, only these platforms (comma-separated
        /// OS/ARCH[/VARIANT]) under a filtered index; default all, digests
        /// unchanged. A YAML entry's own `platforms:` wins.
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        platforms: Vec<String>,
        /// Carry each image's referrers (signatures, SBOMs, attestations)
        /// along, as the YAML key `referrers: true` does.
        #[arg(long)]
        referrers: bool,
    },
    /// Resolve a reference to its manifest digest.
    ///
    /// Uses one HEAD request and reports the registry's
    /// Docker-Content-Digest for a tag; commands that act on the manifest
    /// (copy, manifest, config, export) fetch it and take the digest from
    /// the bytes instead.
    Digest {
        /// The image reference.
        reference: String,
    },
    /// Print a manifest exactly as served.
    Manifest {
        /// The image reference.
        reference: String,
    },
    /// Print the image config (platform-resolved).
    Config {
        /// The image reference.
        reference: String,
    },
    /// Check presence: exit 0 when present, 3 when absent.
    Exists {
        /// The image reference.
        reference: String,
    },
    /// List tags, all pages unless --limit.
    Tags {
        /// HOST[:PORT]/REPO.
        repository: String,
        /// At most this many tags (one page).
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this tag.
        #[arg(long)]
        last: Option<String>,
    },
    /// List repositories of a registry.
    Catalog {
        /// HOST[:PORT].
        registry: String,
        /// Only repositories under this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// At most this many repositories (one page).
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this repository.
        #[arg(long)]
        last: Option<String>,
    },
    /// Add tags to an existing manifest (no blob upload).
    Tag {
        /// The existing image reference.
        reference: String,
        /// New tags.
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Delete a tag or a manifest by digest.
    Delete {
        /// The image reference.
        reference: String,
    },
    /// Write the flattened filesystem (whiteouts applied) as a tar.
    Export {
        /// The image reference.
        reference: String,
        /// Output file; `-` or absent writes standard output.
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
    /// Single blobs.
    #[command(subcommand)]
    Blob(BlobCommand),
    /// List referrers as an OCI index.
    Referrers {
        /// The subject image reference.
        reference: String,
        /// Only referrers of this artifact type.
        #[arg(long)]
        artifact_type: Option<String>,
    },
    /// Store credentials in docker's config.json.
    Login {
        /// HOST[:PORT].
        host: String,
    },
    /// Remove credentials from docker's config.json.
    Logout {
        /// HOST[:PORT].
        host: String,
    },
    /// Magalu Cloud Container Registry management.
    Mgc(crate::mgc::MgcArgs),
    /// Azure Container Registry metadata.
    Acr(crate::acr::AcrArgs),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (crctl.1, crctl-copy.1, …) into a directory; used by
    /// `cargo xtask man` and packagers.
    #[command(hide = true)]
    Man {
        /// The directory (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// `crctl blob …`
#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Download a blob (verified against its digest).
    Get {
        /// HOST[:PORT]/REPO@DIGEST.
        reference: String,
        /// Output file; `-` or absent writes standard output.
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
    /// Upload a file as a blob; prints its digest.
    Put {
        /// HOST[:PORT]/REPO.
        repository: String,
        /// The file.
        file: PathBuf,
    },
    /// Delete a blob.
    Delete {
        /// HOST[:PORT]/REPO@DIGEST.
        reference: String,
    },
}
