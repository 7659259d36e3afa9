//! Platforms (`os/arch[/variant]`): parsing, normalisation and matching
//! against the entries of an image index.
//!
//! Normalisation follows containerd: `aarch64` is `arm64`, `x86_64` is
//! `amd64`; `arm64` without a variant means `v8`; `arm` without a variant
//! means `v7`; `amd64` variants `v1` and none are the same.

use oci_spec::image::{Arch, Descriptor, ImageIndex, Os, Platform, PlatformBuilder};
use registry_core::Error;

/// Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`.
///
/// ```
/// let p = oci_dist::platform::parse("linux/arm64").unwrap();
/// assert_eq!(oci_dist::platform::to_string(&p), "linux/arm64/v8");
/// assert!(oci_dist::platform::parse("linux").is_err());
/// ```
pub fn parse(s: &str) -> Result<Platform, Error> {
    let parts: Vec<&str> = s.split('/').collect();
    let bad = |why: &str| Error::invalid_input(format!("invalid platform {s:?}: {why}"));
    if parts.len() < 2 || parts.len() > 3 {
        return Err(bad("expected os/arch or os/arch/variant"));
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("empty component"));
    }
    let p = new(parts[0], parts[1], parts.get(2).copied());
    Ok(normalize(&p))
}

/// A platform from its parts (not normalised).
pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
    let mut b = PlatformBuilder::default()
        .os(Os::from(os))
        .architecture(Arch::from(arch));
    if let Some(v) = variant {
        b = b.variant(v.to_owned());
    }
    b.build().expect("os and architecture are set")
}

/// The platform this program runs on, normalised (`linux/amd64` here).
pub fn host() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    normalize(&new(os, arch, None))
}

/// `os/arch[/variant]`.
pub fn to_string(p: &Platform) -> String {
    let mut s = format!("{}/{}", p.os(), p.architecture());
    if let Some(v) = p.variant() {
        s.push('/');
        s.push_str(v);
    }
    s
}

/// Applies the normalisation rules of this module.
pub fn normalize(p: &Platform) -> Platform {
    let os = p.os().to_string().to_lowercase();
    let mut arch = p.architecture().to_string().to_lowercase();
    let mut variant = p.variant().clone().map(|v| v.to_lowercase());
    match arch.as_str() {
        "aarch64" => arch = "arm64".into(),
        "x86_64" | "x86-64" => arch = "amd64".into(),
        "i386" | "i686" => arch = "386".into(),
        "armhf" => arch = "arm".into(),
        "armel" => {
            arch = "arm".into();
            variant.get_or_insert_with(|| "v6".into());
        }
        _ => {}
    }
    match arch.as_str() {
        "arm64" if variant.as_deref().is_none_or(|v| v == "8" || v == "v8") => {
            variant = Some("v8".into());
        }
        "arm" => match variant.as_deref() {
            None | Some("7") => variant = Some("v7".into()),
            Some("6") => variant = Some("v6".into()),
            Some("5") => variant = Some("v5".into()),
            _ => {}
        },
        "amd64" if variant.as_deref() == Some("v1") => variant = None,
        _ => {}
    }
    let mut out = new(&os, &arch, variant.as_deref());
    out.set_os_version(p.os_version().clone());
    out.set_os_features(p.os_features().clone());
    out
}

/// Whether `candidate` satisfies `wanted`: same OS and architecture and,
/// after normalisation, the same variant. `wanted`'s `os.version`, when
/// given, must match too.
///
/// ```
/// use oci_dist::platform::{matches, parse, new};
/// let wanted = parse("linux/arm64").unwrap();
/// assert!(matches(&wanted, &new("linux", "arm64", None)));
/// assert!(matches(&wanted, &new("linux", "arm64", Some("v8"))));
/// assert!(!matches(&wanted, &new("linux", "arm", Some("v7"))));
/// ```
pub fn matches(wanted: &Platform, candidate: &Platform) -> bool {
    let w = normalize(wanted);
    let c = normalize(candidate);
    w.os() == c.os()
        && w.architecture() == c.architecture()
        && w.variant() == c.variant()
        && (w.os_version().is_none() || w.os_version() == c.os_version())
}

/// The first manifest of `index` whose platform matches `wanted`.
pub fn select<'a>(index: &'a ImageIndex, wanted: &Platform) -> Option<&'a Descriptor> {
    index
        .manifests()
        .iter()
        .find(|d| d.platform().as_ref().is_some_and(|p| matches(wanted, p)))
}

/// The entries of `index` for any of `wanted`, in index order, with the
/// attestation manifests that describe them (buildx's entries annotated
/// `vnd.docker.reference.digest` with a kept entry's digest).
///
/// ```
/// use oci_dist::platform::{parse, retain};
/// use oci_dist::ImageIndex;
/// let index: ImageIndex = serde_json::from_str(r#"{"schemaVersion":2,"manifests":[
///   {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
///    "digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
///    "platform":{"os":"linux","architecture":"amd64"}},
///   {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
///    "digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
///    "platform":{"os":"linux","architecture":"arm64"}},
///   {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
///    "digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
///    "platform":{"os":"unknown","architecture":"unknown"},
///    "annotations":{"vnd.docker.reference.digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
///                   "vnd.docker.reference.type":"attestation-manifest"}}]}"#).unwrap();
/// let kept = retain(&index, &[parse("linux/amd64").unwrap()]);
/// assert_eq!(kept.len(), 2); // the amd64 image and its attestation
/// assert!(retain(&index, &[parse("linux/s390x").unwrap()]).is_empty());
/// ```
pub fn retain(index: &ImageIndex, wanted: &[Platform]) -> Vec<Descriptor> {
    let chosen = |d: &Descriptor| {
        d.platform()
            .as_ref()
            .is_some_and(|p| wanted.iter().any(|w| matches(w, p)))
    };
    let kept: Vec<String> = index
        .manifests()
        .iter()
        .filter(|d| chosen(d))
        .map(|d| d.digest().to_string())
        .collect();
    index
        .manifests()
        .iter()
        .filter(|d| {
            chosen(d)
                || d.annotations()
                    .as_ref()
                    .and_then(|a| a.get("vnd.docker.reference.digest"))
                    .is_some_and(|r| kept.contains(r))
        })
        .cloned()
        .collect()
}

/// The platforms listed by an index, skipping `unknown/unknown` entries
/// (attestations).
pub fn available(index: &ImageIndex) -> Vec<String> {
    index
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .filter(|p| p.os().to_string() != "unknown")
        .map(to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(
            to_string(&parse("linux/aarch64").unwrap()),
            "linux/arm64/v8"
        );
        assert_eq!(to_string(&parse("linux/arm").unwrap()), "linux/arm/v7");
        assert_eq!(to_string(&parse("linux/arm/v6").unwrap()), "linux/arm/v6");
        assert_eq!(to_string(&parse("linux/x86_64").unwrap()), "linux/amd64");
        assert_eq!(to_string(&parse("linux/amd64/v1").unwrap()), "linux/amd64");
        assert_eq!(to_string(&parse("Linux/AMD64").unwrap()), "linux/amd64");
        assert_eq!(to_string(&parse("linux/armhf").unwrap()), "linux/arm/v7");
        assert_eq!(to_string(&parse("linux/armhf/7").unwrap()), "linux/arm/v7");
        assert_eq!(to_string(&parse("linux/armel").unwrap()), "linux/arm/v6");
    }

    #[test]
    fn matching() {
        let arm7 = new("linux", "arm", Some("v7"));
        let arm6 = new("linux", "arm", Some("v6"));
        assert!(matches(&parse("linux/arm").unwrap(), &arm7));
        assert!(!matches(&parse("linux/arm").unwrap(), &arm6));
        assert!(!matches(
            &parse("windows/amd64").unwrap(),
            &new("linux", "amd64", None)
        ));
        assert!(matches(
            &parse("linux/amd64").unwrap(),
            &new("linux", "amd64", Some("v1"))
        ));
        let mut w = parse("windows/amd64").unwrap();
        w.set_os_version(Some("10.0.1".into()));
        let mut c = new("windows", "amd64", None);
        assert!(!matches(&w, &c));
        c.set_os_version(Some("10.0.1".into()));
        assert!(matches(&w, &c));
    }

    #[test]
    fn errors() {
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_is_normalised() {
        let h = host();
        assert_eq!(normalize(&h), h);
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(to_string(&h), "linux/amd64");
        }
    }
}
