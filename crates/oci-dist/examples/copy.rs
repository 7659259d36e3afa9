//! Copies an image (or a whole index) between registries, with progress.
//!
//! ```sh
//! cargo run -p oci-dist --example copy -- 127.0.0.1:5000/team/app:v1 127.0.0.1:5001/mirror/app:v1
//! ```
//!
//! Blobs the destination has are skipped; on the same registry they are
//! mounted from the source repository instead of copied.

use oci_dist::progress::ProgressEvent;
use oci_dist::{Client, CopyOptions, Reference, Tag, copy};

#[tokio::main]
async fn main() -> oci_dist::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to] = args.as_slice() else {
        eprintln!("usage: copy SOURCE_REFERENCE DESTINATION_REFERENCE");
        std::process::exit(2);
    };
    let from = Reference::parse(from)?;
    let to = Reference::parse(to)?;
    let source = Client::new(from.registry())?.for_reference(&from)?;
    let destination = Client::new(to.registry())?.for_reference(&to)?;

    let options = CopyOptions::default()
        .jobs(4)
        .progress(|event: &ProgressEvent| match event {
            ProgressEvent::Started { blobs, total_bytes } => {
                eprintln!("copying {blobs} blobs, {total_bytes} bytes")
            }
            ProgressEvent::BlobDone {
                digest, outcome, ..
            } => eprintln!("{digest}: {outcome:?}"),
            _ => {}
        });
    let tag = to.tag().map(Tag::new).transpose()?; // None: copy by digest only
    let report = copy(&source, from.target(), &destination, tag.as_ref(), &options).await?;
    println!(
        "{} ({} copied, {} mounted, {} skipped)",
        report.digest, report.copied, report.mounted, report.skipped
    );
    Ok(())
}
