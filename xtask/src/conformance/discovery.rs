//! Content discovery: tag lists with `n`/`last`, the catalog (scoped), and
//! referrers with and without a referrers API.

use facade::core::Digest;
use facade::oci::Client;
use facade::oci::image::ImageBuilder;
use facade::oci::media_type::OCI_CONFIG;

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

pub(crate) async fn run(client: &Client, url: &str, out: &mut Vec<Outcome>) {
    let repo = client.with_segment("conformance/discovery");
    let img = fixtures::image(1, 20);
    let mut expected: Vec<String> = (0..12).map(|i| format!("t{i:02}")).collect();
    expected.sort();
    let setup = async {
        repo.push_image(&expected[0], &img)
            .await
            .map_err(e("push_image"))?;
        for t in &expected[1..] {
            repo.tag_image(&expected[0], t)
                .await
                .map_err(e("tag_image"))?;
        }
        Ok::<(), String>(())
    }
    .await;
    check(
        out,
        "discovery",
        "setup: 12 tags",
        Box::pin(async { setup.clone() }),
    )
    .await;

    check(
        out,
        "discovery",
        "tags list (all pages)",
        Box::pin(async {
            let tags = repo.list_tags().await.map_err(e("list_tags"))?;
            ensure(tags == expected, || format!("got {tags:?}"))
        }),
    )
    .await;

    check(
        out,
        "discovery",
        "tags list with n and last",
        Box::pin(async {
            let first = repo
                .list_tags_page(Some(5), None)
                .await
                .map_err(e("page 1"))?;
            ensure(first.items.len() <= 5, || {
                format!("n=5 gave {} tags", first.items.len())
            })?;
            let mut all = first.items.clone();
            let mut next = first.next.clone();
            let mut pages = 1;
            while let Some(last) = next {
                let page = repo
                    .list_tags_page(Some(5), Some(&last))
                    .await
                    .map_err(e("next page"))?;
                ensure(
                    page.items.iter().all(|t| t.as_str() > last.as_str()),
                    || format!("page after {last} has earlier tags: {:?}", page.items),
                )?;
                all.extend(page.items);
                next = page.next;
                pages += 1;
                ensure(pages < 10, || "pagination does not end".into())?;
            }
            ensure(all == expected, || format!("paged listing gave {all:?}"))
        }),
    )
    .await;

    check(
        out,
        "discovery",
        "catalog scoped to a prefix",
        Box::pin(async {
            let scoped = client.with_segment("conformance");
            let repos = scoped
                .list_repositories()
                .await
                .map_err(e("list_repositories"))?;
            ensure(repos.iter().all(|r| r.starts_with("conformance/")), || {
                format!("{repos:?}")
            })?;
            ensure(repos.iter().any(|r| r == "conformance/discovery"), || {
                format!("{repos:?}")
            })
        }),
    )
    .await;

    check(
        out,
        "discovery",
        "catalog with n",
        Box::pin(async {
            let page = client
                .list_repositories_page(Some(1), None)
                .await
                .map_err(e("page"))?;
            ensure(page.items.len() == 1, || format!("{:?}", page.items))?;
            ensure(page.next.is_some(), || "no next page".into())
        }),
    )
    .await;

    let subject = img.manifest().descriptor();
    let artifact = ImageBuilder::new()
        .artifact_type("application/vnd.example.sbom")
        .subject(subject.clone())
        .layer(facade::oci::image::ImageLayer::from_bytes(
            "application/json",
            bytes::Bytes::from_static(b"{\"sbom\":true}"),
        ))
        .config_bytes(OCI_CONFIG, fixtures::config("amd64", "sbom"))
        .build();
    check(
        out,
        "discovery",
        "referrers without an API (tag schema fallback)",
        Box::pin(async {
            let artifact = artifact.as_ref().map_err(|err| format!("build: {err}"))?;
            repo.push_image(&artifact.digest().to_string(), artifact)
                .await
                .map_err(e("push referrer"))?;
            let subject_digest: Digest =
                subject.digest().to_string().parse().map_err(e("digest"))?;
            let found = repo
                .referrers(&subject_digest, Some("application/vnd.example.sbom"))
                .await
                .map_err(e("referrers"))?;
            ensure(found.fallback, || "expected the tag-schema fallback".into())?;
            ensure(found.descriptors.len() == 1, || {
                format!("{:?}", found.descriptors)
            })?;
            ensure(
                found.descriptors[0].digest().to_string() == artifact.digest().to_string(),
                || "wrong referrer".into(),
            )
        }),
    )
    .await;

    check(
        out,
        "discovery",
        "referrers API (registry answering OCI 1.1)",
        Box::pin(async {
            let artifact = artifact.as_ref().map_err(|err| format!("build: {err}"))?;
            let subject_digest: Digest =
                subject.digest().to_string().parse().map_err(e("digest"))?;
            let index = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [artifact.manifest().descriptor()],
            });
            // A proxy in front of the registry answers the referrers API, as
            // an OCI 1.1 registry would; everything else passes through.
            let body = index.to_string();
            let proxy = test_support::Proxy::builder(url.to_owned())
                .intercept(move |req| {
                    req.path().contains("/referrers/").then(|| {
                        let mut r = test_support::http::json_response(
                            200,
                            &serde_json::from_str(&body).unwrap(),
                        );
                        r.headers_mut().insert(
                            "content-type",
                            "application/vnd.oci.image.index.v1+json".parse().unwrap(),
                        );
                        r
                    })
                })
                .start()
                .await;
            let via = Client::builder(&proxy.url())
                .build()
                .map_err(e("client"))?
                .with_segment("conformance/discovery");
            let found = via
                .referrers(&subject_digest, None)
                .await
                .map_err(e("referrers"))?;
            ensure(!found.fallback, || {
                "used the fallback despite the API".into()
            })?;
            ensure(found.descriptors.len() == 1, || {
                format!("{:?}", found.descriptors)
            })?;
            ensure(proxy.count("GET", "/v2/*/referrers/*") == 1, || {
                "API not called once".into()
            })
        }),
    )
    .await;
}
