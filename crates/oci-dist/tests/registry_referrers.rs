//! Referrers: the tag-schema fallback against docker-registry (which has
//! no referrers API), and the API itself through a proxy answering it.

mod common;

use bytes::Bytes;
use oci_dist::image::ImageBuilder;
use oci_dist::referrers::fallback_tag;
use oci_dist::{ErrorKind, media_type};
use test_support::TestRegistry;
use test_support::http::json_response;

const SIG: &str = "application/vnd.example.signature";
const SBOM: &str = "application/vnd.example.sbom";

#[tokio::test]
async fn fallback_index_follows_pushes_and_deletes() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry.start_proxy().await;
    let app = common::client_via(&proxy).with_segment("ref");
    let img = common::small_image(1, 100, 20);
    app.push_image("v1", &img).await.unwrap();
    let subject = img.manifest().descriptor();

    let none = app.referrers(img.digest(), None).await.unwrap();
    assert!(none.fallback);
    assert!(none.descriptors.is_empty());

    let sig = ImageBuilder::new()
        .artifact_type(SIG)
        .layer(oci_dist::ImageLayer::from_bytes(
            "application/octet-stream",
            Bytes::from_static(b"sig"),
        ))
        .subject(subject.clone())
        .annotation("org.example.kind", "signature")
        .build()
        .unwrap();
    app.push_image(sig.digest(), &sig).await.unwrap();
    let sbom = ImageBuilder::new()
        .artifact_type(SBOM)
        .subject(subject.clone())
        .build()
        .unwrap();
    app.push_image(sbom.digest(), &sbom).await.unwrap();

    // The fallback tag holds an index of both.
    let idx = app.get_manifest(&fallback_tag(img.digest())).await.unwrap();
    assert_eq!(idx.media_type(), media_type::OCI_INDEX);
    assert_eq!(idx.manifests().len(), 2);

    let all = app.referrers(img.digest(), None).await.unwrap();
    assert!(all.fallback);
    let digests: Vec<String> = all
        .descriptors
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    assert_eq!(
        digests,
        [sig.digest().to_string(), sbom.digest().to_string()]
    );
    let sigs = app.referrers(img.digest(), Some(SIG)).await.unwrap();
    assert_eq!(sigs.descriptors.len(), 1);
    let d = &sigs.descriptors[0];
    assert_eq!(d.artifact_type().as_ref().unwrap().to_string(), SIG);
    assert_eq!(
        d.annotations().as_ref().unwrap()["org.example.kind"],
        "signature"
    );
    assert_eq!(d.size(), sig.manifest().size());
    assert!(
        app.referrers(img.digest(), Some("application/x-none"))
            .await
            .unwrap()
            .descriptors
            .is_empty()
    );

    // Pushing the same referrer again does not duplicate it.
    app.push_image(sig.digest(), &sig).await.unwrap();
    assert_eq!(
        app.referrers(img.digest(), None)
            .await
            .unwrap()
            .descriptors
            .len(),
        2
    );

    // Deleting a referrer removes it from the index.
    app.delete_manifest(sig.digest()).await.unwrap();
    let left = app.referrers(img.digest(), None).await.unwrap();
    assert_eq!(left.descriptors.len(), 1);
    assert_eq!(
        left.descriptors[0].digest().to_string(),
        sbom.digest().to_string()
    );
    // The referrers API was tried every time (a plain-text 404 here).
    assert!(proxy.count("GET", "/v2/ref/referrers/*") >= 5);
}

#[tokio::test]
async fn referrers_api_is_used_when_present() {
    let registry = TestRegistry::anonymous().await;
    let sig_digest = format!("sha256:{}", "a".repeat(64));
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sig_digest, "size": 10, "artifactType": SIG},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "b".repeat(64)), "size": 11, "artifactType": SBOM}
        ]
    });
    let proxy = registry
        .proxy_builder()
        .intercept(move |req| {
            req.path()
                .starts_with("/v2/api/referrers/")
                .then(|| json_response(200, &body))
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("api");
    let subject = registry_core::Digest::sha256_of(b"subject");
    let all = app.referrers(&subject, None).await.unwrap();
    assert!(!all.fallback);
    assert_eq!(all.descriptors.len(), 2);
    // The filter is applied client-side when the registry did not say it applied it.
    let sigs = app.referrers(&subject, Some(SIG)).await.unwrap();
    assert_eq!(sigs.descriptors.len(), 1);
    assert_eq!(sigs.descriptors[0].digest().to_string(), sig_digest);
    let reqs = proxy.requests();
    assert!(
        reqs.iter()
            .any(|r| r.query() == Some("artifactType=application%2Fvnd%2Eexample%2Esignature")),
        "{reqs:?}"
    );
    // No fallback tag was read.
    assert_eq!(proxy.count("GET", "/v2/api/manifests/*"), 0);
}

#[tokio::test]
async fn referrers_errors_other_than_absence_are_reported() {
    let registry = TestRegistry::anonymous().await;
    let proxy = registry
        .proxy_builder()
        .intercept(|req| {
            req.path().contains("/referrers/").then(|| {
                test_support::http::response(
                    403,
                    r#"{"errors":[{"code":"DENIED","message":"no"}]}"#,
                )
            })
        })
        .start()
        .await;
    let app = common::client_via(&proxy).with_segment("denied");
    let err = app
        .referrers(&registry_core::Digest::sha256_of(b"x"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
}
