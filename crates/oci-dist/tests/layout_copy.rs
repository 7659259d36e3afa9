//! The OCI image layout through the `ImageSource`/`ImageDestination`
//! traits: copies between layouts, and skopeo interoperation.

mod layout_support;

use bytes::Bytes;
use futures_util::TryStreamExt;
use oci_dist::content::{ImageDestination, ImageSource};
use oci_dist::layout::OciLayout;
use oci_dist::{CheckedDescriptor, Tag, TagOrDigest};
use registry_core::Digest;

use layout_support::*;

#[tokio::test]
async fn copies_between_layouts_through_the_traits() {
    let dir = tempfile::tempdir().unwrap();
    let src = OciLayout::create(dir.path().join("src")).await.unwrap();
    let img = image(33);
    write_image(&src, &img, "v1").await;
    let dst = OciLayout::create(dir.path().join("dst")).await.unwrap();

    let source: &dyn ImageSource = &src;
    let dest: &dyn ImageDestination = &dst;
    let v1: TagOrDigest = "v1".parse().unwrap();
    let desc = source.resolve(&v1).await.unwrap();
    let manifest = source.fetch_manifest(&desc).await.unwrap();
    let image = manifest.as_image().unwrap();
    let blobs: Vec<CheckedDescriptor> = std::iter::once(image.config())
        .chain(image.layers())
        .map(|d| CheckedDescriptor::try_from(d).unwrap())
        .collect();
    for b in &blobs {
        assert!(!dest.blob_exists(b).await.unwrap());
        let stream = source.fetch_blob(b).await.unwrap();
        let content = oci_dist::content::OnceSource::new(stream);
        dest.push_blob(b, &content).await.unwrap();
        assert!(dest.blob_exists(b).await.unwrap());
    }
    assert!(!dest.manifest_exists(&desc).await.unwrap());
    dest.push_manifest(&manifest, Some(&Tag::new("copied").unwrap()))
        .await
        .unwrap();
    assert!(dest.manifest_exists(&desc).await.unwrap());

    let (back_desc, back) = dst.read_manifest("copied").await.unwrap();
    assert_eq!(back, img.manifest);
    assert_eq!(back_desc.digest(), desc.descriptor().digest());
    for b in &blobs {
        let digest = b.digest().clone();
        let got: Vec<Bytes> = dst
            .fetch_blob(b)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(Digest::sha256_of(&got.concat()), digest);
    }
    assert_eq!(
        source
            .resolve(&format!("@{}", desc.digest()).parse().unwrap())
            .await
            .unwrap()
            .digest(),
        desc.digest()
    );
}

#[tokio::test]
async fn an_untagged_copy_into_a_layout_lists_its_root_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let src = OciLayout::create(dir.path().join("src")).await.unwrap();
    let img = image(34);
    let image_desc = write_image(&src, &img, "v1").await;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        image_desc.digest(),
        image_desc.size()
    );
    let index_desc = src
        .write_manifest(
            index.as_bytes(),
            "application/vnd.oci.image.index.v1+json",
            Some("all"),
        )
        .await
        .unwrap();
    let dst = OciLayout::create(dir.path().join("dst")).await.unwrap();
    let opts = oci_dist::copy::CopyOptions::default();
    let by_digest = format!("@{}", index_desc.digest());
    for _ in 0..2 {
        let report = oci_dist::copy::copy(&src, &by_digest, &dst, None, &opts)
            .await
            .unwrap();
        assert_eq!(report.digest.to_string(), index_desc.digest().to_string());
        // The root is listed once, without a tag; its image is not.
        let listed = dst.index().await.unwrap().manifests().clone();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].digest(), index_desc.digest());
        assert_eq!(
            listed[0].media_type().to_string(),
            "application/vnd.oci.image.index.v1+json"
        );
        assert!(dst.list_refs().await.unwrap().is_empty());
    }
    // A tagged copy is listed under its tag only.
    let tagged = OciLayout::create(dir.path().join("tagged")).await.unwrap();
    oci_dist::copy::copy(&src, "v1", &tagged, "v1", &opts)
        .await
        .unwrap();
    let listed = tagged.index().await.unwrap().manifests().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(tagged.list_refs().await.unwrap()[0].0, "v1");
}

/// skopeo (containers/image) reads what we write and writes what we read.
#[tokio::test]
async fn skopeo_interoperates() {
    let Ok(skopeo) = which("skopeo") else {
        eprintln!("skopeo not installed (apt-get install skopeo): interop test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    let layout = OciLayout::create(&ours).await.unwrap();
    let img = image(44);
    write_image(&layout, &img, "v1").await;
    let out = std::process::Command::new(&skopeo)
        .args(["--insecure-policy", "copy", "--quiet", "--preserve-digests"])
        .arg("--dest-oci-accept-uncompressed-layers")
        .arg(format!("oci:{}:v1", ours.display()))
        .arg(format!("oci:{}:copied", theirs.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = OciLayout::open(&theirs).await.unwrap();
    let (desc, bytes) = back.read_manifest("copied").await.unwrap();
    assert_eq!(bytes, img.manifest, "skopeo changed the manifest");
    assert_eq!(
        desc.digest().to_string(),
        Digest::sha256_of(&img.manifest).to_string()
    );
    let manifest = oci_dist::Manifest::new(bytes, Some(MANIFEST)).unwrap();
    let layers = manifest.as_image().unwrap().layers();
    assert_eq!(layers.len(), 2);
    for (desc, original) in layers.iter().zip(&img.layers) {
        assert_eq!(
            desc.digest().to_string(),
            Digest::sha256_of(original).to_string()
        );
        let digest = oci_dist::descriptor::digest_of(desc).unwrap();
        assert_eq!(&read_all(&back, &digest).await.unwrap(), original);
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
