//! OCI distribution-spec client: references, manifests, blobs, uploads, tags, catalog, referrers, copy, image layout and extract.
