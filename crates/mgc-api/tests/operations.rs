//! Every operation of the spec, called through its typed method against the
//! spec-checking fake, with the answers decoded into the typed models.

mod common;

use common::FakeClient;
use common::ids::*;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use common::MagaluFake;
use common::spec::{self, DIGEST, OPS, PROXY_CACHE_ID, REGISTRY_ID, USER_ID};
use mgc_api::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// `(operationId, METHOD, path)` of every operation in the spec file.
fn spec_file_operations() -> BTreeSet<(String, String, String)> {
    let yaml = include_str!("fixtures/container-registry.openapi.yaml");
    let mut out = BTreeSet::new();
    let (mut path, mut method) = (String::new(), String::new());
    for line in yaml.lines() {
        if line.starts_with("  /") && line.ends_with(':') {
            path = line.trim().trim_end_matches(':').to_owned();
        } else if let Some(m) = ["get", "post", "patch", "delete", "put"]
            .iter()
            .find(|m| line == format!("    {m}:"))
        {
            method = m.to_uppercase();
        } else if let Some(id) = line.trim().strip_prefix("operationId: ") {
            out.insert((id.to_owned(), method.clone(), path.clone()));
        }
    }
    out
}

#[test]
fn the_fake_knows_exactly_the_operations_of_the_spec() {
    let from_spec = spec_file_operations();
    assert_eq!(from_spec.len(), 32);
    let table: BTreeSet<_> = OPS
        .iter()
        .map(|o| (o.id.to_owned(), o.method.to_owned(), o.path.to_owned()))
        .collect();
    assert_eq!(table, from_spec);
}

#[tokio::test]
async fn every_operation_round_trips() {
    let fake = MagaluFake::start().await;
    let mgc = fake.client();

    // credentials
    let creds = mgc.credentials().get().await.unwrap();
    assert_eq!(creds.username, "e3d49354-35d7-4565-b634-65d8b86aa594");
    assert_eq!(creds.password.expose(), "62kWa168QL!d4IVwN6wTfTYFv63=Sc1D");
    assert_eq!(creds.email, "janedoe@email.com");
    assert!(!format!("{creds:?}").contains("62kWa168"));
    let reset = mgc.credentials().reset_password().await.unwrap();
    assert_eq!(reset, creds);

    // registries
    let created = mgc
        .registries()
        .create(RegistryRequest::new("coolregistry").proxy_cache_id(proxy_cache_id()))
        .await
        .unwrap();
    assert_eq!(created.id, REGISTRY_ID);
    assert_eq!(created.proxy_cache_id, None);
    let page = mgc.registries().list(ListOptions::new()).await.unwrap();
    assert_eq!(
        page.meta.page,
        PaginationMetadata {
            count: 1,
            limit: 20,
            offset: 0,
            total: 1
        }
    );
    let reg = mgc.registries().get(&registry_id()).await.unwrap();
    assert_eq!(page.results, vec![reg.clone()]);
    assert_eq!(reg.storage_usage_bytes, 12345);
    assert_eq!(reg.created_at, at("2024-05-15T19:56:47Z"));
    assert_eq!(
        reg.proxy_cache_id.as_ref().map(ProxyCacheId::as_str),
        Some(PROXY_CACHE_ID)
    );
    mgc.registries().delete(&registry_id()).await.unwrap();

    // proxy caches
    let pc = mgc
        .proxy_caches()
        .create(
            ProxyCacheRequest::new("coolproxy", "docker-hub", "https://hub.docker.com")
                .access_key("example-access-key")
                .access_secret("example-access-secret")
                .description("cool_description"),
        )
        .await
        .unwrap();
    assert_eq!(pc.name, "cool_registry_proxy");
    let pcs = mgc
        .proxy_caches()
        .list(ListOptions::new().limit(5))
        .await
        .unwrap();
    assert_eq!(pcs.results[0].provider, "docker-hub");
    assert_eq!(
        pcs.results[0].description.as_deref(),
        Some("Proxy cache for Docker Hub")
    );
    let detailed = mgc.proxy_caches().get(&proxy_cache_id()).await.unwrap();
    assert_eq!(detailed.url, "https://hub.docker.com");
    assert_eq!(detailed.description, "Proxy cache for Docker Hub");
    let updated = mgc
        .proxy_caches()
        .update(
            &proxy_cache_id(),
            UpdateProxyCacheRequest::new().name("updatedproxy"),
        )
        .await
        .unwrap();
    assert_eq!(updated.updated_at, at("2024-05-15T19:56:47Z"));
    let status = mgc.proxy_caches().status(&proxy_cache_id()).await.unwrap();
    assert_eq!(status.status, "connected");
    let check = mgc
        .proxy_caches()
        .check_credentials(ProxyCacheCredentialStatusRequest::new(
            "docker-hub",
            "https://hub.docker.com",
            "my_username",
            "my_password",
        ))
        .await
        .unwrap();
    assert_eq!(check.status, "valid");
    assert_eq!(
        check.message.as_deref(),
        Some("Proxy cache credentials are valid")
    );
    mgc.proxy_caches().delete(&proxy_cache_id()).await.unwrap();

    // users
    let user = mgc.users().create().await.unwrap();
    assert_eq!(user.id, USER_ID);
    assert_eq!(mgc.users().get().await.unwrap(), user);
    mgc.users().delete(&user_id()).await.unwrap();

    // members
    let m = mgc
        .members()
        .add(
            &registry_id(),
            MemberRequest::new(user_id()).role(MemberRole::Guest),
        )
        .await
        .unwrap();
    assert_eq!(m.role, MemberRole::Guest);
    assert_eq!(m.created_at, at("2024-05-20T14:30:00Z"));
    let ms = mgc
        .members()
        .list(&registry_id(), ListOptions::new().sort("created_at:desc"))
        .await
        .unwrap();
    assert_eq!(ms.results, vec![m.clone()]);
    assert_eq!(
        mgc.members()
            .get(&registry_id(), &member_id())
            .await
            .unwrap(),
        m
    );
    mgc.members()
        .update(
            &registry_id(),
            &member_id(),
            MemberUpdateRequest::new(MemberRole::Developer),
        )
        .await
        .unwrap();
    mgc.members()
        .delete(&registry_id(), &member_id())
        .await
        .unwrap();

    // repositories
    let repos = mgc
        .repositories()
        .list(&registry_id(), ListOptions::new())
        .await
        .unwrap();
    assert_eq!(
        repos.goal,
        Some(AmountRepositoryResponse { total: Some(1) })
    );
    assert_eq!(repos.results[0].name, "alpine");
    let repo = mgc
        .repositories()
        .get(&registry_id(), &repository_id())
        .await
        .unwrap();
    assert_eq!(repo.image_count, 2);
    mgc.repositories()
        .delete(&registry_id(), &repository_id())
        .await
        .unwrap();

    // images
    let images = mgc
        .images()
        .list(
            &registry_id(),
            &repository_id(),
            ListOptions::new().expand("tags_details"),
        )
        .await
        .unwrap();
    let img = &images.results[0];
    assert_eq!(img.digest, DIGEST);
    assert_eq!(img.size_bytes, 3552429);
    assert_eq!(img.tags, ["latest"]);
    assert_eq!(img.pulled_at, Some(at("2024-05-15T19:56:47Z")));
    assert_eq!(img.tags_details.as_ref().unwrap()[0].signed, Some(false));
    assert_eq!(img.extra_attr, Some(serde_json::Map::new()));
    let by_tag = mgc
        .images()
        .get(&registry_id(), &repository_id(), "latest")
        .await
        .unwrap();
    assert_eq!(&by_tag, img);
    mgc.images()
        .delete(&registry_id(), &repository_id(), DIGEST)
        .await
        .unwrap();

    // scans
    let sched = mgc
        .scans()
        .schedule(&registry_id(), &repository_id(), "latest")
        .await
        .unwrap();
    assert_eq!(sched.status, ScanStatus::Pending);
    assert_eq!(sched.input_tag.as_deref(), Some("latest"));
    let scans = mgc
        .scans()
        .list(
            &registry_id(),
            &repository_id(),
            DIGEST,
            ListOptions::new(),
            Some(ScanStatus::Completed),
        )
        .await
        .unwrap();
    let scan = mgc.scans().get(&scan_id()).await.unwrap();
    assert_eq!(scans.results, vec![scan.clone()]);
    assert_eq!(scan.severity_summary.unwrap().fixable, 6);
    assert_eq!(scan.finished_at, Some(at("2024-05-15T19:57:47Z")));
    let child = &scan.child_scans.as_ref().unwrap()[0];
    assert_eq!(child.architecture.as_deref(), Some("amd64"));
    let vulns = mgc
        .scans()
        .vulnerabilities(
            &scan_id(),
            ListOptions::new(),
            VulnerabilityFilter::new().severity(VulnerabilitySeverity::Low),
        )
        .await
        .unwrap();
    let v = &vulns.results[0];
    assert_eq!(v.cve_id, "CVE-2016-2781");
    assert_eq!(v.severity, VulnerabilitySeverity::Low);
    assert_eq!(v.fixed_version, None);
    assert_eq!(v.cvss.max.as_ref().unwrap().score, Some(8.6));
    assert_eq!(v.cvss.by_source["nvd"].score, Some(6.5));
    mgc.scans().stop(&scan_id()).await.unwrap();

    fake.assert_clean();
    let all: BTreeSet<&str> = OPS.iter().map(|o| o.id).collect();
    assert_eq!(fake.seen(), all, "operations never called");
    assert_eq!(fake.request_count(), 32);
}

#[tokio::test]
async fn models_serialize_for_output() {
    let fake = MagaluFake::start().await;
    let reg = fake
        .client()
        .registries()
        .get(&registry_id())
        .await
        .unwrap();
    // The CLI prints models as JSON: the spec's shape comes back out.
    assert_eq!(serde_json::to_value(&reg).unwrap(), spec::registry());
    let creds = fake.client().credentials().get().await.unwrap();
    assert_eq!(serde_json::to_value(&creds).unwrap(), spec::credentials());
}
