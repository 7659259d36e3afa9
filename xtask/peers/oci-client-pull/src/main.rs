//! Benchmark peer for `cargo xtask bench`: pulls one image with the
//! `oci-client` crate over plain HTTP.
//!
//! Usage: `oci-client-pull HOST:PORT/REPO:TAG OUT_DIR`
//!
//! Fetches the image manifest, then the config and every layer concurrently
//! (one tokio task each) with `Client::pull_blob`, which streams the body
//! into a file and verifies its digest. Blobs land in
//! `OUT_DIR/blobs/<alg>/<hex>`; the manifest digest is printed on stdout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::io::BufWriter;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, out] = args.as_slice() else {
        eprintln!("usage: oci-client-pull HOST:PORT/REPO:TAG OUT_DIR");
        return ExitCode::from(2);
    };
    match pull(image, Path::new(out)).await {
        Ok(digest) => {
            println!("{digest}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oci-client-pull: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn pull(image: &str, out: &Path) -> Result<String, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let reference: Reference = image
        .parse()
        .map_err(|e| format!("invalid reference {image}: {e}"))?;
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    });
    let auth = RegistryAuth::Anonymous;
    let (manifest, digest) = client
        .pull_image_manifest(&reference, &auth)
        .await
        .map_err(|e| format!("pulling the manifest of {image}: {e}"))?;

    let mut descriptors = vec![manifest.config.clone()];
    descriptors.extend(manifest.layers.iter().cloned());
    let mut tasks = Vec::new();
    for desc in descriptors {
        let client = client.clone();
        let reference = reference.clone();
        let path = blob_path(out, &desc.digest)?;
        tasks.push(tokio::spawn(async move {
            pull_one(&client, &reference, &desc, &path).await
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("blob task failed: {e}"))??;
    }
    Ok(digest)
}

async fn pull_one(
    client: &Client,
    reference: &Reference,
    desc: &OciDescriptor,
    path: &Path,
) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    client
        .pull_blob(reference, desc, BufWriter::with_capacity(256 * 1024, file))
        .await
        .map_err(|e| format!("pulling blob {}: {e}", desc.digest))
}

fn blob_path(out: &Path, digest: &str) -> Result<PathBuf, String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("invalid digest {digest}"))?;
    Ok(out.join("blobs").join(alg).join(hex))
}
