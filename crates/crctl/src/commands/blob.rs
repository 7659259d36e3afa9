//! `blob get`, `blob put`, `blob delete`.

use std::path::Path;

use facade::core::Digest;
use facade::oci::Reference;
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

use crate::cli::{BlobCommand, GlobalOptions};
use crate::exit::Failure;
use crate::output::{self, AtomicFile, Sink};
use crate::progress::Bar;
use crate::target;

fn blob_reference(arg: &str) -> Result<(Reference, Digest), Failure> {
    let r = target::parse_reference(arg)?;
    let digest = r
        .digest()
        .cloned()
        .ok_or_else(|| Failure::usage(format!("{arg}: expected REPO@DIGEST")))?;
    Ok((r, digest))
}

/// Runs a `crctl blob` command.
pub async fn run(global: &GlobalOptions, cmd: BlobCommand) -> Result<(), Failure> {
    match cmd {
        BlobCommand::Get { reference, output } => get(global, &reference, output.as_deref()).await,
        BlobCommand::Put { repository, file } => put(global, &repository, &file).await,
        BlobCommand::Delete { reference } => {
            let (r, digest) = blob_reference(&reference)?;
            target::repository_client(global, &r)?
                .delete_blob(&digest)
                .await
                .map_err(|e| Failure::from(e).context(format!("deleting {reference}")))
        }
    }
}

async fn get(global: &GlobalOptions, reference: &str, out: Option<&str>) -> Result<(), Failure> {
    let (r, digest) = blob_reference(reference)?;
    let client = target::repository_client(global, &r)?;
    let blob = client
        .get_blob(&digest)
        .await
        .map_err(|e| Failure::from(e).context(reference))?;
    let bar = Bar::bytes(blob.size(), &digest.to_string());
    let mut stream = blob.into_stream();
    let ctx = |e: facade::core::Error| Failure::from(e).context(reference);
    match Sink::from_arg(out) {
        Sink::Stdout => {
            let mut stdout = tokio::io::stdout();
            while let Some(chunk) = stream.try_next().await.map_err(ctx)? {
                bar.inc(chunk.len() as u64);
                stdout.write_all(&chunk).await?;
            }
            stdout.flush().await?;
        }
        Sink::File(path) => {
            let mut file = AtomicFile::create(&path)?;
            let mut w = tokio::fs::File::from_std(file.file().try_clone()?);
            while let Some(chunk) = stream.try_next().await.map_err(ctx)? {
                bar.inc(chunk.len() as u64);
                w.write_all(&chunk).await?;
            }
            w.flush().await?;
            drop(w);
            // Only a fully verified blob reaches the destination name.
            file.commit()?;
        }
    }
    bar.finish();
    Ok(())
}

async fn put(global: &GlobalOptions, repository: &str, file: &Path) -> Result<(), Failure> {
    let r = target::parse_reference(repository)?;
    let client = target::repository_client(global, &r)?;
    let meta = tokio::fs::metadata(file)
        .await
        .map_err(|e| Failure::from(e).context(format!("reading {}", file.display())))?;
    let layer = facade::oci::ImageLayer::from_file("application/octet-stream", file)
        .await
        .map_err(|e| Failure::from(e).context(format!("reading {}", file.display())))?;
    let digest: Digest = facade::oci::descriptor::digest_of(layer.descriptor())?;
    let source = facade::oci::content::FileSource::new(file);
    client
        .push_blob(&source, &digest, meta.len())
        .await
        .map_err(|e| Failure::from(e).context(format!("uploading {}", file.display())))?;
    if global.json {
        return output::print_json(
            &serde_json::json!({ "digest": digest.to_string(), "size": meta.len() }),
        );
    }
    output::print_lines([digest.to_string()])
}
