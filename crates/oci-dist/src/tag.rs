//! `tag_image`: a new tag for an existing manifest (manifest `GET`, then
//! `PUT` of the same bytes under the new tag; no blob is sent).

use registry_core::{Digest, Error};

use crate::client::Client;
use crate::reference::{IntoTag, IntoTarget, TagOrDigest};

impl Client {
    /// Tags the manifest `source` (tag or digest) as `dest_tag` in the same
    /// repository and returns its digest, which is unchanged.
    ///
    /// ```no_run
    /// # async fn run(app: oci_dist::Client) -> Result<(), registry_core::Error> {
    /// let digest = app.tag_image("latest", "v1.2.3").await?;
    /// assert_eq!(app.get_digest("v1.2.3").await?, digest);
    /// # Ok(()) }
    /// ```
    pub async fn tag_image(
        &self,
        source: impl IntoTarget,
        dest_tag: impl IntoTag,
    ) -> Result<Digest, Error> {
        let source = source.into_target()?;
        let dest = TagOrDigest::Tag(dest_tag.into_tag()?);
        let manifest = self.get_manifest_target(&source).await?;
        self.put_manifest_raw(&dest, &manifest).await?;
        Ok(manifest.digest().clone())
    }
}
