//! `tag` and `delete`.

use facade::oci::{Tag, TagDeletion, TagOrDigest};

use crate::cli::GlobalOptions;
use crate::exit::Failure;
use crate::target;

/// `crctl tag REF NEWTAG...`: manifest GET and PUT, no blobs.
pub async fn tag(global: &GlobalOptions, reference: &str, tags: &[String]) -> Result<(), Failure> {
    let r = target::parse_reference(reference)?;
    let tags = tags
        .iter()
        .map(|t| Tag::new(t.as_str()).map_err(|e| Failure::usage(e.to_string())))
        .collect::<Result<Vec<Tag>, Failure>>()?;
    let client = target::repository_client(global, &r)?;
    let source = r.target();
    for t in &tags {
        client
            .tag_image(&source, t)
            .await
            .map_err(|e| Failure::from(e).context(format!("tagging {reference} as {t}")))?;
    }
    Ok(())
}

/// `crctl delete REF`: a tag, or a manifest by digest.
pub async fn delete(global: &GlobalOptions, reference: &str) -> Result<(), Failure> {
    let r = target::parse_reference(reference)?;
    if r.tag().is_none() && r.digest().is_none() {
        return Err(Failure::usage(format!(
            "{reference}: name the tag or digest to delete"
        )));
    }
    let client = target::repository_client(global, &r)?;
    match r.target() {
        TagOrDigest::Digest(d) => client
            .delete_manifest(&d)
            .await
            .map_err(|e| Failure::from(e).context(format!("deleting {reference}")))?,
        TagOrDigest::Tag(t) => {
            match client
                .delete_tag(&t)
                .await
                .map_err(|e| Failure::from(e).context(format!("deleting {reference}")))?
            {
                TagDeletion::TagDeleted => {}
                TagDeletion::ManifestDeleted { digest } => tracing::info!(
                    "the registry cannot delete tags; deleted manifest {digest}, which no other tag referenced"
                ),
                TagDeletion::PlaceholderDeleted {
                    digest,
                    placeholder,
                } => tracing::info!(
                    "the registry cannot delete tags; pointed the tag at placeholder manifest \
                     {placeholder} and deleted that, so {digest} and its other tags stay"
                ),
            }
        }
    }
    Ok(())
}
