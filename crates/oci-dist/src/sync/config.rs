//! The YAML file `skopeo sync --src yaml` reads, plus our extensions.
//!
//! The top level maps a registry (`host[:port]`) to what to take from it:
//!
//! | key | meaning (skopeo) |
//! |---|---|
//! | `images` | `{repo: [tags]}`; an empty list means every tag |
//! | `images-by-tag-regex` | `{repo: regex}`: the tags the regex matches (unanchored, as in skopeo: write `^…$`) |
//! | `images-by-semver` | `{repo: constraint}` e.g. `">= 1.2.0, < 2"`; tags that are not versions are left out |
//! | `tls-verify` | `false` accepts any certificate (and plain HTTP) |
//! | `credentials` | `{username, password}` |
//!
//! Our extensions, per registry section (skopeo rejects them, so a file
//! using them is ours only):
//!
//! | key | meaning |
//! |---|---|
//! | `rename` | `{source repo: destination repo}`: the repository's name under the destination prefix |
//! | `tags-deny` | a list of regexes; a tag any of them matches is left out |
//! | `semver-latest` | keep only the N highest versions among the semver-selected tags |
//! | `referrers` | `true`: each image's referrers (signatures, SBOMs, attestations, and their own referrers) come along, by digest; a registry without the referrers API gets the tag-schema fallback index |
//! | `platforms` | `[linux/amd64, linux/arm64]`: of an index, only these images (and their attestations), under a filtered index with its own digest; absent: all, digests unchanged |
//!
//! An unknown key is an error naming the key and its line.
//!
//! ```
//! use oci_dist::sync::config::SyncConfig;
//! let cfg = SyncConfig::parse(r#"
//! registry.example:
//!   images:
//!     library/alpine: ["3.19", "3.20"]
//!     library/busybox: []
//!   images-by-semver:
//!     org/app: ">= 1.0.0, < 2"
//!   tls-verify: false
//! "#).unwrap();
//! assert_eq!(cfg.registries.len(), 1);
//! let err = SyncConfig::parse("r.example:\n  imagez: {}\n").unwrap_err();
//! assert!(err.to_string().contains("imagez") && err.to_string().contains("line 2"));
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use registry_core::Error;
use serde::Deserialize;

use super::{Endpoint, SyncJob, TagSelector, destination_name};

/// A whole sync file: one section per source registry, in host order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncConfig {
    /// `host[:port]` → what to take from it.
    pub registries: BTreeMap<String, RegistryConfig>,
}

/// What to take from one registry.
///
/// ```
/// use oci_dist::sync::config::RegistryConfig;
/// let r = RegistryConfig::default();
/// assert!(r.tls_verify && r.images.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// `{repo: [tags]}`; an empty list selects every tag.
    #[serde(default)]
    pub images: BTreeMap<String, Vec<String>>,
    /// `{repo: regex}`.
    #[serde(default)]
    pub images_by_tag_regex: BTreeMap<String, String>,
    /// `{repo: semver constraint}`.
    #[serde(default)]
    pub images_by_semver: BTreeMap<String, String>,
    /// Verify TLS certificates (default true).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Credentials for this registry.
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// Extension: source repository → destination repository name.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Extension: tags matching any of these regexes are left out.
    #[serde(default)]
    pub tags_deny: Vec<String>,
    /// Extension: keep only the N highest versions of semver selections.
    #[serde(default)]
    pub semver_latest: Option<usize>,
    /// Extension: only these platforms (`os/arch[/variant]`) of an index;
    /// absent or empty: all (digests unchanged).
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Extension: carry each image's referrers (signatures, SBOMs,
    /// attestations) along.
    #[serde(default)]
    pub referrers: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            images: BTreeMap::new(),
            images_by_tag_regex: BTreeMap::new(),
            images_by_semver: BTreeMap::new(),
            tls_verify: true,
            credentials: None,
            rename: BTreeMap::new(),
            tags_deny: Vec::new(),
            semver_latest: None,
            platforms: Vec::new(),
            referrers: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// `username` and `password` for a registry.
///
/// ```
/// use oci_dist::sync::config::Credentials;
/// let c = Credentials { username: "u".into(), password: "p".into() };
/// assert!(!format!("{c:?}").contains("\"p\""));
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password (never printed by `Debug`).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl SyncConfig {
    /// Parses the YAML text; errors name the offending key and line, and
    /// every regex, constraint and platform is checked here.
    ///
    /// ```
    /// use oci_dist::sync::config::SyncConfig;
    /// let e = SyncConfig::parse("r.example:\n  images-by-tag-regex:\n    app: \"(\"\n").unwrap_err();
    /// assert!(e.to_string().contains("app"));
    /// ```
    pub fn parse(text: &str) -> Result<SyncConfig, Error> {
        let registries: BTreeMap<String, RegistryConfig> =
            serde_yaml_ng::from_str::<Option<_>>(text)
                .map_err(|e| Error::invalid_input(format!("sync file: {e}")))?
                .unwrap_or_default();
        let config = SyncConfig { registries };
        config.checked().map_err(|e| e.context("sync file"))?;
        Ok(config)
    }
}

/// A semver constraint as skopeo writes them (`">= 1.2, < 2"`, `"~1.2"`,
/// `"1.x"`): comparators separated by commas or spaces.
pub(crate) fn parse_constraint(c: &str) -> Result<semver::VersionReq, String> {
    // Masterminds/semver accepts "> 1.0 < 2.0" (spaces between comparators)
    // and "1.x"; the semver crate wants commas.
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for token in c.replace(',', " ").split_whitespace() {
        let is_op = token.chars().all(|ch| "<>=~^!".contains(ch));
        current.push_str(token);
        if !is_op {
            parts.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    let joined = parts
        .iter()
        .map(|p| p.trim_start_matches(['v', 'V']).replace(".x", ".*"))
        .collect::<Vec<_>>()
        .join(", ");
    semver::VersionReq::parse(&joined).map_err(|e| format!("bad semver constraint {c:?}: {e}"))
}

/// A tag read as a version, leniently like skopeo: `v1.2`, `1.2.3`, `1`.
pub(crate) fn tag_version(tag: &str) -> Option<semver::Version> {
    let t = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let number = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() > 3 || !parts.iter().all(number) {
        return None;
    }
    let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts.len()));
    semver::Version::parse(&padded).ok()
}

impl SyncConfig {
    /// The sync jobs of this file, sorted: every repository of every
    /// section, named `prefix/REPO` at the destination (`prefix/LAST` with
    /// `flat`, or `prefix/NAME` with a `rename`). `endpoint` opens a
    /// registry section (its host, its settings: TLS, credentials).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oci_dist::sync::{config::SyncConfig, Endpoint, RegistryEndpoint};
    /// let cfg = SyncConfig::parse("r.example:\n  images:\n    org/app: [v1]\n  rename:\n    org/app: app2\n").unwrap();
    /// let jobs = cfg.jobs("mirror", false, |host, _| {
    ///     Ok(Arc::new(RegistryEndpoint::new(oci_dist::Client::new(host)?)) as Arc<dyn Endpoint>)
    /// }).unwrap();
    /// assert_eq!(jobs[0].destination, "mirror/app2");
    /// ```
    pub fn jobs(
        &self,
        prefix: &str,
        flat: bool,
        mut endpoint: impl FnMut(&str, &RegistryConfig) -> Result<Arc<dyn Endpoint>, Error>,
    ) -> Result<Vec<SyncJob>, Error> {
        let mut jobs = Vec::new();
        for section in self.checked()? {
            let r = section.config;
            let source = endpoint(section.host, r)?;
            for (repo, tags) in section.repositories {
                let name = match r.rename.get(repo) {
                    Some(n) => destination_name(prefix, n, false),
                    None => destination_name(prefix, repo, flat),
                };
                let mut job = SyncJob::new(source.clone(), repo, tags, name);
                job.deny = section.deny.clone();
                job.platforms = section.platforms.clone();
                job.referrers = r.referrers;
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// Every section with its regexes, semver constraints and platforms
    /// read once; errors name the host and the repository.
    fn checked(&self) -> Result<Vec<CheckedSection<'_>>, Error> {
        let mut out = Vec::new();
        for (host, r) in &self.registries {
            let deny = r
                .tags_deny
                .iter()
                .map(|d| regex::Regex::new(d))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::invalid_input(format!("{host}: tags-deny: bad regex: {e}")))?;
            let platforms = r
                .platforms
                .iter()
                .map(|p| crate::platform::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.context(format!("{host}: platforms")))?;
            let listed = r.images.iter().map(|(repo, tags)| {
                let sel = if tags.is_empty() {
                    TagSelector::All
                } else {
                    TagSelector::List(tags.clone())
                };
                (repo, Ok(sel))
            });
            let by_regex = r
                .images_by_tag_regex
                .iter()
                .map(|(repo, re)| (repo, TagSelector::regex(re)));
            let by_semver = r
                .images_by_semver
                .iter()
                .map(|(repo, c)| (repo, TagSelector::semver(c, r.semver_latest)));
            let repositories = listed
                .chain(by_regex)
                .chain(by_semver)
                .map(|(repo, tags)| {
                    let tags = tags.map_err(|e| e.context(format!("{host}: {repo}")))?;
                    Ok((repo.as_str(), tags))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            out.push(CheckedSection {
                host,
                config: r,
                deny,
                platforms,
                repositories,
            });
        }
        Ok(out)
    }
}

/// One section of a sync file, read: what [`SyncConfig::jobs`] turns into
/// jobs once it has the section's endpoint.
struct CheckedSection<'a> {
    host: &'a str,
    config: &'a RegistryConfig,
    deny: Vec<regex::Regex>,
    platforms: Vec<oci_spec::image::Platform>,
    repositories: Vec<(&'a str, TagSelector)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_core::ErrorKind;

    #[test]
    fn skopeo_example_parses() {
        let cfg = SyncConfig::parse(
            r#"
docker.io:
  images:
    busybox: []
    redis:
      - "1.0"
      - "2.0"
      - "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  images-by-tag-regex:
    nginx: ^1\.13\.[12]-alpine-perl$
  images-by-semver:
    alpine: ">= 3.12.0"
  credentials:
    username: john
    password: this is a secret
  tls-verify: true
quay.io:
  tls-verify: false
  images:
    coreos/etcd:
      - latest
"#,
        )
        .unwrap();
        let d = &cfg.registries["docker.io"];
        assert_eq!(d.images["redis"].len(), 3);
        assert_eq!(d.credentials.as_ref().unwrap().username, "john");
        assert!(!cfg.registries["quay.io"].tls_verify);
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let e = SyncConfig::parse("a.example:\n  images: {}\n  tls_verify: false\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tls_verify") && e.contains("line 3"), "{e}");
        let e = SyncConfig::parse("a.example:\n  credentials:\n    username: u\n    pass: p\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pass") && e.contains("line 4"), "{e}");
    }

    #[test]
    fn every_regex_constraint_and_platform_is_checked_at_parse() {
        for (section, names) in [
            (
                "images-by-tag-regex:\n    app: \"(\"",
                "a.example: app: bad tag regex",
            ),
            (
                "images-by-semver:\n    app: \">> 1\"",
                "a.example: app: bad semver",
            ),
            ("tags-deny: [\"[\"]", "a.example: tags-deny: bad regex"),
            (
                "platforms: [linux]",
                "a.example: platforms: invalid platform",
            ),
        ] {
            let e = SyncConfig::parse(&format!("a.example:\n  {section}\n")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(
                e.to_string().starts_with(&format!("sync file: {names}")),
                "{e}"
            );
        }
    }

    #[test]
    fn empty_file_is_empty() {
        assert!(SyncConfig::parse("").unwrap().registries.is_empty());
    }

    #[test]
    fn constraints_and_versions() {
        let r = parse_constraint(">= 1.2.0, < 2").unwrap();
        assert!(r.matches(&tag_version("v1.3").unwrap()));
        assert!(!r.matches(&tag_version("2.0.0").unwrap()));
        assert!(
            parse_constraint("> 1.0 < 1.5")
                .unwrap()
                .matches(&tag_version("1.2").unwrap())
        );
        assert!(
            parse_constraint("1.x")
                .unwrap()
                .matches(&tag_version("1.9.9").unwrap())
        );
        assert_eq!(tag_version("latest"), None);
        assert_eq!(tag_version("1.2.3.4"), None);
        for not_a_version in ["", "v", "1..2", "1.x", "1.2.", "-rc1"] {
            assert_eq!(tag_version(not_a_version), None, "{not_a_version}");
        }
        assert_eq!(tag_version("V2").unwrap(), semver::Version::new(2, 0, 0));
        assert_eq!(tag_version("1.2+build").unwrap().build.as_str(), "build");
        assert_eq!(tag_version("1.2.3-rc1").unwrap().pre.as_str(), "rc1");
    }
}
