//! The sync scenario: mirror [`REPOS`] repositories × [`TAGS`] tags,
//! registry → fresh registry, with `crctl sync` and `skopeo sync` reading the
//! same skopeo-format YAML.
//!
//! Every image is the [`SHARED_LAYERS`] base layers of [`SHARED_MIB`] MiB
//! random bytes (the bench image generator's layout `4x32MiB`, cached under
//! `target/bench/image/`), then one small layer and a config of its own. The
//! source registry is the bench's long-lived one (repositories
//! `sync/app-NN`, tags `v0`…); the destination is a new registry (new
//! storage directory) for every run, named `mirror/app-NN` by both tools
//! (`crctl sync --flat` and skopeo keep the last path component).
//!
//! Both registries sit behind a counting [`Proxy`]: each run reports the
//! requests by method on either side, the request body bytes sent to the
//! destination (blob uploads and manifests apart) and the blob bytes read
//! from the source. The floor for the uploads is the unique bytes (configs
//! and small layers) plus one copy of the shared layers. After every run the
//! destination is checked directly (not through the proxy): exactly the
//! expected repositories, each with exactly its tags, each tag at the source
//! manifest's digest; so the two tools' destinations are equal.
//!
//! Then [`RERUNS`] no-op reruns per tool into its last destination (`sync-rerun`).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::{StreamExt as _, TryStreamExt as _};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use registry_core::Body;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use test_support::{Proxy, TestRegistry};

use super::image::{self, Blob, Image};
use super::raw::Raw;
use super::report::{Extra, Sample, Scenario};
use super::scenarios::{self, Ctx};
use super::targets;
use super::tools::Tool;

/// Source repositories.
pub(crate) const REPOS: usize = 20;
/// Tags per repository.
pub(crate) const TAGS: usize = 3;
/// Base layers every image shares.
pub(crate) const SHARED_LAYERS: usize = 4;
/// MiB of random bytes in each shared layer.
pub(crate) const SHARED_MIB: u64 = 32;
/// Random bytes in each image's own layer (before gzip).
const UNIQUE_BYTES: usize = 64 * 1024;
/// No-op reruns per tool.
pub(crate) const RERUNS: usize = 3;
/// Source repositories are `sync/app-NN`.
const SRC_PREFIX: &str = "sync";
/// Destination repositories are `mirror/app-NN`.
const DEST_PREFIX: &str = "mirror";
const MIB: f64 = 1048576.0;

/// One image of the source: its own layer and config, the shared base.
struct SyncImage {
    /// `app-NN`.
    name: String,
    /// `vN`.
    tag: String,
    config: Bytes,
    layer: Bytes,
    manifest: Bytes,
    /// The manifest digest.
    digest: String,
}

/// The seeded source, its proxy and the YAML both tools read.
pub(crate) struct Fixture {
    base: Image,
    images: Vec<SyncImage>,
    src_proxy: Proxy,
    yaml: PathBuf,
}

impl Fixture {
    /// Bytes of the blobs only one image has (configs and own layers).
    fn unique_bytes(&self) -> u64 {
        self.images
            .iter()
            .map(|i| (i.config.len() + i.layer.len()) as u64)
            .sum()
    }

    /// Bytes of one copy of the shared layers.
    fn shared_bytes(&self) -> u64 {
        self.base.layers.iter().map(|b| b.size).sum()
    }

    /// The least a mirror must upload: unique bytes + one copy of the shared layers.
    fn floor(&self) -> u64 {
        self.unique_bytes() + self.shared_bytes()
    }
}

/// What one run sent and received, from the two proxies' logs.
#[derive(Debug, Clone, Default)]
struct Counts {
    /// Requests to the destination, by method.
    dest: BTreeMap<String, usize>,
    /// Requests to the source, by method.
    src: BTreeMap<String, usize>,
    /// Request body bytes of blob uploads (`POST`/`PATCH`/`PUT` under `blobs/uploads/`).
    blob_bytes: u64,
    /// Request body bytes of manifest `PUT`s.
    manifest_bytes: u64,
    /// Blob bytes read from the source.
    src_blob_bytes: u64,
}

impl Counts {
    fn of(dest: &Proxy, src: &Proxy) -> Counts {
        let by_method = |p: &Proxy| {
            let mut m = BTreeMap::new();
            for r in p.requests() {
                *m.entry(r.method.to_string()).or_insert(0) += 1;
            }
            m
        };
        let body = |path: &str| -> u64 {
            dest.requests()
                .iter()
                .filter(|r| test_support::http::glob_match(path, r.path()))
                .map(|r| r.request_body_bytes())
                .sum()
        };
        Counts {
            dest: by_method(dest),
            src: by_method(src),
            blob_bytes: body("/v2/*/blobs/uploads/*"),
            manifest_bytes: body("/v2/*/manifests/*"),
            src_blob_bytes: src.body_bytes_sent("GET", "/v2/*/blobs/*"),
        }
    }

    fn total(m: &BTreeMap<String, usize>) -> usize {
        m.values().sum()
    }

    /// `N (GET a, HEAD b, ...)`.
    fn describe(m: &BTreeMap<String, usize>) -> String {
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{} ({})", Self::total(m), parts.join(", "))
    }

    fn to_json(&self) -> Value {
        json!({
            "dest_requests": Self::total(&self.dest),
            "dest_by_method": self.dest,
            "src_requests": Self::total(&self.src),
            "src_by_method": self.src,
            "uploaded_blob_bytes": self.blob_bytes,
            "uploaded_manifest_bytes": self.manifest_bytes,
            "src_blob_bytes": self.src_blob_bytes,
        })
    }
}

/// Source repository path of image name `app-NN`.
fn src_repo(name: &str) -> String {
    format!("{SRC_PREFIX}/{name}")
}

/// A gzip tar holding one file of [`UNIQUE_BYTES`] seeded random bytes, and
/// its diff ID.
fn unique_layer(index: usize) -> (Bytes, String) {
    let mut data = vec![0u8; UNIQUE_BYTES];
    SmallRng::seed_from_u64(0x7379_6e63_0000 + index as u64).fill_bytes(&mut data);
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header
        .set_path(format!("unique-{index}.bin"))
        .expect("short path");
    header.set_size(UNIQUE_BYTES as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, data.as_slice()).expect("in memory");
    let tar = tar.into_inner().expect("in memory");
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar).expect("in memory");
    (Bytes::from(gz.finish().expect("in memory")), diff_id)
}

fn blob_of(data: &Bytes, media_type: &str) -> Blob {
    Blob {
        digest: format!("sha256:{}", hex::encode(Sha256::digest(data))),
        size: data.len() as u64,
        media_type: media_type.to_owned(),
    }
}

/// The [`REPOS`] × [`TAGS`] images on top of `base`'s layers.
fn images(base: &Image) -> Result<Vec<SyncImage>, String> {
    let path = base.blob_path(&base.config.digest);
    let config: Value = serde_json::from_slice(
        &std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let base_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(REPOS * TAGS);
    for r in 0..REPOS {
        for t in 0..TAGS {
            let index = r * TAGS + t;
            let (name, tag) = (format!("app-{r:02}"), format!("v{t}"));
            let (layer, diff_id) = unique_layer(index);
            let mut ids = base_ids.clone();
            ids.push(json!(diff_id));
            let config = Bytes::from(
                serde_json::to_vec(&json!({
                    "architecture": "amd64",
                    "os": "linux",
                    "config": {"Labels": {"bench.image": format!("{name}:{tag}")}},
                    "rootfs": {"type": "layers", "diff_ids": ids},
                }))
                .expect("JSON"),
            );
            let mut layers: Vec<Value> = base.layers.iter().map(image::descriptor).collect();
            layers.push(image::descriptor(&blob_of(&layer, image::LAYER_TYPE)));
            let manifest = Bytes::from(
                serde_json::to_vec(&json!({
                    "schemaVersion": 2,
                    "mediaType": image::MANIFEST_TYPE,
                    "config": image::descriptor(&blob_of(&config, image::CONFIG_TYPE)),
                    "layers": layers,
                }))
                .expect("JSON"),
            );
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(&manifest)));
            out.push(SyncImage {
                name,
                tag,
                config,
                layer,
                manifest,
                digest,
            });
        }
    }
    Ok(out)
}

/// Pushes every image into the source: the shared layers uploaded once and
/// mounted into the other repositories, then each image's own blobs and
/// manifest, 8 images at a time.
async fn seed(raw: &Raw, base: &Image, images: &[SyncImage]) -> Result<(), String> {
    let first = src_repo(&images[0].name);
    for layer in &base.layers {
        raw.upload_file(&first, layer, &base.blob_path(&layer.digest))
            .await?;
    }
    let names: BTreeSet<&str> = images.iter().map(|i| i.name.as_str()).collect();
    let mounts = names.iter().skip(1).flat_map(|name| {
        base.layers
            .iter()
            .map(move |l| (src_repo(name), l.digest.clone()))
    });
    futures_util::stream::iter(mounts)
        .map(|(repo, digest)| {
            let first = first.clone();
            async move { raw.mount(&repo, &digest, &first).await }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    futures_util::stream::iter(images)
        .map(|img| async move {
            let repo = src_repo(&img.name);
            for data in [&img.config, &img.layer] {
                let b = blob_of(data, "");
                raw.upload(&repo, &b.digest, b.size, Body::full(data.clone()))
                    .await?;
            }
            raw.put_manifest(&repo, &img.tag, image::MANIFEST_TYPE, img.manifest.clone())
                .await
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
}

/// The skopeo-format YAML: every source repository with its explicit tags.
fn yaml(src_host: &str, images: &[SyncImage]) -> String {
    let mut tags: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for img in images {
        tags.entry(src_repo(&img.name)).or_default().push(&img.tag);
    }
    let mut out = format!("\"{src_host}\":\n  tls-verify: false\n  images:\n");
    for (repo, tags) in tags {
        out.push_str(&format!("    {repo}: [{}]\n", tags.join(", ")));
    }
    out
}

/// Command-line arguments of `tool` to mirror `yaml` into `host/mirror`.
fn sync_args(tool: Tool, yaml: &Path, host: &str) -> Vec<OsString> {
    let dest = format!("{host}/{DEST_PREFIX}");
    match tool {
        Tool::Crctl => vec![
            "sync".into(),
            yaml.into(),
            "--to".into(),
            dest.into(),
            "--flat".into(),
            "--plain-http".into(),
        ],
        Tool::Skopeo => vec![
            "--insecure-policy".into(),
            "sync".into(),
            "--src".into(),
            "yaml".into(),
            "--dest".into(),
            "docker".into(),
            "--dest-tls-verify=false".into(),
            "--preserve-digests".into(),
            yaml.into(),
            dest.into(),
        ],
        other => panic!("{} has no sync command", other.name()),
    }
}

/// The destination holds exactly `mirror/app-NN` with exactly their tags,
/// each at the source digest (asked of the registry directly).
async fn check_destination(raw: &Raw, images: &[SyncImage]) -> Result<(), String> {
    let mut want: BTreeMap<String, BTreeMap<&str, &str>> = BTreeMap::new();
    for img in images {
        want.entry(format!("{DEST_PREFIX}/{}", img.name))
            .or_default()
            .insert(&img.tag, &img.digest);
    }
    let catalog = raw.get_json("/v2/_catalog?n=1000").await?;
    let repos: BTreeSet<String> = catalog["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    if repos != want.keys().cloned().collect() {
        return Err(format!(
            "destination repositories are {repos:?}, expected {:?}",
            want.keys().collect::<Vec<_>>()
        ));
    }
    futures_util::stream::iter(&want)
        .map(|(repo, tags)| async move {
            let list = raw.get_json(&format!("/v2/{repo}/tags/list")).await?;
            let got: BTreeSet<&str> = list["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if got != tags.keys().copied().collect() {
                return Err(format!(
                    "{repo} has tags {got:?}, expected {:?}",
                    tags.keys()
                ));
            }
            for (tag, digest) in tags {
                let actual = raw.manifest_digest(repo, tag).await?;
                if actual != *digest {
                    return Err(format!("{repo}:{tag} is {actual}, expected {digest}"));
                }
            }
            Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
}

/// Per-tool lines and JSON for the runs' counts.
fn summarize(counts: &BTreeMap<Tool, Vec<Counts>>, tools: &[Tool]) -> (Vec<String>, Value) {
    let mut lines = Vec::new();
    let mut js = serde_json::Map::new();
    for &t in tools {
        let Some(runs) = counts.get(&t).filter(|r| !r.is_empty()) else {
            continue;
        };
        let first = &runs[0];
        let max_blob = runs.iter().map(|c| c.blob_bytes).max().unwrap_or(0);
        lines.push(format!(
            "{:<11} run 1: destination requests {}; source requests {}",
            t.name(),
            Counts::describe(&first.dest),
            Counts::describe(&first.src)
        ));
        lines.push(format!(
            "{:<11} uploaded {:.1} MiB of blobs (most of {} runs) + {:.1} KiB of manifests; read {:.1} MiB of blobs from the source",
            "",
            max_blob as f64 / MIB,
            runs.len(),
            first.manifest_bytes as f64 / 1024.0,
            first.src_blob_bytes as f64 / MIB
        ));
        js.insert(
            t.name().to_owned(),
            json!({
                "runs": runs.iter().map(Counts::to_json).collect::<Vec<_>>(),
                "max_uploaded_blob_bytes": max_blob,
            }),
        );
    }
    (lines, Value::Object(js))
}

impl Ctx {
    /// Generates (or reuses) the shared layers, pushes the images into the
    /// source registry, starts its proxy and writes the YAML. Not measured.
    pub(crate) fn sync_setup(&self, image_root: &Path) -> Result<Fixture, String> {
        let base = image::ensure(image_root, SHARED_LAYERS, SHARED_MIB)?;
        let images = images(&base)?;
        let start = std::time::Instant::now();
        self.rt.block_on(seed(&self.raw, &base, &images))?;
        eprintln!(
            "bench: sync source: {} images in {REPOS} repositories pushed in {:.1} s",
            images.len(),
            start.elapsed().as_secs_f64()
        );
        let src_proxy = self.rt.block_on(Proxy::start(self.registry.url()));
        let yaml_path = self.work.join("sync.yaml");
        std::fs::write(&yaml_path, yaml(&src_proxy.host(), &images))
            .map_err(|e| format!("writing {}: {e}", yaml_path.display()))?;
        Ok(Fixture {
            base,
            images,
            src_proxy,
            yaml: yaml_path,
        })
    }

    /// One timed sync by `tool` into `dest` (behind `proxy`), counted and checked.
    fn sync_once(
        &self,
        fx: &Fixture,
        tool: Tool,
        dest: &TestRegistry,
        proxy: &Proxy,
    ) -> Result<(Sample, Counts), String> {
        proxy.clear_requests();
        fx.src_proxy.clear_requests();
        let (sample, _) = self.run_tool(tool, &sync_args(tool, &fx.yaml, &proxy.host()))?;
        let counts = Counts::of(proxy, &fx.src_proxy);
        let raw = Raw::new(&dest.host())?;
        self.rt
            .block_on(check_destination(&raw, &fx.images))
            .map_err(|e| format!("after {} sync: {e}", tool.name()))?;
        Ok((sample, counts))
    }

    /// The `sync` scenario (fresh destination every run) and `sync-rerun`
    /// (no-op reruns against each tool's last destination).
    pub(crate) fn sync(&self, fx: &Fixture) -> (Scenario, Scenario) {
        const TOOLS: [Tool; 2] = [Tool::Crctl, Tool::Skopeo];
        eprintln!(
            "bench: sync {REPOS} repositories x {TAGS} tags ({} runs each)",
            self.runs
        );
        let available = |t: Tool| self.tools.binary(t).map(drop);
        let mut counts: BTreeMap<Tool, Vec<Counts>> = BTreeMap::new();
        let mut kept: BTreeMap<Tool, (TestRegistry, Proxy)> = BTreeMap::new();
        let tools = self.alternate(&TOOLS, available, |tool, _| {
            // Drop the previous destination of this tool first.
            kept.remove(&tool);
            let dest = self.rt.block_on(scenarios::start_registry());
            let proxy = self.rt.block_on(Proxy::start(dest.url()));
            let (sample, c) = self.sync_once(fx, tool, &dest, &proxy)?;
            counts.entry(tool).or_default().push(c);
            kept.insert(tool, (dest, proxy));
            scenarios::sync();
            Ok(sample)
        });
        let floor = fx.floor();
        let (mut lines, counts_json) = summarize(&counts, &TOOLS);
        lines.push(format!(
            "floor: unique {:.1} MiB ({} configs + {} own layers) + one copy of the shared layers {:.1} MiB = {:.1} MiB",
            fx.unique_bytes() as f64 / MIB,
            fx.images.len(),
            fx.images.len(),
            fx.shared_bytes() as f64 / MIB,
            floor as f64 / MIB
        ));
        let crctl_bytes = counts
            .get(&Tool::Crctl)
            .and_then(|r| r.iter().map(|c| c.blob_bytes).max());
        let bytes_check = targets::bytes_at_most(
            "sync: crctl uploads <= unique bytes + one copy of the shared layers",
            crctl_bytes,
            floor,
        );
        let sync = Scenario {
            name: "sync",
            description: format!(
                "registry -> fresh registry, {REPOS} repos x {TAGS} tags sharing {SHARED_LAYERS} x {SHARED_MIB} MiB layers (MiB/s: floor bytes / median)"
            ),
            bytes: Some(floor),
            target: "crctl <= 0.5x skopeo's time, uploads <= unique bytes + one copy of the shared layers",
            tools,
            extra: Some(Extra {
                lines,
                json: json!({
                    "repos": REPOS,
                    "tags": TAGS,
                    "shared_layers": SHARED_LAYERS,
                    "shared_layer_mib": SHARED_MIB,
                    "unique_bytes": fx.unique_bytes(),
                    "shared_bytes": fx.shared_bytes(),
                    "floor_bytes": floor,
                    "counts": counts_json,
                }),
                checks: vec![bytes_check],
            }),
        };

        eprintln!("bench: sync no-op reruns ({RERUNS} each)");
        let mut counts: BTreeMap<Tool, Vec<Counts>> = BTreeMap::new();
        let tools = self.alternate_n(
            RERUNS,
            &TOOLS,
            |t| {
                available(t)?;
                kept.contains_key(&t)
                    .then_some(())
                    .ok_or_else(|| "no populated destination (its sync runs failed)".to_owned())
            },
            |tool, _| {
                let (dest, proxy) = &kept[&tool];
                let (sample, c) = self.sync_once(fx, tool, dest, proxy)?;
                counts.entry(tool).or_default().push(c);
                Ok(sample)
            },
        );
        let (lines, counts_json) = summarize(&counts, &TOOLS);
        let rerun = Scenario {
            name: "sync-rerun",
            description: "the same sync again into the populated destination (nothing to copy)"
                .to_owned(),
            bytes: None,
            target: "crctl no-op rerun <= 1 s",
            tools,
            extra: Some(Extra {
                lines,
                json: json!({"counts": counts_json}),
                checks: Vec::new(),
            }),
        };
        (sync, rerun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lists_every_repository_with_its_tags_and_images_share_the_base() {
        let root = tempfile::tempdir().unwrap();
        let base = image::ensure(root.path(), 1, 1).unwrap();
        let imgs = images(&base).unwrap();
        assert_eq!(imgs.len(), REPOS * TAGS);
        let text = yaml("127.0.0.1:5000", &imgs);
        assert!(text.starts_with("\"127.0.0.1:5000\":\n  tls-verify: false\n  images:\n"));
        assert!(text.contains("    sync/app-00: [v0, v1, v2]\n"));
        assert!(text.contains("    sync/app-19: [v0, v1, v2]\n"));
        assert_eq!(text.lines().count(), 3 + REPOS);
        // Every image is distinct; they share the base layers.
        let digests: BTreeSet<&str> = imgs.iter().map(|i| i.digest.as_str()).collect();
        assert_eq!(digests.len(), REPOS * TAGS);
        let m: Value = serde_json::from_slice(&imgs[7].manifest).unwrap();
        assert_eq!(m["layers"][0]["digest"], base.layers[0].digest.as_str());
        assert_eq!(m["layers"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn counts_describe_by_method() {
        let mut m = BTreeMap::new();
        m.insert("HEAD".to_owned(), 3);
        m.insert("PUT".to_owned(), 2);
        assert_eq!(Counts::describe(&m), "5 (HEAD 3, PUT 2)");
    }
}
