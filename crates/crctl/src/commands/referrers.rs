//! `crctl referrers REF [--artifact-type T]`: an OCI index of referrers.

use crate::cli::GlobalOptions;
use crate::exit::Failure;
use crate::output;
use crate::target;

/// Lists the referrers of `reference` as an OCI image index.
pub async fn run(
    global: &GlobalOptions,
    reference: &str,
    artifact_type: Option<&str>,
) -> Result<(), Failure> {
    let r = target::parse_reference(reference)?;
    let client = target::repository_client(global, &r)?;
    let subject = match r.digest() {
        Some(d) => d.clone(),
        None => client
            .get_digest(r.target())
            .await
            .map_err(|e| Failure::from(e).context(reference))?,
    };
    let referrers = client
        .referrers(&subject, artifact_type)
        .await
        .map_err(|e| Failure::from(e).context(format!("referrers of {reference}")))?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": referrers.descriptors,
    });
    output::print_json(&index)
}
