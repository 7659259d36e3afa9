//! Content discovery: tag lists with `n`/`last`, the catalog (scoped), and
//! referrers with and without a referrers API.

use facade::core::Digest;
use facade::oci::image::{ImageBuilder, ImageLayer, NewImage};
use facade::oci::media_type::OCI_CONFIG;
use facade::oci::{Client, Page};

use super::report::Outcome;
use super::{check, e, ensure, fixtures};

/// The report group of every check here.
const GROUP: &str = "discovery";
/// The repository the checks push to and list.
const REPO: &str = "conformance/discovery";
/// The artifact type of the referrer pushed for the referrers checks.
const SBOM: &str = "application/vnd.example.sbom";
/// The media type of a referrers API answer.
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Tags per page in the paged tag listing.
const PAGE_SIZE: usize = 5;
/// Pages after which the paged tag listing is taken not to end.
const MAX_PAGES: usize = 10;

pub(crate) async fn run(client: &Client, url: &str, out: &mut Vec<Outcome>) {
    let repo = client.with_segment(REPO);
    let img = fixtures::image(1, 20);
    let expected = expected_tags();
    let setup = push_tags(&repo, &img, &expected).await;
    check(
        out,
        GROUP,
        "setup: 12 tags",
        Box::pin(std::future::ready(setup)),
    )
    .await;
    check(
        out,
        GROUP,
        "tags list (all pages)",
        Box::pin(tags_list_all(&repo, &expected)),
    )
    .await;
    check(
        out,
        GROUP,
        "tags list with n and last",
        Box::pin(tags_list_paged(&repo, &expected)),
    )
    .await;
    check(
        out,
        GROUP,
        "catalog scoped to a prefix",
        Box::pin(catalog_scoped(client)),
    )
    .await;
    check(
        out,
        GROUP,
        "catalog with n",
        Box::pin(catalog_with_n(client)),
    )
    .await;

    let artifact = sbom_artifact(&img);
    check(
        out,
        GROUP,
        "referrers without an API (tag schema fallback)",
        Box::pin(referrers_fallback(&repo, &img, &artifact)),
    )
    .await;
    check(
        out,
        GROUP,
        "referrers API (registry answering OCI 1.1)",
        Box::pin(referrers_api(url, &img, &artifact)),
    )
    .await;
}

/// The 12 tags the setup pushes (`t00` … `t11`), sorted.
fn expected_tags() -> Vec<String> {
    let mut tags: Vec<String> = (0..12).map(|i| format!("t{i:02}")).collect();
    tags.sort();
    tags
}

/// Setup: pushes `img` under the first tag and tags it with all the others.
async fn push_tags(repo: &Client, img: &NewImage, tags: &[String]) -> Result<(), String> {
    repo.push_image(&tags[0], img)
        .await
        .map_err(e("push_image"))?;
    for t in &tags[1..] {
        repo.tag_image(&tags[0], t).await.map_err(e("tag_image"))?;
    }
    Ok(())
}

/// Checks that listing every tag (following all pages) gives exactly the
/// pushed tags, in order.
async fn tags_list_all(repo: &Client, expected: &[String]) -> Result<(), String> {
    let tags = repo.list_tags().await.map_err(e("list_tags"))?;
    ensure(tags == expected, || format!("got {tags:?}"))
}

/// Checks `n` and `last`: the first page holds at most `n` tags, every
/// following page (asked for with `last`) only tags after `last`, the
/// pages end, and together they give exactly the pushed tags.
async fn tags_list_paged(repo: &Client, expected: &[String]) -> Result<(), String> {
    let first = repo
        .list_tags_page(Some(PAGE_SIZE), None)
        .await
        .map_err(e("page 1"))?;
    ensure(first.items.len() <= PAGE_SIZE, || {
        format!("n={PAGE_SIZE} gave {} tags", first.items.len())
    })?;
    let mut all = first.items.clone();
    let mut next = first.next.clone();
    let mut pages = 1;
    while let Some(last) = next {
        let page = tags_page_after(repo, &last).await?;
        all.extend(page.items);
        next = page.next;
        pages += 1;
        ensure(pages < MAX_PAGES, || "pagination does not end".into())?;
    }
    ensure(all == expected, || format!("paged listing gave {all:?}"))
}

/// One page of tags after `last`, checked to hold only tags after `last`.
async fn tags_page_after(repo: &Client, last: &str) -> Result<Page, String> {
    let page = repo
        .list_tags_page(Some(PAGE_SIZE), Some(last))
        .await
        .map_err(e("next page"))?;
    ensure(page.items.iter().all(|t| t.as_str() > last), || {
        format!("page after {last} has earlier tags: {:?}", page.items)
    })?;
    Ok(page)
}

/// Checks that a client scoped to `conformance` lists only repositories
/// under `conformance/`, this group's among them.
async fn catalog_scoped(client: &Client) -> Result<(), String> {
    let scoped = client.with_segment("conformance");
    let repos = scoped
        .list_repositories()
        .await
        .map_err(e("list_repositories"))?;
    ensure(repos.iter().all(|r| r.starts_with("conformance/")), || {
        format!("{repos:?}")
    })?;
    ensure(repos.iter().any(|r| r == REPO), || format!("{repos:?}"))
}

/// Checks that a catalog page with `n=1` holds one repository and points
/// to a next page.
async fn catalog_with_n(client: &Client) -> Result<(), String> {
    let page = client
        .list_repositories_page(Some(1), None)
        .await
        .map_err(e("page"))?;
    ensure(page.items.len() == 1, || format!("{:?}", page.items))?;
    ensure(page.next.is_some(), || "no next page".into())
}

/// An SBOM artifact whose subject is `subject`; a build failure is
/// reported by each check that uses it.
fn sbom_artifact(subject: &NewImage) -> Result<NewImage, String> {
    ImageBuilder::new()
        .artifact_type(SBOM)
        .subject(subject.manifest().descriptor())
        .layer(ImageLayer::from_bytes(
            "application/json",
            bytes::Bytes::from_static(b"{\"sbom\":true}"),
        ))
        .config_bytes(OCI_CONFIG, fixtures::config("amd64", "sbom"))
        .build()
        .map_err(|err| format!("build: {err}"))
}

/// The digest of `subject`'s manifest descriptor.
fn subject_digest(subject: &NewImage) -> Result<Digest, String> {
    subject
        .manifest()
        .descriptor()
        .digest()
        .to_string()
        .parse()
        .map_err(e("digest"))
}

/// Checks the referrers tag schema: on a registry without a referrers API
/// (distribution 2.8), a pushed referrer is found through the fallback,
/// filtered by artifact type, and is the one pushed.
async fn referrers_fallback(
    repo: &Client,
    subject: &NewImage,
    artifact: &Result<NewImage, String>,
) -> Result<(), String> {
    let artifact = artifact.as_ref().map_err(Clone::clone)?;
    repo.push_image(artifact.digest(), artifact)
        .await
        .map_err(e("push referrer"))?;
    let found = repo
        .referrers(&subject_digest(subject)?, Some(SBOM))
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
}

/// Checks the referrers API: through a proxy answering it as an OCI 1.1
/// registry would, the client uses the API (called once), not the
/// fallback, and gets its one referrer.
async fn referrers_api(
    url: &str,
    subject: &NewImage,
    artifact: &Result<NewImage, String>,
) -> Result<(), String> {
    let artifact = artifact.as_ref().map_err(Clone::clone)?;
    let subject_digest = subject_digest(subject)?;
    let proxy = referrers_proxy(url, artifact).await;
    let via = Client::builder(&proxy.url())
        .build()
        .map_err(e("client"))?
        .with_segment(REPO);
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
}

/// A proxy in front of the registry at `url` that answers the referrers
/// API with an index listing `artifact`, as an OCI 1.1 registry would;
/// everything else passes through.
async fn referrers_proxy(url: &str, artifact: &NewImage) -> test_support::Proxy {
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [artifact.manifest().descriptor()],
    })
    .to_string();
    test_support::Proxy::builder(url.to_owned())
        .intercept(move |req| {
            req.path().contains("/referrers/").then(|| {
                let mut r =
                    test_support::http::json_response(200, &serde_json::from_str(&body).unwrap());
                r.headers_mut()
                    .insert("content-type", OCI_INDEX.parse().unwrap());
                r
            })
        })
        .start()
        .await
}
