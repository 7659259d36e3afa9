//! `digest`, `manifest`, `config`, `exists`.

use facade::oci::{CheckedDescriptor, ImageManifest};
use futures_util::TryStreamExt;

use crate::cli::GlobalOptions;
use crate::commands::resolve::{Source, image_manifest, open_source, top_manifest};
use crate::exit::{FAILURE, Failure, NOT_FOUND};
use crate::output;

/// Largest config blob printed.
const CONFIG_LIMIT: usize = 16 << 20;

/// `crctl digest REF`: the manifest digest.
pub async fn digest(global: &GlobalOptions, reference: &str) -> Result<(), Failure> {
    let src = open_source(global, reference).await?;
    let desc = src
        .source
        .resolve(&src.reference)
        .await
        .map_err(|e| Failure::from(e).context(reference))?;
    if global.json {
        return output::print_json(&serde_json::json!({
            "digest": desc.digest().to_string(),
            "mediaType": desc.media_type().to_string(),
            "size": desc.size(),
        }));
    }
    output::print_lines([desc.digest().to_string()])
}

/// `crctl manifest REF`: the exact bytes served.
pub async fn manifest(global: &GlobalOptions, reference: &str) -> Result<(), Failure> {
    let src = open_source(global, reference).await?;
    let (_, manifest) = top_manifest(&src).await?;
    output::write_stdout(manifest.bytes())
}

/// `crctl config REF`: the config blob of the platform's image, as stored.
pub async fn config(global: &GlobalOptions, reference: &str) -> Result<(), Failure> {
    let (src, image) = open_image(global, reference).await?;
    let config = CheckedDescriptor::try_from(image.config())
        .map_err(|e| Failure::from(e).context(reference))?;
    let mut stream = src
        .source
        .fetch_blob(&config)
        .await
        .map_err(|e| Failure::from(e).context(reference))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| Failure::from(e).context(reference))?
    {
        if bytes.len() + chunk.len() > CONFIG_LIMIT {
            return Err(Failure::new(
                FAILURE,
                format!("{reference}: config is larger than {CONFIG_LIMIT} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    output::write_stdout(&bytes)?;
    if !bytes.ends_with(b"\n") {
        output::write_stdout(b"\n")?;
    }
    Ok(())
}

/// Opens `reference` and fetches the platform's image manifest; any other is a failure.
pub async fn open_image(
    global: &GlobalOptions,
    reference: &str,
) -> Result<(Source, ImageManifest), Failure> {
    let src = open_source(global, reference).await?;
    let manifest = image_manifest(global, &src).await?;
    let image = manifest
        .as_image()
        .cloned()
        .ok_or_else(|| Failure::new(FAILURE, format!("{reference}: not an image manifest")))?;
    Ok((src, image))
}

/// `crctl exists REF`: exit 0 when present, 3 when absent.
pub async fn exists(global: &GlobalOptions, reference: &str) -> Result<(), Failure> {
    let src = open_source(global, reference).await?;
    match src.source.resolve(&src.reference).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == facade::core::ErrorKind::NotFound => {
            Err(Failure::new(NOT_FOUND, format!("{reference}: not found")))
        }
        Err(e) => Err(Failure::from(e).context(reference)),
    }
}
