//! Source repositories for the `crctl sync` tests.

use std::collections::BTreeSet;

use bytes::Bytes;
use facade::oci::Client;
use facade::oci::image::{ImageBuilder, ImageLayer};
use facade::oci::media_type::{OCI_CONFIG, OCI_LAYER_TAR};
use test_support::TestRegistry;

/// Repositories `lib/r0`..`lib/r{repos-1}`, each with `tags`: every image
/// a shared base layer plus one of its own, KiB-sized tars.
pub async fn populate(registry: &TestRegistry, repos: u64, tags: &[&str]) {
    let client = Client::new(&registry.url()).unwrap();
    let base = Bytes::from(test_support::layers::tar_files(&[(
        "base",
        &test_support::layers::pseudo_random(2048, 1),
    )]));
    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    for r in 0..repos {
        let c = client.with_repository(&format!("lib/r{r}"));
        for (t, tag) in tags.iter().enumerate() {
            let own = test_support::layers::pseudo_random(1024, 100 + r * 10 + t as u64);
            let own = Bytes::from(test_support::layers::tar_files(&[("own", &own)]));
            let img = ImageBuilder::new()
                .config_bytes(OCI_CONFIG, config.clone())
                .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, base.clone()))
                .layer(ImageLayer::from_bytes(OCI_LAYER_TAR, own))
                .build()
                .unwrap();
            c.push_image(*tag, &img).await.unwrap();
        }
    }
}

/// (repository, tag, digest) of every tag of `repos` at `url`.
pub async fn contents(url: &str, repos: &[&str]) -> BTreeSet<(String, String, String)> {
    let client = Client::new(url).unwrap();
    let mut out = BTreeSet::new();
    for repo in repos {
        let c = client.with_repository(repo);
        let Ok(tags) = c.list_tags().await else {
            continue;
        };
        for t in tags {
            out.insert((repo.to_string(), t.clone(), digest(url, repo, &t).await));
        }
    }
    out
}

/// The digest `repo:tag` resolves to at `url`.
pub async fn digest(url: &str, repo: &str, tag: &str) -> String {
    let c = Client::new(url).unwrap().with_repository(repo);
    facade::oci::ImageSource::resolve(&c, &tag.parse().unwrap())
        .await
        .unwrap()
        .digest()
        .to_string()
}
