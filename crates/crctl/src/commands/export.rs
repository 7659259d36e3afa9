//! `crctl export REF [-o FILE]`: the flattened filesystem as a tar
//! (whiteouts applied, every layer verified while read).

use facade::oci::CheckedDescriptor;
use facade::oci::extract::{Layer, extract};
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

use crate::cli::GlobalOptions;
use crate::commands::inspect::open_image;
use crate::exit::Failure;
use crate::output::{AtomicFile, Sink};

/// Writes the merged filesystem of the platform's image.
pub async fn run(
    global: &GlobalOptions,
    reference: &str,
    out: Option<&str>,
) -> Result<(), Failure> {
    let (src, image) = open_image(global, reference).await?;
    let source = src.source.as_ref();
    let mut layers = Vec::new();
    for desc in image.layers() {
        let desc =
            CheckedDescriptor::try_from(desc).map_err(|e| Failure::from(e).context(reference))?;
        let (media_type, digest, size) = (
            desc.media_type().to_owned(),
            desc.digest().clone(),
            desc.size(),
        );
        let open = async move {
            let stream = source.fetch_blob(&desc).await?;
            Ok(tokio_util::io::StreamReader::new(
                stream.map_err(std::io::Error::from),
            ))
        };
        let layer = Layer::lazy(&media_type, digest, open)
            .map_err(|e| Failure::from(e).context(reference))?
            .with_size(size);
        layers.push(layer);
    }
    let ctx = |e: facade::core::Error| Failure::from(e).context(format!("exporting {reference}"));
    match Sink::from_arg(out) {
        Sink::Stdout => {
            let mut stdout = tokio::io::stdout();
            extract(layers, &mut stdout).await.map_err(ctx)?;
            stdout.flush().await?;
        }
        Sink::File(path) => {
            let mut file = AtomicFile::create(&path)?;
            let mut w = tokio::io::BufWriter::with_capacity(
                256 * 1024,
                tokio::fs::File::from_std(file.file().try_clone()?),
            );
            extract(layers, &mut w).await.map_err(ctx)?;
            w.flush().await?;
            drop(w);
            file.commit()?;
        }
    }
    Ok(())
}
