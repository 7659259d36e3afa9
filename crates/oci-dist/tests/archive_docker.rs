//! Docker archives (`docker-archive:`, the `docker save` format) through
//! `copy`: registry → archive → registry keeping config and layer digests
//! and bytes, the classic `docker save` layout (`<id>/layer.tar`, links)
//! and the docker 25 one (`blobs/sha256/<hex>`), choosing an image by
//! `RepoTags`, corrupt and hostile archives refused, and skopeo's manifest
//! for the same archive.

mod common;

use std::path::Path;

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_dist::archive::{DockerArchiveReader, DockerArchiveWriter};
use oci_dist::content::ImageSource;
use oci_dist::copy::{CopyOptions, copy};
use oci_dist::image::{ImageBuilder, ImageLayer, NewImage, NewIndex};
use oci_dist::media_type::{DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR};
use oci_dist::{Digest, ErrorKind, Reference, Tag, TagOrDigest, platform};
use test_support::TestRegistry;
use test_support::layers::{gzip, tar_files};

const TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const TAR_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A config for layers with these uncompressed tars.
fn config(arch: &str, tars: &[&[u8]]) -> Bytes {
    let diff_ids: Vec<String> = tars
        .iter()
        .map(|t| Digest::sha256_of(t).to_string())
        .collect();
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap(),
    )
}

/// An image with a gzip layer and an uncompressed one.
fn image(seed: u64, arch: &str) -> NewImage {
    let one = tar_files(&[("a", &common::bytes(3000, seed))]);
    let two = tar_files(&[("b", &common::bytes(1000, seed + 1))]);
    ImageBuilder::new()
        .config_bytes(OCI_CONFIG, config(arch, &[&one, &two]))
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, gzip(&one)))
        .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, two))
        .build()
        .unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::new(s).unwrap()
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

/// A tar entry of a fixture: a file or a symbolic link.
enum Entry<'a> {
    File(&'a [u8]),
    Link(&'a str),
}

fn write_tar(path: &Path, entries: &[(&str, Entry<'_>)]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, entry) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match entry {
            Entry::File(data) => {
                h.set_size(data.len() as u64);
                b.append_data(&mut h, name, *data).unwrap();
            }
            Entry::Link(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, name, target).unwrap();
            }
        }
    }
    b.finish().unwrap();
}

async fn blob_bytes(source: &dyn ImageSource, d: &oci_dist::CheckedDescriptor) -> Vec<u8> {
    let parts: Vec<Bytes> = source
        .fetch_blob(d)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    parts.concat()
}

#[tokio::test]
async fn registry_to_docker_archive_to_registry_keeps_config_and_layer_digests() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src/app");
    let img = image(1, "amd64");
    src.push_image("v1", &img).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.tar");
    let writer = DockerArchiveWriter::create(&path)
        .await
        .unwrap()
        .with_repository("localhost:5000/app")
        .unwrap();
    let opts = CopyOptions::default().jobs(3);
    let sent = copy(&src, "v1", &writer, tag("v1"), &opts).await.unwrap();
    assert!(!path.exists(), "the archive appears only when finished");
    let archived = writer.archived_digest(&sent.digest).await.unwrap();
    writer.finish().await.unwrap();

    let original = img.manifest().as_image().unwrap().clone();
    let hex = |d: &oci_spec::image::Descriptor| d.digest().to_string()[7..].to_owned();
    let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(&path).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec![
        format!("{}.json", hex(original.config())),
        format!("{}.tar", hex(&original.layers()[0])),
        format!("{}.tar", hex(&original.layers()[1])),
        "manifest.json".to_owned(),
        "repositories".to_owned(),
    ];
    expected.sort();
    assert_eq!(names, expected);

    let reader = DockerArchiveReader::open(&path).await.unwrap();
    assert_eq!(
        reader.repo_tags(),
        vec![&["localhost:5000/app:v1".to_owned()][..]]
    );
    let selected = reader
        .select(Some(&reference("localhost:5000/app:v1")))
        .await
        .unwrap();
    assert_eq!(selected.media_type(), DOCKER_MANIFEST);
    assert_eq!(
        selected.digest(),
        &archived,
        "the writer predicts the digest"
    );
    let b = TestRegistry::anonymous().await;
    let dst = common::client_for(&b).with_segment("mirror/app");
    let target = TagOrDigest::Digest(selected.digest().clone());
    let report = copy(&reader, &target, &dst, "v1", &opts).await.unwrap();
    assert_eq!(&report.digest, selected.digest());

    let copied = dst.get_manifest("v1").await.unwrap();
    let copied = copied.as_image().unwrap();
    assert_eq!(copied.config().digest(), original.config().digest());
    let types: Vec<String> = copied
        .layers()
        .iter()
        .map(|l| l.media_type().to_string())
        .collect();
    assert_eq!(types, [TAR_GZIP, TAR]);
    for (c, o) in copied.layers().iter().zip(original.layers()) {
        assert_eq!(c.digest(), o.digest());
        assert_eq!(c.size(), o.size());
        let back = dst
            .fetch_blob(c)
            .await
            .unwrap()
            .bytes(1 << 20)
            .await
            .unwrap();
        let orig = src
            .fetch_blob(o)
            .await
            .unwrap()
            .bytes(1 << 20)
            .await
            .unwrap();
        assert_eq!(back, orig);
    }

    // Deterministic: the same archive read again gives the same manifest.
    let again = DockerArchiveReader::open(&path).await.unwrap();
    assert_eq!(again.select(None).await.unwrap(), selected);
    // A bare tag resolves when one image has it.
    assert_eq!(
        again.resolve(&TagOrDigest::Tag(tag("v1"))).await.unwrap(),
        selected
    );
}

#[tokio::test]
async fn an_index_needs_a_platform_and_a_failed_write_leaves_nothing() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("multi");
    let idx = NewIndex::new(vec![image(10, "amd64"), image(20, "arm64")]).unwrap();
    src.push_index("v1", &idx).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.tar");

    let writer = DockerArchiveWriter::create(&path).await.unwrap();
    let err = copy(&src, "v1", &writer, tag("v1"), &CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("not indexes"), "{err}");
    drop(writer);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let arm = platform::parse("linux/arm64").unwrap();
    let writer = DockerArchiveWriter::create(&path).await.unwrap();
    let opts = CopyOptions::default().platform(arm);
    copy(&src, "v1", &writer, tag("v1"), &opts).await.unwrap();
    writer.finish().await.unwrap();
    // No repository: the image is stored untagged.
    let reader = DockerArchiveReader::open(&path).await.unwrap();
    assert_eq!(reader.repo_tags(), vec![&[] as &[String]]);
    let m = reader.select(None).await.unwrap();
    let m = reader.fetch_manifest(&m).await.unwrap();
    assert_eq!(
        m.as_image().unwrap().config().digest(),
        idx.images()[1]
            .manifest()
            .as_image()
            .unwrap()
            .config()
            .digest()
    );
}

/// The classic `docker save` layout: `<id>/layer.tar` (a duplicated layer
/// as a link), `<hex>.json`, `manifest.json` and `repositories`; a second,
/// untagged image when `two`.
fn classic_fixture(path: &Path, two: bool) -> (Vec<u8>, Vec<u8>, Bytes) {
    let base = tar_files(&[("etc/os", b"base")]);
    let app = tar_files(&[("app/bin", b"app")]);
    let cfg = config("amd64", &[&base, &app, &base]);
    let cfg_hex = Digest::sha256_of(&cfg).hex().to_owned();
    let other = config("amd64", &[&base]);
    let other_hex = Digest::sha256_of(&other).hex().to_owned();
    let mut items = vec![serde_json::json!(
        {"Config": format!("{cfg_hex}.json"), "RepoTags": ["app:v1", "app:latest"],
         "Layers": ["1111/layer.tar", "2222/layer.tar", "3333/layer.tar"]})];
    if two {
        items.push(serde_json::json!(
            {"Config": format!("{other_hex}.json"), "RepoTags": null, "Layers": ["1111/layer.tar"]}
        ));
    }
    let manifest = serde_json::Value::from(items).to_string();
    write_tar(
        path,
        &[
            ("1111/layer.tar", Entry::File(&base)),
            ("1111/VERSION", Entry::File(b"1.0")),
            ("2222/layer.tar", Entry::File(&app)),
            ("3333/layer.tar", Entry::Link("../1111/layer.tar")),
            (&format!("{cfg_hex}.json"), Entry::File(&cfg)),
            (&format!("{other_hex}.json"), Entry::File(&other)),
            ("manifest.json", Entry::File(manifest.as_bytes())),
            ("repositories", Entry::File(br#"{"app":{"v1":"3333"}}"#)),
        ],
    );
    (base, app, cfg)
}

#[tokio::test]
async fn a_classic_docker_save_archive_is_read_and_images_are_chosen_by_repo_tags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.tar");
    let (base, app, cfg) = classic_fixture(&path, true);
    let reader = DockerArchiveReader::open(&path).await.unwrap();

    let err = reader.select(None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("app:v1 app:latest, <untagged>"),
        "{err}"
    );
    let err = reader.select(Some(&reference("app:v2"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = reader
        .resolve(&TagOrDigest::Tag(tag("nope")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // `app:v1` and `docker.io/library/app:v1` are the same name.
    let d = reader
        .select(Some(&reference("docker.io/library/app:v1")))
        .await
        .unwrap();
    assert_eq!(
        reader
            .resolve(&TagOrDigest::Tag(tag("latest")))
            .await
            .unwrap(),
        d
    );
    let m = reader.fetch_manifest(&d).await.unwrap();
    let image = m.as_image().unwrap();
    assert_eq!(
        image.config().digest().to_string(),
        Digest::sha256_of(&cfg).to_string()
    );
    let layers: Vec<(String, String, u64)> = image
        .layers()
        .iter()
        .map(|l| (l.media_type().to_string(), l.digest().to_string(), l.size()))
        .collect();
    let plain = |t: &[u8]| {
        (
            TAR.to_owned(),
            Digest::sha256_of(t).to_string(),
            t.len() as u64,
        )
    };
    assert_eq!(layers, [plain(&base), plain(&app), plain(&base)]);

    let a = TestRegistry::anonymous().await;
    let dst = common::client_for(&a).with_segment("loaded/app");
    copy(
        &reader,
        &TagOrDigest::Digest(d.digest().clone()),
        &dst,
        "v1",
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    let pushed = dst.get_manifest("v1").await.unwrap();
    assert_eq!(pushed.digest(), d.digest());
    let layer = oci_dist::CheckedDescriptor::try_from(&image.layers()[1]).unwrap();
    assert_eq!(blob_bytes(&reader, &layer).await, app);
}

#[tokio::test]
async fn a_docker_25_archive_with_an_oci_layout_inside_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d25.tar");
    let layer = tar_files(&[("x", &common::bytes(2000, 5))]);
    let compressed = gzip(&layer);
    let cfg = config("amd64", &[&layer]);
    let (cd, ld) = (Digest::sha256_of(&cfg), Digest::sha256_of(&compressed));
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", cd.hex()),
        "RepoTags": ["registry.example/team/app:1.0"],
        "Layers": [format!("blobs/sha256/{}", ld.hex())],
    }])
    .to_string();
    write_tar(
        &path,
        &[
            (
                "oci-layout",
                Entry::File(br#"{"imageLayoutVersion":"1.0.0"}"#),
            ),
            (
                "index.json",
                Entry::File(br#"{"schemaVersion":2,"manifests":[]}"#),
            ),
            (&format!("blobs/sha256/{}", cd.hex()), Entry::File(&cfg)),
            (
                &format!("blobs/sha256/{}", ld.hex()),
                Entry::File(&compressed),
            ),
            ("manifest.json", Entry::File(manifest.as_bytes())),
        ],
    );
    let reader = DockerArchiveReader::open(&path).await.unwrap();
    let d = reader.select(None).await.unwrap();
    let m = reader.fetch_manifest(&d).await.unwrap();
    let l = &m.as_image().unwrap().layers()[0];
    assert_eq!(l.media_type().to_string(), TAR_GZIP);
    assert_eq!(l.digest().to_string(), ld.to_string());
    let l = oci_dist::CheckedDescriptor::try_from(l).unwrap();
    assert_eq!(blob_bytes(&reader, &l).await, compressed);
}

#[tokio::test]
async fn corrupt_layers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tar_files(&[("x", b"good")]);
    let cfg = config("amd64", &[&layer]);
    let cfg_name = format!("{}.json", Digest::sha256_of(&cfg).hex());
    let manifest = |layer_name: &str| {
        serde_json::json!([{"Config": cfg_name, "RepoTags": ["app:v1"], "Layers": [layer_name]}])
            .to_string()
    };

    // Bytes that do not match the config's diff_id.
    let bad = tar_files(&[("x", b"evil")]);
    let path = dir.path().join("bad-diff.tar");
    let m = manifest("l/layer.tar");
    write_tar(
        &path,
        &[
            ("l/layer.tar", Entry::File(&bad)),
            (&cfg_name, Entry::File(&cfg)),
            ("manifest.json", Entry::File(m.as_bytes())),
        ],
    );
    let reader = DockerArchiveReader::open(&path).await.unwrap();
    let err = reader.select(None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");

    // A file named by a digest it does not have.
    let wrong = format!("blobs/sha256/{}", "0".repeat(64));
    let path = dir.path().join("bad-name.tar");
    let m = manifest(&wrong);
    write_tar(
        &path,
        &[
            (&wrong, Entry::File(&layer)),
            (&cfg_name, Entry::File(&cfg)),
            ("manifest.json", Entry::File(m.as_bytes())),
        ],
    );
    let err = DockerArchiveReader::open(&path)
        .await
        .unwrap()
        .select(None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");

    // Bytes changed after the manifest was built: the served stream fails.
    let path = dir.path().join("changed.tar");
    let m = manifest("l/layer.tar");
    write_tar(
        &path,
        &[
            ("l/layer.tar", Entry::File(&layer)),
            (&cfg_name, Entry::File(&cfg)),
            ("manifest.json", Entry::File(m.as_bytes())),
        ],
    );
    let reader = DockerArchiveReader::open(&path).await.unwrap();
    let d = reader.select(None).await.unwrap();
    let image = reader.fetch_manifest(&d).await.unwrap();
    let mut raw = std::fs::read(&path).unwrap();
    let at = raw.windows(4).position(|w| w == b"good").unwrap();
    raw[at] = b'G';
    std::fs::write(&path, &raw).unwrap();
    let l = oci_dist::CheckedDescriptor::try_from(&image.as_image().unwrap().layers()[0]).unwrap();
    let err = reader
        .fetch_blob(&l)
        .await
        .unwrap()
        .try_collect::<Vec<Bytes>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
}

#[tokio::test]
async fn hostile_names_in_manifest_json_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["../x", "/etc/passwd", "a/../../x"].iter().enumerate() {
        let path = dir.path().join(format!("h{i}.tar"));
        let m =
            serde_json::json!([{"Config": "c.json", "RepoTags": [], "Layers": [name]}]).to_string();
        write_tar(
            &path,
            &[
                ("c.json", Entry::File(b"{}")),
                ("x", Entry::File(b"x")),
                ("manifest.json", Entry::File(m.as_bytes())),
            ],
        );
        let err = DockerArchiveReader::open(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{name}: {err}");
        assert!(err.to_string().contains("outside the archive"), "{err}");
    }
    // Not a docker archive at all.
    let path = dir.path().join("empty.tar");
    write_tar(&path, &[("oci-layout", Entry::File(b"{}"))]);
    let err = DockerArchiveReader::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("oci-archive"), "{err}");
    let err = DockerArchiveReader::open(dir.path().join("missing.tar"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// skopeo synthesises the same document for a `docker save` archive except
/// that every layer is labelled `.tar.gzip` (see `DockerArchiveReader`), so
/// the digests differ.
#[tokio::test]
async fn skopeo_manifest_differs_only_in_layer_media_types() {
    let Some(skopeo) = test_support::skopeo::find() else {
        eprintln!("skopeo not installed: interop test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.tar");
    classic_fixture(&path, false);
    let out = std::process::Command::new(&skopeo)
        .args(["inspect", "--raw"])
        .arg(format!("docker-archive:{}", path.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = DockerArchiveReader::open(&path).await.unwrap();
    let d = reader.select(None).await.unwrap();
    let ours = reader.fetch_manifest(&d).await.unwrap();
    let relabelled = String::from_utf8(ours.bytes().to_vec())
        .unwrap()
        .replace(&format!("\"{TAR}\""), &format!("\"{TAR_GZIP}\""));
    assert_eq!(relabelled, String::from_utf8_lossy(&out.stdout));
    assert_ne!(&ours.bytes()[..], &out.stdout[..]);
}

#[tokio::test]
async fn several_images_share_blobs_and_a_name_moves_to_the_last_image_given_it() {
    let a = TestRegistry::anonymous().await;
    let src = common::client_for(&a).with_segment("src");
    let (one, two) = (image(30, "amd64"), image(40, "amd64"));
    src.push_image("one", &one).await.unwrap();
    src.push_image("two", &two).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar");
    let writer = DockerArchiveWriter::create(&path)
        .await
        .unwrap()
        .with_repository("app")
        .unwrap();
    let opts = CopyOptions::default();
    copy(&src, "one", &writer, tag("v1"), &opts).await.unwrap();
    copy(&src, "one", &writer, tag("stable"), &opts)
        .await
        .unwrap();
    copy(&src, "two", &writer, tag("v2"), &opts).await.unwrap();
    // `stable` moves to the second image.
    let r = copy(&src, "two", &writer, tag("stable"), &opts)
        .await
        .unwrap();
    assert_eq!(r.copied, 0, "nothing is written twice");
    writer.finish().await.unwrap();

    let reader = DockerArchiveReader::open(&path).await.unwrap();
    let name = |t: &str| format!("docker.io/library/app:{t}");
    assert_eq!(
        reader.repo_tags(),
        vec![&[name("v1")][..], &[name("v2"), name("stable")][..]]
    );
    let stable = reader.select(Some(&reference("app:stable"))).await.unwrap();
    let v2 = reader.select(Some(&reference("app:v2"))).await.unwrap();
    assert_eq!(stable, v2);
    let m = reader.fetch_manifest(&stable).await.unwrap();
    assert_eq!(
        m.as_image().unwrap().config().digest(),
        two.manifest().as_image().unwrap().config().digest()
    );
}
