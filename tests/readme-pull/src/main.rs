//! Pulls an image into an OCI image layout: `readme-pull REFERENCE DIR`.
use oci_dist::layout::OciLayout;
use oci_dist::{Client, CopyOptions, Reference, copy};

#[tokio::main]
async fn main() -> oci_dist::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let reference = Reference::parse(&args[1])?; // e.g. 127.0.0.1:5000/team/app:v1
    let source = Client::new(reference.registry())?.for_reference(&reference)?;
    let layout = OciLayout::create(&args[2]).await?; // an OCI image layout directory
    let options = CopyOptions::default();
    let report = copy(&source, reference.target(), &layout, "latest", &options).await?;
    println!("pulled {} ({} bytes)", report.digest, report.bytes_copied);
    Ok(())
}
