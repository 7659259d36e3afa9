//! Pulls an image into an OCI image layout directory.
//!
//! ```sh
//! cargo run -p oci-dist --example pull -- 127.0.0.1:5000/team/app:v1 ./app-layout
//! ```
//!
//! The layout gets the image under its tag (`latest` when pulled by digest
//! without one); every blob is verified against its digest before it
//! appears. Registries on loopback addresses are spoken to over plain HTTP.

use oci_dist::layout::OciLayout;
use oci_dist::{Client, CopyOptions, Reference, copy};

#[tokio::main]
async fn main() -> oci_dist::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reference, dir] = args.as_slice() else {
        eprintln!("usage: pull REGISTRY/REPOSITORY[:TAG|@DIGEST] DIR");
        std::process::exit(2);
    };
    let reference = Reference::parse(reference)?;
    let source = Client::new(reference.registry())?.for_reference(&reference)?;
    let layout = OciLayout::create(dir).await?;
    let tag = reference.tag().unwrap_or("latest");

    let report = copy(
        &source,
        reference.target(),
        &layout,
        tag,
        &CopyOptions::default(),
    )
    .await?;
    println!(
        "{} {} ({} blobs, {} bytes)",
        tag, report.digest, report.copied, report.bytes_copied
    );
    Ok(())
}
