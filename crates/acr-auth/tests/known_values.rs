//! The known values of the open enums (`ALL`) against the Go SDK's
//! `Possible*Values()` functions (azcontainerregistry v0.2.2): the same
//! wire strings in the same order. The seed lists are copied here from its
//! constant blocks, one `Possible…Values` per type.

use acr_auth::{
    AcrClient, Architecture, ContentType, ExchangeGrantType, ListManifestsOptions, ListTagsOptions,
    OperatingSystem, OrderBy, TokenGrantType,
};
use futures_util::TryStreamExt;
use registry_core::HttpClient;
use test_support::fake_acr::FakeAcr;

/// `PossibleArtifactArchitectureValues()`.
const SEED_ARCHITECTURES: &[&str] = &[
    "amd64", "arm", "arm64", "386", "mips", "mips64", "mips64le", "mipsle", "ppc64", "ppc64le",
    "riscv64", "s390x", "wasm",
];

/// `PossibleArtifactOperatingSystemValues()`.
const SEED_OPERATING_SYSTEMS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "ios",
    "illumos",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
];

/// `PossibleArtifactManifestOrderByValues()` and
/// `PossibleArtifactTagOrderByValues()` (the same list).
const SEED_ORDER_BY: &[&str] = &["timeasc", "timedesc", "none"];

/// `PossibleContentTypeValues()`.
const SEED_CONTENT_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
];

/// `PossiblePostContentSchemaGrantTypeValues()`.
const SEED_EXCHANGE_GRANTS: &[&str] = &[
    "access_token",
    "access_token_refresh_token",
    "refresh_token",
];

/// `PossibleTokenGrantTypeValues()`.
const SEED_TOKEN_GRANTS: &[&str] = &["password", "refresh_token"];

/// `ALL` has the seed's wire strings in order, and each reads back (from
/// its string and through serde) as itself, never as `Other`.
fn check<T>(all: &[T], seed: &[&str], as_str: impl Fn(&T) -> String)
where
    T: PartialEq + std::fmt::Debug + for<'a> From<&'a str> + serde::Serialize,
    T: serde::de::DeserializeOwned,
{
    let wire: Vec<String> = all.iter().map(&as_str).collect();
    assert_eq!(wire, seed);
    for v in all {
        let s = as_str(v);
        assert_eq!(T::from(s.as_str()), *v);
        let json = serde_json::to_string(v).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
    }
}

#[test]
fn all_matches_the_seeds_possible_values() {
    check(Architecture::ALL, SEED_ARCHITECTURES, |v| v.to_string());
    check(OperatingSystem::ALL, SEED_OPERATING_SYSTEMS, |v| {
        v.to_string()
    });
    check(ContentType::ALL, SEED_CONTENT_TYPES, |v| v.to_string());
    check(ExchangeGrantType::ALL, SEED_EXCHANGE_GRANTS, |v| {
        v.to_string()
    });
    check(TokenGrantType::ALL, SEED_TOKEN_GRANTS, |v| v.to_string());
    let order: Vec<&str> = OrderBy::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(order, SEED_ORDER_BY);
    // Nothing known is missing from ALL: unknown strings stay `Other`.
    assert_eq!(
        Architecture::from("loong64"),
        Architecture::Other("loong64".into())
    );
    assert_eq!(
        TokenGrantType::from("client_credentials"),
        TokenGrantType::Other("client_credentials".into())
    );
}

#[tokio::test]
async fn order_by_none_sends_no_orderby() {
    let acr = FakeAcr::start().await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let client = AcrClient::from_http(&acr.url(), http).unwrap();
    let tags: Vec<_> = client
        .list_tags("app", ListTagsOptions::default().order_by(OrderBy::None))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 7);
    let manifests: Vec<_> = client
        .list_manifests(
            "app",
            ListManifestsOptions::default()
                .order_by(OrderBy::None)
                .page_size(10),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(manifests.len(), 3);
    let first_pages: Vec<_> = acr
        .requests()
        .into_iter()
        .filter(|r| !r.query().unwrap_or_default().contains("last="))
        .collect();
    assert_eq!(first_pages.len(), 2);
    for r in &first_pages {
        assert!(
            !r.query().unwrap_or_default().contains("orderby"),
            "{:?}",
            r.uri
        );
    }
    // Control: a real order is sent.
    client
        .list_tags_page(
            "app",
            &ListTagsOptions::default().order_by(OrderBy::LastUpdatedOnAscending),
        )
        .await
        .unwrap();
    let last = acr.requests().pop().unwrap();
    assert!(
        last.query().unwrap().contains("orderby=timeasc"),
        "{:?}",
        last.uri
    );
}
