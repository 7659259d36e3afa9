//! Builds a one-layer image in memory with [`ImageBuilder`] and pushes it.
//!
//! ```sh
//! cargo run -p oci-dist --example push -- 127.0.0.1:5000/team/hello:v1
//! ```
//!
//! Credentials, when the registry wants them, come from `REGISTRY_USER` and
//! `REGISTRY_PASSWORD`.

use oci_dist::credentials::Environment;
use oci_dist::image::{ImageBuilder, ImageLayer};
use oci_dist::media_type::{OCI_CONFIG, OCI_LAYER_GZIP};
use oci_dist::{Client, Reference};

/// A gzipped tar archive holding one file, `hello.txt`.
fn layer() -> std::io::Result<Vec<u8>> {
    let data = b"hello from oci-dist\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    tar.append_data(&mut header, "hello.txt", &data[..])?;
    tar.into_inner()?.finish()
}

#[tokio::main]
async fn main() -> oci_dist::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reference] = args.as_slice() else {
        eprintln!("usage: push REGISTRY/REPOSITORY:TAG");
        std::process::exit(2);
    };
    let reference = Reference::parse(reference)?;
    let Some(tag) = reference.tag() else {
        eprintln!("push: the reference needs a tag");
        std::process::exit(2);
    };
    let registry = Client::builder(reference.registry())
        .credentials(Environment::new("REGISTRY_USER", "REGISTRY_PASSWORD"))
        .build()?;
    let app = registry.for_reference(&reference)?;

    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let image = ImageBuilder::new()
        .config_bytes(OCI_CONFIG, config.to_vec())
        .layer(ImageLayer::from_bytes(OCI_LAYER_GZIP, layer()?))
        .annotation("org.opencontainers.image.title", "hello")
        .build()?;
    let pushed = app.push_image(tag, &image).await?;
    println!("{}:{tag} {}", app.registry(), pushed.digest);
    Ok(())
}
